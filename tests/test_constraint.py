from __future__ import annotations

import random

import pytest

from plateread.constraint import PrefixAutomaton
from plateread.formats import PlateFormat, load_format

UZ = PlateFormat(
    "uz",
    "0123456789ABCH",
    {"D": "0123456789", "L": "ABCH"},
    ("DDLDDDLL", "DDDDDLLL"),
    prefixes=("01", "1", "30", "305"),
)
NO_TEMPLATES = PlateFormat("any", "0123AB", min_length=3, max_length=6, prefixes=("A", "B1"))


def _can_grow(fmt: PlateFormat, prefix: str) -> bool:
    """The definition: some template (or length) and some listed prefix still fit."""
    if fmt.prefixes and not any(prefix[: len(p)] == p[: len(prefix)] for p in fmt.prefixes):
        return False
    if not fmt.templates:
        return len(prefix) <= fmt.max_length
    return any(
        len(t) >= len(prefix) and all(c in fmt.classes[k] for k, c in zip(t, prefix))
        for t in fmt.templates
    )


@pytest.mark.parametrize("name", ["ru", "ru_all", "cn", "generic", "uz", "none"])
def test_automaton_agrees_with_the_format_on_random_texts(name: str) -> None:
    fmt = {"uz": UZ, "none": NO_TEMPLATES}.get(name) or load_format(name)
    auto = PrefixAutomaton(fmt)
    rng = random.Random(0)
    samples = [fmt.style.get("example", "")] if fmt.style.get("example") else []
    for t in fmt.templates:  # valid texts, then ones with a character changed
        for _ in range(40):
            text = "".join(rng.choice(fmt.classes[c]) for c in t)
            samples += [text, text[:-1] + rng.choice(fmt.alphabet)]
    samples += ["".join(rng.choices(fmt.alphabet, k=rng.randint(1, 10))) for _ in range(300)]
    samples += [p + "1" for p in fmt.prefixes]
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


def test_automaton_is_cached_per_format_object() -> None:
    assert UZ.automaton is UZ.automaton
    copy = PlateFormat.from_dict(UZ.to_dict())
    assert copy == UZ  # the cached automaton is not part of a format's identity
    assert copy.automaton is not UZ.automaton and copy.automaton.fmt is copy
    assert not PrefixAutomaton(UZ).accepts(PrefixAutomaton(UZ).start)  # empty text
