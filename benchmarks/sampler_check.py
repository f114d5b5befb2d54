"""Where does a ``crnn_fast_stn`` model's sampler look? The spread of its affine maps over
labelled crops (scale, shear and shift per axis, in the crop's [-1, 1] coordinates), and
optionally a picture of crops beside the views the CRNN reads.

Usage:
    python benchmarks/sampler_check.py --model runs_uz/001-crnn_fast_stn/best.pt \
        --data "csv:../shared/data/uz_train/labels.csv?split=val&holdout=0.2" \
        --limit 200 --picture views.png
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

from plateread.data import load_dataset
from plateread.formats import PlateFormat
from plateread.imaging import prepare_batch
from plateread.train.checkpoint import load_model

NAMES = ("x scale", "x shear", "x shift", "y shear", "y scale", "y shift")


def main() -> None:
    """Print min/mean/max of each affine parameter; write the picture when asked."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a crnn_fast_stn checkpoint (.pt)")
    ap.add_argument("--data", required=True, help="labelled data spec")
    ap.add_argument("--limit", type=int, default=200, help="crops to look at")
    ap.add_argument("--picture", help="PNG of the first 8 crops beside their sampled views")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, state = load_model(a.model)
    if not hasattr(model, "stn"):
        raise SystemExit(f"{a.model}: {state['arch']} has no sampler")
    samples = load_dataset(a.data, PlateFormat.from_dict(state["format"])).samples
    images = prepare_batch([s.load() for s in samples[: a.limit]], tuple(state["input_size"]))
    with torch.no_grad():
        x = model.norm(torch.from_numpy(images))
        theta = model.stn.theta(x).reshape(-1, 6).numpy()
        # back to 0-255 pixels through the model's own normalisation
        views = (model.stn(x)[:8] / model.norm.scale + model.norm.mean).permute(0, 2, 3, 1).numpy()
    print(f"{len(theta)} crops")
    for name, col in zip(NAMES, theta.T):
        print(f"{name:8s} min {col.min():+.3f}  mean {col.mean():+.3f}  max {col.max():+.3f}")
    if a.picture:
        h, w = images.shape[1:3]
        rows = []
        for img, v in zip(images, views):
            view = np.clip(v, 0, 255).astype(np.uint8)
            view = cv2.resize(view, (w, h), interpolation=cv2.INTER_NEAREST)
            rows.append(np.concatenate([img, np.full((h, 8, 3), 255, np.uint8), view], 1))
        cv2.imwrite(a.picture, cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
        print(f"wrote {a.picture}")


if __name__ == "__main__":
    main()
