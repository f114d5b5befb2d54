"""Evaluate a model on labelled data: headline metrics, per template and per length."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plateread.data import Dataset
from plateread.decoding import Decoded, greedy_decode
from plateread.formats import template_of
from plateread.imaging import ImageError, prepare_batch
from plateread.metrics import grouped, score
from plateread.predict import Predictor


@dataclass
class Evaluation:
    """Metrics plus every reading (for error analysis)."""

    metrics: dict[str, Any]
    ids: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    readings: list[Decoded] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def evaluate(predictor: Predictor, data: Dataset, batch_size: int = 64) -> Evaluation:
    """Read every sample of ``data`` and score the readings.

    Unreadable images are listed in ``unreadable`` and left out of the metrics.
    """
    fmt = predictor.format
    ev = Evaluation(metrics={})
    for i in range(0, len(data.samples), batch_size):
        images, ids, targets = [], [], []
        for s in data.samples[i : i + batch_size]:
            try:
                images.append(s.load())
            except ImageError as e:
                ev.unreadable.append(f"{s.id}: {e}")
                continue
            ids.append(s.id)
            targets.append(s.text)
        if not images:
            continue
        logits = predictor.logits(prepare_batch(images, predictor.input_size))
        ev.readings.extend(greedy_decode(logits, fmt.alphabet))
        ev.ids.extend(ids)
        ev.targets.extend(targets)
    preds = [r.text for r in ev.readings]
    ev.metrics = {
        **score(ev.targets, preds),
        "unreadable": len(ev.unreadable),
        "dropped_labels": data.report.total - data.report.kept,
        "per_template": grouped(ev.targets, preds, lambda t: template_of(t, fmt)),
        "per_length": grouped(ev.targets, preds, len),
    }
    return ev
