"""Style keys that say how a format's plates are drawn into their photographs.

Pure Python, like :mod:`plateread.formats`, which checks them when a format loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from plateread.errors import FormatError

if TYPE_CHECKING:
    from plateread.formats import PlateFormat

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
