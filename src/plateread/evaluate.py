"""Evaluate a model on labelled data: headline metrics, per template, per length and (where the
labels say which plates have two rows) per number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plateread.calibration import calibrate_reading
from plateread.data import Dataset, Sample, load_readable
from plateread.decoding import Decoded, decode_logits, resolve_decoder
from plateread.formats import template_of
from plateread.imaging import prepare_batch
from plateread.metrics import grouped, score
from plateread.predict import Predictor
from plateread.reader import check_settings
from plateread.tighter import TIGHTER_BELOW, TURNED_BELOW, second_readings
from plateread.tworow import REREAD_BELOW


@dataclass
class Evaluation:
    """Metrics plus every reading, aligned with its sample (for error analysis).

    ``readings`` carry calibrated confidences when the model file has calibration curves;
    ``two_row`` marks the readings taken from the two-row view, ``tighter`` gives the index
    in :data:`~plateread.tighter.CUTS` of the tighter view that read each, and ``turned`` the
    angle of the turned view (None: the crop as given).
    """

    metrics: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    readings: list[Decoded] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    two_row: list[bool] = field(default_factory=list)
    tighter: list[int | None] = field(default_factory=list)
    turned: list[float | None] = field(default_factory=list)

    @property
    def targets(self) -> list[str]:
        """Labels of the read samples."""
        return [s.text for s in self.samples]

    @property
    def predictions(self) -> list[str]:
        """Texts read."""
        return [r.text for r in self.readings]


def evaluate(
    predictor: Predictor,
    data: Dataset,
    batch_size: int = 64,
    decoder: str = "auto",
    calibrated: bool = True,
    two_row_below: float = REREAD_BELOW,
    tighter_below: float = TIGHTER_BELOW,
    turned_below: float = TURNED_BELOW,
) -> Evaluation:
    """Read every sample of ``data`` and score the readings.

    Args:
        predictor: The model.
        data: Labelled samples.
        batch_size: Images per model call.
        decoder: ``greedy``, ``beam``, ``constrained`` or ``auto`` (see ``decode_logits``).
        calibrated: Apply the model file's calibration curves to the confidences (False gives
            the raw confidences, which is what calibration itself is fitted on).
        two_row_below: For formats with two-row layouts, the raw confidence under which a plate
            is read again through the two-row view (0 reads each plate once).
        tighter_below: The raw confidence under which a plate (or one read as no valid plate) is
            read again through tighter views of its crop (0 never), as ``PlateReader`` does.
        turned_below: The same for turned views of the crop, after the tighter ones.

    Unreadable images, and the entries the data's readers could not use (a missing file, say),
    are listed in ``unreadable`` and left out of the metrics.

    Raises:
        ValueError: an unknown decoder, ``batch_size`` under 1, or a threshold outside [0, 1].
    """
    check_settings(batch_size, two_row_below, tighter_below, turned_below)
    fmt = predictor.format
    resolve_decoder(decoder, fmt)  # an unknown name fails here, not after the first batch
    curves = getattr(predictor, "calibration", None) if calibrated else None
    ev = Evaluation(metrics={}, unreadable=list(data.problems))
    for i in range(0, len(data.samples), batch_size):
        loaded, problems = load_readable(data.samples[i : i + batch_size])
        ev.unreadable.extend(problems)
        kept, images = [s for s, _ in loaded], [img for _, img in loaded]
        if not images:
            continue
        logits = predictor.logits(prepare_batch(images, predictor.input_size))
        decoded = decode_logits(logits, fmt, decoder)
        second = second_readings(
            predictor.logits, images, decoded, fmt, predictor.input_size, decoder,
            two_row_below=two_row_below, tighter_below=tighter_below, turned_below=turned_below,
        )  # fmt: skip
        ev.two_row.extend(second.two_row)
        ev.tighter.extend(second.tighter)
        ev.turned.extend(second.turned)
        for d in second.readings:
            conf, chars = calibrate_reading(curves, d.confidence, d.char_confidences)
            ev.readings.append(Decoded(d.text, conf, chars))
        ev.samples.extend(kept)
    targets, preds = ev.targets, ev.predictions
    ev.metrics = {
        **score(targets, preds),
        "unreadable": len(ev.unreadable),
        "dropped_labels": data.report.total - data.report.kept,
        "per_template": grouped(targets, preds, lambda t: template_of(t, fmt)),
        "per_length": grouped(targets, preds, len),
    }
    if any(s.rows == 2 for s in ev.samples):  # labelled two-row plates: score them apart
        rows = ["two-row" if s.rows == 2 else "one-row" for s in ev.samples]
        ev.metrics["per_rows"] = grouped(targets, preds, rows)
    return ev
