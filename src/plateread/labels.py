"""Label filtering: which labels are valid plates of a format, and why the others are dropped.

Pure Python, like :mod:`plateread.formats`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from plateread.formats import BUILTIN, PlateFormat


@dataclass
class FilterReport:
    """What :func:`filter_labels` kept and dropped, and why."""

    total: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        head = f"kept {self.kept} of {self.total}"
        if not self.dropped:
            return head
        parts = []
        for why, n in self.dropped.most_common():
            distinct = list(dict.fromkeys(self.examples[why]))[:3]  # a repeated dataset repeats
            parts.append(f"{n} labels: {why} (e.g. {', '.join(map(repr, distinct))})")
        return head + "; dropped " + "; ".join(parts)


T = TypeVar("T")

# a misreading at least this confident that fits a template: its label is worth a second look
CHECK_LABEL_ABOVE = 0.5


def ctc_steps_needed(text: str) -> int:
    """The fewest output steps a CTC model needs to spell ``text``: one per character, and a
    blank between each two equal neighbours (``"77"`` needs 3).
    """
    return len(text) + sum(a == b for a, b in zip(text, text[1:]))


def filter_labels(
    items: Iterable[T],
    fmt: PlateFormat,
    text_of: Any = None,
    require_template: bool = True,
) -> tuple[list[T], FilterReport]:
    """Keep the items whose label is a valid plate of ``fmt``, reporting the dropped ones.

    Args:
        items: Labels, or objects with a ``text`` attribute (see ``text_of``).
        fmt: The plate format.
        text_of: Function from item to its (already normalised) text; defaults to ``item.text``
            or the item itself when it is a string.
        require_template: Drop texts that match no template (the course's civil-plate filter).

    Returns:
        The kept items, in order, and the report.
    """
    get: Any = text_of or (lambda it: it if isinstance(it, str) else it.text)
    kept: list[T] = []
    report = FilterReport()
    for it in items:
        report.total += 1
        text = get(it)
        why = _reject_reason(text, fmt, require_template)
        if (
            why is None
            and getattr(it, "rows", 1) == 2
            and fmt.match_template(text) not in fmt.two_row
        ):
            why = "two-row plate of a template without a two_row layout"
        if why is None:
            kept.append(it)
            continue
        report.dropped[why] += 1
        report.examples.setdefault(why, []).append(text)
    report.kept = len(kept)
    return kept, report


def _reject_reason(text: str, fmt: PlateFormat, require_template: bool) -> str | None:
    if not text:
        return "empty label"
    if not fmt.in_alphabet(text):
        return "characters outside the alphabet"
    if require_template and fmt.templates and fmt.match_template(text) is None:
        return "matches no template"
    if not fmt.templates and not fmt.min_length <= len(text) <= fmt.max_length:
        return "length out of range"
    return None


def format_mismatch(fmt: PlateFormat, texts: list[str]) -> str | None:
    """A warning when most labels are no plate of ``fmt`` (a model of another region, say).

    Returns:
        ``None`` when ``fmt`` has no templates or at least half of ``texts`` are its plates; else
        the warning, naming the built-in formats that most of them are plates of.
    """
    if not fmt.templates or not texts:
        return None
    off = [t for t in texts if not fmt.is_valid(t)]
    if 2 * len(off) <= len(texts):
        return None
    fits = [
        name
        for name, other in BUILTIN.items()
        if other.templates
        and name != fmt.name
        and 2 * sum(other.is_valid(other.normalize(t)) for t in texts) > len(texts)
    ]
    hint = f" ({' or '.join(fits)} fits them)" if fits else ""
    return (
        f"{len(off)} of {len(texts)} labels are no {fmt.name!r} plate "
        f"(e.g. {', '.join(repr(t) for t in off[:3])}): is {fmt.name!r} their format?{hint}"
    )
