"""The report's HTML page: one self-contained file, figures and crops embedded."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from plateread.evaluate import Evaluation


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


def _headline(summary: dict[str, Any]) -> str:
    figures = [
        summary["n"],
        f"{summary['exact']:.2%}",
        f"{summary['char_acc']:.2%}",
        f"{summary['cer']:.4f}",
        f"{summary['ece']:.3f}",
        summary["unreadable"],
        summary["dropped_labels"],
    ]
    names = [
        "plates",
        "exact match",
        "character accuracy",
        "CER",
        "ECE",
        "unreadable",
        "invalid labels",
    ]
    return _table([figures], names)


def _groups(summary: dict[str, Any], img: Callable[[str], str]) -> list[str]:
    """Exact match by template, length and (Chinese plates) province."""
    gh = ["group", "n", "exact", "char acc", "CER"]
    parts = [
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
    return parts


def _readings(ev: Evaluation, rows: list[int], extra: list[str] | None = None) -> str:
    """A table of the readings ``rows`` (indices into ``ev``) with their crops; ``extra`` is
    one more column, aligned with ``rows``.
    """
    table = [
        [
            f'<img src="{_thumb(ev.samples[i].load())}" alt="crop">',
            html.escape(ev.targets[i]),
            html.escape(ev.readings[i].text or "∅"),
            f"{ev.readings[i].confidence:.3f}",
            html.escape(Path(ev.samples[i].id).name),
            *([html.escape(extra[k])] if extra else []),
        ]
        for k, i in enumerate(rows)
    ]
    return _table(
        table, ["image", "target", "read", "confidence", "file", *(["why"] if extra else [])]
    )


def _worst(ev: Evaluation, bad: list[int]) -> str:
    """The worst readings with their crops."""
    return _readings(ev, bad) if bad else "<p>No errors.</p>"


def _checks(ev: Evaluation, checks: list[tuple[int, str]]) -> str:
    """The misread plates whose label is worth a second look, with their crops."""
    if not checks:
        return "<p>None: no misreading fits a template with confidence.</p>"
    intro = (
        "<p>The reader disagrees with these labels confidently, or the label fits no template "
        "while the reading does. Some are the reader's errors; the picture decides.</p>"
    )
    return intro + _readings(ev, [i for i, _ in checks], [why for _, why in checks])


def write_page(
    out: Path,
    title: str,
    summary: dict[str, Any],
    figs: dict[str, Path],
    heats: list[Path],
    ev: Evaluation,
    bad: list[int],
    checks: list[tuple[int, str]] | None = None,
) -> Path:
    """Write ``out/report.html``: the summary's tables, the figures, the worst readings ``bad``
    (indices into ``ev``), the labels to check (``checks``, from
    :func:`~plateread.report.analysis.labels_to_check`) and the heat maps, all embedded.
    """

    def img(key: str) -> str:
        return f'<img src="{_b64(figs[key])}" alt="{key}">' if key in figs else ""

    conf_rows = [
        [html.escape(c["target"]), html.escape(c["prediction"]), c["count"]]
        for c in summary["char_confusions"][:15]
    ]
    coverage = [
        [f"{c['threshold']:.2f}", f"{c['coverage']:.1%}", f"{c['accuracy']:.1%}"]
        for c in summary["coverage"]
    ]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Headline</h2>",
        _headline(summary),
        *_groups(summary, img),
        "<h2>Character confusions</h2>",
        _table(conf_rows, ["target", "read as", "count"]),
        img("confusion"),
        "<h2>Wrong characters per plate</h2>",
        img("histogram"),
        "<h2>Worst readings</h2>",
        _worst(ev, bad),
        "<h2>Labels to check</h2>",
        _checks(ev, checks or []),
        "<h2>Per-step probabilities</h2>",
        "<p>Rows are classes (– is the CTC blank), columns time steps.</p>",
        *[f'<img src="{_b64(p)}" alt="heatmap">' for p in heats],
        "<h2>Confidence</h2>",
        img("coverage"),
        _table(coverage, ["reject below", "coverage", "exact match"]),
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
