"""Two-row plates: format layouts, the two-row view, synthetic two-row plates, training targets
and the second reading."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import path_logits
from plateread.data import Sample, load_dataset
from plateread.decoding import Decoded
from plateread.formats import FormatError, PlateFormat
from plateread.imaging import split_rows
from plateread.labels import filter_labels
from plateread.synth import synth_samples, write_dataset
from plateread.tworow import from_shown, reread_two_row, shown_text

UZ = {
    "name": "uz2",
    "alphabet": "0-9A-Z",
    "classes": {"D": "0-9", "L": "A-Z"},
    "templates": ["DDLDDDLL", "DDDDDLLL"],
    "prefixes": ["01", "10"],
    "two_row": {"DDLDDDLL": [[2, 3, 4, 5], [6, 7, 0, 1]]},
    "style": {"region_chars": 2, "flag": [[0, 150, 200], [245, 245, 245]], "two_row_share": 1.0},
}
FMT = PlateFormat.from_dict(UZ)


def test_layouts_are_checked_and_survive_the_round_trip() -> None:
    assert PlateFormat.from_dict(FMT.to_dict()) == FMT
    assert FMT.two_row["DDLDDDLL"] == ((2, 3, 4, 5), (6, 7, 0, 1))
    positions = r"two_row maps a template to two rows of its positions \(each of 0..7 once\)"
    for bad, words in (
        ({"DDLDDDLL": [[2, 3, 4, 5], [6, 7, 0, 0]]}, positions),  # a position twice, one missing
        ({"DDLDDDLL": [[0, 1, 2, 3, 4, 5, 6, 7]]}, positions),  # one row
        ({"DDLDDDLL": "top, bottom"}, "two_row must map templates to lists of positions"),
        # a layout that fits, of no template of the format (`extends` with templates of its own)
        ({"DDDDLLLL": [[0, 1, 2, 3], [4, 5, 6, 7]]}, "two_row names 'DDDDLLLL', not a template"),
    ):
        with pytest.raises(FormatError, match=words):
            PlateFormat.from_dict({**UZ, "two_row": bad})
    # two layouts that show alike rows for different plates: `A123` over `BC01` is either
    bare = {k: v for k, v in UZ.items() if k != "prefixes"}
    alike = {"DDLDDDLL": [[2, 3, 4, 5], [6, 7, 0, 1]], "LDDDLLDD": [[0, 1, 2, 3], [4, 5, 6, 7]]}
    with pytest.raises(FormatError, match="'DDLDDDLL' and 'LDDDLLDD' can show the same rows"):
        PlateFormat.from_dict(
            {**bare, "templates": [*UZ["templates"], "LDDDLLDD"], "two_row": alike}
        )
    # a digit where the other shows a letter tells them apart; so does one order for both
    for other, rows in (("LDDDLDDD", alike["LDDDLLDD"]), ("DDLDDDLD", alike["DDLDDDLL"])):
        layouts = {"DDLDDDLL": alike["DDLDDDLL"], other: rows}
        fine = PlateFormat.from_dict(
            {**bare, "templates": [*UZ["templates"], other], "two_row": layouts}
        )
        assert set(fine.two_row) == {"DDLDDDLL", other}
    # templates drawn only on two rows must have a layout
    for only in (["DDDDDLLL"], "DDLDDDLL", [["DDLDDDLL"]]):
        with pytest.raises(FormatError, match="two_row_only"):
            PlateFormat.from_dict({**UZ, "style": {**UZ["style"], "two_row_only": only}})
    only = PlateFormat.from_dict({**UZ, "style": {"two_row_only": ["DDLDDDLL"]}})
    assert PlateFormat.from_dict(only.to_dict()) == only


def test_text_as_shown_and_back() -> None:
    assert shown_text("01A123BC", FMT) == "A123BC01"
    assert FMT.two_row_shown.templates == ("LDDDLLDD",)
    assert FMT.two_row_shown is FMT.two_row_shown  # built once, with its automaton
    back = from_shown(Decoded("A123BC01", 0.5, (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)), FMT)
    assert back is not None and back.text == "01A123BC"
    assert back.char_confidences == (0.7, 0.8, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    assert from_shown(Decoded("A123BC00", 0.5, (0.5,) * 8), FMT) is None  # prefix 00: invalid
    assert from_shown(Decoded("A123B", 0.5, (0.5,) * 5), FMT) is None
    with pytest.raises(ValueError, match="two-row"):
        shown_text("01123ABC", FMT)  # the company template has no two-row layout


def test_two_row_view_puts_the_halves_side_by_side() -> None:
    img = np.zeros((50, 30, 3), np.uint8)
    img[:25] = 200  # top half light, bottom half dark
    view = split_rows(img)
    assert view.shape == (28, 60, 3)  # each half 56% of the height, with the overlap
    assert view[:20, :30].min() == 200 and view[-20:, 30:].max() == 0


def test_synthetic_two_row_plates_render_and_are_written_with_their_rows(tmp_path: Path) -> None:
    path = tmp_path / "uz2.yaml"
    path.write_text(json.dumps(UZ), encoding="utf-8")  # JSON is YAML
    samples = synth_samples(str(path), 12, seed=0)
    two = [s for s in samples if s.rows == 2]
    assert two and all(FMT.match_template(s.text) == "DDLDDDLL" for s in two)
    assert all(s.rows == 1 for s in samples if FMT.match_template(s.text) == "DDDDDLLL")
    clean = replace(two[0].image, augment=False).load()
    assert clean.shape[0] / clean.shape[1] > 0.5  # taller than a one-row plate
    # photographed crops of two-row plates get 200/112 times the pixels of one-row ones' 24-80
    assert min(s.load().shape[0] for s in two) >= round(24 * 200 / 112)
    config = write_dataset(str(path), 12, tmp_path / "out", seed=0)
    data = load_dataset(f"json:{config}", FMT)
    assert [s.rows for s in data.samples] == [s.rows for s in samples]


def test_two_row_labels_need_a_layout_and_rows_must_be_1_or_2(tmp_path: Path) -> None:
    kept, report = filter_labels(
        [Sample("a", "01A123BC", None, 2), Sample("b", "01123ABC", None, 2)], FMT
    )
    assert [s.id for s in kept] == ["a"]
    assert "two_row layout" in str(report)
    (tmp_path / "x.png").write_bytes(b"")
    (tmp_path / "l.csv").write_text("file,text,rows\nx.png,01A123BC,3\nx.png,01A123BC,2\n")
    data = load_dataset(f"csv:{tmp_path / 'l.csv'}", FMT)
    assert [s.rows for s in data.samples] == [2]
    assert "rows must be 1 or 2" in data.problems[0]


def test_training_reads_two_row_samples_through_the_view() -> None:
    from plateread.train.data import PlateTorchDataset

    class Source:
        def load(self) -> np.ndarray:
            return np.full((60, 80, 3), 128, np.uint8)

    ds = PlateTorchDataset(
        [Sample("a", "01A123BC", Source(), 2), Sample("b", "01A123BC", Source())], FMT, (32, 96)
    )
    two, one = ds[0], ds[1]
    assert two is not None and one is not None
    assert two["text"] == "A123BC01" and two["target"].tolist() == FMT.encode("A123BC01")
    assert one["text"] == "01A123BC" and tuple(two["image"].shape) == (32, 96, 3)


def test_unsure_plates_get_the_two_row_reading_when_it_is_more_confident() -> None:
    seen: list[tuple[int, ...]] = []

    def logits(batch: np.ndarray) -> np.ndarray:
        seen.append(batch.shape)
        return np.concatenate([path_logits("A123BC01", FMT.alphabet, steps=24)] * len(batch))

    images = [np.zeros((40, 60, 3), np.uint8)] * 3
    readings = [
        Decoded("01A123BB", 0.3, (0.6,) * 8),  # unsure: read again, the two-row reading wins
        Decoded("10B456CC", 0.95, (0.99,) * 8),  # sure: left alone
        Decoded("01A123BC", 0.3, (0.6,) * 8),
    ]
    out = reread_two_row(logits, images, readings, FMT, (32, 96))
    assert seen == [(2, 32, 96, 3)]  # only the two unsure plates, in one batch
    assert out[0].text == "01A123BC" and out[0].confidence > 0.9 and out[1] is readings[1]
    assert reread_two_row(logits, images, readings, FMT, (32, 96), below=0.1) == readings
    one_row = replace(FMT, two_row={})
    assert reread_two_row(logits, images, readings, one_row, (32, 96)) == readings


def test_an_exported_reader_keeps_the_layouts_and_reads_two_row_crops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cv2

    from plateread.cli import main
    from plateread.export import export_onnx
    from plateread.models import REGISTRY, build_model
    from plateread.predict import OnnxPredictor
    from plateread.reader import PlateReader
    from plateread.train.checkpoint import model_meta, save_checkpoint

    meta = model_meta("crnn_fast", FMT, REGISTRY["crnn_fast"].input_size, {})
    ckpt = save_checkpoint(tmp_path / "uz2.pt", build_model("crnn_fast", FMT), meta)
    export_onnx(ckpt, tmp_path / "uz2.onnx")
    reader = PlateReader(tmp_path / "uz2.onnx", tighter_below=0.0, turned_below=0.0)  # two-row only
    assert reader.format == FMT
    crops = [np.full((60, 84, 3), 200, np.uint8), np.full((36, 120, 3), 90, np.uint8)]
    calls: list[int] = []
    logits = reader.predictor.logits
    reader.predictor.logits = lambda b: calls.append(len(b)) or logits(b)  # type: ignore[method-assign]
    results = reader.read_batch(crops)  # untrained: unsure of both, so both are read twice
    assert len(results) == 2 and all(isinstance(r.text, str) for r in results)
    assert calls == [2, 2]
    reader.two_row_below = 0.0  # never read twice
    assert len(reader.read_batch(crops)) == 2 and calls == [2, 2, 2]

    cv2.imwrite(str(tmp_path / "crop.png"), crops[0])
    batches: list[int] = []
    model_logits = OnnxPredictor.logits
    monkeypatch.setattr(
        OnnxPredictor, "logits", lambda self, b: batches.append(len(b)) or model_logits(self, b)
    )
    for below, expected in (("0.9", [1, 1]), ("0", [1])):  # the CLI option reaches the reader
        batches.clear()
        args = ["read", str(tmp_path / "crop.png"), "--model", str(tmp_path / "uz2.onnx")]
        args += ["--tighter-below", "0", "--turned-below", "0"]
        assert main([*args, "--two-row-below", below]) == 0 and batches == expected


def test_eval_marks_two_row_readings_and_the_report_shows_their_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import plateread.report.figures as figures
    from plateread.data import Dataset
    from plateread.evaluate import evaluate
    from plateread.report import write_report

    class Crop:
        def load(self) -> np.ndarray:
            img = np.zeros((40, 60, 3), np.uint8)
            img[:20] = 220  # light top row, dark bottom row
            return img

    class Predictor:
        format, input_size, calibration = FMT, (32, 96), None

        def logits(self, batch: np.ndarray) -> np.ndarray:
            # the two-row view has the dark bottom row on its right: a sure, right reading;
            # the one-row view gets an unsure, wrong one
            out = []
            for im in batch:
                if im[:, -10:].mean() < 50:
                    out.append(path_logits("A123BC01", FMT.alphabet, steps=24))
                else:
                    out.append(path_logits("01A123BB", FMT.alphabet, steps=24, noise=2.0) / 3)
            return np.concatenate(out)

    data = Dataset([Sample("two.png", "01A123BC", Crop())])
    ev = evaluate(Predictor(), data)  # type: ignore[arg-type]
    assert ev.predictions == ["01A123BC"] and ev.two_row == [True]
    assert "per_rows" not in ev.metrics  # no label says which plates have two rows
    labelled = Dataset([Sample("two.png", "01A123BC", Crop(), 2), Sample("b", "01A123BB", Crop())])
    rows = evaluate(Predictor(), labelled).metrics["per_rows"]  # type: ignore[arg-type]
    assert {k: (g["n"], g["exact"]) for k, g in rows.items()} == {
        "one-row": (1, 0.0),
        "two-row": (1, 1.0),
    }
    once = evaluate(Predictor(), data, two_row_below=0.0)  # type: ignore[arg-type]
    assert once.predictions != ["01A123BC"] and once.two_row == [False]

    shown: list[tuple[tuple[int, ...], str]] = []
    heatmap = figures.heatmap
    monkeypatch.setattr(
        figures,
        "heatmap",
        lambda img, p, a, title, path: (
            shown.append((img.shape, title)) or heatmap(img, p, a, title, path)
        ),
    )
    write_report(Predictor(), ev, tmp_path / "rep")  # type: ignore[arg-type]
    assert shown == [
        (split_rows(Crop().load()).shape, "target 01A123BC  read 01A123BC  (two-row view)")
    ]
    write_report(Predictor(), once, tmp_path / "rep1")  # type: ignore[arg-type]
    assert shown[1][0] == (40, 60, 3) and "two-row" not in shown[1][1]
