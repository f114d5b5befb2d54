"""Style keys that say how a format's plates are drawn into their photographs.

Pure Python, like :mod:`plateread.formats`, which checks them when a format loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plateread.errors import FormatError

if TYPE_CHECKING:
    from plateread.formats import PlateFormat

# style kinds drawn by renderers of their own (plateread.synth.render), not the generic one
KINDS = ("ru_civil", "ru_all", "cn")
LOOSE_MARGINS = ((0.02, 0.15), (0.05, 0.6))  # a loose crop's margins per side: x, then y


@dataclass(frozen=True)
class SceneStyle:
    """How a format's plates are drawn into their photographs (see :func:`scene_style`)."""

    margins: tuple[tuple[float, float], tuple[float, float]] = LOOSE_MARGINS
    background: str = "noise"
    frame: float = 0.0
    char_height: float = 0.72
    font_weights: tuple[str, ...] = ("Medium", "SemiBold", "Bold")
    font_families: tuple[str, ...] = ("Barlow Condensed",)


_FONT_KEYS = ("font_weights", "font_families")


def _names(fmt: PlateFormat, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """``style[key]`` as a non-empty tuple of names (one name or a list)."""
    value = fmt.style.get(key, default)
    names = (value,) if isinstance(value, str) else tuple(value or ())
    if not names or not all(isinstance(n, str) for n in names):
        raise FormatError(f"format {fmt.name!r}: style {key} must name one or more fonts")
    return names


def scene_style(fmt: PlateFormat) -> SceneStyle:
    """Read and check the style keys for photograph-like synthetic plates.

    ``loose_margins: [[x_low, x_high], [y_low, y_high]]``: a loose crop's margin on each side as
    a share of the plate's width and height (default ``[[0.02, 0.15], [0.05, 0.6]]``);
    ``scene``: ``noise`` (coloured textures, the default) or ``car`` (grey-scale paint, bumpers,
    tail lights); ``frame``: a dark plate-holder frame, as a share of the plate's height, around
    80% of the plates (0, the default: none); ``char_height``: the main characters' share of the
    plate's height (0.72); ``font_weights``: font weights to draw from (one name or a list);
    ``font_families``: Latin font families to draw from (``Barlow Condensed``, the default;
    ``Barlow``, wider; ``Saira Condensed``, straight-stemmed 6 and 9).

    Raises:
        FormatError: a key has the wrong shape or value.
    """
    style, default = fmt.style, SceneStyle()
    try:
        raw = style.get("loose_margins", default.margins)
        (x_lo, x_hi), (y_lo, y_hi) = ((float(a), float(b)) for a, b in raw)
        frame = float(style.get("frame", default.frame))
        k = float(style.get("char_height", default.char_height))
    except (TypeError, ValueError):
        raise FormatError(
            f"format {fmt.name!r}: style loose_margins must be [[x_low, x_high], [y_low, y_high]] "
            f"and frame and char_height numbers, got {style.get('loose_margins')!r}, "
            f"{style.get('frame')!r} and {style.get('char_height')!r}"
        ) from None
    background = str(style.get("scene", default.background))
    if background not in ("noise", "car") or not (0 <= x_lo <= x_hi and 0 <= y_lo <= y_hi):
        raise FormatError(
            f"format {fmt.name!r}: style scene must be noise or car and loose_margins ranges "
            f"low <= high, at least 0; got {background!r} and {raw!r}"
        )
    if not 0 <= frame < 1:
        raise FormatError(f"format {fmt.name!r}: style frame must be in [0, 1), got {frame}")
    if not 0.2 <= k <= 0.9:
        raise FormatError(f"format {fmt.name!r}: style char_height must be in [0.2, 0.9], got {k}")
    weights, families = (_names(fmt, key, getattr(default, key)) for key in _FONT_KEYS)
    return SceneStyle(((x_lo, x_hi), (y_lo, y_hi)), background, frame, k, weights, families)


# the generator's numeric style keys: (lowest, highest) allowed
_NUMBERS = {
    "region_box": (0.0, 0.9),
    "region_height": (0.05, 1.0),
    "group_gap": (0.0, 200.0),
    "loose_crops": (0.0, 1.0),
    "binarized": (0.0, 1.0),
    "tilt": (0.0, 5.0),
    "two_row_share": (0.0, 1.0),
    "region_chars": (0, 20),
}


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v  # nan != nan


def check_drawing(fmt: PlateFormat) -> None:
    """Check the style keys the plate renderer reads (colours, sizes, numbers) when a format
    loads, so that a wrong value is named at once, not met as a traceback mid-training.

    Raises:
        FormatError: a colour is not ``[R, G, B]`` in 0-255, a size not two positive numbers
            of millimetres, a number out of its range or a ``region_chars`` not a whole number.
    """
    style, name = fmt.style, fmt.name

    def colour(value: object, key: str) -> None:
        if not (
            isinstance(value, (list, tuple))
            and len(value) == 3
            and all(_is_number(v) and 0 <= v <= 255 for v in value)
        ):
            raise FormatError(
                f"format {name!r}: style {key} must be an [R, G, B] colour, 0-255, got {value!r}"
            )

    for key in ("background", "foreground"):
        if key in style:
            colour(style[key], key)
    if style.get("flag"):
        stripes = style["flag"]
        if not isinstance(stripes, (list, tuple)):
            raise FormatError(f"format {name!r}: style flag must list [R, G, B] stripes")
        for stripe in stripes:
            colour(stripe, "flag")
    for key in ("size_mm", "two_row_size_mm"):
        size = style.get(key)
        if key in style and not (
            isinstance(size, (list, tuple))
            and len(size) == 2
            and all(_is_number(v) and 10 <= v <= 2000 for v in size)
        ):
            raise FormatError(
                f"format {name!r}: style {key} must be [width, height] in mm (10-2000), "
                f"got {size!r}"
            )
    for key, (low, high) in _NUMBERS.items():
        if key not in style:  # a key left empty in YAML (None) is an error, not the default
            continue
        value = style[key]
        whole = key != "region_chars" or (isinstance(value, int) and not isinstance(value, bool))
        if not (_is_number(value) and whole and low <= value <= high):
            kind = "a whole number" if key == "region_chars" else "a number"
            raise FormatError(
                f"format {name!r}: style {key} must be {kind} from {low} to {high}, got {value!r}"
            )
    if "flag_text" in style and not isinstance(style["flag_text"], str):
        raise FormatError(f"format {name!r}: style flag_text must be text")
    if "kind" in style and style["kind"] not in KINDS:
        raise FormatError(
            f"format {name!r}: style kind must be one of {list(KINDS)} (a built-in format's "
            f"renderer), got {style['kind']!r}; leave it out for the generic one"
        )
    if style.get("region_at", "start") not in ("start", "end"):
        raise FormatError(
            f"format {name!r}: style region_at must be start or end, got {style['region_at']!r}"
        )
    if style.get("region_codes"):
        _check_region_codes(fmt, style["region_codes"])
    if "template_styles" in style:
        _check_template_styles(fmt, style["template_styles"])


# what a template's entry in ``template_styles`` may change: how its plate looks
TEMPLATE_STYLE_KEYS = frozenset(
    {
        "background", "foreground", "size_mm", "region_box", "region_height", "group_gap", "flag",
        "char_height", "frame",
    }
)  # fmt: skip


def _check_template_styles(fmt: PlateFormat, styles: object) -> None:
    """``template_styles``: templates of the format mapped to style keys of
    :data:`TEMPLATE_STYLE_KEYS` (their values are checked with the format drawn for each).
    """
    name = fmt.name
    if not isinstance(styles, Mapping) or not all(isinstance(v, Mapping) for v in styles.values()):
        raise FormatError(
            f"format {name!r}: style template_styles must map templates to style keys "
            f"({{LLDDD: {{background: [250, 210, 40]}}}}), got {styles!r}"
        )
    others = sorted(map(str, set(styles) - set(fmt.templates)))
    if others:
        raise FormatError(
            f"format {name!r}: style template_styles names {others}, not templates of "
            f"{list(fmt.templates)}"
        )
    for template, keys in styles.items():
        wrong = sorted(map(str, set(keys) - TEMPLATE_STYLE_KEYS))
        if wrong:
            raise FormatError(
                f"format {name!r}: style template_styles[{template!r}] has {wrong}; a template's "
                f"own style may set {sorted(TEMPLATE_STYLE_KEYS)}"
            )


def region_at_end(fmt: PlateFormat) -> bool:
    """Whether the style writes the region code last (``region_at: end``), not first."""
    return fmt.style.get("region_at") == "end"


def main_span(fmt: PlateFormat, text: str) -> tuple[int, int]:
    """``(first, last)``: ``text[first:last]`` is what lies outside the region code (the style's
    first ``region_chars`` characters, or its last with ``region_at: end``).
    """
    n = min(int(fmt.style.get("region_chars", 0)), len(text))
    return (0, len(text) - n) if region_at_end(fmt) else (n, len(text))


def _check_region_codes(fmt: PlateFormat, codes: object) -> None:
    """``region_codes``: a list of codes or ``{code: weight}``; each code text that a plate can
    start with (or end with, ``region_at: end``; YAML reads an unquoted ``01`` as the number 1,
    which starts none and would be skipped without a word).
    """
    try:
        weights = dict.fromkeys(codes, 1) if isinstance(codes, list) else codes
    except TypeError:  # a list of lists, say
        weights = None
    if not isinstance(weights, dict):
        weights = None
    if not weights or not all(_is_number(w) and w >= 0 for w in weights.values()):
        raise FormatError(
            f"format {fmt.name!r}: style region_codes must list codes or map them to weights "
            f"(at least 0), got {codes!r}"
        )

    end = region_at_end(fmt)
    fits = fmt.automaton.can_end if end else fmt.automaton.can_start
    bad = [c for c in weights if not isinstance(c, str) or not fits(c)]
    if bad or not sum(weights.values()):
        where = (
            "end with (by its templates and suffixes"
            if end
            else "start with (by its templates and prefixes"
        )
        raise FormatError(
            f"format {fmt.name!r}: style region_codes must be texts a plate can {where}; "
            f"quote codes such as '01' in YAML), weights not all 0; got {bad or codes!r}"
        )
