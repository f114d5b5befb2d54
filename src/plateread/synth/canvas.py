"""A drawing surface measured in millimetres, and the generator's random draws."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from plateread.formats import CN_PROVINCES
from plateread.synth.fonts import cjk_font, font_for, glyph_mask

Color = tuple[float, float, float]


class Canvas:
    """A float RGB drawing surface measured in millimetres."""

    def __init__(self, w_mm: float, h_mm: float, scale: float, color: Color) -> None:
        self.s, self.w_mm, self.h_mm = scale, w_mm, h_mm
        self.img = np.empty((round(h_mm * scale), round(w_mm * scale), 3), np.float32)
        self.img[:] = color

    def glyph(
        self,
        char: str,
        x: float,
        y: float,
        w: float,
        h: float,
        color: Color,
        font: str,
        cjk_weight: str = "Bold",
        max_stretch: float = 1.6,
    ) -> None:
        """Draw ``char`` stretched into the box (mm) at ``(x, y)`` of size ``w`` x ``h``."""
        if char in CN_PROVINCES:
            mask = glyph_mask(char, cjk_font(), 2, cjk_weight)
        else:  # the Latin font, or the CJK one for what it lacks (Hangul, kana), or its script's
            mask = glyph_mask(char, *font_for(char, font, cjk_weight))
        # widen condensed glyphs towards the cell, but at most max_stretch: thin ones stay thin
        natural = mask.shape[1] * h / mask.shape[0]
        draw_w = min(w, max_stretch * natural)
        self.mask(mask, x + (w - draw_w) / 2, y, draw_w, h, color)

    def mask(self, mask: np.ndarray, x: float, y: float, w: float, h: float, color: Color) -> None:
        """Blend a coverage mask, resized into the box (mm), in ``color``."""
        x0, y0 = round(x * self.s), round(y * self.s)
        pw, ph = max(1, round(w * self.s)), max(1, round(h * self.s))
        m = cv2.resize(mask, (pw, ph), interpolation=cv2.INTER_AREA)
        H, W = self.img.shape[:2]
        xa, ya, xb, yb = max(0, x0), max(0, y0), min(W, x0 + pw), min(H, y0 + ph)
        if xb <= xa or yb <= ya:
            return
        m = m[ya - y0 : yb - y0, xa - x0 : xb - x0, None]
        region = self.img[ya:yb, xa:xb]
        region *= 1 - m
        region += m * np.asarray(color, np.float32)

    def rect(self, x: float, y: float, w: float, h: float, color: Color, width: float = 0) -> None:
        """A rounded rectangle, outlined with ``width`` mm or filled when ``width`` is 0."""
        p1 = (round(x * self.s), round(y * self.s))
        p2 = (round((x + w) * self.s), round((y + h) * self.s))
        t = -1 if width <= 0 else max(1, round(width * self.s))
        cv2.rectangle(self.img, p1, p2, color, t, cv2.LINE_AA)

    def line(self, x1: float, y1: float, x2: float, y2: float, color: Color, width: float) -> None:
        """A straight line ``width`` mm thick."""
        pts = [(round(x1 * self.s), round(y1 * self.s)), (round(x2 * self.s), round(y2 * self.s))]
        cv2.line(self.img, pts[0], pts[1], color, max(1, round(width * self.s)), cv2.LINE_AA)

    def circle(self, x: float, y: float, r: float, color: Color) -> None:
        """A filled circle of radius ``r`` mm."""
        c = (round(x * self.s), round(y * self.s))
        cv2.circle(self.img, c, max(1, round(r * self.s)), color, -1, cv2.LINE_AA)

    def result(self) -> np.ndarray:
        """The drawing as RGB ``uint8``."""
        return np.clip(self.img, 0, 255).astype(np.uint8)


def weighted_choice(options: Mapping[Any, Any], rng: np.random.Generator) -> str:
    """One key of ``options``, drawn in proportion to its value."""
    weights = np.asarray([float(w) for w in options.values()])
    return str(rng.choice([str(k) for k in options], p=weights / weights.sum()))


def jitter(rng: np.random.Generator, base: Color, spread: float) -> Color:
    """``base`` with normal noise of ``spread`` added to each channel, kept in 0-255."""
    r, g, b = (np.clip(np.asarray(base) + rng.normal(0, spread, 3), 0, 255)).tolist()
    return (r, g, b)
