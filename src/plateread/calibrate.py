"""Calibrate an exported reader's confidences on labelled plates; the curves go into the file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from rapidfuzz.distance import Levenshtein

from plateread.calibration import apply_curve, expected_calibration_error, fit_isotonic
from plateread.data import Dataset, DataSpecError, load_dataset
from plateread.evaluate import evaluate
from plateread.reader import PlateReader

META_KEY = "plateread_calibration"


def char_correct(prediction: str, target: str) -> list[bool]:
    """For each predicted character: is it matched to the same target character in an optimal
    alignment?
    """
    ok = [True] * len(prediction)
    for op in Levenshtein.editops(prediction, target):
        if op.tag in ("replace", "delete"):
            ok[op.src_pos] = False
    return ok


def collect(
    reader: PlateReader, data: Dataset, report: TextIO | None = None
) -> dict[str, list[Any]]:
    """Raw (uncalibrated) plate and character confidences with their correctness; what was left
    out (dropped labels, unreadable images) is written to ``report`` if given.
    """
    ev = evaluate(reader.predictor, data, decoder=reader.decoder, calibrated=False)
    if report is not None:
        if data.report.dropped:
            print(f"calibration labels: {data.report}", file=report)
        for problem in ev.unreadable:
            print(f"calibration left out: {problem}", file=report)
    char_conf: list[float] = []
    char_ok: list[bool] = []
    for d, t in zip(ev.readings, ev.targets):
        char_conf.extend(d.char_confidences)
        char_ok.extend(char_correct(d.text, t))
    return {
        "plate_conf": [d.confidence for d in ev.readings],
        "plate_ok": [d.text == t for d, t in zip(ev.readings, ev.targets)],
        "char_conf": char_conf,
        "char_ok": char_ok,
    }


def calibrate_onnx(
    path: str | Path, data: Dataset | Sequence[str], report: TextIO | None = None
) -> dict[str, float]:
    """Fit plate and character calibration curves on ``data`` and write them into the ONNX file.

    Args:
        path: The exported reader (rewritten in place).
        data: Labelled plates, or data specs read with the reader's own format.
        report: Where to say which labels and images were left out (e.g. ``sys.stderr``).

    Returns:
        Expected calibration error before and after, on ``data`` itself (in-sample).

    Raises:
        DataSpecError: no labelled plate of the reader's format, or none of them readable
            (the file is left as it was).
    """
    import onnx

    reader = PlateReader(path)
    if not isinstance(data, Dataset):
        specs = [data] if isinstance(data, str) else list(data)
        data = load_dataset(specs, reader.format, require_template=False)
    if not data.samples:  # empty curves would be written into the model
        raise DataSpecError(f"no plates to calibrate on: {data.summary()}")
    c = collect(reader, data, report)
    if not c["plate_ok"]:
        raise DataSpecError(f"no plates to calibrate on: none of {len(data.samples)} images read")
    plate = fit_isotonic(c["plate_conf"], c["plate_ok"])
    char = fit_isotonic(c["char_conf"], c["char_ok"])
    proto = onnx.load(str(path))
    kept = [p for p in proto.metadata_props if p.key != META_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    entry = proto.metadata_props.add()
    entry.key, entry.value = (
        META_KEY,
        json.dumps({"plate": plate, "char": char, "n": len(c["plate_ok"])}),
    )
    onnx.save(proto, str(path))
    after = apply_curve(plate, np.asarray(c["plate_conf"]))
    return {
        "n": float(len(c["plate_ok"])),
        "ece_before": expected_calibration_error(c["plate_conf"], c["plate_ok"]),
        "ece_after": expected_calibration_error(after.tolist(), c["plate_ok"]),
    }
