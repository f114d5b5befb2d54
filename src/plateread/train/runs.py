"""Run bookkeeping for training: numbered run folders, the per-epoch sampler, the learning-rate
schedule, the device, workers and thread counts (and the DDP group), clean stops on SIGTERM and
the training-curve plot.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from plateread.train.config import ConfigError, TrainConfig


class EpochSampler(Sampler[tuple[int, int]]):
    """A seeded shuffle per epoch, sharded over DDP ranks, that can start mid-epoch (resume).

    Yields ``(epoch, index)`` pairs: the dataset draws each item as in that epoch, so data-loading
    workers that persist from one epoch to the next follow :meth:`set_epoch` without a restart.
    """

    def __init__(
        self, n: int, seed: int, epoch: int = 0, start: int = 0, rank: int = 0, world: int = 1
    ) -> None:
        self.n, self.seed, self.rank, self.world = n, seed, rank, world
        self.set_epoch(epoch, start)

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Shuffle for ``epoch``, skipping this rank's first ``start`` items (a resumed epoch)."""
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        perm = torch.randperm(self.n, generator=g).tolist()
        perm += perm[: (-self.n) % self.world]  # pad so every rank takes the same number of steps
        self.epoch = epoch
        self.order = perm[self.rank :: self.world][start:]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return ((self.epoch, i) for i in self.order)

    def __len__(self) -> int:
        return len(self.order)


def new_run_dir(root: str | Path, arch: str) -> Path:
    """Create ``root/NNN-arch``, numbered after the highest existing run (never overwrites)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    while True:
        nums = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d+)-", p.name))]
        path = root / f"{max(nums, default=0) + 1:03d}-{arch}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took the number
            continue


def training_threads(threads: int, workers: int, world: int = 1) -> int:
    """Torch threads for one training process: ``threads`` if set, else the cores left after
    the data-loading workers of every process (oversubscribing the cores slows training).
    """
    if threads:
        return threads
    return max(1, _cores() // world - workers)


def _cores() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def _shm_free() -> int | None:
    """Free bytes in /dev/shm, where workers hand batches over (None where there is none)."""
    try:
        return shutil.disk_usage("/dev/shm").free
    except OSError:
        return None


def data_workers(
    workers: int | None, device: torch.device, world: int = 1, batch_bytes: int = 0
) -> int:
    """Data-loading processes for one training process: ``workers`` when set; else 1 on the
    CPU (the network needs the cores) and, on a GPU, this process's share of the cores less two,
    at most 16 (rendering and augmenting plates then sets the pace: 14 workers fed an H100 about
    2,200 images per second with the Uzbek tutorial's data), and no more than half of /dev/shm
    holds (each worker keeps two batches of ``batch_bytes`` there; containers often give 64 MB).
    """
    if workers is not None:
        return workers
    if device.type != "cuda":
        return 1
    n = max(1, min(16, _cores() // world - 2))
    free = _shm_free()
    if batch_bytes and free is not None:
        n = max(1, min(n, free // 2 // (2 * batch_bytes * world)))
    return n


def resolve_device(name: str, local_rank: int = 0, local_world: int = 1) -> torch.device:
    """The torch device a run trains on: ``auto`` is the process's GPU (``cuda:LOCAL_RANK``
    under torchrun) when torch sees one for every process of this machine (``local_world``),
    else the CPU for all of them (NCCL cannot share a GPU between processes).

    Raises:
        ConfigError: a GPU was asked for and torch sees none.
    """
    has_gpu = torch.cuda.is_available()
    if name == "auto":
        enough = has_gpu and local_world <= torch.cuda.device_count()
        return torch.device("cuda", local_rank) if enough else torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not has_gpu:
            raise ConfigError(f"device {name}: torch sees no CUDA GPU here; use --device cpu")
        if device.index is None:
            device = torch.device("cuda", local_rank)
        if device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name}: only {torch.cuda.device_count()} GPU(s) here")
    return device


def place_run(
    cfg: TrainConfig, size: tuple[int, int], world: int, rank: int
) -> tuple[torch.device, int]:
    """This process's device (joining the DDP group under ``torchrun``), its data-loading
    workers and torch threads; rank 0 says which. Returns the device and the worker count.
    """
    device = resolve_device(
        cfg.device,
        int(os.environ.get("LOCAL_RANK", "0")),
        int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
    )
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    workers = data_workers(cfg.workers, device, world, cfg.batch_size * size[0] * size[1] * 3)
    torch.set_num_threads(training_threads(cfg.threads, workers, world))
    if rank == 0:
        gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
        print(
            f"device: {device}{gpu}, {workers} data-loading worker(s), "
            f"{torch.get_num_threads()} torch thread(s)",
            file=sys.stderr,
        )
    return device, workers


def lr_factor(schedule: str, progress: float) -> float:
    """Learning-rate multiplier at ``progress`` in [0, 1] of the run."""
    progress = min(max(progress, 0.0), 1.0)
    if schedule == "constant":
        return 1.0
    if schedule == "onecycle":
        warm = 0.05
        if progress < warm:
            return 0.04 + 0.96 * progress / warm
        progress = (progress - warm) / (1 - warm)
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))


class StopRequest:
    """Once :meth:`install`-ed, turns SIGTERM and a first Ctrl-C (SIGINT) into a request to stop
    cleanly (checkpoint, then return), whatever the run is doing when they come; a second Ctrl-C
    interrupts at once. :meth:`restore` puts the previous handlers back.
    """

    def __init__(self, announce: bool = True) -> None:
        self.requested = False
        self.announce = announce  # say so on a first Ctrl-C (one DDP rank is enough)
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Take over SIGTERM and SIGINT (from the main thread; elsewhere nothing changes)."""
        for name in ("SIGTERM", "SIGINT"):
            if hasattr(signal, name):
                sig = getattr(signal, name)
                with contextlib.suppress(ValueError):  # not the main thread
                    self._previous[sig] = signal.signal(sig, self._handler)

    def _handler(self, sig: int, _: Any) -> None:
        if sig == getattr(signal, "SIGINT", None):
            if self.requested:
                raise KeyboardInterrupt
            if self.announce:
                print("stopping after this step (Ctrl-C again to interrupt now)", file=sys.stderr)
        self.requested = True

    def restore(self) -> None:
        """Reinstate the handlers that were in place before."""
        for sig, previous in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, previous)
        self._previous.clear()


def open_log(run_dir: Path) -> TextIO:
    """``log.jsonl`` opened to append to; a last line that a killed run left cut short is ended
    first, so that the next epoch's entry starts a line of its own.
    """
    path = run_dir / "log.jsonl"
    written = path.read_bytes() if path.is_file() else b""
    cut = bool(written) and not written.endswith(b"\n")
    log = path.open("a")
    if cut:
        log.write("\n")
    return log


def read_log(run_dir: Path) -> list[dict[str, Any]]:
    """The epochs' entries of ``log.jsonl``, leaving out lines that are no entry (one cut short
    when a run was killed mid-write).
    """
    entries = []
    for line in (run_dir / "log.jsonl").read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            entry = json.loads(line)
            if isinstance(entry, dict) and "epoch" in entry:
                entries.append(entry)
    return entries


def plot_curves(run_dir: Path) -> None:
    """Rewrite ``curves.png`` (loss and validation metrics per epoch) from ``log.jsonl``."""
    from plateread.report.figures import training_curves

    training_curves(read_log(run_dir), run_dir / "curves.png")
