"""A small explicit registry of models, built by name for a plate format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from plateread.formats import PlateFormat
from plateread.models.crnn import CRNNProvince, CRNNResNet18, CRNNSmall
from plateread.models.stn import CRNNSampler


@dataclass(frozen=True)
class ModelSpec:
    """How to build one registered architecture."""

    build: Callable[..., nn.Module]
    input_size: tuple[int, int]  # default (height, width)
    description: str


def _province_classes(fmt: PlateFormat) -> list[int]:
    if "P" not in fmt.classes or not all(t.startswith("P") for t in fmt.templates):
        raise ValueError(
            f"crnn_province needs a format whose templates start with a P class; "
            f"{fmt.name!r} has none"
        )
    return [fmt.alphabet.index(c) + 1 for c in fmt.classes["P"]]


def _build_province(fmt: PlateFormat, input_size: tuple[int, int], **kw: Any) -> nn.Module:
    return CRNNProvince(fmt.num_classes, _province_classes(fmt), input_size, **kw)


# crnn_fast's width; crnn_fast_stn shares it, so --init from a crnn_fast reader loads every tensor
_FAST: dict[str, Any] = {"hidden": 64, "channels": (16, 32, 64, 96, 128)}

REGISTRY: dict[str, ModelSpec] = {
    "crnn_resnet18": ModelSpec(
        lambda fmt, size, **kw: CRNNResNet18(fmt.num_classes, size, **kw),
        (64, 320),
        "the course model: ResNet-18 trunk, 1x1 width projection 10->20 steps, 2-layer GRU 128",
    ),
    "crnn_small": ModelSpec(
        lambda fmt, size, **kw: CRNNSmall(fmt.num_classes, size, **kw),
        (32, 128),
        "fast CPU CRNN (~1.1M parameters): VGG-like CNN, one BiGRU layer, 32 steps",
    ),
    "crnn_fast": ModelSpec(
        lambda fmt, size, **kw: CRNNSmall(fmt.num_classes, size, **{**_FAST, **kw}),
        (32, 128),
        "the shipped readers' CRNN (~0.35M parameters, ~4x fewer operations than crnn_small)",
    ),
    "crnn_fast_stn": ModelSpec(
        lambda fmt, size, **kw: CRNNSampler(fmt.num_classes, size, **{**_FAST, **kw}),
        (64, 256),
        "crnn_fast behind a learned affine sampler (zooms into loose crops; input twice the size)",
    ),
    "crnn_province": ModelSpec(
        _build_province,
        (32, 128),
        "CNN + BiLSTM for CTC, separate province head with class-weighted cross-entropy (CN)",
    ),
}


def build_model(
    arch: str, fmt: PlateFormat, input_size: tuple[int, int] | None = None, **kwargs: Any
) -> nn.Module:
    """Build a registered model for ``fmt``.

    Args:
        arch: A name from :data:`REGISTRY`.
        fmt: The plate format (sets the number of classes).
        input_size: (height, width); the architecture's default when omitted.
        **kwargs: Architecture options (e.g. ``bidirectional=True`` for ``crnn_resnet18``).

    Raises:
        KeyError: unknown architecture.
    """
    if arch not in REGISTRY:
        raise KeyError(f"unknown architecture {arch!r}; registered: {sorted(REGISTRY)}")
    spec = REGISTRY[arch]
    size = tuple(input_size) if input_size else spec.input_size
    return spec.build(fmt, size, **kwargs)


def default_input_size(arch: str) -> tuple[int, int]:
    """The input size an architecture is built with by default."""
    return REGISTRY[arch].input_size
