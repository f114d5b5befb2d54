"""Resuming a training run: the saved run's configuration, with this machine's settings, and
whether anything is left to train.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plateread.train.checkpoint import read_checkpoint
from plateread.train.config import ConfigError, TrainConfig

RUN_KEYS = ("config", "optimizer", "epoch", "step_in_epoch", "elapsed", "best")


def resumed_run(
    cfg: TrainConfig, epochs: int | None = None
) -> tuple[TrainConfig, Path, dict[str, Any]]:
    """The configuration, run folder and saved state of the run ``cfg.resume`` names (a run
    folder or its ``last.pt``).

    The saved configuration is kept, but for what belongs to the machine resuming it (device,
    data-loading workers, threads) and what extends the run: ``epochs`` and a longer
    ``cfg.max_minutes``.

    Raises:
        ConfigError: the file holds weights without a run's position (``best.pt``, a reader).
    """
    ckpt = Path(cfg.resume)
    ckpt = ckpt / "last.pt" if ckpt.is_dir() else ckpt
    state = read_checkpoint(ckpt)
    lacks = [k for k in RUN_KEYS if k not in state]
    if lacks:  # best.pt, a shipped reader: weights without the run's position
        raise ConfigError(
            f"{ckpt}: holds no run to resume (it lacks {lacks}); resume from a run folder or "
            "its last.pt, or start a new run from these weights with --init"
        )
    saved = TrainConfig.from_dict(state["config"])
    saved.resume, saved.epochs = str(ckpt), max(saved.epochs, epochs or 0)
    if saved.max_minutes and cfg.max_minutes > saved.max_minutes:  # a longer budget
        saved.max_minutes = cfg.max_minutes
    saved.device = cfg.device  # the machine resuming may have another GPU, or none
    if cfg.workers is not None:  # or other cores: machine settings, not the run's own
        saved.workers = cfg.workers
    if cfg.threads:
        saved.threads = cfg.threads
    return saved, ckpt.parent, state


def nothing_left(cfg: TrainConfig, state: dict[str, Any]) -> str | None:
    """Why a saved run has nothing left to train (with how to train it longer), or None."""
    if state["epoch"] >= cfg.epochs:
        return f"all {cfg.epochs} epochs are trained (--epochs N, above {cfg.epochs}, for more)"
    if cfg.max_minutes and state["elapsed"] >= cfg.max_minutes * 60:
        return (
            f"its time budget of {cfg.max_minutes:g} minutes is spent "
            f"(--max-minutes M, above {cfg.max_minutes:g}, for more)"
        )
    return None
