from __future__ import annotations

import io
import json
import re
import struct
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ROOT, plate_like, png_claiming, untrained_onnx, with_png_chunk
from plateread.cli import main
from plateread.data import Dataset
from plateread.evaluate import evaluate
from plateread.formats import RU, load_format
from plateread.imaging import ImageError, quiet_opencv, to_rgb
from plateread.predict import ModelFileError, load_predictor, resolve_model
from plateread.reader import PlateReader, load_image
from plateread.synth import synth_samples


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return untrained_onnx(tmp_path_factory.mktemp("model"), "ru")


def test_read_accepts_paths_bytes_and_arrays(onnx_model: Path, tmp_path: Path) -> None:
    reader = PlateReader(onnx_model)
    img = plate_like(36, 150)
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    a = reader.read(img)
    b = reader.read(path)
    c = reader.read(path.read_bytes())
    assert a.text == b.text == c.text
    assert 0.0 <= a.confidence <= 1.0
    assert len(a.char_confidences) == len(a.text)
    assert a.valid == RU.is_valid(a.text)  # constrained decoding is the default for ru
    assert reader.decoder == "constrained"
    grey = img.mean(axis=2).astype(np.uint8)
    assert isinstance(reader.read(grey).text, str)
    one_channel = load_image(grey[..., None])  # HxWx1: grey, as HxW is
    assert (one_channel == load_image(grey)).all() and (one_channel[..., 0] == grey).all()
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    bgra = np.dstack([img[..., ::-1], rgba[..., 3]])  # OpenCV's IMREAD_UNCHANGED of a PNG
    assert (load_image(rgba) == img).all() and (load_image(bgra, bgr=True) == img).all()
    batch = reader.read_batch([img] * 70)  # more than one model batch
    assert len(batch) == 70 and all(r.text == a.text for r in batch)
    streamed = reader.read_batch(img for _ in range(70))  # a generator, read as it goes
    assert [r.text for r in streamed] == [r.text for r in batch]
    for one in (str(path), path, path.read_bytes()):  # one image, whose parts are no images
        with pytest.raises(TypeError, match="read_batch takes a list of images"):
            reader.read_batch(one)
    assert json.loads(json.dumps(a.to_dict()))["text"] == a.text


def test_read_accepts_pillow_images_and_memoryviews(tmp_path: Path) -> None:
    from PIL import Image

    img = plate_like(36, 150, seed=2)
    pil = Image.fromarray(img)
    assert np.array_equal(load_image(pil), img)
    assert np.array_equal(load_image(pil.convert("RGBA")), img)
    gray = pil.convert("L")
    assert np.array_equal(load_image(gray), load_image(np.asarray(gray)))  # gray to three channels
    deep = (np.arange(30 * 120).reshape(30, 120) * 18).astype(np.uint16)  # 16-bit gray, to 64k
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    opened = Image.open(tmp_path / "deep.png")
    assert opened.mode in ("I;16", "I")  # Pillow 10 opens it as I; RGB would clip it to white
    assert np.array_equal(load_image(opened), load_image(tmp_path / "deep.png"))
    as_int32 = Image.fromarray(deep.astype(np.int32))  # mode I, as Pillow 10 opens the file
    assert as_int32.mode == "I"
    assert np.array_equal(load_image(as_int32), load_image(tmp_path / "deep.png"))
    pil.save(tmp_path / "p.png")
    assert np.array_equal(load_image(memoryview((tmp_path / "p.png").read_bytes())), img)
    assert np.array_equal(load_image(Image.open(tmp_path / "p.png")), img)  # loaded lazily
    data = (tmp_path / "p.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="Pillow image: cannot read its pixels"):
        load_image(Image.open(tmp_path / "cut.png"))
    with pytest.raises(ImageError, match="empty image"):
        load_image(Image.new("RGB", (0, 5)))


def test_opencv_arrays_are_read_in_their_channel_order() -> None:
    """``cv2.imread`` gives BGR: taken as RGB, the Chinese reader misread 30% of cn_dev."""
    path = ROOT / "examples/plates/cn/皖VB1371.png"  # a blue plate
    bgr = cv2.imread(str(path))
    rgb = load_image(path)
    assert not np.array_equal(load_image(bgr), rgb)  # the default is RGB
    assert np.array_equal(load_image(bgr, bgr=True), rgb)
    assert np.array_equal(load_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA), bgr=True), rgb)
    assert np.array_equal(load_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)), rgb)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    assert np.array_equal(load_image(gray, bgr=True), load_image(gray))  # no channels to swap
    assert np.array_equal(load_image(path.read_bytes(), bgr=True), rgb)  # files say their order
    reader = PlateReader("cn")
    expected = reader.read(path)
    assert reader.read(bgr, bgr=True) == expected
    assert reader.read_batch([bgr, path], bgr=True) == [expected, expected]


