"""Predictors: a model file in, logits out. ONNX files run on ONNX Runtime (no torch);
checkpoints (``.pt``) import torch on demand.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from plateread.formats import PlateFormat

CHECKPOINT_SUFFIXES = (".pt", ".pth")  # torch checkpoints; exported readers are .onnx


class ModelFileError(ValueError):
    """A model file is missing, unreadable or not a plateread model."""


class Predictor(Protocol):
    """What evaluation and reading need from a model."""

    format: PlateFormat
    input_size: tuple[int, int]

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """``uint8 [N, H, W, 3]`` -> ``float32 [N, T, C]``."""
        ...


class OnnxPredictor:
    """An exported model on ONNX Runtime; its metadata says the format and input size."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model not found: {path}")
        if path.suffix in CHECKPOINT_SUFFIXES:
            raise ModelFileError(
                f"{path}: a torch checkpoint; the ONNX Runtime reader takes an exported .onnx file "
                f"(plateread export --model {path} --out MODEL.onnx), or evaluate the checkpoint "
                "with plateread eval"
            )
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelFileError(f"{path}: not a loadable ONNX model ({e})") from None
        try:
            meta = self.session.get_modelmeta().custom_metadata_map
        except UnicodeDecodeError as e:  # a damaged file's metadata bytes are not UTF-8
            raise ModelFileError(f"{path}: its metadata is damaged ({e})") from None
        if "plateread" not in meta:
            raise ModelFileError(f"{path}: ONNX file has no plateread metadata")
        try:  # an edited or damaged file: say which, not a bare JSON or key error
            info = json.loads(meta["plateread"])
            self.format = PlateFormat.from_dict(info["format"])
            h, w = info["input_size"]
            self.input_size: tuple[int, int] = (int(h), int(w))
            self.arch: str = str(info["arch"])
            self.calibration: dict[str, Any] | None = json.loads(
                meta.get("plateread_calibration", "null")
            )
        except (ValueError, KeyError, TypeError) as e:  # FormatError is a ValueError
            raise ModelFileError(f"{path}: its plateread metadata is damaged ({e})") from None
        self._input = self.session.get_inputs()[0].name

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """``uint8 [N, H, W, 3]`` -> ``float32 [N, T, C]``."""
        return self.session.run(None, {self._input: batch})[0]  # type: ignore[no-any-return]


def shipped_models() -> list[str]:
    """Names of the readers shipped inside the package."""
    folder = resources.files("plateread") / "weights"
    if not folder.is_dir():
        return []
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".onnx"))


def resolve_model(model: str | Path) -> Path:
    """The file of a shipped reader's name (``ru``, ``cn``), or a model path checked to exist.

    Raises:
        ModelFileError: neither a shipped name nor an existing file.
    """
    if not str(model).strip():
        raise ModelFileError(f"no model named: give one of {shipped_models()} or a file")
    path = Path(model)
    if path.is_file():
        return path
    shipped = resources.files("plateread") / "weights" / f"{model}.onnx"
    if str(model) in shipped_models():  # even beside a folder of that name (examples/plates/ru)
        return Path(str(shipped))
    if path.is_dir():
        raise ModelFileError(not_a_file(path, "model"))
    if path.suffix in (".onnx", *CHECKPOINT_SUFFIXES) or path.exists():
        raise ModelFileError(f"model not found: {path}")
    close = [m for m in shipped_models() if m.lower() == str(model).strip().lower()]
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ModelFileError(
        f"no shipped model {str(model)!r}{hint}; shipped: {shipped_models()}, or give an .onnx path"
    )


def not_a_file(path: Path, what: str) -> str:
    """The message for a folder given as a ``what`` file; a training run's folder gets the name
    of its checkpoint.
    """
    best = path / "best.pt"
    run = f": a training run's; its checkpoint is {best}" if best.is_file() else ""
    return f"{path} is a folder, not a {what} file{run}"


def load_predictor(path: str | Path, threads: int | None = None) -> Predictor:
    """Open a model: a shipped reader's name, an ``.onnx`` file (ONNX Runtime) or a ``.pt``
    checkpoint (torch, imported on demand).

    Raises:
        ModelFileError: missing file or unknown kind.
    """
    p = resolve_model(path)
    if p.suffix == ".onnx":
        return OnnxPredictor(p, threads)
    if p.suffix in CHECKPOINT_SUFFIXES:
        from plateread.train.checkpoint import TorchPredictor

        try:
            return TorchPredictor(p, threads)
        except ValueError as e:
            raise ModelFileError(str(e)) from None
    raise ModelFileError(f"{p}: unknown model kind (expected .onnx or .pt)")
