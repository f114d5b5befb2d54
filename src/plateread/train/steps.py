"""The pieces of a training run: the optimiser, one step, validation, an epoch, and what is saved
and logged after each epoch (:class:`TrainingRun`).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from plateread.decoding import greedy_decode
from plateread.formats import PlateFormat
from plateread.metrics import score
from plateread.train.checkpoint import save_checkpoint
from plateread.train.config import TrainConfig
from plateread.train.data import PlateTorchDataset, collate, worker_init
from plateread.train.ema import WeightAverage
from plateread.train.losses import PlateLoss
from plateread.train.runs import StopRequest, lr_factor, plot_curves


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


@dataclass
class TrainingRun:
    """What one training process holds for the whole run, and how far it has trained."""

    cfg: TrainConfig
    fmt: PlateFormat
    model: nn.Module  # in DistributedDataParallel when world > 1
    optimizer: torch.optim.Optimizer
    ema: WeightAverage | None
    loss_fn: PlateLoss
    meta: dict[str, Any]
    run_dir: Path
    device: torch.device
    rank: int
    world: int
    per_rank: int  # the training plates each process sees in an epoch
    val_batches: list[dict[str, Any]]  # rank 0's; empty elsewhere
    elapsed: float = 0.0  # seconds of training, over every session of the run
    best: list[float] | None = None  # best.pt's (exact, -CER)
    saved_at: float = field(default_factory=time.time)

    @property
    def steps_per_epoch(self) -> int:
        """Optimiser steps in a whole epoch, on each process."""
        return math.ceil(self.per_rank / self.cfg.batch_size)

    def epoch(
        self, loader: DataLoader[Any], epoch: int, start: int, stopper: StopRequest
    ) -> tuple[int, list[float], int, bool]:
        """Train ``epoch`` from plate ``start`` of this process's share, saving ``last.pt``
        every ``checkpoint_minutes``. Returns the position reached, the losses, the plates
        seen, and whether the run is to stop (a stop request or the time budget).
        """
        cfg, steps_per_epoch = self.cfg, self.steps_per_epoch
        budget = cfg.max_minutes * 60
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=self.rank != 0 or not sys.stderr.isatty(),
            initial=start // cfg.batch_size,
            total=steps_per_epoch,
            mininterval=1.0,
        )
        losses: list[float] = []
        step, seen, stop, tick = start, 0, False, time.time()
        try:
            for batch in bar:
                # the epoch's place counts every plate drawn, readable or not: an unreadable one
                # must not leave the epoch looking unfinished (it would be run again from there)
                if not self._every_rank_has_images(batch):
                    step += batch["drawn"]
                    continue
                done = epoch * steps_per_epoch + step // cfg.batch_size
                progress = max(
                    done / (cfg.epochs * steps_per_epoch), self.elapsed / budget if budget else 0.0
                )
                for g in self.optimizer.param_groups:
                    g["lr"] = cfg.lr * lr_factor(cfg.schedule, progress)
                losses.append(
                    train_step(
                        self.model, self.loss_fn, self.optimizer, batch, self.device, cfg.clip_grad
                    )
                )
                if self.ema is not None:
                    self.ema.update(self.model)
                step += batch["drawn"]
                seen += len(batch["texts"])
                now = time.time()
                self.elapsed += now - tick
                tick = now
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
                stop = stopper.requested or (budget > 0 and self.elapsed >= budget)
                if self.world > 1:  # every rank stops at the same step
                    flag = torch.tensor(float(stop), device=self.device)
                    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                    stop = bool(flag.item())
                if stop:
                    break
                if self.rank == 0 and now - self.saved_at > cfg.checkpoint_minutes * 60:
                    self.save_last(epoch, step)
        except KeyboardInterrupt:
            stopper.requested = stop = True
        return step, losses, seen, stop

    def _every_rank_has_images(self, batch: dict[str, Any]) -> bool:
        """Whether this batch, and under DDP every rank's batch of this step, holds a readable
        image: a rank that skipped a step alone would leave the others waiting in backward.
        """
        have = batch["images"] is not None
        if self.world == 1:
            return have
        flag = torch.tensor(float(have), device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    def end_epoch(
        self,
        log: TextIO,
        epoch: int,
        step: int,
        ahead: tuple[int, int],
        losses: list[float],
        images_per_s: float,
    ) -> None:
        """Rank 0 after ``epoch`` (ended at plate ``step``): validate, log, save ``best.pt``
        when validation is at its best, and ``last.pt`` at ``ahead`` (epoch, plate).
        """
        kept = self.ema.model if self.ema is not None else getattr(self.model, "module", self.model)
        metrics = (
            validate(kept, self.val_batches, self.fmt, self.device) if self.val_batches else {}
        )
        entry = {
            "epoch": epoch + 1,
            "step": epoch * self.steps_per_epoch + math.ceil(step / self.cfg.batch_size),
            "train_loss": float(np.mean(losses)) if losses else None,
            "lr": self.optimizer.param_groups[0]["lr"],
            "images_per_s": images_per_s,
            "elapsed_s": round(self.elapsed, 1),
            "complete": ahead[0] > epoch,
            **{f"val_{k}": v for k, v in metrics.items()},
        }
        record_epoch(entry, log, self.run_dir)
        key = (metrics.get("exact", 0.0), -metrics.get("cer", 1.0))
        if self.best is None or key >= tuple(self.best):
            self.best = list(key)
            save_checkpoint(
                self.run_dir / "best.pt",
                kept,
                self.meta,
                config=self.cfg.to_dict(),
                epoch=epoch,
                metrics=metrics,
            )
        self.save_last(*ahead, metrics)

    def save_last(self, epoch: int, step: int, metrics: dict[str, Any] | None = None) -> None:
        """Save ``last.pt`` at this position (for resuming), with the EMA weights if any."""
        save_checkpoint(
            self.run_dir / "last.pt",
            self.model,
            self.meta,
            config=self.cfg.to_dict(),
            optimizer=self.optimizer.state_dict(),
            epoch=epoch,
            step_in_epoch=step,
            elapsed=self.elapsed,
            best=self.best,
            metrics=metrics or {},
            ema=self.ema.state_dict() if self.ema is not None else None,
        )
        self.saved_at = time.time()
