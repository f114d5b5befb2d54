"""The plate format: alphabet, character classes, templates and normalisation.

Pure Python (no numpy, no images). A format says which characters a reader may emit (its
alphabet; class 0 is the CTC blank, class ``i + 1`` is ``alphabet[i]``), and which plate texts are
valid: a template such as ``LDDDLLDD`` is a string of class letters, each class a set of characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from plateread.constraint import PrefixAutomaton, check_codes
from plateread.errors import FormatError
from plateread.formats.fields import expand_chars, listed, two_row_layouts
from plateread.styles import SceneStyle, check_drawing, scene_style

DIGITS = "0123456789"
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
RU_LETTERS = "ABEKMHOPCTYX"
CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I and O on Chinese plates

# Cyrillic capitals that have a Latin look-alike on plates (А В Е К М Н О Р С Т У Х).
CYRILLIC_TO_LATIN = str.maketrans("АВЕКМНОРСТУХ", "ABEKMHOPCTYX")
_DROP = re.compile(r"[\s\-_.·•|/\\]+")


MAX_LENGTH = 32  # the longest text a format may allow; decoders enumerate every length up to it


@dataclass(frozen=True)
class PlateFormat:
    """A plate format.

    Attributes:
        name: Short name (``ru``, ``ru_all``, ``cn``, ``generic`` or a user's).
        alphabet: Characters the reader emits, in class order (class ``i + 1``).
        classes: Template letters mapped to the characters they allow, e.g. ``{"L": "ABE…"}``.
        templates: Valid layouts, each a string of class letters; empty means any text over the
            alphabet with a length in ``[min_length, max_length]`` is valid.
        min_length: Shortest valid text when there are no templates.
        max_length: Longest valid text when there are no templates.
        style: Free-form rendering hints for the synthetic generator (colours, layout).
        prefixes: Strings a valid plate must start with (e.g. the region codes in use); empty
            means any start the templates allow.
        suffixes: Strings a valid plate must end with (region codes written last, as on
            Russian or Kazakh plates); empty means any end the templates allow.
        two_row: How two-row plates stack their text: a template mapped to its rows, top first,
            each row the label positions it shows left to right (``{"DDLDDDLL": [[2, 3, 4, 5],
            [6, 7, 0, 1]]}``: ``01A123BC`` shows ``A123`` over ``BC01``). See
            :mod:`plateread.tworow`.
    """

    name: str
    alphabet: str
    classes: Mapping[str, str] = field(default_factory=dict)
    templates: tuple[str, ...] = ()
    min_length: int = 1
    max_length: int = 12
    style: Mapping[str, Any] = field(default_factory=dict)
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    two_row: Mapping[str, tuple[tuple[int, ...], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.alphabet:
            raise FormatError(f"format {self.name!r}: empty alphabet")
        changed = {c: n for c in self.alphabet if (n := self.normalize(c)) != c}
        if changed:  # no label could ever hold them: their classes would never be learnt
            shown = ", ".join(
                f"{c!r} as {n!r}" if n else f"{c!r} not at all" for c, n in changed.items()
            )
            raise FormatError(
                f"format {self.name!r}: labels are normalised (NFKC, upper case, Cyrillic "
                f"look-alikes as Latin letters, separators dropped), so they would hold {shown}: "
                "write the alphabet as labels come out"
            )
        if not 1 <= self.min_length <= self.max_length <= MAX_LENGTH:
            raise FormatError(
                f"format {self.name!r}: lengths must satisfy 1 <= min_length <= max_length <= "
                f"{MAX_LENGTH}, got {self.min_length} and {self.max_length}"
            )
        dupes = [c for c, k in Counter(self.alphabet).items() if k > 1]
        if dupes:
            raise FormatError(f"format {self.name!r}: repeated alphabet characters {dupes}")
        for key, chars in self.classes.items():
            if len(key) != 1:
                raise FormatError(f"format {self.name!r}: class name {key!r} must be one letter")
            stray = sorted(set(chars) - set(self.alphabet))
            if stray:
                raise FormatError(f"format {self.name!r}: class {key} has {stray} not in alphabet")
        for t in self.templates:
            unknown = sorted(set(t) - set(self.classes))
            if unknown:
                raise FormatError(f"format {self.name!r}: template {t!r} uses unknown {unknown}")
        for what, codes in (("prefix", self.prefixes), ("suffix", self.suffixes)):
            for p in codes:
                if not isinstance(p, str) or not p or not self.in_alphabet(p):
                    raise FormatError(
                        f"format {self.name!r}: {what} {p!r} must be a non-empty string over "
                        f"the alphabet (quote codes such as '01' in YAML)"
                    )
        check_codes(self)
        weights = self.style.get("template_weights")
        if weights is not None and (
            not isinstance(weights, Mapping)
            or not set(weights) <= set(self.templates)
            or not all(isinstance(v, (int, float)) and v >= 0 for v in weights.values())
            or not sum(weights.values())
        ):
            raise FormatError(
                f"format {self.name!r}: style template_weights must map templates of "
                f"{list(self.templates)} to weights (at least 0, not all 0), got {weights!r}"
            )
        _ = self.scene  # the style keys the generator reads, checked when the format loads
        check_drawing(self)
        for template in self.style.get("template_styles") or {}:
            try:
                _ = self._template_formats[template]
            except FormatError as e:
                raise FormatError(f"{e} (in style template_styles[{template!r}])") from None
        for t, rows in self.two_row.items():
            if t not in self.templates:  # as left by `extends` with templates of its own
                msg = f"two_row names {t!r}, not a template of {list(self.templates)}"
                raise FormatError(f"format {self.name!r}: {msg}")
            flat = sorted(i for row in rows for i in row)
            if len(rows) != 2 or flat != list(range(len(t))):
                raise FormatError(
                    f"format {self.name!r}: two_row maps a template to two rows of its positions "
                    f"(each of 0..{len(t) - 1} once), got {t!r}: {rows!r}"
                )
        self._check_two_row_apart()
        only = self.style.get("two_row_only", [])
        if not isinstance(only, (list, tuple)) or not all(
            isinstance(t, str) and t in self.two_row for t in only
        ):
            raise FormatError(
                f"format {self.name!r}: style two_row_only must list templates of two_row "
                f"({sorted(self.two_row)}), got {only!r}"
            )

    def _check_two_row_apart(self) -> None:
        """Refuse two two-row layouts that can show the same rows for different labels: the
        two-row view could not tell which order to put a reading back in.
        """
        layouts = list(self.two_row)
        for i, a in enumerate(layouts):
            for b in layouts[i + 1 :]:
                order_a, order_b = self.two_row_order(a), self.two_row_order(b)
                if len(a) != len(b) or order_a == order_b:
                    continue
                if all(
                    set(self.classes[a[p]]) & set(self.classes[b[q]])
                    for p, q in zip(order_a, order_b, strict=True)
                ):
                    raise FormatError(
                        f"format {self.name!r}: two_row layouts of {a!r} and {b!r} can show the "
                        "same rows for different plates; a two-row reading could not be put "
                        "back in order (give one of them no two-row layout)"
                    )

    @cached_property
    def scene(self) -> SceneStyle:
        """The style keys for photograph-like synthetic plates, parsed once (see
        :func:`plateread.styles.scene_style`).
        """
        return scene_style(self)

    @cached_property
    def automaton(self) -> PrefixAutomaton:
        """Which texts can still grow into a plate of this format, built once (for
        format-constrained decoding; see :class:`plateread.constraint.PrefixAutomaton`).
        """
        return PrefixAutomaton(self)

    @cached_property
    def _template_formats(self) -> dict[str, PlateFormat]:
        """Template -> this format with its ``template_styles`` entry laid over the style."""
        own = self.style.get("template_styles") or {}
        base = {k: v for k, v in self.style.items() if k != "template_styles"}
        return {t: replace(self, style={**base, **keys}) for t, keys in own.items()}

    def drawn(self, text: str) -> PlateFormat:
        """The format whose style draws ``text``: this one, with the style's
        ``template_styles`` entry for the text's template laid over it where there is one.
        """
        if not self.style.get("template_styles"):
            return self
        return self._template_formats.get(self.match_template(text) or "", self)

    def two_row_order(self, template: str) -> list[int]:
        """Positions of a ``template`` text in the order its two-row plate shows them (top row,
        then bottom row).
        """
        return [i for row in self.two_row[template] for i in row]

    @cached_property
    def two_row_shown(self) -> PlateFormat:
        """The format of texts as this format's two-row plates show them, rows side by side
        (each two-row template reordered, no prefixes or suffixes): what a reader sees through
        the two-row view (see :mod:`plateread.tworow`). Built once.
        """
        templates = tuple(
            "".join(t[i] for i in self.two_row_order(t))
            for t in self.templates
            if t in self.two_row
        )
        return PlateFormat(f"{self.name}-two-row", self.alphabet, self.classes, templates)

    @property
    def num_classes(self) -> int:
        """Number of model outputs: the alphabet plus the CTC blank (class 0)."""
        return len(self.alphabet) + 1

    def normalize(self, text: str) -> str:
        """Bring a label or a reading to canonical form.

        Unicode NFKC (full-width to ASCII), upper case, Cyrillic look-alikes to Latin, and
        spaces, dashes, dots and similar separators removed.
        """
        text = unicodedata.normalize("NFKC", text).upper().translate(CYRILLIC_TO_LATIN)
        text = _DROP.sub("", text)
        # a separator dropped between a letter and a combining mark lets them compose
        return text if text.isascii() else unicodedata.normalize("NFKC", text)

    def in_alphabet(self, text: str) -> bool:
        """True when every character of ``text`` is in the alphabet (the course's check)."""
        return all(c in self.alphabet for c in text)

    def match_template(self, text: str) -> str | None:
        """The first template ``text`` matches, or ``None``."""
        for t in self.templates:
            if len(t) == len(text) and all(c in self.classes[k] for k, c in zip(t, text)):
                return t
        return None

    def is_valid(self, text: str) -> bool:
        """True when ``text`` is a plate of this format."""
        if not text or not self.in_alphabet(text):
            return False
        if self.prefixes and not text.startswith(tuple(self.prefixes)):
            return False
        if self.suffixes and not text.endswith(tuple(self.suffixes)):
            return False
        if self.templates:
            return self.match_template(text) is not None
        return self.min_length <= len(text) <= self.max_length

    def encode(self, text: str) -> list[int]:
        """Class indices (1-based; 0 is the blank) of ``text``'s characters."""
        try:
            return [self.alphabet.index(c) + 1 for c in text]
        except ValueError:
            bad = sorted(set(text) - set(self.alphabet))
            raise FormatError(f"{text!r}: characters {bad} not in {self.name!r} alphabet") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, for checkpoints, ONNX metadata and YAML files."""
        return {
            "name": self.name,
            "alphabet": self.alphabet,
            "classes": dict(self.classes),
            "templates": list(self.templates),
            "min_length": self.min_length,
            "max_length": self.max_length,
            "style": dict(self.style),
            **({"prefixes": list(self.prefixes)} if self.prefixes else {}),
            **({"suffixes": list(self.suffixes)} if self.suffixes else {}),
            **(
                {"two_row": {t: [list(r) for r in rows] for t, rows in self.two_row.items()}}
                if self.two_row
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PlateFormat:
        """Build a format from :meth:`to_dict`'s output or a YAML file's mapping."""
        if "name" not in d or "alphabet" not in d:
            raise FormatError("a format needs at least 'name' and 'alphabet'")
        name = str(d["name"])
        for key in ("classes", "style"):
            if not isinstance(d.get(key) or {}, Mapping):
                raise FormatError(f"format {name!r}: {key} must be a mapping, got {d[key]!r}")
        try:
            classes = {str(k): expand_chars(str(v)) for k, v in (d.get("classes") or {}).items()}
            alphabet = expand_chars(str(d["alphabet"]))
            lengths = int(d.get("min_length", 1)), int(d.get("max_length", 12))
        except FormatError as e:
            raise FormatError(f"format {name!r}: {e}") from None
        except (TypeError, ValueError, OverflowError):  # OverflowError: YAML .inf
            msg = f"format {name!r}: min_length and max_length must be whole numbers"
            raise FormatError(msg) from None
        return cls(
            name=name,
            alphabet=alphabet,
            classes=classes,
            templates=tuple(str(t) for t in listed(d, "templates", name)),
            min_length=lengths[0],
            max_length=lengths[1],
            style=dict(d.get("style") or {}),
            prefixes=tuple(listed(d, "prefixes", name)),
            suffixes=tuple(listed(d, "suffixes", name)),
            two_row=two_row_layouts(d.get("two_row"), name),
        )


def compute_mask(text: str) -> str | None:
    """The course's letter/digit mask: ``E506EC152`` -> ``LDDDLLDDD``; None on other characters."""
    mask = []
    for c in text:
        if c.isascii() and c.isdigit():
            mask.append("D")
        elif c.isascii() and c.isalpha():
            mask.append("L")
        else:
            return None
    return "".join(mask)


def template_of(text: str, fmt: PlateFormat) -> str:
    """A label's template, or its letter/digit mask, or ``other``: a grouping key for reports."""
    return fmt.match_template(text) or compute_mask(text) or "other"
