from __future__ import annotations

import argparse
import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import plateread
from conftest import ROOT, plate_like, png_claiming, shared, with_png_chunk, write_png
from plateread import commands
from plateread.cli import build_parser, main

VERBS = ["synth", "train", "eval", "export", "read", "serve", "data", "bench"]


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([verb, "--help"])
    assert exc.value.code == 0
    assert "usage: plateread " + verb in capsys.readouterr().out


def test_every_option_says_what_it_does() -> None:
    verbs = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    ).choices
    assert sorted(verbs) == sorted(VERBS)
    bare = [
        f"{verb} {a.option_strings or a.dest}"
        for verb, p in verbs.items()
        for a in p._actions
        if not a.help and not isinstance(a, argparse._HelpAction)
    ]
    assert bare == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from plateread import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"plateread {__version__}"


def test_synth_train_eval_export_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d, r = tmp_path / "D", tmp_path / "R"
    assert (
        main(
            [
                "synth",
                "--format",
                "ru",
                "-n",
                "40",
                "--out",
                str(d),
                "--grid",
                str(tmp_path / "g.png"),
            ]
        )
        == 0
    )
    assert (d / "config.json").is_file() and (tmp_path / "g.png").is_file()
    assert (
        main(
            [
                "train",
                "--data",
                f"json:{d}/config.json",
                "--format",
                "ru",
                "--arch",
                "crnn_small",
                "--epochs",
                "1",
                "--out",
                str(r),
                "--workers",
                "0",
                "--real-turns",
                "0.5",
            ]
        )
        == 0
    )
    best = r / "001-crnn_small" / "best.pt"
    assert best.is_file()
    assert "real_turns: 0.5\n" in (r / "001-crnn_small" / "config.yaml").read_text()
    capsys.readouterr()
    assert main(["eval", "--model", str(best), "--data", f"json:{d}", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 40 and {"exact", "char_acc", "cer"} <= set(metrics)
    assert (
        main(
            [
                "export",
                "--model",
                str(best),
                "--out",
                str(tmp_path / "m.onnx"),
                "--calibrate",
                f"json:{d}",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "calibrated on 40 plates" in printed and "(probabilities; the median picture " in printed
    from plateread.predict import OnnxPredictor

    assert OnnxPredictor(tmp_path / "m.onnx").calibration is not None
    assert main(["eval", "--model", str(tmp_path / "m.onnx"), "--data", f"json:{d}", "--json"]) == 0
    onnx_metrics = json.loads(capsys.readouterr().out)
    assert abs(onnx_metrics["exact"] - metrics["exact"]) <= 0.002
    assert main(["eval", "--model", str(best), "--data", f"json:{d}"]) == 0
    assert "exact" in capsys.readouterr().out


@pytest.mark.parametrize(
    "error",
    [
        PermissionError(errno.EACCES, "Permission denied", "/data/out"),
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EROFS, "Read-only file system", "/mnt/ro/runs"),
    ],
    ids=["permission", "disk-full", "read-only"],
)
def test_a_folder_one_cannot_write_to_is_a_one_line_error(
    error: OSError, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(_: argparse.Namespace) -> int:
        raise error

    monkeypatch.setattr(commands, "run_synth", fail)
    assert main(["synth", "-n", "2", "--out", "x"]) == 2
    assert capsys.readouterr().err == f"plateread synth: error: {error}\n"


def test_user_errors_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--model", str(tmp_path / "none.onnx"), "--data", "synth:ru"]) == 2
    assert "model not found" in capsys.readouterr().err
    assert main(["eval", "--model", "mars", "--data", "synth:ru"]) == 2
    assert "no shipped model 'mars'" in capsys.readouterr().err
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert main(["eval", "--model", str(tmp_path / "junk.pt"), "--data", "synth:ru"]) == 2
    assert "not a PyTorch file, or a damaged one" in capsys.readouterr().err
    torch = pytest.importorskip("torch")
    torch.save({"args": argparse.Namespace(lr=1.0)}, tmp_path / "pickled.pt")
    assert main(["train", "--resume", str(tmp_path / "pickled.pt")]) == 2
    assert "holds Python objects besides tensors" in capsys.readouterr().err
    assert main(["synth", "-n", "2", "--out", str(tmp_path / "junk.pt")]) == 2
    err = capsys.readouterr().err  # an output folder named as a file
    assert "junk.pt is a file: give a folder for the data set" in err
    (tmp_path / "folder.onnx").mkdir()
    shipped = str(Path(plateread.__file__).parent / "weights" / "ru.pt")
    assert main(["export", "--model", shipped, "--out", str(tmp_path / "folder.onnx")]) == 2
    err = capsys.readouterr().err  # an output file named as a folder
    assert f"{tmp_path / 'folder.onnx'} is a folder, not a file" in err
    assert main(["train", "--data", "nope:x"]) == 2
    assert "bad data spec" in capsys.readouterr().err
    assert main(["synth", "--format", "mars", "--out", str(tmp_path / "x")]) == 2
    assert "unknown format" in capsys.readouterr().err
    err_lines = capsys.readouterr  # each message below is one line, not a torch traceback
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    assert (
        main(["export", "--model", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "x.onnx")])
        == 2
    )
    err = err_lines().err
    assert "an exported ONNX model; this needs a training checkpoint (.pt)" in err
    (tmp_path / "c.yaml").write_text("data: [synth:ru\n")
    assert main(["train", "--config", str(tmp_path / "c.yaml")]) == 2
    assert "not valid YAML" in err_lines().err
    (tmp_path / "c.yaml").write_bytes("data: synth:ru  # русский\n".encode("cp1251"))
    assert main(["train", "--config", str(tmp_path / "c.yaml")]) == 2
    assert "c.yaml: not UTF-8 text" in err_lines().err
    (tmp_path / "c.yaml").write_text("data: synth:ru\nepochs: two\n")
    assert main(["train", "--config", str(tmp_path / "c.yaml")]) == 2
    assert "config epochs must be int, got 'two'" in err_lines().err
    assert main(["train", "--data", "synth:ru", "--lr", "-1"]) == 2
    assert "lr must be above 0" in err_lines().err
    assert main(["eval", "--model", str(tmp_path / "junk.pt"), "--data", "synth:ru"]) == 2
    assert len(err_lines().err.strip().splitlines()) == 1
    synth = ["synth", "--format", "ru", "-n", "3", "--out", str(tmp_path / "s")]
    assert main(synth) == 0 and main(synth[:4] + ["2"] + synth[5:]) == 0  # its own set: replaced
    assert sorted(p.name for p in (tmp_path / "s" / "images").iterdir()) == [
        "000000.png",
        "000001.png",
    ]
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "config.json").write_text("[]")  # someone's real labels: left alone
    assert main(synth[:-1] + [str(tmp_path / "real")]) == 2
    assert "did not write" in err_lines().err
    (tmp_path / "photos" / "images").mkdir(parents=True)
    (tmp_path / "photos" / "images" / "000000.png").write_bytes(b"a photo")  # no config.json
    assert main(synth[:-1] + [str(tmp_path / "photos")]) == 2
    assert "did not write" in err_lines().err
    assert (tmp_path / "photos" / "images" / "000000.png").read_bytes() == b"a photo"
    (tmp_path / "notes.txt").write_text("mine")  # --out names a file: said so, left alone
    assert main(["train", "--data", "synth:ru", "--out", str(tmp_path / "notes.txt")]) == 2
    assert "notes.txt is a file: give a folder for the runs" in err_lines().err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    (tmp_path / "mac" / "images").mkdir(parents=True)
    (tmp_path / "mac" / "images" / ".DS_Store").write_bytes(b"Finder")  # no data set
    assert main(synth[:-1] + [str(tmp_path / "mac")]) == 0
    (tmp_path / "bad.csv").write_text("file,text\nx.png,Ж1\n")
    (tmp_path / "x.png").write_bytes((tmp_path / "s" / "images" / "000000.png").read_bytes())
    assert main(["eval", "--model", "ru", "--data", f"csv:{tmp_path / 'bad.csv'}"]) == 2
    assert "no plates to evaluate" in (err := err_lines().err) and "outside the alphabet" in err
    bad_val = ["--val-data", f"csv:{tmp_path / 'bad.csv'}", "--out", str(tmp_path / "r")]
    assert main(["train", "--data", "synth:ru?n=8", *bad_val]) == 2
    assert "no valid validation samples" in err_lines().err
    (tmp_path / "cn.csv").write_text("file,text\nx.png,皖A12345\n")  # Chinese plates, ru format
    assert (
        main(["train", "--data", f"csv:{tmp_path / 'cn.csv'}", "--out", str(tmp_path / "r")]) == 2
    )
    assert (
        "no valid training samples left after filtering; is 'ru' their format?" in err_lines().err
    )
    args = build_parser().parse_args(["train", "--data", "synth:ru", "--input-size", "32X192"])
    assert args.input_size == [32, 192]
    for verb in (["read", "x.png"], ["bench"], ["train", "--workers", "1"]):
        with pytest.raises(SystemExit):
            main([*verb, "--threads", "-1"])
        assert "expected 0 or a positive integer" in err_lines().err
    for verb, bad in (
        (["read", "x.png", "--min-confidence"], "1.5"),
        (["read", "x.png", "--two-row-below"], "-0.1"),
        (["eval", "--model", "ru", "--data", "synth:ru", "--two-row-below"], "x"),
        (["read", "x.png", "--tighter-below"], "2"),
        (["eval", "--model", "ru", "--data", "synth:ru", "--tighter-below"], "-1"),
        (["serve", "--port"], "70000"),
        (["bench", "--seconds"], "0"),
        (["export", "--model", "ru", "--out"], "ru.txt"),  # readers would take it for no model
        (["data", "synth:ru", "--grid"], "grid.txt"),  # refused before the work, not after
        (["synth", "--out", "x", "--grid"], "grid"),
    ):
        with pytest.raises(SystemExit) as exc:
            main([*verb, bad])
        assert exc.value.code == 2 and f"got '{bad}'" in err_lines().err
    for bad in ("32x", "32-128", "0x128"):
        with pytest.raises(SystemExit):
            main(["train", "--data", "synth:ru", "--input-size", bad])
        assert "expected HEIGHTxWIDTH like 32x128" in err_lines().err


def test_eval_says_what_it_left_out(json_dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (json_dataset / "images" / "0.png").unlink()  # listed in config.json, gone from the folder
    (json_dataset / "images" / "1.png").write_bytes(b"broken")
    assert main(["eval", "--model", "ru", "--data", f"json:{json_dataset}", "--json"]) == 0
    out, err = capsys.readouterr()
    metrics = json.loads(out)
    assert metrics["n"] == 1 and metrics["unreadable"] == 2 and metrics["dropped_labels"] == 2
    assert "0.png: file not found" in err
    (broken,) = [line for line in err.splitlines() if "not a readable image" in line]
    assert broken.count("1.png") == 1  # named once, not once per layer
    assert "characters outside the alphabet" in err and "'Ж123ЖЖ77'" in err


def test_damaged_checkpoints_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch = pytest.importorskip("torch")
    shipped = Path(plateread.__file__).parent / "weights" / "ru.pt"
    state = torch.load(shipped, weights_only=True)
    sd = state["state_dict"]
    damaged = {
        "no_arch": ({k: v for k, v in state.items() if k != "arch"}, "it lacks ['arch']"),
        "new_arch": ({**state, "arch": "crnn_huge"}, "unknown architecture 'crnn_huge'"),
        "shapes": ({**state, "state_dict": {**sd, "fc.bias": sd["fc.bias"][:5]}}, "size mismatch"),
    }
    for name, (content, words) in damaged.items():
        torch.save(content, tmp_path / f"{name}.pt")
        for verb in (
            ["eval", "--data", "synth:ru?n=2"],
            ["export", "--out", str(tmp_path / "x.onnx")],
        ):
            assert main([verb[0], "--model", str(tmp_path / f"{name}.pt"), *verb[1:]]) == 2
            err = capsys.readouterr().err
            assert f"{name}.pt: " in err and words in err and "Traceback" not in err
    assert main(["train", "--resume", str(shipped)]) == 2  # weights, not a run: a KeyError before
    assert "holds no run to resume" in capsys.readouterr().err


def test_weight_files_to_start_from_are_checked_before_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    missing_data = ["train", "--data", f"csv:{tmp_path / 'later.csv'}", "--out", str(tmp_path)]
    assert main([*missing_data, "--init", str(tmp_path / "nowhere.pt")]) == 2
    err = capsys.readouterr().err
    assert "init " in err and "neither a checkpoint file nor a shipped reader" in err
    weights = ["--arch", "crnn_resnet18", "--backbone-weights"]
    assert main([*missing_data, *weights, str(tmp_path / "nowhere.pth")]) == 2
    assert "backbone_weights: not a file" in capsys.readouterr().err
    (tmp_path / "junk.pth").write_text("not weights")  # a KeyError traceback before
    data = ["train", "--data", "synth:ru?n=16", "--epochs", "1", "--out", str(tmp_path / "r")]
    assert main([*data, *weights, str(tmp_path / "junk.pth")]) == 2
    err = capsys.readouterr().err
    assert "junk.pth: not a readable backbone weights file (not a PyTorch file" in err
    assert "Traceback" not in err and not (tmp_path / "r").exists()


def test_a_run_folder_or_a_name_in_capitals_given_as_a_model_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "runs" / "001-crnn_fast"
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(b"")  # only its name matters to the message
    verbs = [
        ["eval", "--model", str(run), "--data", "synth:ru?n=2"],
        ["read", "--model", str(run), str(run)],
        ["export", "--model", str(run), "--out", str(tmp_path / "x.onnx")],
        ["train", "--init", str(run), "--data", "synth:ru?n=2", "--out", str(tmp_path)],
    ]
    for verb in verbs:
        assert main(verb) == 2, verb
        err = capsys.readouterr().err
        assert f"{run} is a folder, not a " in err and f"its checkpoint is {run / 'best.pt'}" in err
    assert main(["read", "--model", "RU", str(run)]) == 2
    assert "no shipped model 'RU' (did you mean 'ru'?)" in capsys.readouterr().err


def test_a_shipped_name_is_the_shipped_reader_beside_a_folder_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:

    from plateread.train.config import load_config

    monkeypatch.chdir(tmp_path)  # as in examples/plates, which holds ru/ and cn/
    (tmp_path / "ru").mkdir()
    shutil.copy(ROOT / "examples" / "plates" / "ru" / "E622MK90.png", tmp_path / "ru")
    assert main(["read", "ru", "--model", "ru"]) == 0
    assert capsys.readouterr().out.startswith("ru/E622MK90.png\tE622MK90\t")
    pytest.importorskip("torch")
    assert load_config(None, {"data": ["synth:ru"], "init": "ru"}).init == "ru"


def test_read_names_a_damaged_image_in_one_line_of_its_own(tmp_path: Path) -> None:
    """OpenCV's own log lines on stderr (an error for a damaged BMP header in OpenCV 5) and
    Pillow's warning about a huge picture are silenced: the one line about each file is ours."""
    ok, encoded = cv2.imencode(".bmp", np.zeros((8, 16, 3), np.uint8))
    data = bytearray(encoded.tobytes())
    data[30] = 0x7F  # the compression field: no kind OpenCV knows
    (tmp_path / "rle.bmp").write_bytes(bytes(data))
    (tmp_path / "huge.png").write_bytes(png_claiming(10_000, 10_000))  # Pillow warns of it
    shutil.copy(ROOT / "examples" / "plates" / "ru" / "E622MK90.png", tmp_path)
    # libpng's own lines: "iCCP: too short" for a broken colour profile (the pixels are
    # fine), "IDAT: CRC error" for a changed byte
    png = (ROOT / "examples" / "plates" / "ru" / "E622MK90.png").read_bytes()
    (tmp_path / "E622MK90_icc.png").write_bytes(with_png_chunk(png, b"iCCP", b"x\0\0" + bytes(9)))
    damaged = bytearray(png)
    damaged[len(png) // 2] ^= 0xFF
    (tmp_path / "crc.png").write_bytes(bytes(damaged))
    out = subprocess.run(
        [sys.executable, "-m", "plateread", "read", str(tmp_path), "--model", "ru"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "E622MK90.png\tE622MK90\t" in out.stdout
    assert "E622MK90_icc.png\tE622MK90\t" in out.stdout
    assert out.stderr.splitlines() == [
        f"plateread read: error: {tmp_path / 'crc.png'}: not a readable image "
        "(corrupt or unsupported format)",
        f"plateread read: error: {tmp_path / 'huge.png'}: 10000x10000 exceeds the limit of "
        "40000000 pixels",
        f"plateread read: error: {tmp_path / 'rle.bmp'}: not a readable image "
        "(corrupt or unsupported format)",
    ]


def test_console_script_entry_point() -> None:
    for module in ("plateread.cli", "plateread"):
        out = subprocess.run(
            [sys.executable, "-m", module, "--help"], capture_output=True, text=True
        )
        assert out.returncode == 0 and out.stdout.startswith("usage: plateread "), module
        assert "synth" in out.stdout and "train" in out.stdout
    assert build_parser().prog == "plateread"


def test_eval_on_shared_ru_dev(
    tmp_path: Path, synth_ru: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = shared("ru_dev")
    assert (
        main(
            [
                "train",
                "--data",
                f"json:{synth_ru}",
                "--epochs",
                "1",
                "--out",
                str(tmp_path),
                "--workers",
                "0",
            ]
        )
        == 0
    )
    capsys.readouterr()
    best = next(tmp_path.glob("*/best.pt"))
    assert main(["eval", "--model", str(best), "--data", f"json:{dev}/config.json", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 87


def test_train_help_names_every_registered_architecture() -> None:
    from plateread.models import REGISTRY

    train = build_parser()._subparsers._group_actions[0].choices["train"]  # type: ignore[union-attr]
    arch_help = next(a.help for a in train._actions if "--arch" in a.option_strings)
    assert arch_help is not None
    for name in REGISTRY:
        assert name in arch_help, name


def _main_without(module: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """``plateread ARGV`` in a fresh interpreter where ``module`` cannot be imported."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        f"from plateread.cli import main; sys.exit(main({argv!r}))"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_verbs_name_the_extra_a_missing_package_comes_with(tmp_path: Path) -> None:
    out = _main_without("torch", ["train", "--data", "synth:ru?n=4", "--out", str(tmp_path)])
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "pip install torch==2.13.0 first, then pip install 'plateread[train]'" in out.stderr
    out = _main_without("uvicorn", ["serve"])
    assert out.returncode == 2 and "pip install 'plateread[serve]'" in out.stderr
    # a module that no extra installs is a bug, not a missing extra: the traceback stays
    out = _main_without("plateread.bench", ["bench"])
    assert out.returncode == 1 and "ModuleNotFoundError" in out.stderr


def test_synth_without_its_fonts_says_what_to_install(tmp_path: Path) -> None:
    out = _main_without(
        "fontpkg_barlow_condensed", ["synth", "-n", "20", "--out", str(tmp_path / "s")]
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        "font package 'fontpkg_barlow_condensed' is missing: pip install 'plateread[train]'"
        in out.stderr
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["synth", "-n", "1", "--out", "notes.txt/set"],
        ["synth", "-n", "1", "--out", "set", "--grid", "notes.txt/grid.png"],
        ["train", "--data", "synth:ru?n=2", "--out", "notes.txt/runs"],
        ["eval", "--model", "ru", "--data", "synth:ru?n=2", "--report", "notes.txt/report"],
        ["data", "synth:ru?n=2", "--grid", "notes.txt/grid.png"],
        ["data", "synth:ru?n=2", "--draft-format", "notes.txt/my.yaml"],
        ["export", "--model", "ru", "--out", "notes.txt/deep/ru.onnx"],
    ],
)
def test_an_output_path_through_a_file_names_the_file(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The OS says "Not a directory: 'notes.txt/runs'" or "File exists: 'notes.txt'"."""
    if argv[0] in ("train", "export"):
        pytest.importorskip("torch")
    if argv[0] == "eval":
        pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    assert main(argv) == 2
    err = capsys.readouterr().err  # train says so before it loads any data
    assert err.startswith(f"plateread {argv[0]}: error: ") and "notes.txt is a file, not a" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_counts_of_things_to_make_must_be_positive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (
        ["synth", "-n", "0", "--out", "x"],
        ["synth", "-n", "-3", "--out", "x"],  # wrote "-3 plates" before
        ["eval", "--model", "ru", "--data", "dir:x", "--batch-size", "0"],
        ["data", "dir:x", "--sample", "-1"],
        ["serve", "--max-images", "0"],
    ):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and "expected a positive integer" in capsys.readouterr().err
    # a seed may be 0 but not negative (numpy's bare "expected non-negative integer" before)
    with pytest.raises(SystemExit) as e:
        main(["synth", "--seed", "-1", "--out", "x"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "argument --seed: expected 0 or a positive integer" in err
    from plateread.synth import write_dataset  # from Python: refused before a folder is made

    for n, seed in ((1, -1), (0, 0)):
        with pytest.raises(ValueError, match="n must be at least 1 and seed at least 0"):
            write_dataset("ru", n, tmp_path / "never", seed=seed)
    assert not (tmp_path / "never").exists()


def test_data_without_readable_samples_draws_no_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "A123BC77.png").write_bytes(b"not an image")
    grid = tmp_path / "grid.png"
    assert main(["data", f"dir:{tmp_path / 'd'}", "--format", "ru", "--grid", str(grid)]) == 0
    out = capsys.readouterr().out
    assert "grid: not written, no readable samples" in out and "not a readable image" in out
    assert not grid.exists()


def test_data_says_which_layouts_are_no_template_and_that_ru_is_only_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for text in ("01A123BC", "10A456CE", "A123BC77"):  # Uzbek plates, one Russian
        write_png(tmp_path / "d" / f"{text}.png", plate_like())
    assert main(["data", f"dir:{tmp_path / 'd'}"]) == 0
    out = capsys.readouterr().out
    assert "templates: DDLDDDLL (no template of ru) 2, LDDDLLDD 1" in out
    assert "the labels were checked against ru, the default format" in out
    assert main(["data", f"dir:{tmp_path / 'd'}", "--format", "ru"]) == 0  # asked for: no hint
    out = capsys.readouterr().out
    assert "(no template of ru) 2" in out and "the default format" not in out
    assert main(["data", f"dir:{tmp_path / 'd'}", "--format", "generic"]) == 0  # no templates
    assert "templates: DDLDDDLL 2, LDDDLLDD 1" in capsys.readouterr().out


def test_nothing_readable_is_an_error_not_a_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["data", f"dir:{tmp_path / 'empty'}"]) == 2
    assert "no labelled images found in dir:" in capsys.readouterr().err
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "A123BC77.png").write_bytes(b"broken")
    report = tmp_path / "report"
    assert (
        main(["eval", "--model", "ru", "--data", f"dir:{tmp_path / 'd'}", "--report", str(report)])
        == 2
    )
    out, err = capsys.readouterr()
    assert "none of its 1 images could be read" in err and "A123BC77.png" in err
    assert out == "" and not report.exists()  # no 0% score, no empty report


def test_export_with_failed_calibration_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "A123BC77.png").write_bytes(b"broken")
    (tmp_path / "d" / "Ж123ЖЖ77.png").write_bytes(b"broken")  # a label the format drops
    out = tmp_path / "ru.onnx"
    args = ["export", "--model", "ru", "--out", str(out), "--calibrate", f"dir:{tmp_path / 'd'}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "calibration labels: kept 1 of 2" in err and "A123BC77.png: not a readable" in err
    assert "no plates to calibrate on: none of 1 images read" in err
    assert not out.exists()  # an uncalibrated file would pass for the calibrated one


def test_serve_model_names_are_whole_and_distinct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plateread.serve.app import model_specs

    for specs, said in (
        (["=ru"], "needs both a name and a model"),
        (["x="], "needs both a name and a model"),
        (["a=ru", "a=cn"], "two models named 'a'"),  # the second replaced the first unsaid
        (["ru", "src/plateread/weights/ru.onnx"], "two models named 'ru'"),
    ):
        argv = ["serve"] + [f"--model={s}" for s in specs]
        assert main(argv) == 2, specs  # before any model loads or the server starts
        assert said in capsys.readouterr().err
    # a path with '=' in a folder name is a path, not NAME=FILE
    run = tmp_path / "lr=3e-4"
    run.mkdir()
    assert model_specs([f"{run}/model.onnx", "cn", "mine=ru"]) == {
        "model": f"{run}/model.onnx",
        "cn": "cn",
        "mine": "ru",
    }


def test_eval_asks_whether_the_model_is_of_the_labels_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plateread.formats import CN, RU
    from plateread.labels import format_mismatch

    ru, cn = tmp_path / "ru", tmp_path / "cn"
    for folder, names in ((ru, ("A123BC77", "K777KK199")), (cn, ("皖A12345", "苏E7R5Y0"))):
        for name in names:
            write_png(folder / f"{name}.png", plate_like())
    # Russian plates scored by the Chinese reader: all kept (its alphabet has their characters)
    assert main(["eval", "--model", "cn", "--data", f"dir:{ru}"]) == 0
    err = capsys.readouterr().err
    assert "2 of 2 labels are no 'cn' plate" in err and "(ru or ru_all fits them)" in err
    assert main(["eval", "--model", "ru", "--data", f"dir:{cn}"]) == 2
    assert "is 'ru' their format?" in capsys.readouterr().err
    assert format_mismatch(RU, ["A123BC77", "A123BC7"]) is None  # half are plates: no warning
    assert format_mismatch(CN, ["皖A12345", "A123BC77", "B123BC77"]) is not None


def test_data_drafts_a_format_file_from_the_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "crops"
    for i, text in enumerate(["12가3456", "34나5678", "56다7890", "12AB3456"]):
        write_png(folder / f"{text}_{i}.png", plate_like(seed=i))
    draft = tmp_path / "kr.yaml"
    assert main(["data", f"dir:{folder}", "--draft-format", str(draft)]) == 0
    out = capsys.readouterr().out
    assert f"drafted {draft} from 4 labels: templates DDHDDDD 3; left out 1 label" in out
    assert "3 samples (3 readable" in out  # then the look, in the drafted format
    assert "invalid labels, characters outside the alphabet: 1 (e.g. ['12AB3456'])" in out
    written = draft.read_text(encoding="utf-8")
    assert '"H": "가나다"  # HANGUL' in written and 'name: "kr"' in written
    # never over a file, nor beside --format, nor to a file that is not a format file's
    assert main(["data", f"dir:{folder}", "--draft-format", str(draft)]) == 2
    assert "exists: --draft-format writes a new file" in capsys.readouterr().err
    assert draft.read_text(encoding="utf-8") == written
    # beside --json, standard output holds the JSON object alone
    argv = ["data", f"dir:{folder}", "--draft-format", str(tmp_path / "j.yaml"), "--json"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["format"] == "j" and err.startswith("drafted ")
    argv = ["data", f"dir:{folder}", "--draft-format", str(tmp_path / "b.yaml"), "--format", "ru"]
    assert main(argv) == 2 and "leave out --format" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["data", f"dir:{folder}", "--draft-format", str(tmp_path / "b.txt")])
    assert e.value.code == 2 and "expected a .yaml file name" in capsys.readouterr().err
    assert not (tmp_path / "b.yaml").exists() and not (tmp_path / "b.txt").exists()
