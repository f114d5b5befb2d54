"""Reading weight files safely: ``torch.load(weights_only=True)`` with one-line errors."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch

from plateread.predict import not_a_file


def load_tensors(path: str | Path, what: str = "weights file") -> Any:
    """What ``torch.save`` wrote to ``path``, loaded onto the CPU without running pickled code.

    Args:
        path: The file.
        what: What it should be, for messages (``"checkpoint"``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a PyTorch file, a damaged one, or one holding Python objects.
    """
    path = Path(path)
    if path.is_dir():
        raise FileNotFoundError(not_a_file(path, what))
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle errors, truncated files, foreign formats
        raise ValueError(f"{path}: not a readable {what} ({_why_unreadable(path, e)})") from None


def _why_unreadable(path: Path, err: Exception) -> str:
    """A short reason for ``torch.load``'s failure (its own messages run to paragraphs and, for
    any file that is not a torch archive, suggest loading it with ``weights_only=False``).
    """
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive
        return "not a PyTorch file, or a damaged one"
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if first.startswith("Weights only load failed"):
        return "it holds Python objects besides tensors; plateread loads weights only"
    return first
