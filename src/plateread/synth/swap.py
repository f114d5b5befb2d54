"""Real crops with their first character redrawn as another of its class.

Real plates of a region are skewed towards a few leading characters (CCPD: 95% of plates start
with 皖), so a reader fine-tuned on them learns that a photographed plate starts with 皖 whatever
it shows there, and reads the provinces it saw only on synthetic plates as 皖. Redrawing the
leading character of some real training crops as another of its class (in the plate's own
colours, over the old one) keeps the real crops' look and takes that habit away.
"""

from __future__ import annotations

import cv2
import numpy as np

from plateread.data.colours import centre_colours
from plateread.synth.fonts import font_for, glyph_mask, latin_font

# a column belongs to the first character where this share of its middle rows is ink
_INK_COLUMN = 0.08
_SEARCH = 0.22  # the first character is looked for in this share of the crop's width
_STROKE_GAIN = 1.5
_NARROWEST, _WIDEST = 0.07, 0.16  # its width, as shares of the crop's (CCPD's 94x24: 7-15 px)


def first_char_box(image: np.ndarray) -> tuple[int, int, int, int, np.ndarray] | None:
    """The box ``(x0, y0, x1, y1)`` of the first character of a tight one-row crop and the ink
    mask of the searched strip (``[H, W']`` bool), or None where no character stands out.

    Ink is the lighter or darker side of an Otsu threshold over the left part of the crop,
    whichever covers less of it (characters are thinner than their plate); the first character is
    the first run of columns with ink in their middle rows.
    """
    h, w = image.shape[:2]
    if h < 8 or w < 24:
        return None
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    strip = np.ascontiguousarray(gray[:, : max(8, int(_SEARCH * w))])
    _, light = cv2.threshold(strip, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = light.astype(bool)
    if ink.mean() > 0.5:
        ink = ~ink
    middle = ink[int(0.15 * h) : int(0.85 * h)].mean(axis=0)
    middle[ink.mean(axis=0) > 0.85] = 0  # columns inked top to bottom: the plate's frame
    xs = np.nonzero(middle > _INK_COLUMN)[0]
    if len(xs) == 0:
        return None
    x0 = x1 = int(xs[0])
    for x in xs[1:]:  # the first run of ink columns, across gaps of a pixel
        if x - x1 > 2:
            break
        x1 = int(x)
    if x1 + 1 >= ink.shape[1] or x1 - x0 > _WIDEST * w:  # ran into the next character:
        lo, hi = x0 + round(_NARROWEST * w), min(len(middle), x0 + round(_WIDEST * w) + 1)
        if hi <= lo:
            return None
        x1 = lo + int(np.argmin(middle[lo:hi])) - 1  # part them where the ink is thinnest
    y0, y1 = _rows_of(ink[:, x0 : x1 + 1].mean(axis=1) > _INK_COLUMN)
    if x1 - x0 < 3 or y1 - y0 < h // 3:
        return None
    return x0, y0, x1 + 1, y1, ink


def _rows_of(inked: np.ndarray) -> tuple[int, int]:
    """The longest run of inked rows (across gaps of a row), ``(first, last + 1)``: the character,
    not the frame's lines above and below it.
    """
    best, start, last = (0, 0), None, -2
    for y in np.nonzero(inked)[0]:
        if start is None or y - last > 2:
            start = int(y)
        last = int(y)
        if last + 1 - start > best[1] - best[0]:
            best = (start, last + 1)
    return best


def swap_first(image: np.ndarray, char: str, rng: np.random.Generator) -> np.ndarray | None:
    """``image`` (RGB ``uint8``, a tight crop) with its first character painted over in the
    plate's colour and ``char`` drawn in its place in the characters' colour (Noto Sans CJK for
    CJK characters, a condensed Latin face otherwise), or None where the first character cannot
    be found (see :func:`first_char_box`).
    """
    found = first_char_box(image)
    if found is None:
        return None
    x0, y0, x1, y1, ink = found
    out = image.astype(np.float32)
    box = out[y0:y1, x0:x1]
    box_ink = ink[y0:y1, x0:x1]
    if box_ink.all() or not box_ink.any():
        return None
    centre = centre_colours(image)  # the characters' colour, as `plateread data` measures it
    if centre is None:
        return None
    bg = np.median(box[~box_ink], axis=0)
    fg = centre.light_strokes if centre.light_share < 0.5 else centre.dark_strokes
    ys, xs = slice(max(0, y0 - 1), y1 + 1), slice(max(0, x0 - 1), x1 + 1)
    out[ys, xs] = bg
    path, index, variation = font_for(char, latin_font(), str(rng.choice(["Medium", "Bold"])))
    glyph = glyph_mask(char, path, index, variation)
    scale = rng.uniform(0.85, 1.0)  # the new character no larger than the box it replaces
    gw, gh = max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale))
    mask = cv2.resize(glyph, (gw, gh), interpolation=cv2.INTER_AREA)[..., None]
    mask = np.minimum(mask * _STROKE_GAIN, 1.0)  # strokes a pixel wide keep their full colour
    gx, gy = x0 + (x1 - x0 - gw) // 2, y0 + (y1 - y0 - gh) // 2
    region = out[gy : gy + gh, gx : gx + gw]
    out[gy : gy + gh, gx : gx + gw] = (1 - mask) * region + mask * fg
    # as soft as the photographed characters; the rest of the crop stays as it was
    out[ys, xs] = cv2.GaussianBlur(out, (0, 0), 0.6)[ys, xs]
    return np.clip(out, 0, 255).astype(np.uint8)
