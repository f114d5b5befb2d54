"""Do separate training runs make different errors? Exact match of each checkpoint on labelled
plates, of every pair and of all of them with their log-probabilities averaged before decoding,
and the plates that every model misreads.

Usage:
    python benchmarks/ensemble_check.py runs_uz/003-crnn_fast/best.pt \
        runs_uz/004-crnn_fast/best.pt \
        --data "csv:../shared/data/uz_train/labels.csv?split=val&holdout=0.2"
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch

from plateread.data import load_dataset
from plateread.decoding import decode_logits
from plateread.formats import PlateFormat
from plateread.imaging import prepare_batch
from plateread.train.checkpoint import load_model


def main() -> None:
    """Print plates right per model, per pair and for all, then the errors all models share."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="checkpoints (.pt) of the same format and input")
    ap.add_argument("--data", required=True, help="labelled data spec")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    logp, fmt, samples = [], None, []
    for path in a.models:
        model, state = load_model(path)
        if fmt is None:
            fmt = PlateFormat.from_dict(state["format"])
            samples = load_dataset([a.data], fmt).samples
            images = [s.load() for s in samples]
        x = torch.from_numpy(prepare_batch(images, tuple(state["input_size"])))
        with torch.no_grad():
            logp.append(torch.log_softmax(model(x), -1).numpy())
    assert fmt is not None
    texts = [s.text for s in samples]

    def readings(indices: tuple[int, ...]) -> list[str]:
        return [d.text for d in decode_logits(np.mean([logp[i] for i in indices], axis=0), fmt)]

    def hits(read: list[str]) -> str:
        return f"{sum(r == t for r, t in zip(read, texts))}/{len(texts)}"

    def right(indices: tuple[int, ...]) -> str:
        if len({logp[i].shape for i in indices}) > 1:
            return "not averaged (different input sizes give different time steps)"
        return hits(readings(indices))

    each = [readings((i,)) for i in range(len(a.models))]
    for path, read in zip(a.models, each):
        print(f"{path}: {hits(read)}")
    for pair in itertools.combinations(range(len(a.models)), 2):
        print(f"models {pair[0]} + {pair[1]}: {right(pair)}")
    if len(a.models) > 2:
        print(f"all {len(a.models)}: {right(tuple(range(len(a.models))))}")
    shared = [k for k, t in enumerate(texts) if all(r[k] != t for r in each)]
    print(f"misread by every model: {len(shared)}")
    for k in shared:
        print(f"  {samples[k].id}: {texts[k]} read {', '.join(r[k] or '-' for r in each)}")


if __name__ == "__main__":
    main()
