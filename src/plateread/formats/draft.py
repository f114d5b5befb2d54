"""Draft a format file from labels: the alphabet, classes and templates the labels use.

The first step for a new region (``plateread data SPEC --draft-format FILE.yaml``): the draft
reads every label as it is, so it holds what a format file must say about the characters. The
plates' colours are measured in the pictures where there are any (``plateread.data.colours``;
a template's own, ``template_styles``, where its crops differ); the rest of the style (layout,
sizes), region codes and characters the labels lack are the user's. A run of first characters
(or of last digits) that takes few values is offered, commented out, as a region code.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from plateread.formats.builtin import GENERIC
from plateread.formats.core import DIGITS

# a template that fewer labels than this share follow is listed in a comment, not kept: a few
# odd labels are more often mistakes than another kind of plate
MIN_SHARE = 0.01
# the style's colours when none were measured: black on white
PLAIN = ((236, 236, 232), (20, 20, 24))
# more templates of one length than this are read as positions that take either kind of
# character (Chinese plates' last five: letters and digits in any order)
MAX_LAYOUTS = 3
# a leading run of characters (or a trailing one of digits) is offered as a region code when it
# takes at most this share of as many values as there are labels (and a quarter of the values
# digits could spell), among at least CODE_MIN_LABELS labels
CODE_SHARE = 0.1
CODE_MIN_LABELS = 50

Colour = tuple[int, int, int]


@dataclass
class Draft:
    """A drafted format.

    Attributes:
        name: The format's name.
        alphabet: Every character the kept templates' labels use: digits, Latin letters,
            then the rest.
        classes: Class letter -> its characters (``D`` the ten digits, ``L`` the Latin letters
            seen, one class per other script).
        scripts: Class letter -> what it holds, for the file's comments.
        templates: ``(template, labels that follow it)``, most common first.
        rare: The templates left out (followed by fewer than ``MIN_SHARE`` of the labels).
        labels: How many labels the draft was made from.
        codes: The values of the labels' first characters, ``(code, labels)`` most common
            first, where they take few values (a region code, perhaps); else empty.
        end_codes: The same for the labels' last digits (a region code written last), where
            every template ends in digits.
        colours: The plate's and the characters' colours (RGB) as photographed, and how many
            crops they were measured in; ``None``: not measured (a plain white plate).
        template_colours: Template -> its own plate and character colours and crops, where
            its crops were measured apart and differ from ``colours`` (``template_styles``).
    """

    name: str
    alphabet: str
    classes: dict[str, str]
    scripts: dict[str, str]
    templates: list[tuple[str, int]]
    rare: list[tuple[str, int]] = field(default_factory=list)
    labels: int = 0
    codes: list[tuple[str, int]] = field(default_factory=list)
    end_codes: list[tuple[str, int]] = field(default_factory=list)
    colours: tuple[Colour, Colour, int] | None = None
    template_colours: dict[str, tuple[Colour, Colour, int]] = field(default_factory=dict)


def _script(c: str) -> str:
    """What kind of character ``c`` is: ``digit``, ``Latin letter``, or the first word of its
    Unicode name (``CJK``, ``HANGUL``, ``ARABIC-INDIC``...).
    """
    if c.isascii() and c.isdigit():
        return "digit"
    if c.isascii() and c.isalpha():
        return "Latin letter"
    return unicodedata.name(c, "OTHER").split()[0]


def _class_letter(script: str, taken: set[str]) -> str:
    """A free one-letter class name, the script's initial when it is free."""
    wanted = {"digit": "D", "Latin letter": "L"}.get(script, script[:1].upper())
    if wanted.isascii() and wanted.isalpha() and wanted not in taken:
        return wanted
    return next(k for k in "PQRSTUVWXYZABCEFGHIJKMNO" if k not in taken)


def compact(chars: str) -> str:
    """Characters as a format file writes them: runs of 3 or more as ranges (``0-9A-HJ-Z``)."""
    out: list[str] = []
    i = 0
    while i < len(chars):
        j = i
        while j + 1 < len(chars) and ord(chars[j + 1]) == ord(chars[j]) + 1:
            j += 1
        out.append(f"{chars[i]}-{chars[j]}" if j - i >= 2 else chars[i : j + 1])
        i = j + 1
    return "".join(out)


