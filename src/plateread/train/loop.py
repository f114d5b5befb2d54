"""The training loop: CTC, AdamW, one-cycle/cosine schedule, clipping, validation each epoch,
best/last checkpoints, resume, numbered run folders, JSONL log, and DDP under ``torchrun``.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import torch
import torch.distributed as dist
import yaml
from torch import nn
from torch.utils.data import DataLoader

from plateread.formats import load_format
from plateread.models import default_input_size
from plateread.train.checkpoint import model_meta
from plateread.train.config import TrainConfig
from plateread.train.data import PlateTorchDataset, collate, shutdown_workers, worker_init
from plateread.train.losses import PlateLoss, province_weights
from plateread.train.resume import nothing_left, resumed_run
from plateread.train.runs import (
    EpochSampler,
    StopRequest,
    new_run_dir,
    open_log,
    place_run,
)
from plateread.train.setup import build_run_model, check_steps, load_data
from plateread.train.steps import TrainingRun, make_optimiser, validation_batches


def train(cfg: TrainConfig, epochs: int | None = None) -> Path:
    """Train a model; returns the run folder (``best.pt``, ``last.pt``, ``log.jsonl``, config).

    SIGTERM or Ctrl-C stops it cleanly (a checkpoint to resume from, then return).

    Resuming (``cfg.resume`` = a run folder or its ``last.pt``) continues the same run folder with
    the saved configuration, model, optimiser, epoch, position within the epoch and elapsed time;
    ``epochs`` then extends the run.
    """
    stopper = StopRequest(announce=os.environ.get("RANK", "0") == "0")
    with contextlib.ExitStack() as cleanup:  # ends the data-loading workers, however it ends
        try:
            return _train(cfg, epochs, stopper, cleanup)
        finally:
            stopper.restore()


def _train(
    cfg: TrainConfig, epochs: int | None, stopper: StopRequest, cleanup: contextlib.ExitStack
) -> Path:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))

    state: dict[str, Any] | None = None
    if cfg.resume:
        cfg, run_dir, state = resumed_run(cfg, epochs)
        why_complete = nothing_left(cfg, state)
        if why_complete:  # resuming would train a step and could replace best.pt for nothing
            if rank == 0:
                print(f"{run_dir}: nothing to resume, {why_complete}", file=sys.stderr)
            return run_dir
    size = (
        (cfg.input_size[0], cfg.input_size[1]) if cfg.input_size else default_input_size(cfg.arch)
    )
    # after a resume has replaced cfg: the run's workers and threads, unless given anew
    device, workers = place_run(cfg, size, world, rank)
    torch.manual_seed(cfg.seed)
    fmt = load_format(cfg.format)
    train_set, val_set = load_data(cfg, fmt, rank)
    model = build_run_model(cfg, fmt, size, rank, fresh=state is None)
    check_steps(model, size, train_set, val_set, rank)
    model = model.to(device)
    optimizer, ema = make_optimiser(model, cfg, state)
    epoch, start, elapsed, best = 0, 0, 0.0, None
    if state is not None:
        epoch, start = state["epoch"], state["step_in_epoch"]
        elapsed, best = state["elapsed"], state["best"]
    else:
        run_dir = new_run_dir(cfg.out, cfg.arch) if rank == 0 else Path(cfg.out)
        if rank == 0:
            (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), allow_unicode=True))
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        model = nn.parallel.DistributedDataParallel(model, device_ids=ids)

    weights = None
    if getattr(model if world == 1 else model.module, "province_classes", None) is not None:
        weights = province_weights([s.text for s in train_set.samples], fmt.classes["P"])
    tds = PlateTorchDataset(
        train_set.samples,
        fmt,
        size,
        augment=cfg.augment,
        seed=cfg.seed,
        real_strength=cfg.real_augment,
        real_turns=cfg.real_turns,
    )
    if workers:
        tds.warm_up()
    vds = PlateTorchDataset(val_set.samples, fmt, size)
    run = TrainingRun(
        cfg=cfg,
        fmt=fmt,
        model=model,
        optimizer=optimizer,
        ema=ema,
        loss_fn=PlateLoss(model, weights),
        meta=model_meta(cfg.arch, fmt, size, cfg.arch_kwargs),
        run_dir=run_dir,
        device=device,
        rank=rank,
        world=world,
        per_rank=math.ceil(len(tds) / world),
        val_batches=validation_batches(vds, workers) if rank == 0 else [],
        elapsed=elapsed,
        best=best,
    )
    stopper.install()  # from here on a stop request ends the run with a checkpoint
    model.train()
    sampler = EpochSampler(len(tds), cfg.seed, epoch, start, rank, world)
    loader = _loader(tds, cfg.batch_size, sampler, workers, device)
    cleanup.callback(shutdown_workers, loader)
    log = open_log(run_dir) if rank == 0 else None
    if log is not None:
        cleanup.callback(log.close)
    _run_epochs(run, loader, sampler, epoch, start, stopper, log)
    if world > 1:
        dist.barrier()
    if stopper.requested and rank == 0:
        print(f"stopped; resume with: plateread train --resume {run_dir}", file=sys.stderr)
    return run_dir


def _trained_on(run: TrainingRun, seen: int) -> int:
    """The images every process of the run trained on in its last epoch."""
    if run.world == 1:
        return seen
    total = torch.tensor(float(seen), device=run.device)
    dist.all_reduce(total)
    return int(total.item())


def _loader(
    tds: PlateTorchDataset,
    batch_size: int,
    sampler: EpochSampler,
    workers: int,
    device: torch.device,
) -> DataLoader[Any]:
    """The training batches; the workers persist from epoch to epoch (no new processes, imports
    and fonts each epoch), the sampler's (epoch, index) keys telling them which draw to make.
    """
    return DataLoader(
        tds,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate,
        num_workers=workers,
        persistent_workers=workers > 0,
        worker_init_fn=worker_init,
        drop_last=False,
        pin_memory=device.type == "cuda",
    )


def _run_epochs(
    run: TrainingRun,
    loader: DataLoader[Any],
    sampler: EpochSampler,
    epoch: int,
    start: int,
    stopper: StopRequest,
    log: TextIO | None,
) -> None:
    """Train from plate ``start`` of ``epoch`` until the last epoch, the time budget or a stop
    request ends the run; rank 0 (``log`` given) validates, checkpoints and logs each epoch.
    """
    stop = False
    while epoch < run.cfg.epochs and not stop:
        sampler.set_epoch(epoch, start)
        t0 = time.time()
        step, losses, seen, stop = run.epoch(loader, epoch, start, stopper)
        if step > start and not _trained_on(run, seen):
            raise ValueError(
                f"none of the {step - start} training images drawn in epoch {epoch + 1} could "
                "be read (each is named above): nothing to train on"
            )
        finished = step >= run.per_rank and not stopper.requested
        ahead = (epoch + 1, 0) if finished else (epoch, step)  # where the run goes on from
        if log is not None:
            rate = seen * run.world / max(time.time() - t0, 1e-9)
            run.end_epoch(log, epoch, step, ahead, losses, rate)
        epoch, start = ahead