def test_a_reader_goes_to_other_processes(onnx_model: Path) -> None:
    """Pickled (spawn-started pools, joblib), a reader opens its model again; the ONNX Runtime
    session itself cannot be pickled.
    """
    import pickle
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    reader = PlateReader(onnx_model, decoder="beam", beam=3, threads=1, tighter_below=0.2)
    copy = pickle.loads(pickle.dumps(reader))
    assert (copy.path, copy.decoder, copy.beam, copy.threads, copy.tighter_below) == (
        reader.path, "beam", 3, 1, 0.2,
    )  # fmt: skip
    img = plate_like(36, 150)
    assert copy.read(img) == reader.read(img)
    assert (
        repr(copy)
        == f"PlateReader({str(reader.path)!r}, format='ru', decoder='beam', input=32x128)"
    )
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        assert list(pool.map(reader.read, [img, img])) == [reader.read(img)] * 2


def test_decoders(onnx_model: Path) -> None:
    img = plate_like(36, 150, seed=4)
    for decoder in ("greedy", "beam", "constrained"):
        assert isinstance(PlateReader(onnx_model, decoder=decoder).read(img).text, str)
    with pytest.raises(ValueError, match="decoder"):
        PlateReader(onnx_model, decoder="magic")


def test_bad_inputs_are_clear_errors(onnx_model: Path, tmp_path: Path) -> None:
    reader = PlateReader(onnx_model)
    with pytest.raises(ImageError, match="empty"):
        reader.read(b"")
    with pytest.raises(ImageError, match="not found"):
        reader.read(tmp_path / "missing.png")
    for shape in ((0, 10, 3), (10, 0, 3)):  # OpenCV's own assertion before
        with pytest.raises(ImageError, match="empty image"):
            reader.read(np.zeros(shape, np.uint8))
    with pytest.raises(ImageError):
        load_image(np.zeros((4, 4, 7), np.uint8))
    with pytest.raises(ImageError):
        load_image(3.14)  # type: ignore[arg-type]
    # no silent guess at the range: say what is expected, and how to get there
    for dtype, hint in ((np.float32, r"\* 255"), (np.uint16, ">> 8")):
        with pytest.raises(ImageError, match="expected uint8.*" + hint):
            load_image(np.zeros((4, 4, 3), dtype))
        with pytest.raises(ImageError, match="expected uint8"):
            load_image(np.zeros((4, 4), dtype))
    with pytest.raises(ModelFileError, match="no shipped model"):
        resolve_model("mars")
    with pytest.raises(ModelFileError, match="not found"):
        resolve_model(tmp_path / "x.onnx")
    with pytest.raises(ModelFileError, match="no model named"):  # not "model not found: ."
        PlateReader("")
    for setting, said in (
        ({"beam": 0}, "beam must be at least 1"),
        ({"threads": -1}, "threads at least 0"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"two_row_below": 2.0}, "confidences from 0 to 1"),
        ({"tighter_below": -0.5}, "confidences from 0 to 1"),
    ):
        with pytest.raises(ValueError, match=said):
            PlateReader(onnx_model, **setting)  # type: ignore[arg-type]
        if "beam" not in setting and "threads" not in setting:  # evaluate() shares the rest
            with pytest.raises(ValueError, match=said):  # batch_size 0 was a range() error
                evaluate(load_predictor(onnx_model), Dataset([]), **setting)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="decoder must be one of"):
        evaluate(load_predictor(onnx_model), Dataset([]), decoder="gready")
    # the edges are settings: one beam, ONNX Runtime's threads, no second readings
    edges = {"beam": 1, "threads": 0, "batch_size": 1, "two_row_below": 0.0, "tighter_below": 1.0}
    assert PlateReader(onnx_model, **edges).read(plate_like()).text is not None  # type: ignore[arg-type]
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(ModelFileError, match="not a loadable"):
        PlateReader(tmp_path / "junk.onnx")
    import onnx

    for name, edit in (
        ("cut", lambda v: v[:-5]),
        ("no_arch", lambda v: v.replace('"arch"', '"x"')),
    ):
        proto = onnx.load(str(onnx_model))
        (entry,) = [e for e in proto.metadata_props if e.key == "plateread"]
        entry.value = edit(entry.value)
        onnx.save(proto, str(tmp_path / f"{name}.onnx"))
        with pytest.raises(ModelFileError, match=f"{name}.onnx: its plateread metadata is damaged"):
            PlateReader(tmp_path / f"{name}.onnx")
    # a damaged byte in the metadata (the same length, so the file still parses): not UTF-8
    data = onnx_model.read_bytes()
    assert data.count(b'"arch"') == 1
    (tmp_path / "byte.onnx").write_bytes(data.replace(b'"arch"', b'\xffarch"'))
    with pytest.raises(ModelFileError, match="byte.onnx: its metadata is damaged .*utf-8"):
        PlateReader(tmp_path / "byte.onnx")
    (tmp_path / "best.pt").write_bytes(b"a checkpoint")
    with pytest.raises(ModelFileError, match="a torch checkpoint.*plateread export"):
        PlateReader(tmp_path / "best.pt")
    proto = onnx.load(str(onnx_model))  # an ONNX model that is no reader of ours
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "other.onnx"))
    with pytest.raises(ModelFileError, match="other.onnx: ONNX file has no plateread metadata"):
        PlateReader(tmp_path / "other.onnx")
    (tmp_path / "model.h5").write_bytes(b"keras")
    with pytest.raises(ModelFileError, match=r"unknown model kind \(expected .onnx or .pt\)"):
        load_predictor(tmp_path / "model.h5")


