"""A grid picture of plate crops with their labels (CJK-capable captions)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont


def _caption_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        from plateread.synth.fonts import cjk_font

        return ImageFont.truetype(cjk_font(), size, index=2)
    except Exception:  # no CJK font installed: Pillow's default still draws Latin text
        return ImageFont.load_default()


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
        draw.text((x, y + ch + 2), label, fill="black", font=font)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
