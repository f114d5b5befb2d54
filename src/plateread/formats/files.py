"""Format files (YAML) and :func:`load_format`, which resolves any way of naming a format."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from plateread.errors import FormatError
from plateread.formats.builtin import BUILTIN
from plateread.formats.core import PlateFormat


@lru_cache(maxsize=32)
def _load_yaml_format(path: str, mtime_ns: int, size: int) -> PlateFormat:
    """Parse a format file once per (path, modification time, size): synthetic plates call
    :func:`load_format` for every image they render.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise FormatError(f"{path}: not valid YAML ({e})") from None
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text (save it as UTF-8)") from None
    if not isinstance(data, Mapping):
        raise FormatError(f"{path}: a format file must hold a mapping")
    _check_keys(data, path)
    return PlateFormat.from_dict(data)


# fmt: off
FORMAT_KEYS = frozenset({
    "name", "alphabet", "classes", "templates", "min_length", "max_length", "style", "prefixes",
    "two_row",
})
# what the synthetic generator reads from ``style`` (README, "Formats"; kind: built-in renderers)
STYLE_KEYS = frozenset({
    "background", "foreground", "size_mm", "two_row_size_mm", "region_box", "region_chars",
    "region_height", "region_codes", "group_gap", "flag", "flag_text", "loose_crops", "tilt",
    "template_weights", "two_row_share", "binarized", "loose_margins", "scene", "frame",
    "char_height", "font_weights", "font_families", "kind",
})
# fmt: on


def _check_keys(data: Mapping[str, Any], path: str) -> None:
    """A format file's misspelt key would be ignored without a word: name it instead."""
    style = data.get("style") or {}
    for what, keys, known in (
        ("key", set(data), FORMAT_KEYS),
        ("style key", set(style) if isinstance(style, Mapping) else set(), STYLE_KEYS),
    ):
        unknown = sorted(map(str, keys - known))
        if unknown:
            raise FormatError(f"{path}: unknown {what} {unknown}; known: {sorted(known)}")


def load_format(spec: str | PlateFormat | Mapping[str, Any]) -> PlateFormat:
    """Resolve a format: a built-in name, a YAML file path, a mapping or a PlateFormat.

    Raises:
        FormatError: unknown name, missing file or malformed definition.
    """
    if isinstance(spec, PlateFormat):
        return spec
    if isinstance(spec, Mapping):
        return PlateFormat.from_dict(spec)
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec)
    if path.suffix.lower() in (".yaml", ".yml"):
        if not path.is_file():
            raise FormatError(f"format file not found: {path}")
        stat = path.stat()
        return _load_yaml_format(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    raise FormatError(f"unknown format {spec!r}: use one of {sorted(BUILTIN)} or a .yaml file")
