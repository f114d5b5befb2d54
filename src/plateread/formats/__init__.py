"""Plate formats: alphabets, character classes, templates and normalisation.

Pure Python (no numpy, no images). :mod:`~plateread.formats.core` holds :class:`PlateFormat`,
:mod:`~plateread.formats.builtin` the built-in formats and :mod:`~plateread.formats.files` format
files and :func:`load_format`; everything is importable from here but
:mod:`~plateread.formats.draft`, which drafts a format file from labels.
"""

from plateread.errors import FormatError
from plateread.formats.builtin import BUILTIN, CN, GENERIC, RU, RU_ALL
from plateread.formats.core import (
    CN_LETTERS,
    CN_PROVINCES,
    CYRILLIC_TO_LATIN,
    DIGITS,
    LATIN,
    RU_LETTERS,
    PlateFormat,
    compute_mask,
    template_of,
)
from plateread.formats.files import FORMAT_KEYS, STYLE_KEYS, load_format

__all__ = [
    "BUILTIN",
    "CN",
    "CN_LETTERS",
    "CN_PROVINCES",
    "CYRILLIC_TO_LATIN",
    "DIGITS",
    "FORMAT_KEYS",
    "GENERIC",
    "LATIN",
    "RU",
    "RU_ALL",
    "RU_LETTERS",
    "STYLE_KEYS",
    "FormatError",
    "PlateFormat",
    "compute_mask",
    "load_format",
    "template_of",
]
