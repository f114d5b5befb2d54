"""How much does a reader lose when the crops change? Exact match of an exported reader on
labelled plates as they are, and with each crop padded, cut, rotated, shrunk or recompressed,
the way another detector or camera would hand them over.

Usage:
    python benchmarks/robustness.py --model ru \
        --data "json:../shared/data/ru_dev?split=val&holdout=0.3"
    python benchmarks/robustness.py --model cn --data "dir:../shared/data/cn_dev" --json
    python benchmarks/robustness.py --model ru --data ... --tighter-below 0 --turned-below 0
    python benchmarks/robustness.py --model ru --data ... --large-turns   # whole crops turned 8-16
    python benchmarks/robustness.py --model cn --data ... --swap-channels   # BGR arrays as RGB
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import cv2
import numpy as np

from plateread.data import load_dataset
from plateread.reader import PlateReader
from plateread.tighter import TIGHTER_BELOW, TURNED_BELOW, turned_view

Perturb = Callable[[np.ndarray], np.ndarray]


def _pad(share: float) -> Perturb:
    """Margins of ``share`` of the width on each side and twice that of the height (edge pixels
    repeated): a looser box than the one the plate was labelled with.
    """

    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        dy, dx = round(2 * share * h), round(share * w)
        return cv2.copyMakeBorder(im, dy, dy, dx, dx, cv2.BORDER_REPLICATE)

    return f


def _cut(share: float) -> Perturb:
    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        dy, dx = round(share * h), round(share * w)
        return im[dy : h - dy, dx : w - dx]

    return f


def _rotate(degrees: float) -> Perturb:
    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        return cv2.warpAffine(im, m, (w, h), borderMode=cv2.BORDER_REPLICATE)

    return f


def _height(pixels: int) -> Perturb:
    def f(im: np.ndarray) -> np.ndarray:
        h, w = im.shape[:2]
        size = (max(8, round(w * pixels / h)), pixels)
        return cv2.resize(im, size, interpolation=cv2.INTER_AREA)

    return f


def _jpeg(quality: int) -> Perturb:
    def f(im: np.ndarray) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)

    return f


def _turn(degrees: float) -> Perturb:
    """The whole crop turned on a larger canvas (the plate's ends stay in it), as a plate turned
    that much in a detector's box is.
    """
    return lambda im: turned_view(im, degrees)


LARGE_TURNS: dict[str, Perturb] = {f"turn {a:+d}": _turn(a) for a in (-16, -12, -8, 8, 12, 16)}
PERTURBATIONS: dict[str, Perturb] = {
    "as is": lambda im: im,
    "pad 5%": _pad(0.05),
    "pad 12%": _pad(0.12),
    "pad 20%": _pad(0.2),
    "cut 4%": _cut(0.04),
    "rotate +4": _rotate(4.0),
    "rotate -4": _rotate(-4.0),
    "20 px high": _height(20),
    "JPEG 30": _jpeg(30),
}


def measure(
    model: str,
    data: str,
    threads: int,
    tighter_below: float = TIGHTER_BELOW,
    swap_channels: bool = False,
    turned_below: float = TURNED_BELOW,
    large_turns: bool = False,
) -> dict[str, float]:
    """Exact match of ``model`` on ``data`` under each of :data:`PERTURBATIONS` (with
    ``large_turns``, :data:`LARGE_TURNS` instead); with ``swap_channels`` each crop is handed
    over in OpenCV's BGR order without ``bgr=True``.
    """
    reader = PlateReader(
        model, threads=threads, tighter_below=tighter_below, turned_below=turned_below
    )
    samples = load_dataset([data], reader.format).samples
    images = [s.image.load() for s in samples]
    out: dict[str, float] = {"plates": float(len(samples))}
    perturbations = (
        {"as is": PERTURBATIONS["as is"], **LARGE_TURNS} if large_turns else PERTURBATIONS
    )
    for name, perturb in perturbations.items():
        crops = [perturb(im) for im in images]
        if swap_channels:
            crops = [np.ascontiguousarray(c[..., ::-1]) for c in crops]
        results = reader.read_batch(crops)
        out[name] = float(np.mean([r.text == s.text for r, s in zip(results, samples)]))
    changed = [v for k, v in out.items() if k not in ("plates", "as is")]
    out["mean of changed"] = float(np.mean(changed))
    return out


def main() -> None:
    """Print exact match per perturbation (a table, or one JSON object)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="ru, cn or an exported .onnx file")
    ap.add_argument("--data", required=True, help="labelled data spec")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--tighter-below",
        type=float,
        default=TIGHTER_BELOW,
        help="read unsure plates again through tighter views under this raw confidence (0: off)",
    )
    ap.add_argument(
        "--turned-below",
        type=float,
        default=TURNED_BELOW,
        help="then through turned views under this raw confidence (0: off)",
    )
    ap.add_argument(
        "--large-turns",
        action="store_true",
        help="measure whole crops turned by 8, 12 and 16 degrees either way instead",
    )
    ap.add_argument(
        "--swap-channels",
        action="store_true",
        help="hand each crop over in BGR order (cv2.imread's) as if it were RGB",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    out = measure(
        a.model, a.data, a.threads, a.tighter_below, a.swap_channels, a.turned_below, a.large_turns
    )
    if a.json:
        print(json.dumps(out))
        return
    print(f"{a.model} on {int(out['plates'])} plates")
    for name, value in out.items():
        if name != "plates":
            print(f"  {name:>16}: {100 * value:.1f}%")


if __name__ == "__main__":
    main()