def draft_format(labels: Iterable[str], name: str, min_share: float = MIN_SHARE) -> Draft:
    """Draft a format from labels as written (normalised as every format normalises them).

    Args:
        labels: Plate texts.
        name: The format's name.
        min_share: Templates followed by fewer labels than this share are left out (``rare``).

    Raises:
        ValueError: no label holds a character.
    """
    texts = [t for t in (GENERIC.normalize(x) for x in labels) if t]
    if not texts:
        raise ValueError("no labels to draft a format from")
    order = {"digit": 0, "Latin letter": 1}
    chars = set("".join(texts))
    if chars & set(DIGITS):  # a plate's numbers use every digit, seen or not
        chars |= set(DIGITS)
    seen = sorted(chars, key=lambda c: (order.get(_script(c), 2), c))
    classes: dict[str, str] = {}
    scripts: dict[str, str] = {}
    of_char: dict[str, str] = {}
    for c in seen:
        script = _script(c)
        key = next((k for k, s in scripts.items() if s == script), None)
        if key is None:
            key = _class_letter(script, set(classes))
            scripts[key] = script
            classes[key] = ""
        classes[key] += c
        of_char[c] = key
    counts = Counter("".join(of_char[c] for c in t) for t in texts).most_common()
    least = max(2.0, min_share * len(texts))
    kept = _merge_layouts([(t, n) for t, n in counts if n >= least] or counts[:1], classes, scripts)

    def covers(template: str, mask: str) -> bool:
        return len(template) == len(mask) and all(
            set(classes[m]) <= set(classes[k]) for k, m in zip(template, mask)
        )

    kept = [(t, sum(n for m, n in counts if covers(t, m))) for t, _ in kept]
    rare = [(m, n) for m, n in counts if not any(covers(t, m) for t, _ in kept)]
    used = {k for t, _ in kept for k in t}  # a class merged away is left out
    classes = {k: v for k, v in classes.items() if k in used}
    alphabet = "".join(c for c in seen if any(c in v for v in classes.values()))
    layouts = [t for t, _ in kept]
    codes = _leading_codes(texts, layouts, classes)
    end_codes = []
    # a code written last is digits (Russian, Kazakh plates)
    if all(set(classes[t[-1]]) <= set(DIGITS) for t in layouts):
        flipped = _leading_codes([t[::-1] for t in texts], [t[::-1] for t in layouts], classes)
        end_codes = [(c[::-1], n) for c, n in flipped]
    return Draft(name, alphabet, classes, scripts, kept, rare, len(texts), codes, end_codes)


def _leading_codes(
    texts: list[str], templates: list[str], classes: dict[str, str]
) -> list[tuple[str, int]]:
    """The values of the first characters every template draws from one class (up to three),
    with their counts, where they take few values; else ``[]``. A label that starts otherwise
    (a slip: ``O1`` for ``01``) adds none, so that every code offered can start a plate. The
    last characters' codes are the first ones of the labels and templates written backwards.
    """
    first = {t[:1] for t in templates}
    if len(first) != 1 or len(texts) < CODE_MIN_LABELS:
        return []
    k = min(min(len(t) - len(t.lstrip(t[0])), 3) for t in templates)
    ours = set(classes[templates[0][0]])
    codes = Counter(t[:k] for t in texts if len(t) > k and set(t[:k]) <= ours).most_common()
    most = CODE_SHARE * len(texts)
    if templates[0][0] == "D":  # two digits spell 100 values: a few dozen of them is no code
        most = min(most, 10**k / 4)
    return codes if len(codes) <= most else []


def _merge_layouts(
    kept: list[tuple[str, int]], classes: dict[str, str], scripts: dict[str, str]
) -> list[tuple[str, int]]:
    """More than ``MAX_LAYOUTS`` templates of one length become one whose positions take every
    class seen there (adding the classes that needs to ``classes`` and ``scripts``).
    """
    by_length: dict[int, list[tuple[str, int]]] = {}
    for t, n in kept:
        by_length.setdefault(len(t), []).append((t, n))
    out: list[tuple[str, int]] = []
    for length, group in by_length.items():
        if len(group) <= MAX_LAYOUTS:
            out.extend(group)
            continue
        merged = "".join(_either({t[i] for t, _ in group}, classes, scripts) for i in range(length))
        out.append((merged, sum(n for _, n in group)))
    return sorted(out, key=lambda tn: -tn[1])


