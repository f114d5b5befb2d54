"""Clean plate renderings, laid out in millimetres after the real plates.

* ``ru_civil`` and ``ru_all``: Russian plates (:mod:`plateread.synth.russian`).
* ``cn``: blue 440x140 mm (navy to light blue), white frame and characters, the province in a CJK
  font, a dot after the second character, glyphs of varied weight and width (the plate font is
  narrower than Barlow Condensed stretched to the cell; Saira Condensed draws its straight-stemmed
  6 and 9); 8-character texts get the green new-energy plate (gradient, black characters).
* ``generic`` (any other format): one row of characters, colours from the format's ``style``.
* two-row plates (``rows=2``): laid out as the format's ``two_row`` says in the generic style, or
  for ``ru_all`` the Russian square plate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from plateread.formats import PlateFormat, template_of
from plateread.styles import KINDS, SceneStyle, main_span, region_at_end
from plateread.synth.canvas import Canvas, Color, jitter, weighted_choice
from plateread.synth.fonts import latin_font, text_mask
from plateread.synth.russian import (
    RU_FAMILIES,
    RU_WEIGHTS,
    render_ru,
    render_ru_all,
    render_ru_two_row,
)

ONE_ROW_MM = (520, 112)  # default plate sizes (width, height) of the generic renderer
TWO_ROW_MM = (280, 200)


# Latin font weights for Chinese plates: how often each is drawn, and the width (mm) of the
# plain bar that stands for the digit one in that weight
_CN_WEIGHTS = {
    "Regular": (0.2, 7.5),
    "Medium": (0.35, 8.5),
    "SemiBold": (0.3, 9.5),
    "Bold": (0.15, 10.5),
}

# Latin families for Chinese plates and how often each is drawn
_CN_FAMILIES = {"Barlow Condensed": 0.5, "Saira Condensed": 0.5}


def render_cn(text: str, rng: np.random.Generator, scale: float = 0.5) -> np.ndarray:
    """A Chinese plate: blue for 7 characters, green new-energy for 8."""
    green = len(text) == 8
    w_mm, cell, gap, dot_gap = (480, 43.0, 9.0, 49.0) if green else (440, 45.0, 12.0, 34.0)
    if green:
        c = Canvas(w_mm, 140, scale, (0.0, 0.0, 0.0))
        top, bottom = jitter(rng, (235.0, 245.0, 238.0), 6), jitter(rng, (70.0, 190.0, 100.0), 12)
        ramp = np.linspace(0, 1, c.img.shape[0], dtype=np.float32)[:, None, None]
        c.img[:] = (1 - ramp) * np.asarray(top, np.float32) + ramp * np.asarray(bottom, np.float32)
        ink = jitter(rng, (20.0, 20.0, 20.0), 5)
    else:
        t = rng.uniform()  # from navy to the light blue of sunlit or washed-out plates
        blue = (1 - t) * np.array([15.0, 40.0, 130.0]) + t * np.array([70.0, 140.0, 225.0])
        c = Canvas(w_mm, 140, scale, jitter(rng, (blue[0], blue[1], blue[2]), 10))
        ink = jitter(rng, (238.0, 242.0, 248.0), 8)
    c.rect(4, 4, w_mm - 8, 132, ink, width=2)
    weight = str(rng.choice(list(_CN_WEIGHTS), p=[p for p, _ in _CN_WEIGHTS.values()]))
    font = latin_font(weight, weighted_choice(_CN_FAMILIES, rng))
    cjk_weight = str(rng.choice(["Regular", "Medium", "Bold"]))
    stretch = rng.uniform(1.1, 1.45)
    bar = _CN_WEIGHTS[weight][1]
    total = cell * len(text) + gap * (len(text) - 2) + dot_gap
    x = (w_mm - total) / 2
    for i, ch in enumerate(text):
        dx, dy = x + rng.normal(0, 0.6), 25 + rng.normal(0, 0.6)
        if ch == "1":  # Chinese plates draw the digit one as a plain bar
            c.rect(dx + cell / 2 - bar / 2, dy, bar, 90, ink)
        else:
            c.glyph(ch, dx, dy, cell, 90, ink, font, cjk_weight, stretch)
        x += cell + (dot_gap if i == 1 else gap)
        if i == 1:
            c.circle(x - dot_gap / 2, 70, rng.uniform(5, 7.5), ink)
    return c.result()


def _color(style: Any, key: str, default: Color) -> Color:
    # checked when the format loads (plateread.styles.check_drawing)
    r, g, b = (float(v) for v in style.get(key, default))
    return (r, g, b)


def _blank(
    style: Any,
    rng: np.random.Generator,
    size_key: str,
    size: tuple[int, int],
    scene: SceneStyle,
) -> tuple[Canvas, Color, Color, Any]:
    """A framed plate of the style's colours and ``style[size_key]`` (mm), and a font for it."""
    bg = jitter(rng, _color(style, "background", (235.0, 235.0, 230.0)), 8)
    ink = jitter(rng, _color(style, "foreground", (25.0, 25.0, 30.0)), 6)
    w_mm, h_mm = (float(v) for v in style.get(size_key, size))
    c = Canvas(w_mm, h_mm, 0.6, bg)
    c.rect(2, 2, w_mm - 4, h_mm - 4, ink, width=3)
    weight = str(rng.choice(list(scene.font_weights)))
    # one family: no draw, so formats without font_families render as before
    families = scene.font_families
    family = families[0] if len(families) == 1 else str(rng.choice(list(families)))
    return c, bg, ink, latin_font(weight, family)


