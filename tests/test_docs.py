"""The documentation holds: relative links point at files and headings that exist, and its
commands and Python example run as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_FENCE = re.compile(r"```.*?```", re.S)


def anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text (duplicates get ``-1``, ``-2``...)."""
    out: set[str] = set()
    seen: dict[str, int] = {}
    for line in _FENCE.sub("", text).splitlines():
        m = _HEADING.match(line)
        if not m:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))  # a link's text only
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


@lru_cache
def _anchors_of(doc: Path) -> frozenset[str]:
    """The anchors of a Markdown file, read once however many links point into it."""
    return frozenset(anchors(doc.read_text(encoding="utf-8")))


def broken_links(doc: Path) -> list[str]:
    """The relative links of ``doc`` whose file or heading does not exist."""
    bad = []
    for link in _LINK.findall(_FENCE.sub("", doc.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", link):  # http:, https:, mailto:
            continue
        path, _, fragment = link.partition("#")
        target = (doc.parent / path).resolve() if path else doc
        if not target.exists():
            bad.append(f"{link} (no such file)")
        elif fragment and target.suffix == ".md" and fragment not in _anchors_of(target):
            bad.append(f"{link} (no such heading)")
    return bad


def test_anchors_follow_github() -> None:
    text = "# A `cn`'s recipe, (tried)\n```\n# not a heading\n```\n## A `cn`'s recipe, (tried)\n"
    assert anchors(text) == {"a-cns-recipe-tried", "a-cns-recipe-tried-1"}


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("# Top\n[ok](#top) [gone](#bottom) [file](b.md) [web](https://x.org/#y)\n")
    assert broken_links(doc) == ["#bottom (no such heading)", "b.md (no such file)"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    assert broken_links(doc) == []


def test_the_readme_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's Python lines, run as written beside the files they name."""
    pytest.importorskip("onnxruntime")
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text("utf-8"), re.S)
    assert blocks
    plates = sorted((ROOT / "examples" / "plates" / "ru").glob("*.png"))[:3]
    shutil.copy(plates[0], tmp_path / "plate.jpg")  # a PNG under a .jpg name reads the same
    (tmp_path / "crops").mkdir()
    for p in plates:
        shutil.copy(p, tmp_path / "crops" / p.name)
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in printed[1:]] == [p.stem for p in plates]


def test_the_python_workflow_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/python-api.md's blocks, in order, in one namespace, as a notebook runs them (about
    10 s: one short epoch from the shipped reader)."""
    doc = ROOT / "docs" / "python-api.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text("utf-8"), re.S)
    assert len(blocks) == 6
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), namespace)
    printed = capsys.readouterr().out
    assert "runs/001-crnn_fast" in printed and "exact " in printed
    assert "PlateColours(background=(" in printed
    assert (tmp_path / "report" / "report.html").is_file()
    from plateread.reader import PlateReader

    assert PlateReader("my_ru.onnx").predictor.calibration is not None  # calibrated in place


def run_as_written(
    doc: Path,
    blocks: slice,
    shorter: dict[str, str],
    tmp_path: Path,
    files: dict[str, Path] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a document's ``bash`` blocks in order, in a fresh folder beside ``shared`` (as a clone
    sits beside ../shared) holding the repository's ``examples`` and copies of ``files`` (the
    user's own, by the names the commands give them), each ``shorter`` key (which must occur
    once) replaced by its value; fails with the error's end if a command fails.
    """
    script = "\n".join(re.findall(r"```bash\n(.*?)```", doc.read_text("utf-8"), re.S)[blocks])
    for long, short in shorter.items():
        assert script.count(long) == 1, long
        script = script.replace(long, short)
    work = tmp_path / "plateread"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    for name, source in (files or {}).items():
        shutil.copy(source, work / name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_custom_region_tutorial_runs_as_written(tmp_path: Path) -> None:
    """Every command of docs/custom-region.md, in order, with the training shortened (fewer
    epochs, minutes and synthetic plates): nothing else is changed.
    """
    from conftest import shared

    pytest.importorskip("torch")
    shared("uz_train")
    doc = ROOT / "docs" / "custom-region.md"
    assert "```bash\nmake setup" in doc.read_text("utf-8")  # the first block: done already
    shorter = {"--epochs 80": "--epochs 1", "--max-minutes 42": "--max-minutes 0.1"}
    shorter |= {"n=4000": "n=32", "-n 24": "-n 4", "repeat=4": "repeat=1"}
    done = run_as_written(doc, slice(1, None), shorter, tmp_path)
    work = tmp_path / "plateread"
    made = ["uz_real.png", "uz_synth.png", "uz_augmented.png", "uz_report/report.html", "uz.onnx"]
    for made_file in made:
        assert (work / made_file).is_file(), made_file
    readings = (work / "uz_readings.jsonl").read_text().splitlines()
    assert len(readings) == 1547 and "01A115AA_2ab15b.jpg" in done.stdout


def test_the_readme_commands_run_as_written(tmp_path: Path) -> None:
    """The README's list of commands, in order, with training and timing shortened; all but
    ``serve`` (which runs until stopped: tests/test_serve.py starts it).
    """
    from conftest import shared

    pytest.importorskip("torch")
    for name in ("ru_dev", "cn_dev", "uz_train"):
        shared(name)
    shorter = {"-n 5000": "-n 64", "--epochs 10": "--epochs 1"}
    shorter |= {"--batch-sizes 1,32": "--batch-sizes 1,32 --seconds 0.5"}
    shorter |= {"plateread serve --port 8000": "# plateread serve --port 8000"}
    plate = sorted((ROOT / "examples" / "plates" / "ru").glob("*.png"))[0]
    done = run_as_written(ROOT / "README.md", slice(1, 2), shorter, tmp_path, {"plate.jpg": plate})
    work = tmp_path / "plateread"
    assert (work / "my_ru.onnx").is_file() and (work / "report" / "report.html").is_file()
    assert f"\t{plate.stem}\t" in done.stdout  # the example plates, then standard input


@pytest.mark.parametrize("name", ["ru", "cn", "ru_all"])
def test_the_onnx_recipe_reads_as_the_greedy_reader_does(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/onnx-model.md's reading with numpy, OpenCV and ONNX Runtime alone gives the texts and
    calibrated confidences of ``PlateReader`` with greedy decoding and no second readings."""
    pytest.importorskip("onnxruntime")
    from plateread.predict import resolve_model
    from plateread.reader import PlateReader

    doc = ROOT / "docs" / "onnx-model.md"
    (block,) = re.findall(r"```python\n(.*?)```", doc.read_text("utf-8"), re.S)
    plates = sorted((ROOT / "examples" / "plates" / name.split("_")[0]).glob("*.png"))
    assert plates
    shutil.copy(resolve_model(name), tmp_path / "ru.onnx")  # the name the block opens
    shutil.copy(plates[0], tmp_path / "plate.png")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(block, str(doc), "exec"), namespace)
    assert capsys.readouterr().out.startswith("(")
    reader = PlateReader(name, decoder="greedy", tighter_below=0, turned_below=0, two_row_below=0)
    read_plate = namespace["read_plate"]
    for plate in plates:
        text, confidence, chars = read_plate(str(plate))  # type: ignore[operator]
        expected = reader.read(plate)
        assert text == expected.text, plate.name
        assert confidence == pytest.approx(expected.confidence, abs=1e-5)
        assert chars == pytest.approx(list(expected.char_confidences), abs=1e-5)
