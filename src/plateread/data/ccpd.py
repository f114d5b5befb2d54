"""CCPD file names: ``area-tilt-bbox-corners-indices-brightness-blur.jpg``.

Example:
``025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37-15.jpg``:
box ``x1&y1_x2&y2``, four corners from the bottom-right clockwise, and the plate as indices into
the province, letter and alphanumeric tables below (CCPD's published tables; the trailing ``O``
entries are CCPD's "unknown" placeholders).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

PROVINCES = "皖沪津渝冀晋蒙辽吉黑苏浙京闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新警学O"  # 34 entries
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZO"
ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789O"


class CCPDNameError(ValueError):
    """A file name is not a CCPD name."""


@dataclass(frozen=True)
class CCPDLabel:
    """What a CCPD file name says about its image."""

    text: str
    box: tuple[int, int, int, int]  # x1, y1, x2, y2
    corners: np.ndarray  # 4x2 float32, clockwise from top-left


def decode_indices(indices: list[int]) -> str:
    """Plate text from CCPD indices (province, letter, then 5 or 6 alphanumerics)."""
    if len(indices) not in (7, 8):
        raise CCPDNameError(f"expected 7 or 8 plate indices, got {len(indices)}")
    try:
        return PROVINCES[indices[0]] + LETTERS[indices[1]] + "".join(ALNUM[i] for i in indices[2:])
    except IndexError:
        raise CCPDNameError(f"plate index out of range in {indices}") from None


def encode_text(text: str) -> list[int]:
    """CCPD indices of a plate text (the inverse of :func:`decode_indices`)."""
    return [PROVINCES.index(text[0]), LETTERS.index(text[1])] + [ALNUM.index(c) for c in text[2:]]


def parse_name(name: str) -> CCPDLabel:
    """Decode a CCPD file name.

    Raises:
        CCPDNameError: the name does not have CCPD's seven dash-separated fields.
    """
    stem = PurePath(name).stem
    fields = stem.split("-")
    if len(fields) != 7:
        raise CCPDNameError(f"{name}: not a CCPD name (expected 7 '-' fields, got {len(fields)})")
    try:
        (x1, y1), (x2, y2) = (tuple(map(int, p.split("&"))) for p in fields[2].split("_"))
        pts = [tuple(map(float, p.split("&"))) for p in fields[3].split("_")]
        indices = [int(i) for i in fields[4].split("_")]
    except ValueError:
        raise CCPDNameError(f"{name}: malformed CCPD fields") from None
    if len(pts) != 4:
        raise CCPDNameError(f"{name}: expected 4 corners, got {len(pts)}")
    # CCPD lists corners from bottom-right clockwise: BR, BL, TL, TR. Reorder to TL, TR, BR, BL.
    br, bl, tl, tr = pts
    corners = np.array([tl, tr, br, bl], dtype=np.float32)
    return CCPDLabel(decode_indices(indices), (x1, y1, x2, y2), corners)


def make_name(text: str, box: tuple[int, int, int, int], corners_tl_cw: np.ndarray) -> str:
    """Build a CCPD-style file name (used by tests and by anyone converting data)."""
    tl, tr, br, bl = (f"{int(x)}&{int(y)}" for x, y in corners_tl_cw)
    idx = "_".join(map(str, encode_text(text)))
    x1, y1, x2, y2 = box
    return f"025-95_113-{x1}&{y1}_{x2}&{y2}-{br}_{bl}_{tl}_{tr}-{idx}-100-20.jpg"
