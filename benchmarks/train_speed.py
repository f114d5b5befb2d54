"""Synthetic plates per second and training images per second for every registered model.

Usage: python benchmarks/train_speed.py [--threads 2] [--batch-size 64] [--steps 6]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from plateread.formats import load_format
from plateread.models import REGISTRY, build_model
from plateread.synth import synth_samples
from plateread.train.losses import PlateLoss


def synth_rate(fmt: str, n: int) -> float:
    """Rendered and augmented plates per second in one process."""
    samples = synth_samples(fmt, n + 10, seed=123)
    for s in samples[:10]:  # warm font caches
        s.load()
    t = time.perf_counter()
    for s in samples[10:]:
        s.load()
    return n / (time.perf_counter() - t)


def train_rate(arch: str, batch: int, steps: int) -> float:
    """Forward + backward + AdamW step images per second on random pixels."""
    fmt = load_format("cn" if arch == "crnn_province" else "ru")
    model = build_model(arch, fmt).train()
    loss_fn = PlateLoss(model)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    h, w = REGISTRY[arch].input_size
    x = torch.randint(0, 256, (batch, h, w, 3), dtype=torch.uint8)
    text = "皖A12345" if fmt.name == "cn" else "A123BC77"
    targets = torch.tensor(fmt.encode(text) * batch)
    lengths = torch.full((batch,), len(text))
    for i in range(steps + 1):
        if i == 1:
            t = time.perf_counter()
        loss = loss_fn(model(x), targets, lengths)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return batch * steps / (time.perf_counter() - t)


def main() -> None:
    """Print one JSON line per figure."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--plates", type=int, default=300)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    for fmt in ("ru", "cn"):
        rate = synth_rate(fmt, a.plates)
        print(
            json.dumps(
                {
                    "figure": "synth_plates_per_s",
                    "format": fmt,
                    "processes": 1,
                    "value": round(rate, 1),
                }
            )
        )
    for arch in sorted(REGISTRY):
        rate = train_rate(arch, a.batch_size, a.steps)
        print(
            json.dumps(
                {
                    "figure": "train_images_per_s",
                    "arch": arch,
                    "threads": a.threads,
                    "batch": a.batch_size,
                    "value": round(rate, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