def render_generic(text: str, fmt: PlateFormat, rng: np.random.Generator) -> np.ndarray:
    """A one-row plate described by ``fmt.style``.

    Style keys (all optional): ``background`` and ``foreground`` RGB, ``size_mm`` [w, h],
    ``region_chars`` (the first N characters drawn smaller in a box on the left, as on Uzbek
    plates; the last N in a box on the right with ``region_at: end``) with ``region_box`` (the
    box's share of the width, 0.16) and ``region_height`` (its characters' share of the height,
    0.5), ``group_gap`` (mm of extra space where the template switches between character
    classes: ``A 123 BC``), ``flag`` (RGB stripes, top to bottom, drawn at the end away from the
    region box: the right, or the left with ``region_at: end``), ``flag_text``, ``char_height``
    (the main characters' share of the plate's height, 0.72), ``font_weights`` (weights to draw
    from: ``[Medium, SemiBold, Bold]``) and ``font_families`` (``[Barlow Condensed]``; also
    ``Barlow``, ``Saira Condensed``).
    """
    style, scene = fmt.style, fmt.scene
    c, bg, ink, font = _blank(style, rng, "size_mm", ONE_ROW_MM, scene)
    w_mm, h_mm = c.w_mm, c.h_mm
    left, right = 12.0, w_mm - 12.0
    at_end = region_at_end(fmt)
    first, last = main_span(fmt, text)
    region, main = text[:first] + text[last:], text[first:last]
    if region:
        box = float(style.get("region_box", 0.16)) * w_mm
        rh = float(style.get("region_height", 0.5)) * h_mm
        cw = min(box / (len(region) + 0.6), 0.75 * rh)
        x_box = right - box if at_end else left
        x0 = x_box + (box - cw * len(region)) / 2
        for i, ch in enumerate(region):
            c.glyph(ch, x0 + i * cw, (h_mm - rh) / 2, cw * 0.95, rh, ink, font)
        line = x_box if at_end else left + box
        c.line(line, 4, line, h_mm - 4, ink, 2.5)
        if at_end:
            right -= box + 6
        else:
            left += box + 6
    if style.get("flag"):
        fw = 0.07 * w_mm
        x_flag = left if at_end else right - fw
        _flag(c, style, x_flag, 10, fw, 0.3 * h_mm, 0.2 * h_mm, bg, ink)
        if at_end:
            left += fw + 6
        else:
            right -= fw + 6
    gaps = _group_breaks(text, fmt)[first:last] * float(style.get("group_gap", 0.0))
    gaps[:1] = 0.0  # no gap before the first character after the region box
    n = max(1, len(main))
    step = (right - left - gaps.sum()) / n
    k = scene.char_height
    cell = min(step * 0.88, h_mm * 0.55 * k / 0.72)
    for i, ch in enumerate(main):
        x = left + i * step + gaps[: i + 1].sum() + (step - cell) / 2 + rng.normal(0, 0.6)
        c.glyph(ch, x, h_mm * (1 - k) / 2 + rng.normal(0, 0.6), cell, h_mm * k, ink, font)
    return c.result()


def _flag(
    c: Canvas,
    style: Any,
    x: float,
    y: float,
    w: float,
    h: float,
    text_h: float,
    bg: Color,
    ink: Color,
) -> None:
    """The style's ``flag`` stripes in a ``w`` x ``h`` mm box, with ``flag_text`` under it."""
    stripes = style["flag"]
    for k, col in enumerate(stripes):
        c.rect(x, y + k * h / len(stripes), w, h / len(stripes), _color({"flag": col}, "flag", bg))
    if style.get("flag_text"):
        mask = text_mask(str(style["flag_text"]), latin_font("SemiBold"), 20)
        c.mask(mask, x, y + h + 6, w, text_h, ink)