def test_calibration_is_stored_and_applied(
    onnx_model: Path, tmp_path: Path, synth_ru: Path
) -> None:
    from plateread.calibrate import calibrate_onnx, char_correct
    from plateread.data import Dataset, DataSpecError, load_dataset

    assert char_correct("A12", "A13") == [True, True, False]
    assert char_correct("A123", "A12") == [True, True, True, False]
    model = tmp_path / "cal.onnx"
    model.write_bytes(onnx_model.read_bytes())
    figures = calibrate_onnx(model, load_dataset(f"json:{synth_ru}", RU))
    assert figures["n"] == 48 and figures["ece_after"] <= figures["ece_before"] + 1e-9
    first = PlateReader(model).predictor.calibration
    assert calibrate_onnx(model, f"json:{synth_ru}")["n"] == 48  # a spec, read with its format
    reader = PlateReader(model)
    assert reader.predictor.calibration == first  # fitted to raw confidences, not the curves'
    assert reader.predictor.calibration is not None
    assert {"plate", "char"} <= set(reader.predictor.calibration)
    before = model.read_bytes()
    with pytest.raises(DataSpecError, match="no plates to calibrate on"):
        calibrate_onnx(model, Dataset([]))  # e.g. every label dropped
    assert model.read_bytes() == before  # the model keeps its curves


