"""Does reading a plate several ways help? Exact match of a checkpoint on labelled plates when the
log-probabilities of shifted crops (4% narrower or wider, 8% shorter or taller) are averaged
before decoding, against the crop alone.

Usage:
    python benchmarks/tta_check.py --model runs_uz/004-crnn_fast/best.pt \
        --data "csv:../shared/data/uz_train/labels.csv?split=val&holdout=0.2"
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

from plateread.data import load_dataset
from plateread.decoding import decode_logits
from plateread.formats import PlateFormat
from plateread.imaging import prepare
from plateread.train.checkpoint import load_model

VARIANTS = ("crop", "narrower", "wider", "shorter", "taller")


def variant(image: np.ndarray, name: str) -> np.ndarray:
    """``image`` cut or padded (edge pixels repeated) as ``name`` says."""
    h, w = image.shape[:2]
    dx, dy = round(0.04 * w), round(0.08 * h)
    if name == "narrower":
        return image[:, dx : w - dx]
    if name == "wider":
        return cv2.copyMakeBorder(image, 0, 0, dx, dx, cv2.BORDER_REPLICATE)
    if name == "shorter":
        return image[dy : h - dy]
    if name == "taller":
        return cv2.copyMakeBorder(image, dy, dy, 0, 0, cv2.BORDER_REPLICATE)
    return image


def main() -> None:
    """Print exact matches (plates right) per combination of variants."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="checkpoint (.pt)")
    ap.add_argument("--data", required=True, help="labelled data spec")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, state = load_model(a.model)
    fmt = PlateFormat.from_dict(state["format"])
    size = (state["input_size"][0], state["input_size"][1])
    samples = load_dataset([a.data], fmt).samples
    images = [s.image.load() for s in samples]
    texts = [s.text for s in samples]
    logp = {}
    with torch.no_grad():
        for name in VARIANTS:
            x = torch.from_numpy(np.stack([prepare(variant(im, name), size) for im in images]))
            logp[name] = torch.log_softmax(model(x), -1).numpy()
    combos = [[v] for v in VARIANTS] + [
        ["crop", "narrower", "wider"],
        ["crop", "shorter", "taller"],
        list(VARIANTS),
    ]
    for combo in combos:
        readings = decode_logits(np.mean([logp[v] for v in combo], axis=0), fmt)
        right = sum(r.text == t for r, t in zip(readings, texts))
        print(f"{'+'.join(combo):32s} {right}/{len(texts)}")


if __name__ == "__main__":
    main()
