from __future__ import annotations

import random

import numpy as np
import pytest

from plateread.constraint import PrefixAutomaton
from plateread.errors import FormatError
from plateread.formats import PlateFormat, load_format
from plateread.synth import random_text

UZ = PlateFormat(
    "uz",
    "0123456789ABCH",
    {"D": "0123456789", "L": "ABCH"},
    ("DDLDDDLL", "DDDDDLLL"),
    prefixes=("01", "1", "30", "305"),
)
NO_TEMPLATES = PlateFormat("any", "0123AB", min_length=3, max_length=6, prefixes=("A", "B1"))
# region codes at the end: two or three digits, or a letter (a template ending in L)
RU_CODES = PlateFormat(
    "ru_codes",
    "0123456789ABEK",
    {"L": "ABEK", "D": "0123456789"},
    ("LDDDLLDD", "LDDDLLDDD", "DDDDLL"),
    suffixes=("77", "177", "01", "750", "K"),
)
ENDS = PlateFormat(
    "ends", "0123AB", min_length=2, max_length=5, prefixes=("1", "A"), suffixes=("AB", "0")
)


def _layouts(fmt: PlateFormat) -> list[tuple[list[str], str]]:
    """Every (characters each position allows, suffix) a plate can take: templates or lengths."""
    if fmt.templates:
        shapes = [[fmt.classes[k] for k in t] for t in fmt.templates]
    else:
        shapes = [[fmt.alphabet] * n for n in range(fmt.min_length, fmt.max_length + 1)]
    tails = fmt.suffixes or ("",)
    return [
        (shape, tail)
        for shape in shapes
        for tail in tails
        if len(tail) <= len(shape) and all(c in a for c, a in zip(tail[::-1], shape[::-1]))
    ]


def _fits(shape: list[str], tail: str, text: str, at: int) -> bool:
    """``text`` fits ``shape`` at position ``at`` and agrees with ``tail`` at the shape's end."""
    ends = len(shape) - len(tail)
    return (
        at >= 0
        and at + len(text) <= len(shape)
        and all(
            c in shape[at + i] and (at + i < ends or tail[at + i - ends] == c)
            for i, c in enumerate(text)
        )
    )


def _can_grow(fmt: PlateFormat, prefix: str) -> bool:
    """The definition: some listed prefix, and some template (or length) with some listed
    suffix at its end, still fit (each apart).
    """
    if fmt.prefixes and not any(prefix[: len(p)] == p[: len(prefix)] for p in fmt.prefixes):
        return False
    if not fmt.templates and not fmt.suffixes:
        return len(prefix) <= fmt.max_length
    return any(_fits(shape, tail, prefix, 0) for shape, tail in _layouts(fmt))


def _can_end(fmt: PlateFormat, text: str) -> bool:
    """The definition: some template (or length) with some suffix ends with ``text``."""
    if not fmt.in_alphabet(text):
        return False
    if not fmt.templates and not fmt.suffixes:
        return len(text) <= fmt.max_length
    return any(_fits(s, t, text, len(s) - len(text)) for s, t in _layouts(fmt))


@pytest.mark.parametrize("name", ["ru", "ru_all", "cn", "generic", "uz", "none", "codes", "ends"])
def test_automaton_agrees_with_the_format_on_random_texts(name: str) -> None:
    fmt = {"uz": UZ, "none": NO_TEMPLATES, "codes": RU_CODES, "ends": ENDS}.get(name)
    fmt = fmt or load_format(name)
    auto = PrefixAutomaton(fmt)
    rng = random.Random(0)
    samples = [fmt.style.get("example", "")] if fmt.style.get("example") else []
    for t in fmt.templates:  # valid texts, then ones with a character changed
        for _ in range(40):
            text = "".join(rng.choice(fmt.classes[c]) for c in t)
            samples += [text, text[:-1] + rng.choice(fmt.alphabet)]
    samples += ["".join(rng.choices(fmt.alphabet, k=rng.randint(1, 10))) for _ in range(300)]
    samples += [p + "1" for p in fmt.prefixes]
    for t in fmt.templates:  # valid ends too, and texts one character off them
        for s in fmt.suffixes:
            if len(s) <= len(t):
                text = "".join(rng.choice(fmt.classes[c]) for c in t[: len(t) - len(s)]) + s
                samples += [text, text[:-1] + rng.choice(fmt.alphabet)]
    samples += ["".join(rng.choices(fmt.alphabet, k=rng.randint(1, 4))) + s for s in fmt.suffixes]
    for text in samples:
        state = auto.start
        for n, ch in enumerate(text, start=1):
            state = auto.step(state, fmt.alphabet.index(ch) + 1)
            assert (state is not None) == _can_grow(fmt, text[:n]), (name, text[:n])
            if state is None:
                break
        else:
            assert auto.accepts(state) == fmt.is_valid(text), (name, text)
        assert auto.can_start(text) == _can_grow(fmt, text), (name, text)
    assert any(fmt.is_valid(t) for t in samples)
    assert not auto.can_start("Ж") and auto.can_start("")
    for text in samples:
        for n in range(len(text) + 1):
            assert auto.can_end(text[n:]) == _can_end(fmt, text[n:]), (name, text[n:])
    assert not auto.can_end("Ж")


