"""The readers shipped in the package: present, small, self-describing, calibrated, accurate on the
example plates, and identical to their torch checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from plateread.imaging import prepare_batch, read_image
from plateread.predict import resolve_model, shipped_models
from plateread.reader import PlateReader

EXAMPLES = ROOT / "examples" / "plates"


def test_ru_ru_all_and_cn_are_shipped() -> None:
    assert {"ru", "ru_all", "cn"} <= set(shipped_models())


def test_every_package_file_goes_into_the_wheel() -> None:
    """A resource (a model, the service's page) that package-data misses works from the checkout
    and is absent from every `pip install`."""
    from fnmatch import fnmatch

    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["plateread"]
    package = ROOT / "src" / "plateread"
    files = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and not p.name.startswith(".")
    ]
    assert "weights/ru.onnx" in files and "serve/page.html" in files
    assert [f for f in files if not any(fnmatch(f, g) for g in globs)] == []


@pytest.mark.parametrize("name", ["ru", "ru_all", "cn"])
def test_shipped_reader(name: str) -> None:
    path = resolve_model(name)
    assert path.stat().st_size <= 5_000_000
    reader = PlateReader(name)
    assert reader.format.name == name and reader.decoder == "constrained"
    assert reader.predictor.calibration is not None  # confidences are calibrated
    files = sorted((EXAMPLES / name).glob("*.png"))
    assert len(files) >= 6
    results = reader.read_batch(files)
    right = sum(r.text == f.stem for r, f in zip(results, files))
    assert right >= len(files) - 1, [(f.stem, r.text) for f, r in zip(files, results)]
    assert all(r.valid and 0.0 <= r.confidence <= 1.0 for r in results)


def test_ru_all_reads_two_row_plates_through_the_two_row_view() -> None:
    reader = PlateReader("ru_all")
    assert set(reader.format.two_row) == {"DDDDLLDD", "DDDDLLDDD"}
    files = [f for f in sorted((EXAMPLES / "ru_all").glob("*.png")) if f.stem[:4].isdigit()]
    square = [f for f in files if read_image(f).shape[1] < 2 * read_image(f).shape[0]]
    assert len(square) == 2  # the motorcycle/tractor plates among the examples
    assert [r.text for r in reader.read_batch(square)] == [f.stem for f in square]
    once = PlateReader("ru_all", two_row_below=0.0)  # one reading only: these need the view
    assert all(r.text != f.stem for r, f in zip(once.read_batch(square), square))


def test_bench_times_the_two_row_reading_of_ru_all() -> None:
    from plateread.bench import stage_times

    images = [read_image(f) for f in sorted((EXAMPLES / "ru_all").glob("*.png"))]
    stages = stage_times(PlateReader("ru_all"), images, 4, seconds=0.05)
    assert set(stages) == {"prepare", "model", "decode", "two-row", "tighter", "turned"}
    assert stages["two-row"] > 0 and stages["tighter"] > 0 and stages["turned"] > 0
    once = PlateReader("ru_all", two_row_below=0.0, tighter_below=0.0, turned_below=0.0)
    assert set(stage_times(once, images, 4, seconds=0.05)) == {"prepare", "model", "decode"}


def test_read_crops_times_the_stages_it_runs() -> None:
    import time

    images = [read_image(f) for f in sorted((EXAMPLES / "ru_all").glob("*.png"))]
    reader = PlateReader("ru_all")
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    timed = reader.read_crops(images, stages)
    wall = time.perf_counter() - t0
    assert timed == reader.read_batch(images) == reader.read_crops(images)
    assert set(stages) == {"prepare", "model", "decode", "two-row", "tighter", "turned"}
    assert all(v > 0 for v in stages.values()) and sum(stages.values()) <= wall
    once = PlateReader("ru_all", two_row_below=0.0)
    assert not once.reads_twice and reader.reads_twice and not PlateReader("ru").reads_twice


def _loose(crop: np.ndarray, pad: float) -> np.ndarray:
    """``crop`` with ``pad`` of its width and twice that share of its height more on each side."""
    import cv2

    h, w = crop.shape[:2]
    dy, dx = round(2 * pad * h), round(pad * w)
    return cv2.copyMakeBorder(crop, dy, dy, dx, dx, cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("name, text, pad", [("ru", "Y079BP84", 0.2), ("cn", "陕X28473", 0.2)])
def test_loose_crops_are_read_through_tighter_views(name: str, text: str, pad: float) -> None:
    loose = _loose(read_image(EXAMPLES / name / f"{text}.png"), pad)
    assert PlateReader(name, tighter_below=0.0).read(loose).text != text
    assert PlateReader(name).read(loose).text == text


def test_turned_plates_are_read_through_turned_views(tmp_path: Path) -> None:
    import cv2

    from plateread.data import load_dataset
    from plateread.evaluate import evaluate
    from plateread.predict import load_predictor
    from plateread.report import write_report
    from plateread.synth import synth_samples
    from plateread.tighter import TURNS, turned_view

    plate = synth_samples("ru", 2, seed=5, augment=False)[1]
    assert plate.text == "A100OM11"
    turned = turned_view(plate.load(), -14.0)  # the whole plate, turned further than ru learnt
    assert PlateReader("ru", turned_below=0.0).read(turned).text != plate.text
    result = PlateReader("ru").read(turned)
    assert result.text == plate.text and result.valid
    # evaluation reads it the same way and says which view did; the report shows that view
    (tmp_path / "d").mkdir()
    cv2.imwrite(str(tmp_path / "d" / "A100OM11.png"), cv2.cvtColor(turned, cv2.COLOR_RGB2BGR))
    predictor = load_predictor(resolve_model("ru"))
    ev = evaluate(predictor, load_dataset([f"dir:{tmp_path / 'd'}"], predictor.format))
    assert ev.predictions == [plate.text] and ev.turned[0] in TURNS and ev.tighter == [None]
    assert write_report(predictor, ev, tmp_path / "report").is_file()


def test_read_and_eval_take_tighter_below(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import cv2

    from plateread.cli import main

    loose = _loose(read_image(EXAMPLES / "ru" / "Y079BP84.png"), 0.2)
    path = tmp_path / "Y079BP84.png"
    cv2.imwrite(str(path), cv2.cvtColor(loose, cv2.COLOR_RGB2BGR))
    for below, right in (("0", False), ("0.5", True)):
        assert main(["read", str(path), "--json", "--tighter-below", below]) == 0
        assert (json.loads(capsys.readouterr().out)["text"] == "Y079BP84") is right
        assert (
            main(
                [
                    "eval",
                    "--model",
                    "ru",
                    "--data",
                    f"dir:{tmp_path}",
                    "--json",
                    "--tighter-below",
                    below,
                ]
            )
            == 0
        )
        assert json.loads(capsys.readouterr().out)["exact"] == float(right)
    # the report shows the view that read the plate
    assert (
        main(
            ["eval", "--model", "ru", "--data", f"dir:{tmp_path}", "--report", str(tmp_path / "r")]
        )
        == 0
    )
    assert (tmp_path / "r" / "heatmap_0.png").is_file()


@pytest.mark.parametrize("name", ["ru", "ru_all", "cn"])
def test_shipped_onnx_matches_its_checkpoint(name: str) -> None:
    torch = pytest.importorskip("torch")
    from plateread.train.checkpoint import load_model, shipped_checkpoint

    ckpt = shipped_checkpoint(name)
    assert ckpt is not None and ckpt.stat().st_size <= 5_000_000
    model, state = load_model(ckpt)
    reader = PlateReader(name)
    assert state["input_size"] == list(reader.input_size) and state["format"]["name"] == name
    batch = prepare_batch(
        [read_image(p) for p in sorted((EXAMPLES / name).glob("*.png"))], reader.input_size
    )
    with torch.no_grad():
        ref = model(torch.from_numpy(batch)).numpy()
    assert np.abs(reader.predictor.logits(batch) - ref).max() < 1e-3


def test_export_takes_a_shipped_readers_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plateread.cli import main

    assert main(["export", "--model", "cn", "--out", str(tmp_path / "cn.onnx")]) == 0
    assert "same readings 100%" in capsys.readouterr().out
    assert PlateReader(tmp_path / "cn.onnx").format.name == "cn"
