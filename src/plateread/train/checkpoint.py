"""Self-describing checkpoints: one file carries weights, architecture, format and input size, and
loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from plateread.formats import PlateFormat
from plateread.models import build_model
from plateread.models.files import load_tensors

CHECKPOINT_VERSION = 1


def model_meta(
    arch: str, fmt: PlateFormat, input_size: tuple[int, int], arch_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The plain-data description that rebuilds a model (also written into ONNX files)."""
    return {
        "plateread_checkpoint": CHECKPOINT_VERSION,
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs),
        "format": fmt.to_dict(),
        "input_size": list(input_size),
    }


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict[str, Any], **extra: Any) -> Path:
    """Write a checkpoint atomically (a crash mid-write never leaves a broken file).

    Args:
        path: Destination file.
        model: The model (a DDP wrapper is unwrapped).
        meta: :func:`model_meta`'s dict.
        **extra: Training state: ``epoch``, ``optimizer``, ``scheduler``, ``metrics``, …
    """
    path = Path(path)
    core = getattr(model, "module", model)
    # every tensor on the CPU (optimizer moments and averaged weights too): loads on any machine
    state = _on_cpu({**meta, "state_dict": core.state_dict(), **extra})
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())  # on disk before the rename: a power cut leaves the old file whole
    os.replace(tmp, path)
    return path


def _on_cpu(obj: Any) -> Any:
    """``obj`` with every tensor inside its dicts, lists and tuples detached onto the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _on_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_on_cpu(v) for v in obj)
    return obj


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint's dict safely (``weights_only=True``).

    Raises:
        ValueError: not a plateread checkpoint.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    if path.suffix.lower() == ".onnx" and path.is_file():
        raise ValueError(f"{path}: an exported ONNX model; this needs a training checkpoint (.pt)")
    state = load_tensors(path, "checkpoint")
    if not isinstance(state, dict) or "plateread_checkpoint" not in state:
        raise ValueError(f"{path}: not a plateread checkpoint")
    missing = [k for k in ("arch", "format", "input_size", "state_dict") if k not in state]
    if missing:
        raise ValueError(f"{path}: a damaged plateread checkpoint (it lacks {missing})")
    return state  # type: ignore[no-any-return]


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a checkpoint describes, in eval mode, and return it with the state.

    Raises:
        ValueError: not a plateread checkpoint, or one whose model cannot be rebuilt (an
            unknown architecture, damaged description or weights).
        FileNotFoundError: no such file.
    """
    state = read_checkpoint(path)
    try:
        fmt = PlateFormat.from_dict(state["format"])
        size = tuple(state["input_size"])
        model = build_model(state["arch"], fmt, size, **state.get("arch_kwargs", {}))
        model.load_state_dict(state["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        # load_state_dict's message lists every mismatch, one per line: the first says enough
        text = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)  # unquoted
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        reason = lines[1] if len(lines) > 1 else (lines[0] if lines else type(e).__name__)
        raise ValueError(f"{path}: cannot rebuild its model ({reason})") from None
    return model.eval(), state


def shipped_checkpoint(name: str) -> Path | None:
    """The torch weights of a shipped reader (``ru``, ``cn``), if this install has them."""
    path = Path(__file__).resolve().parents[1] / "weights" / f"{name}.pt"
    return path if path.is_file() else None


def resolve_checkpoint(source: str | Path) -> Path | None:
    """An existing checkpoint file, else a shipped reader's ``.pt`` by name (``ru``), else None."""
    path = Path(source)
    return path if path.is_file() else shipped_checkpoint(str(source))


def init_from(
    model: nn.Module, source: str | Path, alphabet: str | None = None
) -> dict[str, list[str]]:
    """Copy every tensor of a checkpoint whose name and shape fit ``model``; the rest keeps its
    fresh initialisation.

    With ``alphabet`` (the new model's), output tensors (one row per class: blank, then the
    checkpoint's alphabet) are carried over class by class: the blank and every character both
    alphabets share keep their trained row, new characters start fresh. Without it, or when a
    row count does not match, output tensors of another alphabet are re-initialised whole.

    Args:
        model: The model to initialise.
        source: A checkpoint path, or a shipped reader's name.
        alphabet: The alphabet ``model`` is built for.

    Returns:
        ``{"loaded": [...], "mapped": [...], "reinitialised": [...]}`` parameter names, and
        ``"shared": [...]`` the characters whose output rows were carried over.
    """
    path = resolve_checkpoint(source)
    if path is None:
        raise FileNotFoundError(f"--init {source}: neither a checkpoint file nor a shipped reader")
    state = read_checkpoint(path)
    theirs: dict[str, torch.Tensor] = state["state_dict"]
    old = str(state.get("format", {}).get("alphabet", ""))
    ours = model.state_dict()
    same = alphabet is None or not old or alphabet == old
    fits, mapped = {}, {}
    shared = [c for c in (alphabet or "") if c in old]
    for k, v in theirs.items():
        if k not in ours:
            continue
        mine = ours[k]
        is_output = not same and v.ndim and v.shape[0] == len(old) + 1
        if not is_output and mine.shape == v.shape:
            fits[k] = v
        elif is_output and alphabet and mine.shape == (len(alphabet) + 1, *v.shape[1:]):
            new = mine.clone()
            new[0] = v[0]  # the CTC blank
            for c in shared:
                new[alphabet.index(c) + 1] = v[old.index(c) + 1]
            mapped[k] = new
    model.load_state_dict({**fits, **mapped}, strict=False)
    return {
        "loaded": sorted(fits),
        "mapped": sorted(mapped),
        "reinitialised": sorted(set(ours) - set(fits) - set(mapped)),
        "shared": shared if mapped else [],
    }


class TorchPredictor:
    """Runs a checkpoint with torch: the same interface as the ONNX predictor."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        self.model, state = load_model(path)
        self.format = PlateFormat.from_dict(state["format"])
        self.input_size: tuple[int, int] = tuple(state["input_size"])  # type: ignore[assignment]
        self.arch: str = state["arch"]
        self.calibration: dict[str, Any] | None = None
        if threads:
            torch.set_num_threads(threads)

    @torch.no_grad()
    def logits(self, batch: np.ndarray) -> np.ndarray:
        """``uint8 [N, H, W, 3]`` -> ``float32 [N, T, C]``."""
        return self.model(torch.from_numpy(batch)).numpy()  # type: ignore[no-any-return]
