"""Confidence calibration (numpy only): isotonic regression of "was the reading right?" on the raw
confidence, stored as a monotone piecewise-linear map that travels inside the model file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Curve = tuple[list[float], list[float]]


def fit_isotonic(
    scores: Sequence[float], correct: Sequence[bool], bins: int = 20, prior: float = 5.0
) -> Curve:
    """Fit a non-decreasing map from raw scores to the probability of being right.

    Pool-adjacent-violators over the sorted scores; each pooled block's share of right readings
    is then blended with each score itself, weighted ``prior`` plates against the block's size
    (a Beta prior centred on the raw score): with few plates the model's own confidence still
    counts, so readings keep their order and none is promised 1.0 because a few dozen plates
    were all right; with many plates the block's accuracy decides. Summarised at ``bins``
    quantiles so the curve stays small. Returns ``(xs, ys)`` for :func:`apply_curve`.

    Args:
        scores: Raw confidences in [0, 1].
        correct: Whether each reading was right.
        bins: Quantile knots kept.
        prior: The raw score's weight, in plates (0: plain isotonic regression).
    """
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if len(x) == 0:
        return [0.0, 1.0], [0.0, 1.0]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    # pool adjacent violators: blocks of (mean, weight)
    means: list[float] = []
    weights: list[float] = []
    for v in y:
        means.append(float(v))
        weights.append(1.0)
        while len(means) > 1 and means[-2] > means[-1]:
            w = weights[-2] + weights[-1]
            m = (means[-2] * weights[-2] + means[-1] * weights[-1]) / w
            means[-2:], weights[-2:] = [m], [w]
    counts = np.asarray(weights, dtype=int)
    size = np.repeat(weights, counts)
    fitted = (size * np.repeat(means, counts) + prior * x) / (size + prior)
    top = (size[-1] * means[-1] + prior) / (size[-1] + prior)  # a raw score of 1
    qs = np.unique(np.quantile(np.arange(len(x)), np.linspace(0, 1, bins + 1)).round().astype(int))
    xs = [0.0, *x[qs].tolist(), 1.0]
    ys = [0.0, *fitted[qs].tolist(), float(top)]  # a raw score of 0 maps to 0
    ys = np.maximum.accumulate(np.asarray(ys)).tolist()
    return xs, ys


def apply_curve(curve: Curve | None, scores: np.ndarray | float) -> np.ndarray:
    """Map raw scores through a fitted curve (identity when there is none)."""
    s = np.asarray(scores, dtype=np.float64)
    if curve is None:
        return s
    return np.interp(s, curve[0], curve[1])


def calibrate_reading(
    curves: dict[str, Curve] | None, confidence: float, chars: tuple[float, ...]
) -> tuple[float, tuple[float, ...]]:
    """Calibrated (plate, per-character) confidences; unchanged when there are no curves."""
    if not curves:
        return confidence, chars
    plate = float(apply_curve(curves.get("plate"), confidence))
    per_char = np.atleast_1d(apply_curve(curves.get("char"), np.asarray(chars, dtype=np.float64)))
    return plate, tuple(float(c) for c in per_char) if chars else ()


def expected_calibration_error(
    confidence: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """ECE: the coverage-weighted gap between confidence and accuracy over equal-width bins."""
    c = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if len(c) == 0:
        return 0.0
    idx = np.minimum((c * bins).astype(int), bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(c[m].mean() - y[m].mean())
    return float(ece)


def coverage_curve(
    confidence: Sequence[float], correct: Sequence[bool]
) -> list[tuple[float, float, float]]:
    """Accuracy when rejecting below each threshold: ``(threshold, coverage, accuracy)`` rows."""
    c = np.asarray(confidence, dtype=np.float64)
    y = np.asarray(correct, dtype=bool)
    rows = []
    for th in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99):
        keep = c >= th
        acc = float(y[keep].mean()) if keep.any() else 1.0
        rows.append((th, float(keep.mean()) if len(c) else 0.0, acc))
    return rows
