"""A second reading, through tighter views of the crop, for plates that a reading is unsure of.

Crops from a detector are often looser than the boxes the readers learnt from (the plate then
fills less of the model's view, with background around it). A plate read with a low raw
confidence, or read as a text that matches no template, is read again with a margin cut from
each side of its crop; a view's reading replaces the first one only when it is a valid plate and
read surely (see :func:`reread_tighter`). :func:`second_readings` runs it after the two-row
reading, as both the reader and evaluation do.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from plateread.decoding import Decoded, greedy_decode
from plateread.formats import PlateFormat
from plateread.imaging import prepare_batch
from plateread.tworow import REREAD_BELOW, reread_two_row

TIGHTER_BELOW = 0.5  # raw confidence under which a plate is read through tighter views
SURE = 0.7  # raw confidence a view's reading needs to replace the first one
# (share of the width, share of the height) cut from each side, tried in this order
CUTS: tuple[tuple[float, float], ...] = ((0.06, 0.12), (0.10, 0.20))


def tighter_view(image: np.ndarray, cut: tuple[float, float]) -> np.ndarray:
    """``image`` with ``cut`` = (share of the width, share of the height) cut from each side
    (at least one pixel left in each direction).
    """
    h, w = image.shape[:2]
    dx = min(round(cut[0] * w), (w - 1) // 2)
    dy = min(round(cut[1] * h), (h - 1) // 2)
    return image[dy : h - dy, dx : w - dx]


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
    unsure = [i for i, r in enumerate(out) if r.confidence < below or not fmt.is_valid(r.text)]
    if not unsure:
        return out, views
    # every view of every unsure plate in one model call (fewer calls than view by view)
    crops = [tighter_view(images[i], cut) for i in unsure for cut in CUTS]
    read = greedy_decode(logits(prepare_batch(crops, input_size)), fmt.alphabet)
    for n, i in enumerate(unsure):
        first = out[i]
        first_valid = fmt.is_valid(first.text)
        for k, d in enumerate(read[n * len(CUTS) : (n + 1) * len(CUTS)]):
            if d.text == first.text or d.confidence < sure or not fmt.is_valid(d.text):
                continue
            if d.confidence > first.confidence or not first_valid:
                out[i], views[i] = d, k
                break  # the first view in CUTS' order that qualifies
    return out, views


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
    lap: Callable[[str], None] | None = None,
) -> tuple[list[Decoded], list[bool], list[int | None]]:
    """The second readings of unsure plates, in the reader's order: through the two-row view
    (formats with two-row layouts, unless ``two_row_below`` is 0), then through tighter views
    (unless ``tighter_below`` is 0). Arguments as for :func:`~plateread.tworow.reread_two_row`
    and :func:`reread_tighter`; ``lap(stage)`` is called after each reading that runs
    (``two-row``, ``tighter``), for timing.

    Returns:
        The readings; for each, whether the two-row view read it; and the index in :data:`CUTS`
        of the tighter view that read it (None: no tighter view did).
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
    # a reading that the two-row view replaced and a tighter view replaced again is the latter's
    return out, [t and v is None for t, v in zip(two_row, views)], views
