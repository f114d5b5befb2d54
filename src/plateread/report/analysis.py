"""Error analysis of an evaluation (no plotting): groups, confusions, histograms, reliability."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from plateread.calibration import coverage_curve, expected_calibration_error
from plateread.evaluate import Evaluation
from plateread.formats import PlateFormat
from plateread.labels import CHECK_LABEL_ABOVE
from plateread.metrics import edit_distance, grouped


def char_confusions(targets: list[str], preds: list[str]) -> Counter[tuple[str, str]]:
    """Counts of (target character, predicted character) substitutions, ``∅`` for a character
    missed or added, from optimal alignments.
    """
    pairs: Counter[tuple[str, str]] = Counter()
    for t, p in zip(targets, preds):
        for op in Levenshtein.editops(t, p):
            if op.tag == "replace":
                pairs[(t[op.src_pos], p[op.dest_pos])] += 1
            elif op.tag == "delete":
                pairs[(t[op.src_pos], "∅")] += 1
            else:
                pairs[("∅", p[op.dest_pos])] += 1
    return pairs


def analyse(
    ev: Evaluation, fmt: PlateFormat, checks: list[tuple[int, str]] | None = None
) -> dict[str, Any]:
    """Everything the report shows, as plain data (also written to ``summary.json``).

    ``checks`` are :func:`labels_to_check`'s findings when already made.
    """
    if checks is None:
        checks = labels_to_check(ev, fmt)
    targets, preds = ev.targets, ev.predictions
    conf = [r.confidence for r in ev.readings]
    right = [t == p for t, p in zip(targets, preds)]
    wrong_chars = [edit_distance(t, p) for t, p in zip(targets, preds)]
    out: dict[str, Any] = {
        **{
            k: ev.metrics[k]
            for k in ("n", "exact", "char_acc", "cer", "unreadable", "dropped_labels")
        },
        "per_template": ev.metrics["per_template"],
        "per_length": ev.metrics["per_length"],
        "wrong_chars_histogram": dict(sorted(Counter(wrong_chars).items())),
        "char_confusions": [
            {"target": a, "prediction": b, "count": n}
            for (a, b), n in char_confusions(targets, preds).most_common(30)
        ],
        "ece": expected_calibration_error(conf, right),
        "coverage": [
            {"threshold": th, "coverage": c, "accuracy": a}
            for th, c, a in coverage_curve(conf, right)
        ],
        "labels_to_check": [
            {
                "file": ev.samples[i].id,
                "label": targets[i],
                "read": preds[i],
                "confidence": ev.readings[i].confidence,
                "why": why,
            }
            for i, why in checks
        ],
    }
    provinces = fmt.classes.get("P")
    if provinces:
        first = [t[0] for t in targets]
        common = Counter(first).most_common(1)[0][0] if first else ""
        out["per_province"] = grouped(targets, preds, lambda t: t[0])
        others = [(t, p) for t, p in zip(targets, preds) if t[0] != common]
        out["other_provinces"] = {
            "most_common": common,
            "n": len(others),
            "exact": float(np.mean([t == p for t, p in others])) if others else None,
        }
        prov_pairs = Counter(
            (t[0], p[0] if p else "∅") for t, p in zip(targets, preds) if not p or t[0] != p[0]
        )
        out["province_confusions"] = [
            {"target": a, "prediction": b, "count": n} for (a, b), n in prov_pairs.most_common(20)
        ]
    return out


def reliability(
    conf: list[float], right: list[bool], bins: int = 10
) -> list[tuple[float, float, int]]:
    """``(mean confidence, accuracy, count)`` per equal-width confidence bin (non-empty bins)."""
    c = np.asarray(conf, dtype=np.float64)
    y = np.asarray(right, dtype=np.float64)
    idx = np.minimum((c * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        if m.any():
            rows.append((float(c[m].mean()), float(y[m].mean()), int(m.sum())))
    return rows


def labels_to_check(
    ev: Evaluation, fmt: PlateFormat, min_confidence: float = CHECK_LABEL_ABOVE
) -> list[tuple[int, str]]:
    """Misread plates whose label is worth a second look, most suspect first.

    A label is suspect when it fits no template of ``fmt`` while the reading does, or when
    the reader disagrees with it confidently: its reading fits a template (any text, for a
    format without templates) with a confidence of at least ``min_confidence``. Some of
    them will be the reader's own errors; looking at the pictures decides.

    Returns:
        ``(index into ev, why)`` pairs, labels that fit no template first, then by
        confidence, highest first.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence is a confidence from 0 to 1; got {min_confidence}")
    fits = fmt.is_valid if fmt.templates else bool
    found = []
    for i, (t, r) in enumerate(zip(ev.targets, ev.readings)):
        if t == r.text or not fits(r.text):
            continue
        if not fits(t):
            found.append((0, -r.confidence, i, "label fits no template"))
        elif r.confidence >= min_confidence:
            found.append((1, -r.confidence, i, "confident reading"))
    return [(i, why) for _, _, i, why in sorted(found)]


def worst(ev: Evaluation, k: int = 24) -> list[int]:
    """Indices of the worst readings: most wrong characters first, then most confident."""
    wrong = [i for i, (t, r) in enumerate(zip(ev.targets, ev.readings)) if t != r.text]
    return sorted(
        wrong,
        key=lambda i: (
            -edit_distance(ev.targets[i], ev.readings[i].text),
            -ev.readings[i].confidence,
        ),
    )[:k]
