"""A format's fields read from plain data (a YAML file's mapping, a checkpoint's metadata):
lists, two-row layouts and character ranges, each wrong shape a :class:`FormatError` that says
what was expected. Pure Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plateread.errors import FormatError


def listed(d: Mapping[str, Any], key: str, name: str) -> list[Any]:
    """``d[key]`` as a list (none: empty). A lone text is an error: ``prefixes: "77"`` would
    otherwise be read as the codes ``7`` and ``7``, and ``templates: LDDD`` as four templates.
    """
    value = d.get(key) or []
    if not isinstance(value, (list, tuple)):
        raise FormatError(f"format {name!r}: {key} must be a list ([...]), got {value!r}")
    return list(value)


def two_row_layouts(value: Any, name: str) -> dict[str, tuple[tuple[int, ...], ...]]:
    """Parse a format file's ``two_row`` mapping (checked further by the format)."""
    if not value:
        return {}
    try:
        return {
            str(t): tuple(tuple(int(i) for i in row) for row in rows) for t, rows in value.items()
        }
    except (AttributeError, TypeError, ValueError):
        raise FormatError(
            f"format {name!r}: two_row must map templates to lists of positions, got {value!r}"
        ) from None


def expand_chars(chars: str) -> str:
    """Expand ranges such as ``0-9A-Z`` in a character set (a lone or edge ``-`` stays).

    Raises:
        FormatError: a range runs backwards (``9-0``): it would be read as three characters.
    """
    out: list[str] = []
    i = 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-" and chars[i] > chars[i + 2]:
            raise FormatError(
                f"character range {chars[i : i + 3]!r} runs backwards (write "
                f"{chars[i + 2]}-{chars[i]})"
            )
        if i + 2 < len(chars) and chars[i + 1] == "-" and chars[i] < chars[i + 2]:
            out.extend(chr(k) for k in range(ord(chars[i]), ord(chars[i + 2]) + 1))
            i += 3
        else:
            out.append(chars[i])
            i += 1
    return "".join(dict.fromkeys(out))
