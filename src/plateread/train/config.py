"""Training configuration: a YAML file, overridden by command-line options."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from plateread.errors import file_in_path
from plateread.formats.files import read_yaml_mapping


class ConfigError(ValueError):
    """A training configuration is malformed."""


@dataclass
class TrainConfig:
    """Everything a training run needs; written, resolved, into the run folder.

    Attributes:
        data: Training data specs (``json:…``, ``synth:ru?n=…``, …).
        val_data: Validation specs; when empty, ``val_fraction`` of ``data`` is held out by text.
        format: Plate format name or YAML file.
        arch: Registered architecture.
        arch_kwargs: Architecture options.
        input_size: (height, width); the architecture's default when empty.
        epochs: Passes over the training data.
        batch_size: Samples per step (per process under DDP).
        lr: Peak learning rate.
        weight_decay: Weight decay.
        optimizer: ``adamw`` or ``adam``.
        schedule: ``onecycle`` (warm-up then cosine), ``cosine`` or ``constant``.
        clip_grad: Gradient norm clip (0 turns it off).
        seed: Seed of the split, the augmentation and the initialisation.
        workers: Data-loading processes (0 loads in the training process; unset: 1 on the CPU,
            and on a GPU the cores less two, at most 16: see ``runs.data_workers``).
        threads: Torch threads (0: the CPU cores left after the data-loading workers, at least 1).
        val_fraction: Held-out share when ``val_data`` is empty.
        out: Folder that receives numbered run folders.
        resume: A run folder or checkpoint to continue from.
        max_minutes: Training time budget; the schedule anneals to it (0: no budget).
        checkpoint_minutes: Also save ``last.pt`` this often within an epoch (0: at every step).
        augment: Augment training data.
        real_augment: Strength of the augmentation of real crops (1: mild geometric jitter and
            camera effects; 2: twice the rotation, perspective and effect probabilities).
        real_turns: Share of real crops also turned by 8-30 degrees either way, for plates
            turned far in their crops (0: none).
        backbone_weights: torchvision ResNet-18 weights file for ``crnn_resnet18``.
        init: Start from this checkpoint or shipped reader (``ru``, ``cn``): tensors that fit are
            kept, the rest (a new alphabet's output layer) is re-initialised. Read by
            :func:`load_config`, a config without ``arch`` takes the checkpoint's (and its
            ``arch_kwargs`` and ``input_size``, where not given).
        ema: Decay of an exponential moving average of the weights (e.g. 0.999), which is then
            validated and saved in ``best.pt`` instead of the raw weights (0: off).
        device: ``auto`` (a CUDA GPU when torch sees one for each process, else the CPU),
            ``cpu``, ``cuda`` or ``cuda:N``. Not part of a run's identity: a resumed run uses the
            device it is given.
    """

    data: list[str] = field(default_factory=list)
    val_data: list[str] = field(default_factory=list)
    format: str = "ru"
    arch: str = "crnn_small"
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    input_size: list[int] = field(default_factory=list)
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    schedule: str = "onecycle"
    clip_grad: float = 5.0
    seed: int = 0
    workers: int | None = None
    threads: int = 0
    val_fraction: float = 0.1
    out: str = "runs"
    resume: str = ""
    max_minutes: float = 0.0
    checkpoint_minutes: float = 5.0
    augment: bool = True
    real_augment: float = 1.0
    real_turns: float = 0.0
    backbone_weights: str = ""
    init: str = ""
    ema: float = 0.0
    device: str = "auto"

    def validate(self) -> TrainConfig:
        """Check values that would otherwise fail late.

        Raises:
            ConfigError: the first problem found.
        """
        if not self.data and not self.resume:
            raise ConfigError(
                "no training data: give --data (e.g. synth:ru?n=20000) or a config file"
            )
        from plateread.models import REGISTRY

        if self.arch not in REGISTRY:
            raise ConfigError(f"unknown arch {self.arch!r}; registered: {sorted(REGISTRY)}")
        if self.optimizer not in ("adam", "adamw"):
            raise ConfigError(f"optimizer must be adam or adamw, not {self.optimizer!r}")
        if self.schedule not in ("onecycle", "cosine", "constant"):
            raise ConfigError(
                f"schedule must be onecycle, cosine or constant, not {self.schedule!r}"
            )
        numbers = {f.name: getattr(self, f.name) for f in fields(self) if f.type == "float"}
        odd = {k: v for k, v in numbers.items() if not math.isfinite(v)}
        if odd:  # nan passes every comparison below as false
            raise ConfigError(f"config values must be finite numbers, got {odd}")
        if self.lr <= 0 or self.weight_decay < 0 or self.max_minutes < 0:
            raise ConfigError("lr must be above 0, weight_decay and max_minutes at least 0")
        if self.clip_grad < 0 or self.checkpoint_minutes < 0:
            raise ConfigError(
                "clip_grad (0: off) and checkpoint_minutes (0: at every step) must be at least 0"
            )
        if not self.val_data and not 0 < self.val_fraction < 1:
            raise ConfigError(
                f"val_fraction (the share held out without val_data) must be between 0 and 1, "
                f"not {self.val_fraction}"
            )
        if (self.workers is not None and self.workers < 0) or self.threads < 0:
            raise ConfigError("workers and threads must be at least 0")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch_size must be at least 1")
        if self.real_augment < 0:
            raise ConfigError(f"real_augment must be at least 0, not {self.real_augment}")
        if not 0.0 <= self.real_turns <= 1.0:
            raise ConfigError(f"real_turns is a share from 0 to 1, not {self.real_turns}")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"ema is a decay in [0, 1), not {self.ema}")
        if self.input_size and (len(self.input_size) != 2 or min(self.input_size) < 1):
            raise ConfigError(f"input_size is [height, width] or HxW, not {self.input_size}")
        out, file = Path(self.out), file_in_path(self.out)
        if file is not None:  # before the data loads, not when the run's folder is made
            raise ConfigError(
                f"out {self.out} is a file: give a folder for the runs"
                if file == out
                else f"out {self.out}: {file} is a file, not a folder"
            )
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, not {self.device!r}")
        self._check_weight_files()
        return self

    def _check_weight_files(self) -> None:
        """``init`` and ``backbone_weights`` name files that exist (before the data loads)."""
        if self.resume or not (self.init or self.backbone_weights):
            return
        from plateread.predict import not_a_file
        from plateread.train.checkpoint import resolve_checkpoint  # imports torch

        if self.init and resolve_checkpoint(self.init) is None:
            if Path(self.init).is_dir():
                raise ConfigError(f"init: {not_a_file(Path(self.init), 'checkpoint')}")
            raise ConfigError(
                f"init {self.init}: neither a checkpoint file nor a shipped reader (ru, cn, ...)"
            )
        if self.backbone_weights and not Path(self.backbone_weights).is_file():
            raise ConfigError(f"backbone_weights: not a file: {self.backbone_weights}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML and checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from a mapping; unknown keys are an error (catches typos)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known: {sorted(known)}")
        d = dict(d)
        for key in ("data", "val_data"):
            if isinstance(d.get(key), str):
                d[key] = [d[key]]
        size = d.get("input_size")
        if isinstance(size, str) and (parsed := parse_size(size)) is not None:  # as --input-size
            d["input_size"] = parsed
        for f in fields(cls):
            if f.name in d:
                d[f.name] = _typed(f.name, d[f.name], str(f.type))
        return cls(**d)


def parse_size(text: str) -> list[int] | None:
    """``32x128`` -> ``[32, 128]`` (height, width); None when ``text`` is not of that form."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    return [int(m[1]), int(m[2])] if m else None


