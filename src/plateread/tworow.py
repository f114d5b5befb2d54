"""Two-row plates: their text as shown (rows side by side) and a second reading for them.

A format's ``two_row`` says, for a template, which label positions each row shows, top row first.
The reader sees a two-row plate through :func:`~plateread.imaging.split_rows` (top half, then
bottom half, side by side), so it emits the text *as shown*: ``01A123BC`` on a plate with ``A123``
over ``BC`` and the region box ``01`` reads ``A123BC01``. These helpers map between the two orders
and give plates that a one-row reading is unsure of a second reading through the two-row view.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from plateread.decoding import Decoded, decode_logits
from plateread.formats import PlateFormat
from plateread.imaging import prepare_batch, split_rows

REREAD_BELOW = 0.9  # plates read with a lower (raw) confidence get the two-row reading too


def shown_text(text: str, fmt: PlateFormat) -> str:
    """A label as a two-row plate shows it, rows side by side (the two-row view's target).

    Raises:
        ValueError: the text matches no template that ``fmt`` draws on two rows.
    """
    template = fmt.match_template(text)
    if template is None or template not in fmt.two_row:
        raise ValueError(f"{text!r}: no two-row layout in format {fmt.name!r} for this text")
    return "".join(text[i] for i in fmt.two_row_order(template))


def from_shown(decoded: Decoded, fmt: PlateFormat) -> Decoded | None:
    """A two-row view's reading put back in label order, or None when no layout explains it or
    the label it gives is not a valid plate of ``fmt``.
    """
    text = decoded.text
    for template in fmt.two_row:
        order = fmt.two_row_order(template)
        if len(order) != len(text):
            continue
        chars = [""] * len(text)
        confs = [0.0] * len(text)
        for k, i in enumerate(order):
            chars[i], confs[i] = text[k], decoded.char_confidences[k]
        label = "".join(chars)
        if fmt.match_template(label) == template and fmt.is_valid(label):
            return Decoded(label, decoded.confidence, tuple(confs))
    return None


def reread_two_row(
    logits: Callable[[np.ndarray], np.ndarray],
    images: list[np.ndarray],
    readings: list[Decoded],
    fmt: PlateFormat,
    input_size: tuple[int, int],
    decoder: str = "auto",
    beam: int = 8,
    below: float = REREAD_BELOW,
) -> list[Decoded]:
    """Read plates whose one-row reading is unsure (raw confidence under ``below``) again through
    the two-row view, and keep whichever reading is more confident.

    Args:
        logits: The model: ``uint8 [N, H, W, 3]`` -> ``[N, T, C]``.
        images: The RGB crops, aligned with ``readings``.
        readings: Their one-row readings (raw confidences).
        fmt: The model's format; without ``two_row`` layouts the readings come back unchanged.
        input_size: Model input (height, width).
        decoder: Decoder name, as for :func:`~plateread.decoding.decode_logits`.
        beam: Beam width.
        below: Raw confidence under which a plate is read again (0 never reads twice).
    """
    unsure = [i for i, r in enumerate(readings) if r.confidence < below]
    if not fmt.two_row or not unsure:
        return readings
    batch = prepare_batch([split_rows(images[i]) for i in unsure], input_size)
    shown = decode_logits(logits(batch), fmt.two_row_shown, decoder, beam)
    out = list(readings)
    for i, d in zip(unsure, shown, strict=True):
        label = from_shown(d, fmt)
        if label is not None and label.confidence > out[i].confidence:
            out[i] = label
    return out
