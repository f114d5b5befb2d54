"""``plateread eval --report DIR``: a self-contained HTML report, figures, summary and errors."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from plateread.decoding import softmax
from plateread.evaluate import Evaluation
from plateread.imaging import prepare_batch, split_rows
from plateread.metrics import edit_distance
from plateread.predict import Predictor
from plateread.tighter import CUTS, tighter_view


def _b64(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _thumb(image: np.ndarray, height: int = 44) -> str:
    w = max(8, round(image.shape[1] * height / image.shape[0]))
    small = cv2.resize(image, (w, height), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode()


def _cjk_font_face(text: str) -> str:
    """A CSS ``@font-face`` embedding just the CJK glyphs ``text`` uses (a few KB), so province
    characters show in any browser, fonts installed or not. Empty when not needed or possible.
    """
    chars = "".join(sorted({c for c in text if ord(c) >= 0x2E80}))
    if not chars:
        return ""
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont

        from plateread.synth.fonts import cjk_font

        font = TTFont(cjk_font(), fontNumber=2, lazy=True)
        options = subset.Options()
        options.layout_features = []
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        buf = io.BytesIO()
        font.save(buf)
    except Exception:  # no font package or fontTools: browsers fall back to their own fonts
        return ""
    data = base64.b64encode(buf.getvalue()).decode()
    return f"@font-face{{font-family:PlateCJK;src:url(data:font/otf;base64,{data})}}"


def _table(rows: list[list[Any]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _group_rows(groups: dict[str, dict[str, float]]) -> list[list[Any]]:
    return [
        [
            html.escape(k),
            int(g["n"]),
            f"{g['exact']:.1%}",
            f"{g['char_acc']:.1%}",
            f"{g['cer']:.3f}",
        ]
        for k, g in groups.items()
    ]


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
    from plateread.report.analysis import analyse, reliability, worst

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    F.use_cjk_font()
    fmt = predictor.format
    summary = analyse(ev, fmt)
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    with (out / "errors.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "target", "prediction", "confidence", "edit_distance"])
        for s, r in zip(ev.samples, ev.readings):
            if s.text != r.text:
                w.writerow(
                    [s.id, s.text, r.text, f"{r.confidence:.4f}", edit_distance(s.text, r.text)]
                )

    right = [t == p for t, p in zip(ev.targets, ev.predictions)]
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
            summary["coverage"],
            reliability([r.confidence for r in ev.readings], right),
            out / "coverage_reliability.png",
        ),
    }
    if "per_province" in summary:
        figs["provinces"] = F.bar_chart(
            summary["per_province"], "exact match per province", out / "per_province.png"
        )
        figs["province_confusion"] = F.confusion_chart(
            summary["province_confusions"], "province confusions", out / "province_confusions.png"
        )

    bad = worst(ev)
    good = [i for i, ok in enumerate(right) if ok][:2]
    chosen = bad[:4] + good
    heat_paths = []
    if chosen:
        # a plate read through the two-row or a tighter view is shown with that view's pixels
        two_row = [ev.two_row[i] for i in chosen]
        cuts = [ev.tighter[i] for i in chosen]
        images = [ev.samples[i].load() for i in chosen]
        images = [split_rows(im) if two else im for im, two in zip(images, two_row)]
        images = [im if k is None else tighter_view(im, CUTS[k]) for im, k in zip(images, cuts)]
        probs = softmax(predictor.logits(prepare_batch(images, predictor.input_size)))
        for k, (i, img, p) in enumerate(zip(chosen, images, probs)):
            label = f"target {ev.targets[i]}  read {ev.readings[i].text or '∅'}"
            label += "  (two-row view)" if two_row[k] else ""
            label += "  (tighter view)" if cuts[k] is not None else ""
            heat_paths.append(F.heatmap(img, p, fmt.alphabet, label, out / f"heatmap_{k}.png"))

    return _html(out, title or "plateread evaluation", summary, figs, heat_paths, ev, bad)


def _html(
    out: Path,
    title: str,
    summary: dict[str, Any],
    figs: dict[str, Path],
    heats: list[Path],
    ev: Evaluation,
    bad: list[int],
) -> Path:
    img = lambda key: f'<img src="{_b64(figs[key])}" alt="{key}">' if key in figs else ""  # noqa: E731
    head = _table(
        [
            [
                summary["n"],
                f"{summary['exact']:.2%}",
                f"{summary['char_acc']:.2%}",
                f"{summary['cer']:.4f}",
                f"{summary['ece']:.3f}",
                summary["unreadable"],
                summary["dropped_labels"],
            ]
        ],
        [
            "plates",
            "exact match",
            "character accuracy",
            "CER",
            "ECE",
            "unreadable",
            "invalid labels",
        ],
    )
    gh = ["group", "n", "exact", "char acc", "CER"]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Headline</h2>",
        head,
        "<h2>By template</h2>",
        _table(_group_rows(summary["per_template"]), gh),
        img("templates"),
        "<h2>By plate length</h2>",
        _table(_group_rows(summary["per_length"]), gh),
        img("lengths"),
    ]
    if "per_province" in summary:
        o = summary["other_provinces"]
        other = "n/a" if o["exact"] is None else f"{o['exact']:.1%}"
        parts += [
            "<h2>By province</h2>",
            f"<p>Plates whose province is not the most common ({html.escape(o['most_common'])}): "
            f"{o['n']}, exact match {other}.</p>",
            _table(_group_rows(summary["per_province"]), gh),
            img("provinces"),
            img("province_confusion"),
        ]
    conf_rows = [
        [html.escape(c["target"]), html.escape(c["prediction"]), c["count"]]
        for c in summary["char_confusions"][:15]
    ]
    parts += [
        "<h2>Character confusions</h2>",
        _table(conf_rows, ["target", "read as", "count"]),
        img("confusion"),
        "<h2>Wrong characters per plate</h2>",
        img("histogram"),
        "<h2>Worst readings</h2>",
        _table(
            [
                [
                    f'<img src="{_thumb(ev.samples[i].load())}" alt="crop">',
                    html.escape(ev.targets[i]),
                    html.escape(ev.readings[i].text or "∅"),
                    f"{ev.readings[i].confidence:.3f}",
                    html.escape(Path(ev.samples[i].id).name),
                ]
                for i in bad
            ],
            ["image", "target", "read", "confidence", "file"],
        )
        if bad
        else "<p>No errors.</p>",
        "<h2>Per-step probabilities</h2>",
        "<p>Rows are classes (– is the CTC blank), columns time steps.</p>",
        *[f'<img src="{_b64(p)}" alt="heatmap">' for p in heats],
        "<h2>Confidence</h2>",
        img("coverage"),
        _table(
            [
                [f"{c['threshold']:.2f}", f"{c['coverage']:.1%}", f"{c['accuracy']:.1%}"]
                for c in summary["coverage"]
            ],
            ["reject below", "coverage", "exact match"],
        ),
    ]
    body = "".join(parts)
    style = _cjk_font_face(body) + (
        "body{font-family:sans-serif,PlateCJK;max-width:1100px;margin:auto;padding:1em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px}"
        "img{max-width:100%;vertical-align:middle}"
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{body}</body></html>"
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
