"""Errors shared by the bottom layer (kept apart so that its modules can import them freely)."""

from __future__ import annotations

from pathlib import Path


class FormatError(ValueError):
    """A format definition is malformed or unknown."""


class FontError(RuntimeError):
    """A font that rendering needs is not installed, or lacks a character of the format."""


def file_in_path(path: str | Path) -> Path | None:
    """The first part of ``path`` that is a file (``labels.csv`` in ``labels.csv/runs``), or
    None: what to name when the OS says "Not a directory" or "File exists" for a folder to make.
    """
    path = Path(path)
    return next((p for p in (*reversed(path.parents), path) if p.is_file()), None)
