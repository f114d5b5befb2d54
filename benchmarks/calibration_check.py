"""Out-of-sample calibration: which data should a reader's confidence curve be fitted on?

The labelled real plates are cut in two at random many times; a curve is fitted on one half (alone,
or with extra plates such as the reader's synthetic validation plates) and the expected
calibration error is measured on the other half. With ``--test``, the curves fitted on all the real
plates (and the extra ones) are also scored on a separate labelled set.

Usage:
    python benchmarks/calibration_check.py --model ru_all \
        --data "json:../shared/data/ru_dev?split=val&holdout=0.3" \
        --extra "synth:ru_all?n=500&seed=999" --test "synth:ru_all?n=1000&seed=4242"
"""

from __future__ import annotations

import argparse

import numpy as np

from plateread.calibrate import collect
from plateread.calibration import Curve, apply_curve, expected_calibration_error, fit_isotonic
from plateread.data import load_dataset
from plateread.reader import PlateReader


def _plates(reader: PlateReader, spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw plate confidences and whether each reading was right."""
    c = collect(reader, load_dataset([spec], reader.format, require_template=False))
    return np.asarray(c["plate_conf"]), np.asarray(c["plate_ok"], dtype=bool)


def _ece(curve: Curve | None, conf: np.ndarray, ok: np.ndarray) -> float:
    return expected_calibration_error(apply_curve(curve, conf).tolist(), ok.tolist())


def main() -> None:
    """Print the mean out-of-sample calibration error of each way of fitting the curve."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="ru, ru_all, cn or an .onnx file")
    ap.add_argument("--data", required=True, help="labelled real plates (halved)")
    ap.add_argument("--extra", help="plates added to every fit, e.g. synthetic validation plates")
    ap.add_argument("--test", help="a separate labelled set to score the full-data curves on")
    ap.add_argument("--halvings", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    reader = PlateReader(a.model)
    conf, ok = _plates(reader, a.data)
    extra = _plates(reader, a.extra) if a.extra else None
    print(f"{a.model}: {len(conf)} real plates, {int((~ok).sum())} read wrong")

    def fits(c: np.ndarray, y: np.ndarray) -> dict[str, Curve | None]:
        out: dict[str, Curve | None] = {"raw": None, "real": fit_isotonic(c.tolist(), y.tolist())}
        if extra is not None:
            out["real+extra"] = fit_isotonic(
                np.r_[c, extra[0]].tolist(), np.r_[y, extra[1]].tolist()
            )
            out["extra alone"] = fit_isotonic(extra[0].tolist(), extra[1].tolist())
        return out

    rng = np.random.default_rng(a.seed)
    half = len(conf) // 2
    scores: dict[str, list[float]] = {}
    for _ in range(a.halvings):
        order = rng.permutation(len(conf))
        fit, held = order[:half], order[half:]
        for name, curve in fits(conf[fit], ok[fit]).items():
            scores.setdefault(name, []).append(_ece(curve, conf[held], ok[held]))
    print(f"  ECE on the other half, mean of {a.halvings} halvings:")
    for name, values in scores.items():
        print(f"    {name:12s} {np.mean(values):.3f}")
    if a.test:
        t_conf, t_ok = _plates(reader, a.test)
        print(f"  ECE on {a.test} ({len(t_conf)} plates, {int((~t_ok).sum())} wrong):")
        for name, curve in fits(conf, ok).items():
            if name != "extra alone":
                print(f"    {name:12s} {_ece(curve, t_conf, t_ok):.3f}")


if __name__ == "__main__":
    main()
