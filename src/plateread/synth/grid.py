"""A grid picture of plate crops with their labels (CJK-capable captions)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont


def _caption_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        from plateread.synth.fonts import cjk_font

        return ImageFont.truetype(cjk_font(), size, index=2)
    except Exception:  # no CJK font installed: Pillow's default still draws Latin text
        return ImageFont.load_default()


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _draw_caption(
    draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: Any, size: int
) -> None:
    """Draw ``text`` in ``font``, but characters it lacks in their script's font when one is
    installed (Thai, Arabic, Devanagari: :data:`plateread.synth.fonts.SCRIPT_FONTS`).
    """
    from plateread.synth.fonts import script_font, script_of

    x, y = xy
    for char in text:
        script = script_of(char)
        path = script_font(script) if script else None
        face = _font(path, size) if path else font
        draw.text((x, y), char, fill="black", font=face)
        x += round(face.getlength(char))


def save_grid(
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    path: str | Path,
    cols: int = 4,
    cell: tuple[int, int] = (64, 240),
) -> Path:
    """Save crops (RGB) in a grid, each with its label underneath, as a PNG.

    Args:
        images: RGB crops of any size (each is fitted into ``cell`` = (height, width)).
        labels: One caption per image.
        path: Output PNG.
        cols: Columns of the grid.
        cell: Size each crop is resized to.
    """
    ch, cw = cell
    cap = 22
    rows = max(1, -(-len(images) // cols))
    sheet = Image.new("RGB", (cols * (cw + 8), rows * (ch + cap + 8)), "white")
    draw = ImageDraw.Draw(sheet)
    font = _caption_font(16)
    for i, (img, label) in enumerate(zip(images, labels)):
        r, c = divmod(i, cols)
        x, y = c * (cw + 8) + 4, r * (ch + cap + 8) + 4
        tile = cv2.resize(img, (cw, ch), interpolation=cv2.INTER_AREA)
        sheet.paste(Image.fromarray(tile), (x, y))
        _draw_caption(draw, (x, y + ch + 2), label, font, 16)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