def test_read_cli_takes_one_image_on_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    from plateread.cli import main

    plate = ROOT / "examples" / "plates" / "ru" / "E622MK90.png"
    stdin = lambda data: io.TextIOWrapper(io.BytesIO(data))  # noqa: E731
    monkeypatch.setattr(sys, "stdin", stdin(plate.read_bytes()))
    assert main(["read", "-", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["file"] == "-" and out["text"] == "E622MK90"
    assert out["confidence"] == PlateReader("ru").read(plate).to_dict()["confidence"]
    monkeypatch.setattr(sys, "stdin", stdin(b""))
    assert main(["read", "-"]) == 1 and "<stdin>: empty file" in capsys.readouterr().err
    assert main(["read", "-", "-"]) == 2 and "given once" in capsys.readouterr().err


def test_read_and_bench_cli(
    onnx_model: Path, tmp_path: Path, synth_ru: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (synth_ru / "images" / "broken.png").write_bytes(b"\x89PNG broken")
    try:
        code = main(["read", str(synth_ru / "images"), "--model", str(onnx_model), "--json"])
    finally:
        (synth_ru / "images" / "broken.png").unlink()
    captured = capsys.readouterr()
    assert code == 1 and "error: " in captured.err and "broken.png: not a readable" in captured.err
    lines = [json.loads(line) for line in captured.out.splitlines()]
    # read in batches (48 crops: two), one line per readable file, in the folder's order
    assert [Path(r["file"]).name for r in lines] == sorted(
        p.name for p in (synth_ru / "images").glob("*.png")
    )
    assert len(lines) == 48 and {
        "file",
        "text",
        "confidence",
        "valid",
        "template",
        "accepted",
    } <= set(lines[0])
    assert (
        main(
            [
                "read",
                str(synth_ru / "images" / "000000.png"),
                "--model",
                str(onnx_model),
                "--min-confidence",
                "1",
            ]
        )
        == 0
    )
    assert "rejected" in capsys.readouterr().out
    assert (
        main(
            [
                "bench",
                "--model",
                str(onnx_model),
                "--seconds",
                "0.2",
                "--batch-sizes",
                "1,4",
                "--json",
            ]
        )
        == 0
    )
    figures = json.loads(capsys.readouterr().out)
    assert figures["images"] == "64 synthetic ru plates (no --data given)"
    assert set(figures["batches"]) == {"1", "4"} and figures["batches"]["4"]["plates_per_s"] > 0
    assert figures["size_mb"] > 0 and figures["peak_rss_mb"] > 0
    stages = figures["batches"]["4"]["stages_ms_per_plate"]
    # the untrained model is unsure of every plate: each is read through tighter views too
    assert (
        set(stages) == {"prepare", "model", "decode", "tighter", "turned"}
        and min(stages.values()) > 0
    )


def test_read_cli_sends_crops_to_the_model_in_batches(
    onnx_model: Path, synth_ru: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    read_batch = PlateReader.read_batch

    def recording(self: PlateReader, images: list) -> list:  # type: ignore[type-arg]
        sizes.append(len(images))
        return read_batch(self, images)

    monkeypatch.setattr(PlateReader, "read_batch", recording)
    assert main(["read", str(synth_ru / "images"), "--model", str(onnx_model)]) == 0
    assert sizes == [32, 16]  # 48 crops


def test_float_and_16_bit_files_keep_their_picture(tmp_path: Path) -> None:
    img = plate_like(36, 150)
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    # OpenCV's [0, 1] floats, uncompressed (OpenCV 4.8 compressed them lossily by default)
    no_compression = [cv2.IMWRITE_TIFF_COMPRESSION, 1]
    cv2.imwrite(str(tmp_path / "f.tiff"), bgr.astype(np.float32) / 255, no_compression)
    cv2.imwrite(str(tmp_path / "u16.png"), bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "f255.tiff"), bgr.astype(np.float32), no_compression)  # 0-255
    cv2.imwrite(str(tmp_path / "u16_8bit.png"), bgr.astype(np.uint16))  # 8-bit values, 16 bits
    for name in ("f.tiff", "u16.png", "f255.tiff", "u16_8bit.png"):
        assert np.abs(load_image(tmp_path / name).astype(int) - img).max() <= 1, name
    # [0, 1] floats a little over 1, as lossy float encoders write them (OpenCV 4.8's TIFFs: 1.002)
    over = np.clip(bgr.astype(np.float32) / 255 * 1.004, 0, 1.003)
    assert np.abs(to_rgb(over).astype(int) - img).max() <= 2


def test_one_resize_and_rectification() -> None:
    from plateread.imaging import crop_quad, prepare, prepare_batch

    img = plate_like(32, 300)  # as high as the input, wider: shrinking, so area interpolation
    area = cv2.resize(img, (128, 32), interpolation=cv2.INTER_AREA)
    assert (prepare(img, (32, 128)) == area).all()
    small = plate_like(20, 100)  # growing: linear
    linear = cv2.resize(small, (128, 32), interpolation=cv2.INTER_LINEAR)
    assert (prepare_batch([small, img], (32, 128)) == np.stack([linear, area])).all()
    assert prepare_batch([], (32, 128)).shape == (0, 32, 128, 3)
    for bad, words in (
        (np.zeros((32, 128, 3), np.float32), "expected an RGB uint8 image, got float32"),
        (np.zeros((32, 128), np.uint8), "expected an RGB uint8 image"),
        (np.zeros((0, 128, 3), np.uint8), "empty image: 0x128 pixels"),
    ):
        with pytest.raises(ImageError, match=words):
            prepare(bad, (32, 128))
    # decoded pictures of other kinds: other integers clipped, odd shapes named
    assert (to_rgb(np.full((2, 2, 3), 300, np.int32)) == 255).all()
    for bad, words in (
        (np.zeros((2, 2, 2), np.uint8), "unsupported channel count 2"),
        (np.zeros((0, 2, 3), np.uint8), "unexpected image shape"),
        (np.zeros((2, 2, 3, 1), np.uint8), "unexpected image shape"),
    ):
        with pytest.raises(ImageError, match=words):
            to_rgb(bad, "x.png")
    # the whole picture's corners give the picture back
    corners = np.array([[0, 0], [299, 0], [299, 31], [0, 31]], np.float32)
    assert np.abs(crop_quad(img, corners, (32, 300)).astype(int) - img).max() <= 1


@pytest.mark.parametrize("kind", ["PNG", "TIFF", "WEBP"])
def test_exif_orientation_is_honoured(kind: str, tmp_path: Path) -> None:
    """TIFF: OpenCV turns the picture itself; JPEG, PNG, WebP: turned here."""
    import io

    from PIL import Image

    upright = plate_like(20, 50)
    # how a camera stores the picture for each orientation tag (Pillow's own inverse)
    stored_as = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }
    for tag, transpose in stored_as.items():
        exif = Image.Exif()
        exif[0x0112] = tag
        buf = io.BytesIO()
        opts = {"lossless": True} if kind == "WEBP" else {}
        Image.fromarray(upright).transpose(transpose).save(
            buf, format=kind, exif=exif.tobytes(), **opts
        )
        assert np.array_equal(load_image(buf.getvalue()), upright), (kind, tag)
    # a phone photo of a plate saved on its side (JPEG, tag 6) reads upright from its file
    path = tmp_path / "side.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(path, exif=exif.tobytes())
    assert load_image(path).shape == upright.shape


def test_read_folder_takes_every_image_kind_and_skips_other_files(
    onnx_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image, features

    img = plate_like()
    suffixes = [".png", ".gif", ".webp", ".bmp", ".jp2", ".ppm", ".pgm"]
    if "avif" in features.modules and features.check_module("avif"):  # Pillow 11.3 or later
        suffixes.append(".avif")
    for suffix in suffixes:
        pixels = img.mean(axis=2).astype(np.uint8) if suffix == ".pgm" else img
        Image.fromarray(pixels).save(tmp_path / f"plate{suffix}")
    (tmp_path / "notes.txt").write_text("not a plate")
    assert main(["read", str(tmp_path), "--model", str(onnx_model), "--json"]) == 0
    files = [Path(json.loads(line)["file"]).name for line in capsys.readouterr().out.splitlines()]
    assert files == sorted(f"plate{suffix}" for suffix in suffixes)
    (tmp_path / "none").mkdir()  # a folder without images is an error; the rest is still read
    (tmp_path / "none" / "notes.txt").write_text("not a plate")
    assert main(["read", str(tmp_path / "none"), str(tmp_path / "plate.png")]) == 1
    out = capsys.readouterr()
    assert "none: no images (" in out.err and out.out.startswith(str(tmp_path / "plate.png"))


def test_read_prints_one_line_of_three_fields_per_image_whatever_its_name(
    onnx_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    names = ["a\tb.png", "c\nd.png", "e\rf.png", "g h.png"]
    for name in names:
        Image.fromarray(plate_like()).save(tmp_path / name)
    assert main(["read", str(tmp_path), "--model", str(onnx_model)]) == 0
    lines = capsys.readouterr().out.split("\n")[:-1]
    assert [line.count("\t") for line in lines] == [2] * 4
    shown = sorted(Path(line.split("\t")[0]).name for line in lines)
    assert shown == ["a\\tb.png", "c\\nd.png", "e\\rf.png", "g h.png"]
    assert main(["read", str(tmp_path), "--model", str(onnx_model), "--json"]) == 0
    exact = [Path(json.loads(line)["file"]).name for line in capsys.readouterr().out.splitlines()]
    assert sorted(exact) == sorted(names)


def test_read_reports_a_truncated_image_once(
    onnx_model: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    Image.fromarray(plate_like()).save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:300])
    assert main(["read", str(tmp_path), "--model", str(onnx_model)]) == 1
    out, err = capfd.readouterr()
    assert out.startswith(str(tmp_path / "whole.png"))
    # our error line alone: no OpenCV or libpng line about the same file
    assert err.strip().splitlines() == [
        f"plateread read: error: {tmp_path / 'cut.png'}: "
        "not a readable image (corrupt or unsupported format)"
    ]


def test_a_png_cut_short_never_reaches_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCV 4.10's libpng prints its own error line for a cut PNG, whatever the log level."""
    import io

    from PIL import Image

    from plateread import imaging

    buf = io.BytesIO()
    Image.fromarray(plate_like()).save(buf, "PNG")
    data = buf.getvalue()
    calls: list[int] = []
    real = imaging.cv2.imdecode
    monkeypatch.setattr(imaging.cv2, "imdecode", lambda b, f: calls.append(len(b)) or real(b, f))
    with pytest.raises(imaging.ImageError, match="cut.png: not a readable image"):
        imaging.decode_image(data[:300], "cut.png")
    assert calls == []
    assert imaging.decode_image(data).shape == plate_like().shape
    assert calls == [len(data)]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "I;16", "L"])
def test_pngs_reach_opencv_with_only_the_chunks_of_their_pixels(mode: str) -> None:
    """Colour profiles, gamma, text and other ancillary chunks are dropped before OpenCV (libpng
    prints its own warnings for odd ones); the pixels are what OpenCV decodes of the file."""
    import io

    from PIL import Image, PngImagePlugin

    from plateread import imaging

    im = Image.fromarray(plate_like()).convert("RGBA" if mode == "RGBA" else "RGB")
    if mode == "P":
        im = im.quantize(16)
        im.info["transparency"] = 3  # a tRNS chunk: the alpha of palette entry 3
    elif mode in ("I;16", "L"):
        im = (
            im.convert("L")
            if mode == "L"
            else Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 257)
        )
    text = PngImagePlugin.PngInfo()
    text.add_text("Software", "a camera")
    buf = io.BytesIO()
    im.save(buf, "PNG", pnginfo=text, dpi=(300, 300), transparency=im.info.get("transparency"))
    data = with_png_chunk(buf.getvalue(), b"gAMA", (45455).to_bytes(4, "big"))
    data = with_png_chunk(data, b"iCCP", b"x\0\0" + bytes(9))  # a broken profile
    chunks = imaging._png_pixels(data)
    assert chunks is not None and len(chunks) < len(data)
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    expected = imaging.to_rgb(raw, "x.png")
    np.testing.assert_array_equal(imaging.decode_image(data, "x.png"), expected)
    # a changed checksum in a chunk OpenCV needs: Pillow's error, never libpng's line
    header_crc = bytearray(data)
    header_crc[30] ^= 1
    assert imaging._png_pixels(bytes(header_crc)) is None
    # one in a chunk left out changes nothing
    assert data[37:41] == b"iCCP"
    assert imaging._png_pixels(data[:42] + bytes([data[42] ^ 1]) + data[43:]) == chunks


