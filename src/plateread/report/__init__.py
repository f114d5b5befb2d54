"""``plateread eval --report DIR``: a self-contained HTML report, figures, summary and errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from plateread.decoding import softmax
from plateread.evaluate import Evaluation
from plateread.imaging import prepare_batch, split_rows
from plateread.metrics import edit_distance
from plateread.predict import Predictor
from plateread.report.page import write_page
from plateread.tighter import CUTS, tighter_view, turned_view


def _ours(f: Path) -> bool:
    """Whether a file is one a report writes."""
    return f.is_file() and (
        f.name in ("report.html", "summary.json", "errors.csv") or f.suffix == ".png"
    )


def check_report_dir(out: str | Path) -> list[Path]:
    """Check that a report may go into ``out``: a new or empty folder, or an earlier report's.

    Returns:
        The earlier report's files (to remove before writing: a figure the new report lacks
        would be left over, stale).

    Raises:
        FileExistsError: ``out`` is a file, or a folder holding files no report wrote.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file: give a folder for the report")
    files = list(out.iterdir()) if out.is_dir() else []
    if files and not ((out / "report.html").is_file() and all(map(_ours, files))):
        raise FileExistsError(
            f"{out} holds files that are not an earlier report's: choose a new or empty folder"
        )
    return files


def write_report(predictor: Predictor, ev: Evaluation, out: str | Path, title: str = "") -> Path:
    """Write ``report.html``, ``summary.json``, ``errors.csv`` and the PNG figures into ``out``.

    An earlier report in ``out`` is replaced (see :func:`check_report_dir`).

    Returns:
        The path of ``report.html``.

    Raises:
        ValueError: the evaluation scored no plates (nothing to report; nothing is written).
        FileExistsError: ``out`` is a file or holds other files.
    """
    if not ev.samples:
        raise ValueError("nothing to report: the evaluation scored no plates")
    for old in check_report_dir(out):
        old.unlink()
    from plateread.report import figures as F
    from plateread.report.analysis import analyse, labels_to_check, worst

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    F.use_cjk_font()
    checks = labels_to_check(ev, predictor.format)
    summary = analyse(ev, predictor.format, checks)
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    _write_errors(ev, dict(checks), out / "errors.csv")
    right = [t == p for t, p in zip(ev.targets, ev.predictions)]
    figs = _figures(summary, [r.confidence for r in ev.readings], right, out)
    bad = worst(ev)
    good = [i for i, ok in enumerate(right) if ok][:2]
    heat_paths = _heatmaps(predictor, ev, bad[:4] + good, out)
    return write_page(
        out, title or "plateread evaluation", summary, figs, heat_paths, ev, bad, checks
    )


def _write_errors(ev: Evaluation, checks: dict[int, str], path: Path) -> None:
    """``errors.csv``: each misread plate's file, target, reading, confidence, edit distance and
    why its label is worth a second look (empty when it is not; see ``labels_to_check``).
    """
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "target", "prediction", "confidence", "edit_distance", "check_label"])
        for i, (s, r) in enumerate(zip(ev.samples, ev.readings)):
            if s.text != r.text:
                dist = edit_distance(s.text, r.text)
                w.writerow([s.id, s.text, r.text, f"{r.confidence:.4f}", dist, checks.get(i, "")])


def _figures(
    summary: dict[str, Any], confidences: list[float], right: list[bool], out: Path
) -> dict[str, Path]:
    """The report's charts, by the name the page places them under."""
    from plateread.report import figures as F
    from plateread.report.analysis import reliability

    figs = {
        "templates": F.bar_chart(
            summary["per_template"], "exact match per template", out / "per_template.png"
        ),
        "lengths": F.bar_chart(
            summary["per_length"], "exact match per plate length", out / "per_length.png"
        ),
        "confusion": F.confusion_chart(
            summary["char_confusions"], "character confusions", out / "char_confusions.png"
        ),
        "histogram": F.histogram(summary["wrong_chars_histogram"], out / "wrong_chars.png"),
        "coverage": F.coverage_and_reliability(
            summary["coverage"], reliability(confidences, right), out / "coverage_reliability.png"
        ),
    }
    if "per_province" in summary:
        figs["provinces"] = F.bar_chart(
            summary["per_province"], "exact match per province", out / "per_province.png"
        )
        figs["province_confusion"] = F.confusion_chart(
            summary["province_confusions"], "province confusions", out / "province_confusions.png"
        )
    return figs


def _heatmaps(predictor: Predictor, ev: Evaluation, chosen: list[int], out: Path) -> list[Path]:
    """Step-probability heatmaps of the ``chosen`` plates, each over the pixels it was read from
    (a plate read through the two-row, a tighter or a turned view is shown with that view's).
    """
    from plateread.report import figures as F

    if not chosen:
        return []
    two_row = [ev.two_row[i] for i in chosen]
    cuts = [ev.tighter[i] for i in chosen]
    turns = [ev.turned[i] for i in chosen]
    images = [ev.samples[i].load() for i in chosen]
    images = [split_rows(im) if two else im for im, two in zip(images, two_row)]
    images = [im if k is None else tighter_view(im, CUTS[k]) for im, k in zip(images, cuts)]
    images = [im if a is None else turned_view(im, a) for im, a in zip(images, turns)]
    probs = softmax(predictor.logits(prepare_batch(images, predictor.input_size)))
    paths = []
    for k, (i, img, p) in enumerate(zip(chosen, images, probs)):
        label = f"target {ev.targets[i]}  read {ev.readings[i].text or '∅'}"
        label += "  (two-row view)" if two_row[k] else ""
        label += "  (tighter view)" if cuts[k] is not None else ""
        label += f"  (turned {turns[k]:+g}°)" if turns[k] is not None else ""
        paths.append(F.heatmap(img, p, predictor.format.alphabet, label, out / f"heatmap_{k}.png"))
    return paths
