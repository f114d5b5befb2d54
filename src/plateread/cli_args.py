"""Argument types and help texts of the ``plateread`` command line: each type turns bad text
into argparse's usage error, before any work starts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

DATA_HELP = (
    "data spec, repeatable: json:DIR_OR_CONFIG, csv:FILE, dir:DIR, ccpd:DIR[?rectify=1], "
    "zip:FILE, synth:FORMAT?n=N&seed=S"
)
TWO_ROW_HELP = (
    "formats with two-row layouts only: plates read with a raw confidence under this are read "
    "again through the two-row view (default %(default)s; 0 reads each plate once)"
)
TIGHTER_HELP = (
    "plates read with a raw confidence under this, or as no valid plate, are read again through "
    "tighter views of the crop, for crops looser than the model's (default %(default)s; 0: never)"
)
DECODER_HELP = (
    "auto (default): format-constrained beam search when the format has templates, else beam "
    "search; greedy: best path"
)
THREADS_HELP = "threads of ONNX Runtime, or of torch for a .pt (default: the library's own)"
TURNED_HELP = (
    "then plates still under this raw confidence, or still no valid plate, are read through the "
    "crop turned by 10 and 15 degrees either way (default %(default)s; 0: never)"
)
T = TypeVar("T", int, float)


def batch_sizes(text: str) -> tuple[int, ...]:
    """``1,32`` -> ``(1, 32)``; argparse reports anything else as a usage error."""
    try:
        sizes = tuple(int(b) for b in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 1,32, got {text!r}")
    return sizes


def number(
    convert: Callable[[str], T], ok: Callable[[T], bool], expected: str
) -> Callable[[str], T]:
    """An argparse type: ``convert`` the text and keep it if ``ok``; ``expected`` words the
    usage error for anything else.
    """

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):  # comparisons with nan are false: refused too
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


count = number(int, lambda n: n >= 0, "0 or a positive integer")  # threads (0: the default)
positive = number(int, lambda n: n >= 1, "a positive integer")  # numbers of things to make
port = number(int, lambda n: 0 <= n <= 65535, "a TCP port number from 0 to 65535")
fraction = number(float, lambda x: 0.0 <= x <= 1.0, "a number from 0 to 1")  # thresholds
seconds = number(float, lambda x: x > 0, "a number of seconds above 0")
strength = number(float, lambda x: 0 <= x < math.inf, "a number of 0 or more (1: the default)")


def onnx_path(text: str) -> str:
    """An ``--out`` for export: readers tell an ONNX file from a checkpoint by its suffix."""
    if not text.endswith(".onnx"):
        raise argparse.ArgumentTypeError(f"expected a file name ending in .onnx, got {text!r}")
    return text


def yaml_path(text: str) -> str:
    """A new format file's name: ``.yaml`` or ``.yml``, as :func:`load_format` tells them."""
    if Path(text).suffix.lower() not in (".yaml", ".yml"):
        raise argparse.ArgumentTypeError(f"expected a .yaml file name, got {text!r}")
    return text


def picture_path(text: str) -> str:
    """A ``--grid`` file: refused at once if Pillow could not save it, not after the work."""
    if Path(text).suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp"):
        raise argparse.ArgumentTypeError(f"expected a .png or .jpg file name, got {text!r}")
    return text


def input_size(text: str) -> list[int]:
    """``32x128`` -> ``[32, 128]``; argparse reports anything else as a usage error."""
    from plateread.train.config import parse_size  # torch-free, as the CLI must stay

    size = parse_size(text)
    if size is None or min(size) < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH like 32x128, got {text!r}")
    return size
