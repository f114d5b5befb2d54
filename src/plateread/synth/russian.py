"""Russian plates: civil ones and the other one-row types, laid out in millimetres.

* ``ru_civil``: white 520x112 mm, black frame, ``L DDD LL`` with letters smaller than digits, a
  region box with smaller 2-3 digits, ``RUS`` and the flag; wide glyphs (Barlow, or Barlow or
  Saira Condensed stretched to the cell) of varied, mostly light weight.
* ``ru_all``: the civil plate, or by the text's template a taxi or public-transport plate
  (yellow, ``LL DDD``), a trailer's (white, ``LL DDDD``), a police plate (blue, white characters,
  ``L DDDD``) or a military one (black, white characters, ``DDDD LL``); the same region box, with
  ``RUS`` alone (no flag) on police and military plates.
* two-row (``ru_all``): the square white 190x145 mm plate of motorcycles and tractors, four digits
  over two letters and the region code with ``RUS`` in a box of its own (no flag).
"""

from __future__ import annotations

import numpy as np

from plateread.synth.canvas import Canvas, Color, jitter, weighted_choice
from plateread.synth.fonts import latin_font, text_mask

# Russian plates' characters are about as wide as Barlow's (Barlow Condensed stretched to the
# cell draws them narrower and bolder) and their 6 and 9 as straight-stemmed as Saira Condensed's;
# how often each family and weight is drawn
RU_FAMILIES = {"Barlow": 0.4, "Saira Condensed": 0.4, "Barlow Condensed": 0.2}
RU_WEIGHTS = {"Regular": 0.3, "Medium": 0.35, "SemiBold": 0.25, "Bold": 0.1}

# paper, ink and whether the region box shows the flag (police and military plates: RUS alone)
_RU_TYPES: dict[str, tuple[Color, Color, bool]] = {
    "civil": ((238.0, 238.0, 232.0), (25.0, 25.0, 30.0), True),
    "taxi": ((240.0, 196.0, 35.0), (25.0, 25.0, 30.0), True),
    "trailer": ((238.0, 238.0, 232.0), (25.0, 25.0, 30.0), True),
    "police": ((30.0, 70.0, 165.0), (240.0, 240.0, 240.0), False),
    "military": ((22.0, 22.0, 26.0), (235.0, 235.0, 235.0), False),
}
# each type's series (the letter/digit mask before the region code), and the region code's
# possible lengths
RU_SERIES: dict[str, tuple[str, tuple[int, ...]]] = {
    "LDDDLL": ("civil", (2, 3)),
    "LLDDD": ("taxi", (2, 3)),
    "LLDDDD": ("trailer", (2, 3)),
    "LDDDD": ("police", (2, 3)),
    "DDDDLL": ("military", (2,)),
}

# series drawn on two-row plates too (motorcycles, tractors), and their region codes' lengths
RU_TWO_ROW_SERIES: dict[str, tuple[int, ...]] = {"DDDDLL": (2, 3)}


def _mask(text: str) -> str:
    """A Russian plate text's letter/digit layout: ``A123BC77`` -> ``LDDDLLDD``."""
    return "".join("D" if ch.isdigit() else "L" for ch in text)


def _ru_types(text: str) -> list[tuple[int, str]]:
    """``(characters before the region code, type)`` of each one-row type that draws ``text``."""
    mask = _mask(text)
    return [
        (len(series), kind)
        for series, (kind, regions) in RU_SERIES.items()
        if mask.startswith(series) and mask[len(series) :] in ("D" * n for n in regions)
    ]


def _ru_two_row(text: str) -> bool:
    series = _mask(text)[:6]
    return series in RU_TWO_ROW_SERIES and len(text) - 6 in RU_TWO_ROW_SERIES[series]


def ru_drawable(text: str, rows: int = 1) -> bool:
    """Whether :func:`render_ru_all` (``rows=1``) or :func:`render_ru_two_row` draws ``text``."""
    return _ru_two_row(text) if rows == 2 else bool(_ru_types(text))


def render_ru(text: str, rng: np.random.Generator, scale: float = 0.6) -> np.ndarray:
    """A Russian civil plate (``LDDDLLDD`` or ``LDDDLLDDD``)."""
    return _render(text, 6, "civil", rng, scale)


def render_ru_all(text: str, rng: np.random.Generator, scale: float = 0.6) -> np.ndarray:
    """A Russian plate of the type its text's layout says (civil, taxi, trailer, police or
    military); a text two types can draw (``LL DDD 177`` or ``LL DDDD 77``) is drawn as either.

    Raises:
        ValueError: the text is no Russian one-row plate's.
    """
    options = _ru_types(text)
    if not options:
        raise ValueError(f"{text!r} is not a Russian plate text of a known type")
    n_main, kind = options[int(rng.integers(len(options)))] if len(options) > 1 else options[0]
    return _render(text, n_main, kind, rng, scale)


