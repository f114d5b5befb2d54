"""Format files (YAML) and :func:`load_format`, which resolves any way of naming a format."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from plateread.errors import FormatError
from plateread.formats.builtin import BUILTIN
from plateread.formats.core import PlateFormat

# the format files this thread is loading, outermost first: an ``extends`` chain that comes back
# to one of them loops (a file is cached only once loaded, so a loop always reaches the check)
_LOADING = threading.local()


@lru_cache(maxsize=32)
def _load_yaml_format(path: str, mtime_ns: int, size: int) -> PlateFormat:
    """Parse a format file once per (path, modification time, size): synthetic plates call
    :func:`load_format` for every image they render. The cache keys on this file alone: an edit
    to the format it ``extends`` shows in a new process.
    """
    chain: list[str] = _LOADING.__dict__.setdefault("chain", [])
    if path in chain:
        loop = " -> ".join([*chain[chain.index(path) :], path])
        raise FormatError(f"{path}: its extends chain loops ({loop})")
    chain.append(path)
    try:
        data = read_yaml_mapping(Path(path), FormatError, "format")
        _check_keys(data, path)
        if "extends" in data:
            data = _extend(data, path)
        return PlateFormat.from_dict(data)
    finally:
        chain.pop()


def _extend(data: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A format file with ``extends``: the format it names (a built-in name, or a format file
    relative to this one) with this file's keys on top, ``style`` merged key by key.
    """
    base_spec = str(data["extends"])
    if Path(base_spec).suffix.lower() in (".yaml", ".yml"):
        base_spec = str(Path(path).parent / base_spec)
    base = load_format(base_spec).to_dict()
    own = {k: v for k, v in data.items() if k != "extends"}
    style = own.get("style") or {}
    if not isinstance(style, Mapping):
        raise FormatError(f"{path}: style must be a mapping")
    return {**base, **own, "style": {**base["style"], **style}}


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping, where YAML would keep
    the last silently (a second ``style:`` block would drop the first).
    """


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)):  # unhashable keys fail below anyway
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml_mapping(
    path: Path, error: type[Exception], kind: str, empty_ok: bool = False
) -> Mapping[str, Any]:
    """A YAML file that must hold a mapping (a format file, a training config).

    Args:
        path: The file.
        error: The exception to raise, with a message naming the file.
        kind: What the file is, for the message (``format``, ``config``).
        empty_ok: An empty file counts as an empty mapping.

    Raises:
        error: not UTF-8, not valid YAML (a key given twice included), or not a mapping.
    """
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as e:
        # `[synth:ru?n=5]`: a '?' or ':' inside brackets needs quotes, which is easy to miss
        hint = (
            "; quote values in [...] lists: ['synth:ru?n=5']" if "flow sequence" in str(e) else ""
        )
        raise error(f"{path}: not valid YAML ({e}){hint}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text (save it as UTF-8)") from None
    if empty_ok:
        data = data or {}
    if not isinstance(data, Mapping):
        raise error(f"{path}: a {kind} file must hold a mapping")
    return data


# fmt: off
FORMAT_KEYS = frozenset({
    "name", "alphabet", "classes", "templates", "min_length", "max_length", "style", "prefixes",
    "suffixes", "two_row", "extends",
})
# what the synthetic generator reads from ``style`` (README, "Formats"; kind: built-in renderers)
STYLE_KEYS = frozenset({
    "background", "foreground", "size_mm", "two_row_size_mm", "region_box", "region_chars",
    "region_height", "region_codes", "group_gap", "flag", "flag_text", "loose_crops", "tilt",
    "template_weights", "two_row_share", "two_row_only", "binarized", "loose_margins", "scene",
    "frame", "char_height", "font_weights", "font_families", "kind", "region_at", "template_styles",
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