def test_what_opencv_cannot_decode_pillow_does(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from PIL import Image

    import plateread.imaging as imaging

    img = plate_like()
    gif, png = io.BytesIO(), io.BytesIO()
    Image.fromarray(img).save(gif, "GIF")
    Image.fromarray(img).save(png, "PNG")
    # an OpenCV that decodes nothing (OpenCV 4.10 and 4.11 have no GIF decoder)
    monkeypatch.setattr(imaging.cv2, "imdecode", lambda *_: None)
    assert (imaging.decode_image(png.getvalue()) == img).all()
    assert imaging.decode_image(gif.getvalue()).shape == img.shape  # GIF: a 256-colour palette
    with pytest.raises(ImageError, match="not a readable image"):
        imaging.decode_image(png.getvalue()[:300])  # truncated: Pillow cannot read it either
    monkeypatch.setattr(imaging, "MAX_PIXELS", 100)
    with pytest.raises(ImageError, match="exceeds the limit of 100 pixels"):
        imaging.decode_image(png.getvalue())
    with pytest.raises(ImageError, match="exceeds the limit of 100 pixels"):
        imaging.to_rgb(img)  # what OpenCV decodes is held to the same limit


def test_a_huge_picture_in_a_small_file_is_refused_before_it_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 440 KB PNG of 12000x12000 plain pixels took 870 MB and 2.5 s to decode, only to be
    refused after: the header's size is checked first."""
    from plateread import imaging

    calls: list[int] = []
    monkeypatch.setattr(imaging.cv2, "imdecode", lambda b, f: calls.append(len(b)))
    with pytest.raises(
        ImageError, match="huge.png: 7000x6000 exceeds the limit of 40000000 pixels"
    ):
        imaging.decode_image(png_claiming(7000, 6000), "huge.png")
    assert calls == []  # refused from its header alone
    ok, small = cv2.imencode(".png", plate_like())
    monkeypatch.setattr(imaging, "MAX_PIXELS", 100)
    with pytest.raises(ImageError, match="exceeds the limit of 100 pixels"):
        imaging.decode_image(small.tobytes(), "small.png")
    assert calls == []


def test_a_caller_s_size_limit_is_held_from_the_header_for_each_format_opencv_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The service's own limits (fewer pixels, a longest side) are checked where decoding
    checks its own, before the pixels are decoded: PPM and Sun raster headers too, and formats
    only Pillow decodes (TGA). Radiance HDR, whose header Pillow cannot read, is held to them
    once decoded."""
    from PIL import Image

    from plateread import imaging
    from plateread.imaging import ImageTooLarge, decode_image

    img = plate_like(40, 170)
    files = {}
    for fmt in ("PPM", "TGA"):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, fmt)
        files[fmt] = buf.getvalue()
    # a Sun raster header (32 bytes, big-endian): magic, width, height, depth, length, type...
    files["SUN"] = struct.pack(">8I", 0x59A66A95, 170, 40, 24, 170 * 40 * 3, 1, 0, 0) + bytes(
        170 * 40 * 3
    )
    for fmt, data in files.items():
        assert decode_image(data, fmt).shape == (40, 170, 3), fmt
        calls: list[int] = []
        with monkeypatch.context() as m:
            if fmt != "TGA":  # OpenCV reads no TGA: Pillow sizes it before decoding
                m.setattr(imaging.cv2, "imdecode", lambda b, f, c=calls: c.append(len(b)))
            with pytest.raises(ImageTooLarge, match=f"{fmt}: 170x40 exceeds the limit of 160 pix"):
                decode_image(data, fmt, max_side=160)
            with pytest.raises(ImageTooLarge, match="exceeds the limit of 6000 pixels$"):
                decode_image(data, fmt, max_pixels=6000)
        assert calls == [], fmt  # refused from the header
    assert decode_image(files["PPM"], max_pixels=6800, max_side=170).shape == (40, 170, 3)
    hdr = cv2.imencode(".hdr", plate_like(40, 170).astype(np.float32) / 255)[1].tobytes()
    assert decode_image(hdr).shape == (40, 170, 3)
    with pytest.raises(ImageTooLarge, match="170x40 exceeds the limit of 160 pixels a side"):
        decode_image(hdr, "t.hdr", max_side=160)
    assert issubclass(ImageTooLarge, ImageError)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_header_opencv_asserts_on_is_an_image_error() -> None:
    """A header that claims ten billion pixels: OpenCV's size check raises ``cv2.error``
    rather than returning None; it must end as our error, naming the file."""
    from plateread.imaging import decode_image

    pfm = b"PF\n100000 100000\n-1.0\n" + bytes(100)  # a header Pillow cannot read
    with pytest.raises(cv2.error):
        cv2.imdecode(np.frombuffer(pfm, np.uint8), cv2.IMREAD_UNCHANGED)
    with pytest.raises(ImageError, match="big.pfm: not a readable image"):
        decode_image(pfm, "big.pfm")
    pgm = b"P5\n100000 100000\n255\n" + bytes(100)  # one Pillow reads: refused from it
    with pytest.raises(ImageError, match="big.pgm: exceeds the limit of 40000000 pixels"):
        decode_image(pgm, "big.pgm")
    # a damaged BMP claiming a width of a billion: refused from its header, before OpenCV
    ok, encoded = cv2.imencode(".bmp", plate_like())
    data = bytearray(encoded.tobytes())
    data[21] = 0x40  # the top byte of the width (bytes 18-21, little-endian)
    with pytest.raises(ImageError, match="wide.bmp: exceeds the limit of 40000000 pixels"):
        decode_image(bytes(data), "wide.bmp")


# Pillow warns of what it skips in damaged TIFF tags, and of a header's huge size
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("kind", ["PNG", "JPEG", "BMP", "TIFF", "GIF", "WEBP"])
def test_damaged_image_bytes_decode_or_are_image_errors(kind: str) -> None:
    """Image files cut short, with bytes changed anywhere or in their headers (sizes, types):
    each decodes to an RGB picture or is an ImageError, never another exception."""
    import io
    import random

    from PIL import Image

    from plateread.imaging import decode_image

    buf = io.BytesIO()
    Image.fromarray(plate_like()).save(buf, kind)
    whole = buf.getvalue()
    rnd = random.Random(kind)
    decoded = 0
    for i in range(120):
        data = bytearray(whole)
        if i % 3 == 0:
            data = data[: rnd.randrange(len(data))]
        elif i % 3 == 1:
            for _ in range(rnd.randrange(1, 8)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        else:
            data[rnd.randrange(12, 40)] = rnd.choice([0, 0x40, 0x7F, 0xFF])
        try:
            img = decode_image(bytes(data), f"{i}.{kind.lower()}")
        except ImageError as e:
            assert f"{i}.{kind.lower()}: " in str(e)
            continue
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.size
        decoded += 1
    assert decoded  # some damage leaves a picture (a changed pixel)


def test_opencv_is_quieted_on_old_and_new_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    try:
        from cv2.utils import logging as cv_logging
    except ImportError:  # OpenCV before 4.13
        cv_logging = None
    levels: list[int] = []
    monkeypatch.setattr(cv2, "setLogLevel", levels.append, raising=False)
    quiet_opencv()
    if cv_logging is not None:  # through cv2.utils.logging, not the old top-level setter
        assert levels == [] and cv_logging.getLogLevel() == cv_logging.LOG_LEVEL_SILENT
    # OpenCV 4.8-4.12 (we declare 4.10 or later) have no cv2.utils.logging, only cv2.setLogLevel
    monkeypatch.delattr(cv2.utils, "logging", raising=False)
    monkeypatch.setitem(sys.modules, "cv2.utils.logging", None)  # type: ignore[arg-type]
    levels.clear()
    quiet_opencv()
    assert levels == [0]  # LOG_LEVEL_SILENT


def test_bench_batch_sizes_must_be_positive_integers(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "1,x", ""):
        with pytest.raises(SystemExit) as e:
            main(["bench", "--model", "ru", "--batch-sizes", bad])
        assert e.value.code == 2 and "expected positive integers" in capsys.readouterr().err


def test_bench_reads_plates_of_the_models_format_without_data() -> None:
    from plateread.bench import synthetic_plates

    fmt = load_format("cn")
    first, again = synthetic_plates(fmt, n=3, seed=5), synthetic_plates(fmt, n=3, seed=5)
    assert len(first) == 3 and all(a.dtype == np.uint8 and a.shape[2] == 3 for a in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # the same plates each run
    # the generator's plates of that format, unaugmented (as a detector hands over a clear plate)
    plates = synth_samples(fmt, n=3, seed=5, augment=False)
    assert all(np.array_equal(a, s.load()) for a, s in zip(first, plates))
    assert all(fmt.is_valid(s.text) for s in plates)


def test_bench_times_every_image_of_data_whatever_its_name(
    onnx_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("IMG_0001.png", "photo 2.png", "A123BC77.png"):  # one name is a plate's text
        cv2.imwrite(str(tmp_path / name), plate_like())
    args = ["bench", "--model", str(onnx_model), "--seconds", "0.1", "--batch-sizes", "1"]
    assert main([*args, "--data", f"dir:{tmp_path}", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["images"] == f"3 plates of dir:{tmp_path}"
    assert main([*args, "--data", f"dir:{tmp_path}", "--threads", "1"]) == 0  # as people read it
    head, batch, stages = capsys.readouterr().out.splitlines()
    assert "MB, constrained decoding, 1 threads), peak memory " in head
    assert head.endswith(f"; 3 plates of dir:{tmp_path}")
    assert re.fullmatch(
        r"  batch   1: +\d+\.\d plates/s  p50 [\d.]+ ms  p99 [\d.]+ ms per plate", batch
    )
    assert re.fullmatch(r" +mean ms per plate: prepare [\d.]+, model [\d.]+, decode .*", stages)
    (tmp_path / "empty").mkdir()
    assert main([*args, "--data", f"dir:{tmp_path / 'empty'}"]) == 2
    assert "no images in dir:" in capsys.readouterr().err
    (tmp_path / "broken.png").write_bytes(b"broken")  # timed without it, and named
    assert main([*args, "--data", f"dir:{tmp_path}", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["images"] == f"3 plates of dir:{tmp_path}"
    assert "left out: " in err and "broken.png: not a readable image" in err
    (tmp_path / "empty" / "broken.png").write_bytes(b"broken")
    assert main([*args, "--data", f"dir:{tmp_path / 'empty'}"]) == 2
    assert "none of the images in dir:" in capsys.readouterr().err


def test_peak_memory_where_the_platform_cannot_say(monkeypatch: pytest.MonkeyPatch) -> None:
    from plateread.bench import peak_rss_mb

    assert (peak_rss_mb() or 0) > 0
    monkeypatch.setitem(sys.modules, "resource", None)  # as on Windows: no getrusage
    assert peak_rss_mb() is None