def _render(
    text: str, n_main: int, kind: str, rng: np.random.Generator, scale: float
) -> np.ndarray:
    """The plate: ``text[:n_main]`` left of the line, the region code in the box on the right."""
    paper_base, ink_base, flag = _RU_TYPES[kind]
    paper = jitter(rng, paper_base, 8)
    ink = jitter(rng, ink_base, 6)
    font = latin_font(weighted_choice(RU_WEIGHTS, rng), weighted_choice(RU_FAMILIES, rng))
    c = Canvas(520, 112, scale, paper)
    c.rect(2, 2, 516, 108, ink, width=3.5)
    c.line(398, 3, 398, 109, ink, 2.5)
    main, region = text[:n_main], text[n_main:]
    # cells 50 mm wide, 56 mm apart, 6 mm more between letters and digits, centred on 193 mm
    # (civil: L DDD LL from 22 mm); letters 58 mm high, digits 76 mm, on one baseline
    steps = [56 + 6 * (a.isdigit() != b.isdigit()) for a, b in zip(main, main[1:])]
    lefts = np.concatenate([[0.0], np.cumsum(steps)])
    lefts += 193 - (lefts[-1] + 50) / 2
    for ch, x in zip(main, lefts.tolist()):
        h = 76 if ch.isdigit() else 58
        c.glyph(ch, x + rng.normal(0, 0.8), 96 - h + rng.normal(0, 0.8), 50, h, ink, font)
    cw = 36 if len(region) == 2 else 33
    x0 = 457 - cw * len(region) / 2
    for i, ch in enumerate(region):
        c.glyph(ch, x0 + i * cw + 2, 8 + rng.normal(0, 0.6), cw - 4, 58, ink, font)
    if flag:
        c.mask(text_mask("RUS", latin_font("SemiBold"), 20), 412, 77, 30, 15, ink)
        for i, col in enumerate([(250.0, 250.0, 250.0), (30.0, 70.0, 170.0), (200.0, 30.0, 40.0)]):
            c.rect(452, 77 + i * 5.3, 30, 5.3, col)
        c.rect(452, 77, 30, 16, ink, width=0.6)
    else:
        c.mask(text_mask("RUS", latin_font("SemiBold"), 20), 443, 77, 30, 15, ink)
    if rng.random() < 0.6:  # bolt heads left of the first letter and right of the series
        bolt = jitter(rng, (120.0, 110.0, 100.0), 25)
        for bx in (12.0, 386.0):
            c.circle(bx + rng.normal(0, 1), 56 + rng.normal(0, 3), 3.5, bolt)
    return c.result()


def render_ru_two_row(text: str, rng: np.random.Generator, scale: float = 0.6) -> np.ndarray:
    """A Russian two-row plate (motorcycles, tractors): ``DDDD`` over ``LL`` and the region code.

    Raises:
        ValueError: the text is no ``DDDD LL`` series with a 2-3 digit region code.
    """
    if not _ru_two_row(text):
        raise ValueError(f"{text!r} is not a Russian two-row plate text")
    paper = jitter(rng, (238.0, 238.0, 232.0), 8)
    ink = jitter(rng, (25.0, 25.0, 30.0), 6)
    font = latin_font(weighted_choice(RU_WEIGHTS, rng), weighted_choice(RU_FAMILIES, rng))
    c = Canvas(190, 145, scale, paper)
    c.rect(2, 2, 186, 141, ink, width=3.5)
    c.line(100, 76, 100, 141, ink, 2.5)  # the region box's left side
    c.line(100, 76, 186, 76, ink, 2.5)
    # four digits 62 mm high across the top; letters 50 mm high bottom left
    for i, ch in enumerate(text[:4]):
        c.glyph(ch, 12 + 43 * i + rng.normal(0, 0.8), 8 + rng.normal(0, 0.8), 38, 62, ink, font)
    for i, ch in enumerate(text[4:6]):
        c.glyph(ch, 10 + 44 * i + rng.normal(0, 0.8), 84 + rng.normal(0, 0.8), 38, 50, ink, font)
    region = text[6:]
    cw = 26 if len(region) == 2 else 24
    x0 = 143 - cw * len(region) / 2
    for i, ch in enumerate(region):
        c.glyph(ch, x0 + i * cw + 1.5, 81 + rng.normal(0, 0.6), cw - 3, 38, ink, font)
    c.mask(text_mask("RUS", latin_font("SemiBold"), 20), 128, 124, 30, 13, ink)
    return c.result()
