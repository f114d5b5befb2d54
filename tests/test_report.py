from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, chromium_page, untrained_onnx
from plateread.cli import main
from plateread.data import load_dataset
from plateread.data.readers import Sample
from plateread.decoding import Decoded
from plateread.evaluate import Evaluation, evaluate
from plateread.formats import CN, GENERIC, RU
from plateread.predict import load_predictor
from plateread.report import write_report
from plateread.report.analysis import char_confusions, labels_to_check


@pytest.fixture(scope="module")
def cn_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of an untrained CN model on rendered plates (plenty of errors to show)."""
    d = tmp_path_factory.mktemp("report")
    predictor = load_predictor(untrained_onnx(d, "cn"))
    ev = evaluate(predictor, load_dataset("synth:cn?n=40&seed=2", CN, require_template=False))
    write_report(predictor, ev, d / "rep", title="test report")
    return d / "rep"


def test_report_files(cn_report: Path) -> None:
    names = {p.name for p in cn_report.iterdir()}
    assert {
        "report.html",
        "summary.json",
        "errors.csv",
        "per_template.png",
        "per_length.png",
        "per_province.png",
        "province_confusions.png",
        "char_confusions.png",
        "wrong_chars.png",
        "coverage_reliability.png",
        "heatmap_0.png",
    } <= names
    summary = json.loads((cn_report / "summary.json").read_text(encoding="utf-8"))
    assert summary["n"] == 40 and {
        "exact",
        "char_acc",
        "cer",
        "ece",
        "per_province",
        "other_provinces",
        "char_confusions",
        "wrong_chars_histogram",
        "coverage",
        "labels_to_check",
    } <= set(summary)
    assert sum(summary["wrong_chars_histogram"].values()) == 40
    rows = list(csv.DictReader((cn_report / "errors.csv").open(encoding="utf-8")))
    assert rows and set(rows[0]) == {
        "file",
        "target",
        "prediction",
        "confidence",
        "edit_distance",
        "check_label",
    }
    page = (cn_report / "report.html").read_text(encoding="utf-8")
    for section in (
        "Headline",
        "By template",
        "By province",
        "Character confusions",
        "Worst readings",
        "Labels to check",
        "Per-step probabilities",
        "Confidence",
    ):
        assert f"<h2>{section}</h2>" in page
    assert 'src="data:image/png;base64,' in page and "file://" not in page  # self-contained


def test_figures_draw_province_characters() -> None:
    import io
    import warnings

    import matplotlib.pyplot as plt

    from plateread.report.figures import use_cjk_font

    use_cjk_font()  # matplotlib before 3.11 cannot load the CJK font collection
    fig, ax = plt.subplots()
    ax.set_title("皖A 京 粤")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Glyph .* missing")
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_confusions_count_substitutions_and_gaps() -> None:
    c = char_confusions(["A0B", "A1"], ["AOB", "A"])
    assert c[("0", "O")] == 1 and c[("1", "∅")] == 1


def test_eval_report_cli(
    tmp_path: Path, cn_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = cn_report.parent / "cn_test.onnx"
    assert (
        main(
            [
                "eval",
                "--model",
                str(model),
                "--data",
                "synth:cn?n=12&seed=5",
                "--report",
                str(tmp_path / "r"),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["n"] == 12
    assert (tmp_path / "r" / "report.html").is_file()
    # an earlier report is replaced whole: no figure of the old one is left over
    (tmp_path / "r" / "heatmap_9.png").write_bytes(b"old figure")
    argv = ["eval", "--model", str(model), "--data", "synth:cn?n=4&seed=5", "--json"]
    assert main([*argv, "--report", str(tmp_path / "r")]) == 0
    assert not (tmp_path / "r" / "heatmap_9.png").exists()
    assert (tmp_path / "r" / "report.html").is_file()
    # a folder of other files (`--report .` in a project) is refused before the work
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "errors.csv").write_text("my own table")
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main([*argv, "--report", str(tmp_path / "mine")]) == 2
    assert "holds files that are not an earlier report's" in capsys.readouterr().err
    assert (tmp_path / "mine" / "errors.csv").read_text() == "my own table"
    assert main([*argv, "--report", str(tmp_path / "mine" / "notes.txt")]) == 2


def test_data_verb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import write_png

    write_png(tmp_path / "d" / "皖A12345.png", np.full((24, 94, 3), 90, np.uint8))
    write_png(tmp_path / "d" / "苏B00001.png", np.full((24, 94, 3), 90, np.uint8))
    (tmp_path / "d" / "京AI1234.png").write_bytes(b"broken")  # bad label and unreadable
    (tmp_path / "d" / "浙C12345.png").write_bytes(b"")  # unreadable
    assert (
        main(
            [
                "data",
                f"dir:{tmp_path / 'd'}",
                "--format",
                "cn",
                "--json",
                "--grid",
                str(tmp_path / "g.png"),
            ]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    assert info["samples"] == 3 and info["readable"] == 2
    assert info["invalid_labels"] == {"characters outside the alphabet": 1}
    assert len(info["unreadable"]) == 1 and info["provinces"] == {"皖": 1, "苏": 1}
    assert info["lengths"] == {"7": 2} or info["lengths"] == {7: 2}
    assert (tmp_path / "g.png").stat().st_size > 500


def test_data_counts_region_codes(tmp_path: Path) -> None:
    from plateread.data.inspect import inspect_data
    from plateread.formats import load_format
    from plateread.synth import write_dataset

    uz = str(ROOT / "examples" / "uz.yaml")
    config = write_dataset(uz, 6, tmp_path / "uz", seed=3)
    texts = [e["text"] for e in json.loads(config.read_text())]
    info = inspect_data([f"json:{config}"], load_format(uz))
    assert sum(info["region_codes"].values()) == 6
    assert info["region_codes"][texts[0][:2]] == sum(t[:2] == texts[0][:2] for t in texts)


def test_data_grid_can_show_real_crops_as_training_augments_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    from plateread.data.inspect import inspect_data
    from plateread.formats import RU
    from plateread.synth import synth_samples, write_dataset

    config = write_dataset("ru", 6, tmp_path / "ru", seed=3)  # files: real crops to the reader
    synthetic = {s.text for s in synth_samples("ru", 2, seed=4)}
    specs = [f"json:{config}", "synth:ru?n=2&seed=4"]
    plain = inspect_data(specs, RU, sample=8)["grid"]
    again = inspect_data(specs, RU, sample=8, augment=1.0)["grid"]
    assert [text for _, text in plain] == [text for _, text in again]  # the same picks
    changed = [not np.array_equal(a, b) for (a, text), (b, _) in zip(plain, again)]
    is_synth = [text in synthetic for _, text in plain]
    assert changed == [not s for s in is_synth] and sum(is_synth) == 2
    info = inspect_data(specs, RU, sample=8, augment=1.0)
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(again, info["grid"]))  # seeded
    turned = inspect_data(specs, RU, sample=8, augment=1.0, turns=1.0)["grid"]
    taller = [b.shape[0] > a.shape[0] for (a, _), (b, _) in zip(again, turned)]
    assert taller == [not s for s in is_synth]  # every real crop turned 8-30 degrees
    assert (
        main(["data", f"json:{config}", "--augment", "2", "--grid", str(tmp_path / "a.png")]) == 0
    )
    assert (tmp_path / "a.png").is_file()
    with pytest.raises(SystemExit):
        main(["data", f"json:{config}", "--augment", "-1"])
    for flag, value in (("--augment", "1"), ("--sample", "8")):  # without a grid: not ignored
        assert main(["data", f"json:{config}", flag, value]) == 2
        assert "say how to draw the grid: give --grid" in capsys.readouterr().err
    grid = ["--grid", str(tmp_path / "t.png")]
    assert main(["data", f"json:{config}", "--real-turns", "0.5", *grid]) == 2
    assert "--real-turns says how --augment draws" in capsys.readouterr().err
    assert main(["data", f"json:{config}", "--augment", "1", "--real-turns", "0.5", *grid]) == 0
    with pytest.raises(SystemExit):
        main(["data", f"json:{config}", "--augment", "1", "--real-turns", "2", *grid])


def test_report_renders_in_chromium(cn_report: Path) -> None:
    with chromium_page() as page:
        page.goto((cn_report / "report.html").as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
        headings = page.evaluate(
            "Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"
        )
        province = page.evaluate("document.fonts.load('16px PlateCJK', '皖').then(f => f.length)")
    assert len(images) > 10 and all(ok and w > 0 for ok, w in images)
    assert "Per-step probabilities" in headings and "By province" in headings
    assert province == 1  # the embedded CJK subset draws province characters without system fonts


def test_nothing_to_report_is_an_error(tmp_path: Path) -> None:
    from plateread.calibration import coverage_curve
    from plateread.data import Dataset

    predictor = load_predictor(untrained_onnx(tmp_path, "cn"))
    ev = evaluate(predictor, Dataset(samples=[]))
    assert ev.metrics["n"] == 0
    with pytest.raises(ValueError, match="scored no plates"):
        write_report(predictor, ev, tmp_path / "rep")  # wrote figures of nan before
    assert not (tmp_path / "rep").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'mean of empty slice'
        assert coverage_curve([], [])[0] == (0.0, 0.0, 1.0)


def _evaluation(pairs: list[tuple[str, str, float]]) -> Evaluation:
    """An evaluation of ``(label, reading, confidence)`` triples (no pixels)."""
    samples = [Sample(f"p{i}.png", t, None) for i, (t, _, _) in enumerate(pairs)]
    readings = [Decoded(r, c, tuple(c for _ in r)) for _, r, c in pairs]
    return Evaluation({}, samples, readings)


def test_province_figures_and_reliability_bins() -> None:
    from plateread.report.analysis import analyse, reliability

    ev = _evaluation(
        [
            ("皖A12345", "皖A12345", 0.9),
            ("皖A11111", "皖A11112", 0.8),
            ("京B22222", "皖B22222", 0.7),  # the province misread
            ("沪C33333", "", 0.0),  # nothing read
            ("沪C44444", "沪C44444", 0.95),
        ]
    )
    keys = ("n", "exact", "char_acc", "cer", "unreadable", "dropped_labels")
    ev.metrics.update({k: 0 for k in keys}, per_template={}, per_length={})
    out = analyse(ev, CN, checks=[])
    assert {k: v["exact"] for k, v in out["per_province"].items()} == {
        "皖": 0.5,
        "京": 0,
        "沪": 0.5,
    }
    assert out["other_provinces"] == {"most_common": "皖", "n": 3, "exact": pytest.approx(1 / 3)}
    assert out["province_confusions"] == [
        {"target": "京", "prediction": "皖", "count": 1},
        {"target": "沪", "prediction": "∅", "count": 1},
    ]
    # equal-width bins, 1.0 in the top one, empty bins left out
    assert reliability([0.05, 0.15, 0.95, 1.0], [True, False, True, False], bins=10) == [
        (0.05, 1.0, 1),
        (0.15, 0.0, 1),
        (0.975, 0.5, 2),
    ]


def test_labels_to_check_are_confident_disagreements_and_labels_of_no_template() -> None:
    ev = _evaluation(
        [
            ("A123BC77", "A123BC77", 0.99),  # read as labelled
            ("A123BC77", "A128BC77", 0.70),  # confident, a plate: check
            ("A123BC77", "A128BC77", 0.30),  # unsure: the reader's doubt, not the label's
            ("A123BC77", "A123BC7", 0.99),  # confident but no plate: the reader's error
            ("A12BC77", "A123BC77", 0.10),  # the label is no plate, the reading is: check
            ("K555KK55", "K555KK50", 0.95),
        ]
    )
    assert labels_to_check(ev, RU) == [
        (4, "label fits no template"),
        (5, "confident reading"),
        (1, "confident reading"),
    ]
    assert labels_to_check(ev, RU, min_confidence=0.9) == [
        (4, "label fits no template"),
        (5, "confident reading"),
    ]
    assert [i for i, _ in labels_to_check(ev, GENERIC, min_confidence=0.9)] == [
        3,
        5,
    ]  # no templates
    with pytest.raises(ValueError, match="from 0 to 1"):
        labels_to_check(ev, RU, min_confidence=90)


def test_eval_names_the_labels_to_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped ``ru`` on its example plates, two of them mislabelled."""
    import shutil

    entries = []
    for png in sorted((ROOT / "examples/plates/ru").glob("*.png")):
        shutil.copy(png, tmp_path / png.name)
        entries.append({"file": png.name, "text": png.stem})
    entries[0]["text"] = entries[0]["text"][:-1] + ("0" if entries[0]["text"][-1] != "0" else "1")
    entries[1]["text"] = entries[1]["text"][:-1]  # fits no template
    (tmp_path / "config.json").write_text(json.dumps(entries), encoding="utf-8")
    argv = ["eval", "--model", "ru", "--data", f"json:{tmp_path}", "--report", str(tmp_path / "r")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "labels to check: 2 plate(s)" in err
    assert f"{entries[1]['text']} -> {entries[1]['file'][:-4]} (" in err
    assert f"{entries[0]['text']} -> {entries[0]['file'][:-4]} (" in err
    rows = list(csv.DictReader((tmp_path / "r" / "errors.csv").open(encoding="utf-8")))
    assert {r["target"]: r["check_label"] for r in rows} == {
        entries[1]["text"]: "label fits no template",
        entries[0]["text"]: "confident reading",
    }
    summary = json.loads((tmp_path / "r" / "summary.json").read_text(encoding="utf-8"))
    assert [c["label"] for c in summary["labels_to_check"]] == [
        entries[1]["text"],
        entries[0]["text"],
    ]
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    section = page.split("<h2>Labels to check</h2>")[1].split("<h2>")[0]
    assert section.count('alt="crop"') == 2 and "confident reading" in section
