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
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from plateread.formats import load_format
from plateread.models import default_input_size
from plateread.train.checkpoint import model_meta, save_checkpoint
from plateread.train.config import TrainConfig
from plateread.train.data import PlateTorchDataset, collate, shutdown_workers, worker_init
from plateread.train.losses import PlateLoss, province_weights
from plateread.train.resume import nothing_left, resumed_run
from plateread.train.runs import (
    EpochSampler,
    StopRequest,
    lr_factor,
    new_run_dir,
    place_run,
)
from plateread.train.setup import build_run_model, check_steps, load_data
from plateread.train.steps import (
    make_optimiser,
    record_epoch,
    train_step,
    validate,
    validation_batches,
)


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
    meta = model_meta(cfg.arch, fmt, size, cfg.arch_kwargs)
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
    loss_fn = PlateLoss(model, weights)
    tds = PlateTorchDataset(
        train_set.samples,
        fmt,
        size,
        augment=cfg.augment,
        seed=cfg.seed,
        real_strength=cfg.real_augment,
    )
    if workers:
        tds.warm_up()
    vds = PlateTorchDataset(val_set.samples, fmt, size)
    val_batches = validation_batches(vds, workers) if rank == 0 else []
    per_rank = math.ceil(len(tds) / world)
    steps_per_epoch = math.ceil(per_rank / cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    budget = cfg.max_minutes * 60
    stopper.install()  # from here on a stop request ends the run with a checkpoint
    log = (run_dir / "log.jsonl").open("a") if rank == 0 else None
    last_ckpt = time.time()

    def checkpoint(epoch_: int, step_: int, metrics: dict[str, Any] | None = None) -> None:
        """Save ``last.pt`` at this position (for resuming), with the EMA weights if any."""
        save_checkpoint(
            run_dir / "last.pt",
            model,
            meta,
            config=cfg.to_dict(),
            optimizer=optimizer.state_dict(),
            epoch=epoch_,
            step_in_epoch=step_,
            elapsed=elapsed,
            best=best,
            metrics=metrics or {},
            ema=ema.state_dict() if ema is not None else None,
        )

    model.train()
    stop = False
    sampler = EpochSampler(len(tds), cfg.seed, epoch, start, rank, world)
    # the workers persist from epoch to epoch (no new processes, imports and fonts each epoch);
    # the sampler's (epoch, index) keys tell them which epoch's draw to make
    loader = DataLoader(
        tds,
        batch_size=cfg.batch_size,
        sampler=sampler,
        collate_fn=collate,
        num_workers=workers,
        persistent_workers=workers > 0,
        worker_init_fn=worker_init,
        drop_last=False,
        pin_memory=device.type == "cuda",
    )
    cleanup.callback(shutdown_workers, loader)
    while epoch < cfg.epochs and not stop:
        sampler.set_epoch(epoch, start)
        bar = tqdm(
            loader,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=rank != 0 or not sys.stderr.isatty(),
            initial=start // cfg.batch_size,
            total=steps_per_epoch,
            mininterval=1.0,
        )
        losses, seen, t0 = [], 0, time.time()
        step, tick = start, t0
        try:
            for batch in bar:
                if batch["images"] is None:
                    continue
                done = epoch * steps_per_epoch + step // cfg.batch_size
                progress = max(done / total_steps, elapsed / budget if budget else 0.0)
                for g in optimizer.param_groups:
                    g["lr"] = cfg.lr * lr_factor(cfg.schedule, progress)
                losses.append(train_step(model, loss_fn, optimizer, batch, device, cfg.clip_grad))
                if ema is not None:
                    ema.update(model)
                n = len(batch["texts"])
                step += n
                seen += n
                now = time.time()
                elapsed += now - tick
                tick = now
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
                stop = stopper.requested or (budget > 0 and elapsed >= budget)
                if world > 1:  # every rank stops at the same step
                    flag = torch.tensor(float(stop), device=device)
                    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
                    stop = bool(flag.item())
                if stop:
                    break
                if rank == 0 and now - last_ckpt > cfg.checkpoint_minutes * 60:
                    checkpoint(epoch, step)
                    last_ckpt = now
        except KeyboardInterrupt:
            stopper.requested = stop = True
        elapsed_epoch = time.time() - t0
        finished = step >= per_rank and not stopper.requested
        if rank == 0:
            kept = ema.model if ema is not None else getattr(model, "module", model)
            metrics = validate(kept, val_batches, fmt, device) if len(vds) else {}
            entry = {
                "epoch": epoch + 1,
                "step": epoch * steps_per_epoch + math.ceil(step / cfg.batch_size),
                "train_loss": float(np.mean(losses)) if losses else None,
                "lr": optimizer.param_groups[0]["lr"],
                "images_per_s": seen * world / max(elapsed_epoch, 1e-9),
                "elapsed_s": round(elapsed, 1),
                "complete": finished,
                **{f"val_{k}": v for k, v in metrics.items()},
            }
            assert log is not None
            record_epoch(entry, log, run_dir)
            key = (metrics.get("exact", 0.0), -metrics.get("cer", 1.0))
            if best is None or key >= tuple(best):
                best = list(key)
                save_checkpoint(
                    run_dir / "best.pt",
                    kept,
                    meta,
                    config=cfg.to_dict(),
                    epoch=epoch,
                    metrics=metrics,
                )
            if finished:
                epoch, start = epoch + 1, 0
            else:
                start = step
            checkpoint(epoch, start, metrics)
        else:
            epoch, start = (epoch + 1, 0) if finished else (epoch, step)
    if log is not None:
        log.close()
    if world > 1:
        dist.barrier()
    if stopper.requested and rank == 0:
        print(f"stopped; resume with: plateread train --resume {run_dir}", file=sys.stderr)
    return run_dir
