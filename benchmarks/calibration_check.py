"""Out-of-sample calibration: which data should a reader's confidence curve be fitted on, and how?

The labelled real plates are cut in two at random many times; a curve is fitted on one half (alone,
or with extra plates such as the reader's synthetic validation plates; blended with the raw
confidence as shipped, or plain isotonic regression) and the expected calibration error, the Brier
score, the ranking (the chance that a right reading scores above a wrong one; ties count half)
and the share of plates given 0.9995 or more (shown as 1.000) are measured on the other half.
With ``--test``, the curves fitted on all the real plates (and the extra ones) are also scored on
a separate labelled set.

Usage:
    python benchmarks/calibration_check.py --model ru_all \
        --data "json:../shared/data/ru_dev?split=val&holdout=0.3" \
        --extra "synth:ru_all?n=500&seed=999" --test "synth:ru_all?n=1000&seed=4242"
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from plateread.calibrate import collect
from plateread.calibration import Curve, apply_curve, expected_calibration_error, fit_isotonic
from plateread.data import load_dataset
from plateread.reader import PlateReader


def _plates(reader: PlateReader, spec: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw plate confidences and whether each reading was right."""
    c = collect(reader, load_dataset([spec], reader.format, require_template=False))
    return np.asarray(c["plate_conf"]), np.asarray(c["plate_ok"], dtype=bool)


def _ranking(p: np.ndarray, ok: np.ndarray) -> float:
    """The chance that a right reading's confidence is above a wrong one's (ties half; AUROC)."""
    right, wrong = p[ok], p[~ok]
    if not len(right) or not len(wrong):
        return float("nan")
    above = (right[:, None] > wrong[None, :]).mean() + 0.5 * (
        right[:, None] == wrong[None, :]
    ).mean()
    return float(above)


def _scores(curve: Curve | None, conf: np.ndarray, ok: np.ndarray) -> list[float]:
    """ECE, Brier score, ranking and the share of plates given 0.9995 or more."""
    p = apply_curve(curve, conf)
    ece = expected_calibration_error(p.tolist(), ok.tolist())
    return [ece, float(np.mean((p - ok) ** 2)), _ranking(p, ok), float(np.mean(p >= 0.9995))]


def _row(name: str, figures: Sequence[float]) -> str:
    ece, brier, ranking, certain = figures
    return f"    {name:12s} {ece:.3f}  {brier:.4f}  {ranking:.3f}  {certain:.1%}"


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
        out: dict[str, Curve | None] = {
            "raw": None,
            "real": fit_isotonic(c.tolist(), y.tolist()),
            "real, plain": fit_isotonic(c.tolist(), y.tolist(), prior=0),
        }
        if extra is not None:
            out["real+extra"] = fit_isotonic(
                np.r_[c, extra[0]].tolist(), np.r_[y, extra[1]].tolist()
            )
            out["extra alone"] = fit_isotonic(extra[0].tolist(), extra[1].tolist())
        return out

    rng = np.random.default_rng(a.seed)
    half = len(conf) // 2
    scores: dict[str, list[list[float]]] = {}
    for _ in range(a.halvings):
        order = rng.permutation(len(conf))
        fit, held = order[:half], order[half:]
        for name, curve in fits(conf[fit], ok[fit]).items():
            scores.setdefault(name, []).append(_scores(curve, conf[held], ok[held]))
    print(f"  on the other half, mean of {a.halvings}: ECE, Brier, ranking, shown as 1.000")
    for name, values in scores.items():
        print(_row(name, np.nanmean(values, axis=0).tolist()))  # ranking: halves with both kinds
    if a.test:
        t_conf, t_ok = _plates(reader, a.test)
        print(f"  on {a.test} ({len(t_conf)} plates, {int((~t_ok).sum())} wrong):")
        for name, curve in fits(conf, ok).items():
            if name != "extra alone":
                print(_row(name, _scores(curve, t_conf, t_ok)))


if __name__ == "__main__":
    main()
