"""Second readings, through other views of the crop, for plates that a reading is unsure of.

Crops from a detector are often looser than the boxes the readers learnt from (the plate then
fills less of the model's view, with background around it), and some plates are turned further
than the readers learnt (10-20 degrees). A plate read with a low raw confidence, or read as a
text that matches no template, is read again with a margin cut from each side of its crop
(:func:`reread_tighter`), and if still unsure, through the crop turned either way
(:func:`reread_turned`); a view's reading replaces the first one only when it is a valid plate
and read surely. :func:`second_readings` runs them after the two-row reading, as both the reader
and evaluation do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from plateread.decoding import Decoded, greedy_decode
from plateread.formats import PlateFormat
from plateread.imaging import prepare_batch
from plateread.tworow import REREAD_BELOW, reread_two_row

TIGHTER_BELOW = 0.5  # raw confidence under which a plate is read through tighter views
TURNED_BELOW = 0.5  # raw confidence under which a plate is read through turned views
SURE = 0.7  # raw confidence a view's reading needs to replace the first one
TURNED_SURE = 0.9  # the same for a turned view's reading
# (share of the width, share of the height) cut from each side, tried in this order
CUTS: tuple[tuple[float, float], ...] = ((0.06, 0.12), (0.10, 0.20))
TURNS: tuple[float, ...] = (10.0, -10.0, 15.0, -15.0)  # degrees, anticlockwise


class SecondReadings(NamedTuple):
    """What :func:`second_readings` returns, for each plate: its reading; whether the two-row
    view read it; the index in :data:`CUTS` of the tighter view that read it; the angle in
    :data:`TURNS` of the turned view that read it (None: no such view read it).
    """

    readings: list[Decoded]
    two_row: list[bool]
    tighter: list[int | None]
    turned: list[float | None]


def tighter_view(image: np.ndarray, cut: tuple[float, float]) -> np.ndarray:
    """``image`` with ``cut`` = (share of the width, share of the height) cut from each side
    (at least one pixel left in each direction).
    """
    h, w = image.shape[:2]
    dx = min(round(cut[0] * w), (w - 1) // 2)
    dy = min(round(cut[1] * h), (h - 1) // 2)
    return image[dy : h - dy, dx : w - dx]


def turned_view(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` turned anticlockwise by ``degrees`` on a canvas large enough to hold all of it
    (a plate's ends stay in view), the corners uncovered filled with the edge pixels.
    """
    h, w = image.shape[:2]
    cos, sin = abs(np.cos(np.deg2rad(degrees))), abs(np.sin(np.deg2rad(degrees)))
    out_w, out_h = round(w * cos + h * sin), round(w * sin + h * cos)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    m[:, 2] += ((out_w - w) / 2, (out_h - h) / 2)  # the centre moves to the canvas' centre
    return cv2.warpAffine(
        image, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _unsure(readings: list[Decoded], fmt: PlateFormat, below: float) -> list[int]:
    """The plates read with a raw confidence under ``below`` or as no valid plate."""
    return [i for i, r in enumerate(readings) if r.confidence < below or not fmt.is_valid(r.text)]


def _replaces(view: Decoded, first: Decoded, fmt: PlateFormat, sure: float) -> bool:
    """Whether a view's reading may replace the first: another text, a valid plate, a raw
    confidence of at least ``sure`` and, unless the first text is not valid, a higher one.
    """
    if view.text == first.text or view.confidence < sure or not fmt.is_valid(view.text):
        return False
    return view.confidence > first.confidence or not fmt.is_valid(first.text)


def reread_tighter(
    logits: Callable[[np.ndarray], np.ndarray],
    images: list[np.ndarray],
    readings: list[Decoded],
    fmt: PlateFormat,
    input_size: tuple[int, int],
    below: float = TIGHTER_BELOW,
    sure: float = SURE,
) -> tuple[list[Decoded], list[int | None]]:
    """Read again, through each of :data:`CUTS`, the plates read with a raw confidence under
    ``below`` or as a text that is not a valid plate; the first view (in that order) whose reading
    qualifies replaces the reading.

    A view's reading (greedy: a reading sure enough to be kept needs no search) qualifies when
    its text differs from the first reading's, is a valid plate, has a raw confidence of at least
    ``sure`` and, unless the first text is not valid, a higher one. Cutting a tight crop can cut
    off a character too, and the readers then often guess the commonest one (a province, a region
    digit) at middling confidence, hence the two thresholds.

    Args:
        logits: The model: ``uint8 [N, H, W, 3]`` -> ``[N, T, C]``.
        images: The RGB crops, aligned with ``readings``.
        readings: Their readings so far (raw confidences).
        fmt: The model's format.
        input_size: Model input (height, width).
        below: Raw confidence under which a plate is read again (0 never reads again).
        sure: Raw confidence a view's reading needs to replace the current one.

    Returns:
        The readings, and for each the index in :data:`CUTS` of the view that read it (None:
        the reading given).
    """
    out = list(readings)
    views: list[int | None] = [None] * len(readings)
    if below <= 0:
        return out, views
    unsure = _unsure(out, fmt, below)
    if not unsure:
        return out, views
    # every view of every unsure plate in one model call (fewer calls than view by view)
    crops = [tighter_view(images[i], cut) for i in unsure for cut in CUTS]
    read = greedy_decode(logits(prepare_batch(crops, input_size)), fmt.alphabet)
    for n, i in enumerate(unsure):
        first = out[i]
        for k, d in enumerate(read[n * len(CUTS) : (n + 1) * len(CUTS)]):
            if _replaces(d, first, fmt, sure):
                out[i], views[i] = d, k
                break  # the first view in CUTS' order that qualifies
    return out, views


def reread_turned(
    logits: Callable[[np.ndarray], np.ndarray],
    images: list[np.ndarray],
    readings: list[Decoded],
    fmt: PlateFormat,
    input_size: tuple[int, int],
    below: float = TURNED_BELOW,
    sure: float = TURNED_SURE,
) -> tuple[list[Decoded], list[float | None]]:
    """Read again, through the crop turned by each angle of :data:`TURNS`, the plates read with a
    raw confidence under ``below`` or as no valid plate; the most confident view whose reading
    qualifies as in :func:`reread_tighter` replaces the reading.

    Arguments as for :func:`reread_tighter` (``sure``: 0.9 here, as a turned view can lose or
    blur the small region digits too).

    Returns:
        The readings, and for each the angle of the view that read it (None: the reading given).
    """
    out = list(readings)
    turns: list[float | None] = [None] * len(readings)
    unsure = _unsure(out, fmt, below) if below > 0 else []
    if not unsure:
        return out, turns
    crops = [turned_view(images[i], angle) for i in unsure for angle in TURNS]
    read = greedy_decode(logits(prepare_batch(crops, input_size)), fmt.alphabet)
    for n, i in enumerate(unsure):
        views = zip(TURNS, read[n * len(TURNS) : (n + 1) * len(TURNS)])
        fits = [(d.confidence, angle, d) for angle, d in views if _replaces(d, out[i], fmt, sure)]
        if fits:
            _, turns[i], out[i] = max(fits, key=lambda f: f[0])
    return out, turns


def second_readings(
    logits: Callable[[np.ndarray], np.ndarray],
    images: list[np.ndarray],
    readings: list[Decoded],
    fmt: PlateFormat,
    input_size: tuple[int, int],
    decoder: str = "auto",
    beam: int = 8,
    two_row_below: float = REREAD_BELOW,
    tighter_below: float = TIGHTER_BELOW,
    turned_below: float = TURNED_BELOW,
    lap: Callable[[str], None] | None = None,
) -> SecondReadings:
    """The second readings of unsure plates, in the reader's order: through the two-row view
    (formats with two-row layouts, unless ``two_row_below`` is 0), then through tighter views
    (unless ``tighter_below`` is 0), then through turned views (unless ``turned_below`` is 0).
    Arguments as for :func:`~plateread.tworow.reread_two_row`, :func:`reread_tighter` and
    :func:`reread_turned`; ``lap(stage)`` is called after each reading that runs (``two-row``,
    ``tighter``, ``turned``), for timing.
    """
    out = readings
    if fmt.two_row and two_row_below > 0:
        out = reread_two_row(logits, images, out, fmt, input_size, decoder, beam, two_row_below)
        if lap is not None:
            lap("two-row")
    two_row = [r is not d for r, d in zip(out, readings)]
    views: list[int | None] = [None] * len(out)
    if tighter_below > 0:
        out, views = reread_tighter(logits, images, out, fmt, input_size, tighter_below)
        if lap is not None:
            lap("tighter")
    turns: list[float | None] = [None] * len(out)
    if turned_below > 0:
        out, turns = reread_turned(logits, images, out, fmt, input_size, turned_below)
        views = [v if t is None else None for v, t in zip(views, turns)]
        if lap is not None:
            lap("turned")
    # a reading that the two-row view replaced and a view replaced again is the latter's
    two_row = [t and v is None and a is None for t, v, a in zip(two_row, views, turns)]
    return SecondReadings(out, two_row, views, turns)
