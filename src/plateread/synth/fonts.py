"""Fonts from pip packages, and glyph masks cut to their ink."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from plateread.errors import FontError
from plateread.formats import FormatError

_BASE_SIZE = 96  # glyphs are rasterised once at this size, then resized into their cells


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise FontError(
            f"font package {name!r} is missing: pip install 'plateread[train]' "
            "(fontpkg-barlow, fontpkg-barlow-condensed, fontpkg-saira-condensed, "
            "manimgx-fonts-cjk)"
        )
    return Path(spec.origin).parent


# Latin font families: package, and the file names' stem
LATIN_FAMILIES = {
    "Barlow Condensed": ("fontpkg_barlow_condensed", "BarlowCondensed"),
    # as wide as Russian plates' characters
    "Barlow": ("fontpkg_barlow", "Barlow"),
    # straight-stemmed 6 and 9, closer to Chinese and Russian plates' digits than Barlow's
    "Saira Condensed": ("fontpkg_saira_condensed", "SairaCondensed"),
}


@cache
def latin_font(weight: str = "SemiBold", family: str = "Barlow Condensed") -> str:
    """Path of a Latin font of the given weight and family (one of ``LATIN_FAMILIES``)."""
    if family not in LATIN_FAMILIES:
        raise FormatError(f"no font family {family!r}, use one of {sorted(LATIN_FAMILIES)}")
    package, stem = LATIN_FAMILIES[family]
    folder = _package_dir(package) / "files"
    path = folder / f"{stem}-{weight}.ttf"
    if not path.is_file():
        have = sorted(p.stem.split("-")[1] for p in folder.glob(f"{stem}-*.ttf"))
        raise FormatError(f"style font_weights: no {family} {weight!r}, use one of {have}")
    return str(path)


# scripts neither the Latin fonts nor Noto Sans CJK draw, with optional pip packages that do
# (pip install 'plateread[scripts]'): their Unicode ranges, package and file
SCRIPT_FONTS: dict[str, tuple[tuple[tuple[int, int], ...], str, str]] = {
    "Thai": (((0x0E00, 0x0E7F),), "fontpkg-noto-sans-thai", "NotoSansThai[wdth,wght].ttf"),
    "Arabic": (
        ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
        "fontpkg-noto-sans-arabic",
        "NotoSansArabic[wdth,wght].ttf",
    ),
    "Devanagari": (
        ((0x0900, 0x097F), (0xA8E0, 0xA8FF)),
        "fontpkg-noto-sans-devanagari",
        "NotoSansDevanagari[wdth,wght].ttf",
    ),
}


def script_of(char: str) -> str | None:
    """The script of :data:`SCRIPT_FONTS` ``char`` belongs to, if any."""
    code = ord(char)
    for script, (ranges, _, _) in SCRIPT_FONTS.items():
        if any(lo <= code <= hi for lo, hi in ranges):
            return script
    return None


@cache
def script_font(script: str) -> str | None:
    """Path of the font that draws ``script`` (a key of :data:`SCRIPT_FONTS`), or None when its
    package is not installed.
    """
    _, package, name = SCRIPT_FONTS[script]
    try:
        path = _package_dir(package.replace("-", "_")) / "files" / name
    except FontError:  # not installed
        return None
    return str(path) if path.is_file() else None


@cache
def cjk_font() -> str:
    """Path of Noto Sans CJK (variable, collection; face 2 is Simplified Chinese)."""
    path = _package_dir("manimgx_fonts_cjk") / "NotoSansCJK-VF.otf.ttc"
    if not path.is_file():
        raise FontError(f"{path} not found")
    return str(path)


@cache
def _font(path: str, index: int, variation: str | None) -> ImageFont.FreeTypeFont:
    font = ImageFont.truetype(path, _BASE_SIZE, index=index)
    if variation:
        font.set_variation_by_name(variation)
    return font


@lru_cache(maxsize=4096)
def glyph_mask(char: str, path: str, index: int = 0, variation: str | None = None) -> np.ndarray:
    """The ink of one character as a float32 mask in [0, 1], cropped to its bounding box."""
    font = _font(path, index, variation)
    canvas = Image.new("L", (_BASE_SIZE * 2, _BASE_SIZE * 2), 0)
    ImageDraw.Draw(canvas).text((_BASE_SIZE // 2, _BASE_SIZE // 4), char, font=font, fill=255)
    arr = np.asarray(canvas, dtype=np.float32) / 255.0
    ys, xs = np.nonzero(arr > 0.02)
    if len(xs) == 0:
        raise FontError(f"font {Path(path).name} has no glyph for {char!r}")
    return arr[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy()


# a private-use code point no font maps: drawn as the font's .notdef box, as any character it lacks
_UNMAPPED = "\U0010fffd"
_REAL_ONLY = (
    "synthetic plates of this format cannot be rendered; train on real plates only (no synth: data)"
)


@lru_cache(maxsize=4096)
def has_glyph(char: str, path: str, index: int = 0, variation: str | None = None) -> bool:
    """Whether a font draws ``char`` as itself: FreeType draws a character the font lacks as
    its .notdef box (ink, and no error), the same box for every such character.
    """
    try:
        mask = glyph_mask(char, path, index, variation)
    except FontError:  # no ink at all: a space, or a font whose .notdef box is empty
        return False
    try:
        missing = glyph_mask(_UNMAPPED, path, index, variation)
    except FontError:  # this font draws what it lacks as nothing, which glyph_mask refuses
        return True
    return not np.array_equal(mask, missing)


def font_for(char: str, latin: str, weight: str = "Bold") -> tuple[str, int, str | None]:
    """The font to draw ``char`` with, as ``(path, face index, variation)``: the plate's Latin
    font where it has the character, else Noto Sans CJK (Chinese, Japanese and Korean scripts,
    Cyrillic, Greek), else the Noto font of its script (Thai, Arabic, Devanagari: optional
    packages), the last two in ``weight`` (``Regular``, ``Medium`` or ``Bold``).

    Raises:
        FontError: no font here draws it (the message names the package that would).
    """
    if has_glyph(char, latin):
        return latin, 0, None
    cjk = cjk_font()
    if has_glyph(char, cjk, 2, weight):
        return cjk, 2, weight
    script = script_of(char)
    path = script_font(script) if script else None
    if path and has_glyph(char, path, 0, weight):
        return path, 0, weight
    raise FontError(f"no font here draws {char!r} (U+{ord(char):04X}): {_unavailable([char])}")


def _unavailable(chars: list[str]) -> str:
    """What to do about characters no font here draws: install their script's package, or
    train without synthetic plates.
    """
    packages = sorted(
        {SCRIPT_FONTS[s][1] for c in chars if (s := script_of(c)) and not script_font(s)}
    )
    if packages:
        return f"pip install {' '.join(packages)} (or 'plateread[scripts]') to draw them"
    return _REAL_ONLY


def check_drawable(
    chars: str, latins: Sequence[str], caption: str = "", fixed_kind: str = ""
) -> None:
    """Check before any work that every character of a format can be drawn (:func:`font_for`)
    with each Latin font in ``latins`` (every font the format's plates may be drawn with; the
    families differ a little in what they cover) and its ``caption`` (``flag_text``) by the
    Latin font captions are drawn with (:func:`latin_font`'s default) alone. ``fixed_kind``
    names the style ``kind`` whose renderer picks its own fonts, if it is one.

    Raises:
        FontError: naming every character that cannot be, and the fonts that lack it.
    """
    lacking: dict[str, list[str]] = {}
    for char in dict.fromkeys(chars):
        for latin in latins:
            try:
                font_for(char, latin)
            except FontError:
                lacking.setdefault(char, []).append(Path(latin).stem)
    anywhere = {c for c in lacking if any(_draws(c, family) for family in LATIN_FAMILIES)}
    nowhere = [c for c in lacking if c not in anywhere]
    if nowhere:
        codes = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in nowhere)
        raise FontError(f"no font here draws {codes}: {_unavailable(nowhere)}")
    if lacking:
        some = "; ".join(
            f"{c!r} (U+{ord(c):04X}) by {', '.join(fonts)}" for c, fonts in lacking.items()
        )
        advice = (
            f"style kind {fixed_kind} draws with fonts of its own: leave kind out to draw with "
            "style font_families that draw them"
            if fixed_kind
            else "choose style font_families that draw them"
        )
        raise FontError(
            "fonts this format's plates are drawn with lack characters of its alphabet (and "
            f"Noto Sans CJK does too): {some}; {advice} (of {sorted(LATIN_FAMILIES)})"
        )
    missing = [
        c for c in dict.fromkeys(caption) if not c.isspace() and not has_glyph(c, latin_font())
    ]
    if missing:
        raise FontError(
            f"style flag_text {caption!r}: the Latin font does not draw {''.join(missing)!r}"
        )


def _draws(char: str, family: str) -> bool:
    """Whether the Latin family draws ``char`` (in its SemiBold weight)."""
    return has_glyph(char, latin_font("SemiBold", family))


def text_mask(text: str, path: str, height: int) -> np.ndarray:
    """A whole string (small captions such as ``RUS``) as a mask of the given height."""
    font = ImageFont.truetype(path, max(6, int(height * 1.4)))
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    canvas = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(canvas).text((-left + 1, -top + 1), text, font=font, fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0
