"""Our reader and the peer model (fast-plate-ocr cct-xs-v1-global, from ../shared/peers) on the same
images in the same run: plates/s at batch 1 and 32, exact match, and the speed ratio.

Usage:
    python benchmarks/peer_compare.py --model ru --data json:../shared/data/ru_dev [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from plateread.data import load_dataset
from plateread.reader import PlateReader

PEER = (
    Path(__file__).resolve().parents[2]
    / "shared/peers/fast_plate_ocr_cct_xs_v1_global/cct_xs_v1_global.onnx"
)
PEER_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"


class Peer:
    """The peer model as its README describes it: RGB uint8 NHWC 64x128, 9 slots, '_' = pad."""

    def __init__(self, path: Path, threads: int) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def read_batch(self, images: list[np.ndarray]) -> list[str]:
        """Plate texts of RGB crops."""
        batch = np.stack(
            [cv2.resize(im, (128, 64), interpolation=cv2.INTER_LINEAR) for im in images]
        )
        probs = self.session.run(None, {"input": batch})[0]
        return ["".join(PEER_ALPHABET[k] for k in row).replace("_", "") for row in probs.argmax(-1)]


def rate(
    read: Callable[[list[np.ndarray]], object], images: list[np.ndarray], bs: int, seconds: float
) -> float:
    """Plates per second reading ``images`` in batches of ``bs`` for about ``seconds``."""
    read(images[:bs])
    n, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        read([images[(i + k) % len(images)] for k in range(bs)])
        i += bs
        n += bs
    return n / (time.perf_counter() - start)


def main() -> None:
    """Print one JSON object with both readers' figures."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="ru")
    p.add_argument("--data", action="append", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--peer", default=str(PEER))
    a = p.parse_args()
    if not Path(a.peer).is_file():
        raise SystemExit(f"peer model not found: {a.peer}")
    ours = PlateReader(a.model, threads=a.threads)
    peer = Peer(Path(a.peer), a.threads)
    data = load_dataset(a.data, ours.format, require_template=False)
    images = [s.load() for s in data.samples]
    targets = [s.text for s in data.samples]
    out: dict[str, object] = {"n": len(images), "threads": a.threads}
    for name, read in (
        ("ours", lambda ims: [r.text for r in ours.read_batch(ims)]),
        ("peer", peer.read_batch),
    ):
        texts = read(images)
        out[name] = {
            "exact": float(np.mean([t == y for t, y in zip(texts, targets)])),
            "plates_per_s_b1": round(rate(read, images, 1, a.seconds), 1),
            "plates_per_s_b32": round(rate(read, images, 32, a.seconds), 1),
        }
    ours_f, peer_f = out["ours"], out["peer"]
    assert isinstance(ours_f, dict) and isinstance(peer_f, dict)
    out["speed_ratio_b32"] = round(ours_f["plates_per_s_b32"] / peer_f["plates_per_s_b32"], 2)
    out["speed_ratio_b1"] = round(ours_f["plates_per_s_b1"] / peer_f["plates_per_s_b1"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
