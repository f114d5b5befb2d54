"""The pieces of a training epoch: the optimiser, one step, validation, and each epoch's record."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import torch
from torch import nn
from torch.utils.data import DataLoader

from plateread.decoding import greedy_decode
from plateread.formats import PlateFormat
from plateread.metrics import score
from plateread.train.config import TrainConfig
from plateread.train.data import PlateTorchDataset, collate, worker_init
from plateread.train.ema import WeightAverage
from plateread.train.losses import PlateLoss
from plateread.train.runs import plot_curves


@torch.no_grad()
def validate(
    model: nn.Module,
    batches: Iterable[dict[str, Any]],
    fmt: PlateFormat,
    device: torch.device | None = None,
) -> dict[str, float]:
    """Exact match, character accuracy and CER of greedy readings over ``batches`` (of
    :func:`~plateread.train.data.collate`), run on ``device`` (the CPU by default).
    """
    was_training = model.training
    model.eval()
    targets: list[str] = []
    preds: list[str] = []
    for batch in batches:
        if batch["images"] is None:
            continue
        logits = model(batch["images"].to(device or "cpu")).float().cpu().numpy()
        preds.extend(d.text for d in greedy_decode(logits, fmt.alphabet))
        targets.extend(batch["texts"])
    model.train(was_training)
    return score(targets, preds)


def make_optimiser(
    model: nn.Module, cfg: TrainConfig, state: dict[str, Any] | None
) -> tuple[torch.optim.Optimizer, WeightAverage | None]:
    """The run's optimiser and weight average, with the model, restored from a resumed ``state``."""
    opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if state is not None:
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
    ema = WeightAverage(model, cfg.ema) if cfg.ema else None  # after the weights are restored
    if ema is not None and state is not None and state.get("ema"):
        ema.load_state_dict(state["ema"])
    return optimizer, ema


def validation_batches(vds: PlateTorchDataset, workers: int) -> list[dict[str, Any]]:
    """The validation plates, decoded (or rendered) once: they are the same every epoch."""
    loader = DataLoader(
        vds,
        batch_size=128,
        collate_fn=collate,
        num_workers=min(workers, 1),
        worker_init_fn=worker_init,
    )
    return list(loader)


def train_step(
    model: nn.Module,
    loss_fn: PlateLoss,
    optimizer: torch.optim.Optimizer,
    batch: dict[str, Any],
    device: torch.device,
    clip_grad: float,
) -> float:
    """One optimiser step on ``batch`` (of :func:`~plateread.train.data.collate`); its loss."""
    images, targets, lengths = (
        batch[k].to(device, non_blocking=True) for k in ("images", "targets", "lengths")
    )
    loss = loss_fn(model(images), targets, lengths)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip_grad:
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    optimizer.step()
    return float(loss.item())


def record_epoch(entry: dict[str, Any], log: TextIO, run_dir: Path) -> None:
    """An epoch's figures: a line of ``log.jsonl``, the curves redrawn, and a line on stderr."""
    log.write(json.dumps(entry) + "\n")
    log.flush()
    plot_curves(run_dir)
    print(json.dumps(entry), file=sys.stderr)
