"""Plate-reading metrics: exact match, character accuracy, character error rate (numpy-free)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from rapidfuzz.distance import Levenshtein


def edit_distance(target: str, prediction: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    return int(Levenshtein.distance(target, prediction))


def matched_chars(target: str, prediction: str) -> int:
    """Target characters read correctly in an optimal alignment."""
    ops = Levenshtein.editops(target, prediction)
    return len(target) - sum(op.tag in ("replace", "delete") for op in ops)


def score(targets: Sequence[str], predictions: Sequence[str]) -> dict[str, float]:
    """Headline metrics of a set of readings.

    Returns:
        ``n``; ``exact`` (share of plates read entirely right); ``char_acc`` (share of target
        characters matched in an optimal alignment); ``cer`` (edit operations per target character).
    """
    if len(targets) != len(predictions):
        raise ValueError("targets and predictions differ in length")
    n = len(targets)
    chars = sum(len(t) for t in targets)
    exact = sum(t == p for t, p in zip(targets, predictions))
    dist = sum(edit_distance(t, p) for t, p in zip(targets, predictions))
    matched = sum(matched_chars(t, p) for t, p in zip(targets, predictions))
    return {
        "n": n,
        "exact": exact / n if n else 0.0,
        "char_acc": matched / chars if chars else 0.0,
        "cer": dist / chars if chars else 0.0,
    }


def grouped(
    targets: Sequence[str],
    predictions: Sequence[str],
    key: Callable[[str], Any] | Sequence[Any],
) -> dict[str, dict[str, float]]:
    """:func:`score` within groups of targets: by a function of the target (e.g. its template or
    length) or by a group given for each target.
    """
    groups: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    keys = [key(t) for t in targets] if callable(key) else list(key)
    if len(keys) != len(targets):
        raise ValueError(f"{len(keys)} groups for {len(targets)} targets")
    for t, p, k in zip(targets, predictions, keys):
        g = groups[str(k)]
        g[0].append(t)
        g[1].append(p)
    return {k: score(*v) for k, v in sorted(groups.items())}