def render_two_row(text: str, fmt: PlateFormat, rng: np.random.Generator) -> np.ndarray:
    """A two-row plate laid out as ``fmt.two_row`` says for the text's template.

    Style keys as for :func:`render_generic`, plus ``two_row_size_mm`` [w, h] (280 x 200): the
    region characters (the first ``region_chars``, or the last with ``region_at: end``) sit in
    a box, with the flag, on the right of their row.
    """
    style = fmt.style
    template = fmt.match_template(text)
    if template is None or template not in fmt.two_row:
        raise ValueError(f"{text!r}: format {fmt.name!r} has no two-row layout for it")
    c, bg, ink, font = _blank(style, rng, "two_row_size_mm", TWO_ROW_MM, fmt.scene)
    w_mm, h_mm = c.w_mm, c.h_mm
    first, last = main_span(fmt, text)
    row_h = (h_mm - 16) / 2
    for r, row in enumerate(fmt.two_row[template]):
        top = 8 + r * row_h
        main = [i for i in row if first <= i < last]
        region = [i for i in row if not first <= i < last]
        right = w_mm - 10
        if region:  # the region box: its characters, then the flag
            box = 0.45 * (w_mm - 20)
            right -= box
            c.rect(right, top + 4, box, row_h - 8, ink, width=2.5)
            rh = 0.6 * row_h
            flag_w = 0.22 * box if style.get("flag") else 0.0
            cw = min((box - flag_w - 8) / len(region), 0.7 * rh)
            for k, i in enumerate(region):
                c.glyph(
                    text[i], right + 4 + k * cw, top + (row_h - rh) / 2, cw * 0.95, rh, ink, font
                )
            if flag_w:
                fx = right + box - flag_w - 4
                _flag(c, style, fx, top + 10, flag_w, 0.3 * row_h, 0.15 * row_h, bg, ink)
            right -= 6
        gaps = _group_breaks(text, fmt, main) * 0.6 * float(style.get("group_gap", 0.0))
        step = (right - 10 - gaps.sum()) / max(1, len(main))
        cell = min(step * 0.85, row_h * 0.5)
        for k, i in enumerate(main):
            x = 10 + k * step + gaps[: k + 1].sum() + (step - cell) / 2 + rng.normal(0, 0.6)
            c.glyph(
                text[i], x, top + row_h * 0.08 + rng.normal(0, 0.6), cell, row_h * 0.84, ink, font
            )
    return c.result()


def _group_breaks(
    text: str, fmt: PlateFormat, positions: Sequence[int] | None = None
) -> np.ndarray:
    """1.0 before each character (of ``positions`` in that order; all by default) whose template
    class differs from the previous one's.
    """
    order = list(range(len(text)) if positions is None else positions)
    template = template_of(text, fmt) if fmt.templates else ""
    out = np.zeros(len(order))
    if len(template) == len(text):
        out[1:] = [float(template[a] != template[b]) for a, b in zip(order, order[1:])]
    return out


FIXED_FONT_KINDS = KINDS  # style kinds whose renderers pick the fonts


def latin_fonts(fmt: PlateFormat) -> list[str]:
    """Every Latin font (path) :func:`render_plate` may draw plates of ``fmt`` with."""
    kind = fmt.style.get("kind")
    scene = fmt.scene  # the generic renderer's fonts, which also draws two-row plates but ru_all's
    own = [(w, f) for f in scene.font_families for w in scene.font_weights]
    two_row = own if fmt.two_row and kind != "ru_all" else []
    if kind in ("ru_civil", "ru_all"):
        pairs = [(w, f) for f in RU_FAMILIES for w in RU_WEIGHTS] + two_row
    elif kind == "cn":
        pairs = [(w, f) for f in _CN_FAMILIES for w in _CN_WEIGHTS] + two_row
    else:
        pairs = own
    return list(dict.fromkeys(latin_font(w, f) for w, f in pairs))


def render_plate(
    fmt: PlateFormat, text: str, rng: np.random.Generator, rows: int = 1
) -> np.ndarray:
    """A clean rendering of ``text`` in the style of ``fmt`` (and of the text's template, where
    the style's ``template_styles`` has it), on one row or (``rows=2``) two.
    """
    fmt = fmt.drawn(text)
    kind = fmt.style.get("kind")
    if rows == 2:
        return render_ru_two_row(text, rng) if kind == "ru_all" else render_two_row(text, fmt, rng)
    if kind == "ru_civil":
        return render_ru(text, rng)
    if kind == "ru_all":
        return render_ru_all(text, rng)
    if kind == "cn":
        return render_cn(text, rng)
    return render_generic(text, fmt, rng)