def _either(keys: set[str], classes: dict[str, str], scripts: dict[str, str]) -> str:
    """The class of a position that holds characters of every class in ``keys``."""
    if len(keys) == 1:
        return next(iter(keys))
    order = sorted(keys, key=lambda k: classes[k][0])  # the alphabet's order: digits first
    chars = "".join(classes[k] for k in order)
    same = next((k for k, v in classes.items() if set(v) == set(chars)), None)
    if same is not None:
        return same
    what = " or ".join(scripts[k] for k in order)
    key = _class_letter("any" if what == "digit or Latin letter" else what, set(classes))
    classes[key], scripts[key] = chars, what
    return key


def _code_lines(
    codes: list[tuple[str, int]], which: str, key: str, where: str, side: str
) -> list[str]:
    """The commented lines offering ``codes`` (the labels' ``which`` characters) as ``key``."""
    if not codes:
        return []
    seen = ", ".join(f"{c} {n}" for c, n in codes[:6]) + (", ..." if len(codes) > 6 else "")
    return [
        f"# the labels' {which} {len(codes[0][0])} characters take {len(codes)} values ({seen}):",
        f"# a region code? Then un-comment `{key}` (readings must {where} with one; add the",
        "# codes your labels lack) and, if the plates draw the code apart in a box on the",
        f"# {side}, the region lines at the end of `style`",
        f"# {key}: {json.dumps([c for c, _ in codes], ensure_ascii=False)}",
    ]


def draft_yaml(draft: Draft) -> str:
    """The text of a format file for ``draft``, with comments on what to check and add."""
    q = json.dumps  # a JSON string or list is valid YAML, quoted where YAML would misread it
    lines = [
        f"# drafted by `plateread data --draft-format` from {draft.labels} labels: check it,",
        "# add the characters and plate layouts your plates use that these labels lack, and",
        '# describe how the plates look in `style` (README, "Formats"; docs/custom-region.md)',
        f"name: {q(draft.name)}",
        f"alphabet: {q(compact(draft.alphabet), ensure_ascii=False)}",
        "classes:",
    ]
    for key, chars in draft.classes.items():
        chars_text = q(compact(chars), ensure_ascii=False)
        lines.append(f"  {q(key)}: {chars_text}  # {draft.scripts[key]}")
    lines.append("templates:")
    for template, n in draft.templates:
        lines.append(f"  - {q(template)}  # {n} labels")
    if draft.rare:
        lines.append("# left out, too few labels to be sure they are not mistakes:")
        lines.extend(f"#  - {t}  # {n}" for t, n in draft.rare[:10])
        if len(draft.rare) > 10:
            lines.append(f"#  ... and {len(draft.rare) - 10} more")
    codes, ends = draft.codes, draft.end_codes
    lines += _code_lines(codes, "first", "prefixes", "start", "left")
    lines += _code_lines(ends, "last", "suffixes", "end", "right")
    if not codes and not ends:
        lines.append('# prefixes: ["01", "10"]  # the region codes a plate must start with, if any')
    background, foreground, measured = draft.colours or (*PLAIN, 0)
    lines.append("style:")
    if measured:
        lines.append(f"  # the colours: the median of {measured} crops' centres, as photographed")
    keys = {"background": background, "foreground": foreground, "size_mm": (520, 112)}
    notes = ["plate colour (RGB)", "character colour", "plate width and height"]
    for (key, value), note in zip(keys.items(), notes):
        lines.append(f"  {key}: {q(list(value))}".ljust(30) + f"  # {note}")
    if draft.template_colours:
        lines += ["  # the plates of these templates measured in colours of their own:"]
        lines.append("  template_styles:")
        for t, (bg, fg, n) in draft.template_colours.items():
            keys_t = q({"background": list(bg), "foreground": list(fg)})
            lines.append(f"    {q(t)}: {keys_t}  # {n} crops")
    if codes or ends:  # a code at the start, if the labels have both
        weights = q(dict(codes or ends), ensure_ascii=False)
        k = len((codes or ends)[0][0])
        lines += (
            [f"  # region_chars: {k}  # the first {k} drawn smaller, in a box on the left"]
            if codes
            else [
                f"  # region_chars: {k}  # the last {k} drawn smaller, in a box on the right",
                "  # region_at: end",
            ]
        )
        lines += [
            "  # region_box: 0.16  # the box's share of the plate's width",
            "  # how often synthetic plates use each code:",
            f"  # region_codes: {weights}",
        ]
    return "\n".join(lines) + "\n"
