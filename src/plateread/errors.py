"""Errors shared by the bottom layer (kept apart so that its modules can import them freely)."""

from __future__ import annotations


class FormatError(ValueError):
    """A format definition is malformed or unknown."""


class FontError(RuntimeError):
    """A font that rendering needs is not installed, or lacks a character of the format."""
