"""Setting up a training run: its data (train and validation sets) and its model (fresh, with
backbone weights, or initialised from another checkpoint with ``--init``).
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn

from plateread.data import Dataset, load_dataset, split_by_text
from plateread.formats import PlateFormat
from plateread.labels import ctc_steps_needed
from plateread.models import build_model
from plateread.train.checkpoint import init_from
from plateread.train.config import ConfigError, TrainConfig


def load_data(cfg: TrainConfig, fmt: PlateFormat, rank: int) -> tuple[Dataset, Dataset]:
    """The training and validation sets (``val_data``, else a ``val_fraction`` split by plate
    text); rank 0 prints what was kept.

    Raises:
        ConfigError: nothing left to train on, or ``val_data`` given and nothing left in it.
    """
    train = load_dataset(cfg.data, fmt)
    if cfg.val_data:
        val = load_dataset(cfg.val_data, fmt)
    else:
        tr, va = split_by_text(train.samples, cfg.val_fraction, cfg.seed)
        train, val = Dataset(tr, train.report, train.problems), Dataset(va)
    if rank == 0:
        print(f"train: {train.summary()}\nval: {val.summary()}", file=sys.stderr)
        for warning in shared_plates(train, val):
            print(f"warning: {warning}", file=sys.stderr)
        if train.samples and not val.samples:
            print(
                f"warning: no validation plates ({len(train.samples)} samples, of which "
                f"val_fraction {cfg.val_fraction} holds none out): best.pt will be the last "
                "epoch's weights; give --val-data or more data",
                file=sys.stderr,
            )
    if not train.samples:
        why = f"; is {fmt.name!r} their format?" if train.report.dropped else ""
        raise ConfigError(f"no valid training samples left after filtering{why}")
    if cfg.val_data and not val.samples:  # asked for, yet nothing to choose best.pt on
        raise ConfigError("no valid validation samples left after filtering (val_data)")
    return train, val


def shared_plates(train: Dataset, val: Dataset) -> list[str]:
    """Warnings for validation plates that training also sees: the same image (a file listed in
    both, or synthetic plates drawn with the same seed), or another picture of a real plate with
    the same text. Either flatters the validation score that ``best.pt`` is chosen on.
    """
    if not val.samples:
        return []
    n = len(val.samples)
    same_image = {os.path.normpath(s.id) for s in train.samples}
    real_texts = {s.text for s in train.samples if not hasattr(s.image, "seed")}
    val_ids = [os.path.normpath(s.id) for s in val.samples]
    images = sum(i in same_image for i in val_ids)
    texts = sum(s.text in real_texts and i not in same_image for s, i in zip(val.samples, val_ids))
    warnings = []
    if images:
        warnings.append(
            f"{images} of the {n} validation plates are training images too (the same file, or "
            "synthetic plates with the same seed): split real data with ?split=train and "
            "?split=val (same holdout), and give synthetic validation plates another seed"
        )
    if texts:
        warnings.append(
            f"{texts} of the {n} validation plates show plate texts that real training plates "
            "show too: other pictures of the same plates; ?split= holds out by text"
        )
    return warnings


def build_run_model(
    cfg: TrainConfig, fmt: PlateFormat, size: tuple[int, int], rank: int, fresh: bool
) -> nn.Module:
    """The model, with backbone weights or ``--init`` applied to a fresh (not resumed) run."""
    try:
        model = build_model(cfg.arch, fmt, size, **cfg.arch_kwargs)
    except (TypeError, ValueError) as e:  # an option the architecture lacks, a value it refuses
        raise ConfigError(
            f"{cfg.arch} cannot be built with arch_kwargs {cfg.arch_kwargs} and input size "
            f"{list(size)} ({e})"
        ) from None
    if cfg.backbone_weights and fresh:
        if not hasattr(model, "cnn") or not hasattr(model.cnn, "load_torchvision"):
            raise ConfigError(f"--backbone-weights needs crnn_resnet18, not {cfg.arch}")
        missing = model.cnn.load_torchvision(cfg.backbone_weights)  # type: ignore[union-attr, operator]
        if rank == 0 and missing:
            print(f"backbone weights lacked {len(missing)} tensors", file=sys.stderr)
    if cfg.init and fresh:
        moved = init_from(model, cfg.init, fmt.alphabet)
        if rank == 0:
            mapped = (
                f"output rows of the {len(moved['shared'])} shared characters carried over, "
                if moved["mapped"]
                else ""
            )
            print(
                f"init from {cfg.init}: {len(moved['loaded'])} tensors kept, {mapped}"
                f"re-initialised: {_modules(moved['reinitialised']) or 'none'}",
                file=sys.stderr,
            )
    return model


def check_steps(
    model: nn.Module, size: tuple[int, int], train: Dataset, val: Dataset, rank: int
) -> None:
    """Warn of labels longer than the model has output steps for: CTC cannot spell them, so they
    teach nothing and can never be read.

    Raises:
        ConfigError: no training label fits.
    """
    was_training = model.training
    with torch.no_grad():
        steps = int(model.eval()(torch.zeros(1, 3, *size)).shape[1])  # logits [1, T, C]
    model.train(was_training)
    too_long = {
        name: [s.text for s in data.samples if ctc_steps_needed(s.text) > steps]
        for name, data in (("training", train), ("validation", val))
    }
    advice = "give a wider --input-size or another --arch"
    if train.samples and len(too_long["training"]) == len(train.samples):
        raise ConfigError(
            f"every training label needs more than the model's {steps} output steps "
            f"(e.g. {too_long['training'][0]!r}); {advice}"
        )
    counts = " and ".join(f"{len(v)} {k}" for k, v in too_long.items() if v)
    if counts and rank == 0:
        example = next(v[0] for v in too_long.values() if v)
        print(
            f"warning: {counts} labels (e.g. {example!r}) need more than the model's {steps} "
            "output steps (one per character, and a blank between equal neighbours): they can be "
            f"neither learnt nor read; {advice}",
            file=sys.stderr,
        )


def _modules(names: list[str]) -> str:
    """``["stn.loc.1.weight", "stn.loc.8.bias", "fc.bias"]`` -> ``"stn.loc (2 tensors), fc"``."""
    groups: dict[str, int] = {}
    for n in names:
        head = ".".join(n.rsplit(".", 1)[0].split(".")[:2])
        groups[head] = groups.get(head, 0) + 1
    return ", ".join(k if c == 1 else f"{k} ({c} tensors)" for k, c in groups.items())
