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
        ConfigError: the file holds weights without a run's position (``best.pt``, a reader), or
            ``epochs`` or ``cfg.max_minutes`` would shorten the run.
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
    _lengthen(saved, epochs, cfg.max_minutes, ckpt.parent)
    saved.resume = str(ckpt)
    saved.device = cfg.device  # the machine resuming may have another GPU, or none
    if cfg.workers is not None:  # or other cores: machine settings, not the run's own
        saved.workers = cfg.workers
    if cfg.threads:
        saved.threads = cfg.threads
    return saved, ckpt.parent, state


def _lengthen(saved: TrainConfig, epochs: int | None, minutes: float, run_dir: Path) -> None:
    """Give the saved run ``epochs`` and a time budget of ``minutes`` where they lengthen it.

    Fewer epochs, a shorter budget, or a budget for a run that had none would change what the
    run is mid-way (its schedule anneals to them), and would otherwise be ignored: refused.
    """
    if epochs and epochs < saved.epochs:
        raise ConfigError(
            f"{run_dir} is a run of {saved.epochs} epochs: --epochs on resume can only lengthen "
            "it (to end it sooner, stop it with Ctrl-C; last.pt keeps its place)"
        )
    if minutes and minutes != saved.max_minutes:
        if not saved.max_minutes:
            raise ConfigError(
                f"{run_dir} has no time budget (its schedule follows --epochs {saved.epochs}): "
                "--max-minutes cannot be added on resume; give more --epochs to train it longer, "
                "or stop it with Ctrl-C (last.pt keeps its place)"
            )
        if minutes < saved.max_minutes:
            raise ConfigError(
                f"{run_dir} has a time budget of {saved.max_minutes:g} minutes: --max-minutes "
                "on resume can only lengthen it"
            )
        saved.max_minutes = minutes
    saved.epochs = max(saved.epochs, epochs or 0)


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