def test_suffixes_end_readings_and_codes_that_fit_no_plate_are_refused() -> None:
    assert RU_CODES.is_valid("A123BE77") and RU_CODES.is_valid("A123BE177")
    assert not RU_CODES.is_valid("A123BE78") and RU_CODES.is_valid("1234AK")
    assert RU_CODES.automaton.can_end("E77") and not RU_CODES.automaton.can_end("E78")
    assert ENDS.is_valid("1AB") and ENDS.is_valid("A0") and not ENDS.is_valid("0AB")
    # a suffix as long as the plate is the whole plate
    whole = PlateFormat("w", "0123456789", {"D": "0123456789"}, ("DD", "DDDD"), suffixes=("77",))
    for fmt, text in ((ENDS, "AB"), (whole, "77"), (whole, "1277")):
        state = fmt.automaton.start
        for ch in text:
            state = fmt.automaton.step(state, fmt.alphabet.index(ch) + 1)
        assert state is not None and fmt.automaton.accepts(state) and fmt.is_valid(text)
    assert whole.automaton.can_end("77") and not whole.is_valid("78")
    copy = PlateFormat.from_dict(RU_CODES.to_dict())
    assert copy == RU_CODES and copy.to_dict()["suffixes"] == list(RU_CODES.suffixes)
    with pytest.raises(FormatError, match=r"suffixes \['7'\] fit no plate of templates"):
        PlateFormat("x", "0123456789AB", {"D": "0123456789", "L": "AB"}, ("DDLL",), suffixes=("7",))
    with pytest.raises(FormatError, match=r"prefixes \['AB'\] fit no plate of 1-3 characters"):
        PlateFormat("x", "0123AB", max_length=3, prefixes=("AB",), suffixes=("12",))
    with pytest.raises(FormatError, match="suffix '' must be a non-empty string"):
        PlateFormat("x", "0123AB", suffixes=("",))


def test_a_template_no_prefix_or_suffix_fits_is_refused() -> None:
    """Each code fitting some template is not enough: a template that none fits would never be
    read, and random_text drew its plates anyway, as invalid texts (113 of 200)."""
    abc = ("x", "0123456789AB", {"D": "0123456789", "L": "AB"}, ("DDLL", "LLDD"))
    for templates, codes, words in (
        (abc[3], {"prefixes": ("0",)}, r"\['LLDD'\] can start with one of the prefixes \['0'\]:"),
        (abc[3], {"suffixes": ("A",)}, r"\['LLDD'\] can end with one of the suffixes \['A'\]:"),
        (("DDLL", "DDDD"), {"prefixes": ("0",), "suffixes": ("B",)}, r"\['DDDD'\] can start "),
    ):
        with pytest.raises(FormatError, match=f"no plate of templates {words}"):
            PlateFormat(*abc[:3], templates, **codes)  # type: ignore[arg-type]
    fits = PlateFormat(*abc, prefixes=("0", "A"), suffixes=("5", "B"))  # each its own template
    texts = [random_text(fits, np.random.default_rng(i)) for i in range(100)]
    assert all(fits.is_valid(t) for t in texts) and {fits.match_template(t) for t in texts} == {
        "DDLL",
        "LLDD",
    }
    assert PlateFormat(*abc[:3], ("DDLL",), prefixes=("00A",), suffixes=("AB",)).is_valid("00AB")


def test_automaton_is_cached_per_format_object() -> None:
    assert UZ.automaton is UZ.automaton
    copy = PlateFormat.from_dict(UZ.to_dict())
    assert copy == UZ  # the cached automaton is not part of a format's identity
    assert copy.automaton is not UZ.automaton and copy.automaton.fmt is copy
    assert not PrefixAutomaton(UZ).accepts(PrefixAutomaton(UZ).start)  # empty text


def test_codes_written_puts_prefix_and_suffix_at_the_ends_and_refuses_disagreement() -> None:
    """One rule for which places a prefix and a suffix fix, shared by the format check
    (templates that can take them) and the generator (texts that start and end with them)."""
    from plateread.constraint import codes_written

    assert codes_written(5, "AB", "9") == ["A", "B", None, None, "9"]
    assert codes_written(3, "AB", "B7") == ["A", "B", "7"]  # overlapping, agreeing
    assert codes_written(3, "AB", "C7") is None  # overlapping, disagreeing
    assert codes_written(2, "ABC", "") is None  # longer than the plate
    assert codes_written(2, "", "") == [None, None]