def _typed(key: str, value: Any, kind: str) -> Any:
    """``value`` as the field's type (``int``, ``float``, …), or a ConfigError naming the key."""
    simple: dict[str, type] = {"int": int, "float": float, "str": str}
    ok = {
        "bool": isinstance(value, bool),
        "list[str]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "list[int]": isinstance(value, list) and all(_is_int(v) for v in value),
        "dict[str, Any]": isinstance(value, dict),
        "int": _is_int(value),
        "int | None": value is None or _is_int(value),  # workers: None chooses
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }.get(kind, True)  # a field type not listed here is not checked
    if not ok:
        raise ConfigError(f"config {key} must be {kind}, got {value!r}")
    return simple[kind](value) if kind in simple else value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load_config(path: str | Path | None, overrides: dict[str, Any]) -> TrainConfig:
    """Read a YAML config (optional) and apply the non-None overrides on top."""
    base: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        base.update(read_yaml_mapping(p, ConfigError, "config", empty_ok=True))
    base.update({k: v for k, v in overrides.items() if v is not None})
    cfg = TrainConfig.from_dict(base).validate()
    if cfg.init and "arch" not in base and not cfg.resume:
        _take_init_arch(cfg, keep_kwargs="arch_kwargs" in base, keep_size="input_size" in base)
    return cfg


def _take_init_arch(cfg: TrainConfig, keep_kwargs: bool, keep_size: bool) -> None:
    """A run started from a checkpoint (``init``) with no ``arch`` of its own takes the
    checkpoint's architecture, options and input size (those not given): with the default
    architecture instead, ``--init ru`` would keep almost none of the reader's weights.
    """
    from plateread.train.checkpoint import read_checkpoint, resolve_checkpoint

    path = resolve_checkpoint(cfg.init)
    if path is None:  # validate() has refused it already
        return
    state = read_checkpoint(path)
    cfg.arch = str(state["arch"])
    if not keep_kwargs:
        cfg.arch_kwargs = dict(state.get("arch_kwargs", {}))
    if not keep_size:
        cfg.input_size = [int(v) for v in state["input_size"]]
    cfg.validate()  # an architecture this version no longer has, say
