"""The colours of plates and their characters as photographed, measured in crops' centres.

What ``plateread data`` prints and the drafted format's ``style`` starts from: a crop's centre
is plate and characters, even in a loose crop, so its lighter and darker pixels are the two, and
the pixels of the one furthest from the other's colour the characters' strokes. Which is the
plate is decided once for all crops: the lighter where most centres are mostly lighter pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from plateread.formats.draft import Colour

# the share of a crop's height cut from its top and bottom, and of its width from each side
CENTRE_CUT = (0.3, 0.25)
# the characters' colour: the median of their pixels this far (a quantile) from the plate's colour
STROKE_QUANTILE = 0.7
# a centre with more than this share of lighter (or of darker) pixels shows no characters
MAX_SHARE = 0.97


@dataclass(frozen=True)
class PlateColours:
    """The median plate and character colours of some crops.

    Attributes:
        background: The plate's colour (RGB).
        foreground: The characters' colour (RGB).
        images: How many crops were measured (those whose centre shows characters).
        light_plate: Whether the plates are lighter than their characters.
    """

    background: Colour
    foreground: Colour
    images: int
    light_plate: bool


class Centre(NamedTuple):
    """What one crop's centre shows (float RGB colours)."""

    light: np.ndarray  # the lighter pixels' median: a light plate
    dark: np.ndarray  # the darker pixels' median: a dark plate
    dark_strokes: np.ndarray  # the darker pixels furthest from ``light``: dark characters
    light_strokes: np.ndarray  # the lighter pixels furthest from ``dark``: light characters
    light_share: float  # the lighter pixels' share of the centre


def centre_colours(image: np.ndarray) -> Centre | None:
    """What one RGB crop's centre shows, or ``None`` where the centre is one colour (no
    characters to tell from the plate) or a few pixels.
    """
    h, w = image.shape[:2]
    cy, cx = CENTRE_CUT
    centre = image[int(h * cy) : h - int(h * cy), int(w * cx) : w - int(w * cx)]
    centre = np.ascontiguousarray(centre)
    pixels = centre.reshape(-1, 3).astype(np.float32)  # [P, 3]
    if len(pixels) < 16:
        return None
    grey = cv2.cvtColor(centre, cv2.COLOR_RGB2GRAY).reshape(-1, 1)
    _, binary = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright: np.ndarray = np.asarray(binary).reshape(-1) > 0
    share = float(bright.mean())
    if not 1 - MAX_SHARE <= share <= MAX_SHARE:
        return None
    light, dark = pixels[bright], pixels[~bright]
    light_median, dark_median = np.median(light, axis=0), np.median(dark, axis=0)
    return Centre(
        light_median, dark_median, _far(dark, light_median), _far(light, dark_median), share
    )


def _far(pixels: np.ndarray, other: np.ndarray) -> np.ndarray:
    """The median of the ``pixels`` furthest from the colour ``other`` (a stroke's centre)."""
    d = np.linalg.norm(pixels - other, axis=1)
    return np.median(pixels[d >= np.quantile(d, STROKE_QUANTILE)], axis=0)  # type: ignore[no-any-return]


def plate_colours(
    images: Iterable[np.ndarray], light_plate: bool | None = None
) -> PlateColours | None:
    """The median plate and character colours of RGB crops, or ``None`` if no crop's centre
    shows characters.

    Args:
        images: The crops.
        light_plate: Whether the plates are lighter than their characters; ``None``: where
            most crops' centres are mostly lighter pixels.
    """
    measured = [m for m in map(centre_colours, images) if m is not None]
    if not measured:
        return None
    if light_plate is None:
        light_plate = bool(np.median([m.light_share for m in measured]) >= 0.5)
    if light_plate:
        pairs = [(m.light, m.dark_strokes) for m in measured]
    else:
        pairs = [(m.dark, m.light_strokes) for m in measured]
    bg, fg = np.median(np.array(pairs), axis=0)  # [N, 2, 3] -> [2, 3]
    return PlateColours(_rgb(bg), _rgb(fg), len(measured), light_plate)


def _rgb(values: np.ndarray) -> Colour:
    r, g, b = (int(round(float(v))) for v in np.clip(values, 0, 255))
    return (r, g, b)
