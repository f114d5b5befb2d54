from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import path_logits
from plateread.decoding import beam_decode, greedy_decode
from plateread.metrics import edit_distance, grouped, score


def _logits(path: list[int], classes: int, p: float = 0.9) -> np.ndarray:
    out = np.full((1, len(path), classes), np.log((1 - p) / (classes - 1)), np.float32)
    out[0, np.arange(len(path)), path] = np.log(p)
    return out


def test_greedy_collapses_repeats_and_blanks() -> None:
    # A A blank A B B -> "AAB"
    dec = greedy_decode(_logits([1, 1, 0, 1, 2, 2], 3), "AB")[0]
    assert dec.text == "AAB"
    assert len(dec.char_confidences) == 3
    assert dec.confidence == pytest.approx(0.9**3, rel=1e-4)


def test_greedy_empty_and_shape_check() -> None:
    empty = greedy_decode(_logits([0, 0, 0], 3), "AB")[0]
    assert empty.text == "" and empty.confidence == 0.0 and empty.char_confidences == ()
    with pytest.raises(ValueError):
        greedy_decode(np.zeros((1, 4, 5)), "AB")


def test_scores() -> None:
    m = score(["A123BC77", "B456KM199"], ["A123BC77", "B456KM19"])
    assert m["n"] == 2 and m["exact"] == 0.5
    assert m["cer"] == pytest.approx(1 / 17)
    assert m["char_acc"] == pytest.approx(16 / 17)
    assert edit_distance("ABC", "AXC") == 1
    assert score([], []) == {"n": 0, "exact": 0.0, "char_acc": 0.0, "cer": 0.0}
    with pytest.raises(ValueError, match="differ in length"):
        score(["A1"], [])
    targets, preds = ["A1", "B22", "C3"], ["A1", "B2", "C3"]
    assert {k: g["exact"] for k, g in grouped(targets, preds, len).items()} == {"2": 1.0, "3": 0.0}
    by_given = grouped(targets, preds, ["x", "y", "y"])  # a group given per target
    assert {k: (g["n"], g["exact"]) for k, g in by_given.items()} == {"x": (1, 1.0), "y": (2, 0.5)}
    with pytest.raises(ValueError, match="2 groups for 3"):
        grouped(targets, preds, ["x", "y"])


def test_beam_matches_greedy_on_clear_paths_and_sums_alignments() -> None:
    from plateread.decoding import beam_decode
    from plateread.formats import RU

    lg = path_logits("A123BC77", RU.alphabet, noise=1.0)
    g = greedy_decode(lg, RU.alphabet)[0]
    b = beam_decode(lg, RU.alphabet, sure=1.1)[0]  # never skip the search
    assert g.text == b.text == "A123BC77"
    assert b.confidence == pytest.approx(g.confidence)  # same definition for every decoder
    assert len(b.char_confidences) == 8 and min(b.char_confidences) > 0.5


def _exact_best(probs: np.ndarray, alphabet: str) -> str:
    """The text of highest probability under CTC, summing every path of ``probs`` ``[T, C]``."""
    mass: dict[str, float] = {}
    for path in itertools.product(range(probs.shape[1]), repeat=probs.shape[0]):
        text = "".join(
            alphabet[k - 1] for i, k in enumerate(path) if k and (i == 0 or path[i - 1] != k)
        )
        mass[text] = mass.get(text, 0.0) + float(np.prod(probs[np.arange(len(path)), path]))
    return max(mass, key=lambda t: mass[t])


def test_an_unpruned_beam_finds_the_most_probable_text() -> None:
    # with every prefix kept, the prefix search sums all paths of each text: it must return
    # the text a brute-force sum over all 3**6 paths ranks first, even where greedy does not
    from plateread.decoding import softmax

    rng = np.random.default_rng(5)
    beat_greedy = 0
    for _ in range(40):
        lg = rng.normal(0, 1.5, (1, 6, 3)).astype(np.float32)
        expected = _exact_best(softmax(lg[0]), "AB")
        got = beam_decode(lg, "AB", beam=10_000, prune=0.0, sure=1.1)[0].text
        assert got == expected
        beat_greedy += greedy_decode(lg, "AB")[0].text != expected
    assert beat_greedy >= 3  # the draws include plates where summing paths changes the text


def test_constrained_beam_returns_only_template_texts() -> None:
    from plateread.decoding import beam_decode
    from plateread.formats import RU

    # the best path reads "AI23BC77"-like garbage: digit 1 looks like letter; make the greedy
    # reading invalid ("A1Z3BC77" impossible), here "AA23BC77" (letter where a digit must be)
    lg = path_logits("AA23BC77", RU.alphabet)
    one = RU.alphabet.index("1") + 1
    lg[0, 3, one] = 3.5  # the second character is nearly as likely to be "1"
    assert greedy_decode(lg, RU.alphabet)[0].text == "AA23BC77"
    free = beam_decode(lg, RU.alphabet, sure=0.5)[0]
    assert free.text == "AA23BC77"
    constrained = beam_decode(lg, RU.alphabet, fmt=RU)[0]
    assert constrained.text == "A123BC77" and RU.is_valid(constrained.text)


def test_constrained_beam_keeps_to_the_listed_prefixes() -> None:
    from plateread.decoding import beam_decode
    from plateread.formats import PlateFormat

    uz = PlateFormat(
        "uz", "0123456789ABC", {"D": "0123456789", "L": "ABC"}, ("DDLDDDLL",), prefixes=("01", "30")
    )
    assert uz.is_valid("01A123BC") and not uz.is_valid("00A123BC")
    lg = path_logits("00A123BC", uz.alphabet)  # an unreadable region code read "00"
    one = uz.alphabet.index("1") + 1
    lg[0, 3, one] = 3.0  # "1" is the runner-up for the second character
    assert greedy_decode(lg, uz.alphabet)[0].text == "00A123BC"
    assert beam_decode(lg, uz.alphabet, fmt=uz)[0].text == "01A123BC"
    assert PlateFormat.from_dict(uz.to_dict()) == uz


def test_constrained_falls_back_to_greedy_when_nothing_fits() -> None:
    from plateread.decoding import beam_decode
    from plateread.formats import RU

    lg = path_logits("AAA", RU.alphabet)
    d = beam_decode(lg, RU.alphabet, fmt=RU)[0]
    assert d.text == "AAA" and not RU.is_valid(d.text)


def test_char_confidences_alignment() -> None:
    from plateread.decoding import char_confidences, softmax
    from plateread.formats import RU

    p = softmax(path_logits("A11", RU.alphabet)[0])
    conf = char_confidences(p, "A11", RU.alphabet)
    assert len(conf) == 3 and min(conf) > 0.9
    # A A _ 1 _ 1 _: each character's best probability on the steps aligned to it
    path = [RU.alphabet.index(c) + 1 if c != "_" else 0 for c in "AA_1_1_"]
    won = [0.6, 0.8, 0.7, 0.9, 0.75, 0.65, 0.95]
    q = np.full((len(path), len(RU.alphabet) + 1), 0.0)
    for t, (k, pk) in enumerate(zip(path, won)):
        q[t] = (1 - pk) / (q.shape[1] - 1)
        q[t, k] = pk
    assert char_confidences(q, "A11", RU.alphabet) == pytest.approx((0.8, 0.9, 0.65))
    assert char_confidences(p[:2], "A11BC", RU.alphabet) == (0.0,) * 5  # cannot fit
    assert char_confidences(p, "", RU.alphabet) == ()


def test_calibration_tools() -> None:
    from plateread.calibration import (
        apply_curve,
        coverage_curve,
        expected_calibration_error,
        fit_isotonic,
    )

    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, 2000)
    correct = rng.uniform(0, 1, 2000) < raw**2  # over-confident raw scores
    curve = fit_isotonic(raw, correct)
    cal = apply_curve(curve, raw)
    assert np.all(np.diff(curve[1]) >= 0)
    assert expected_calibration_error(cal, correct) < expected_calibration_error(raw, correct) / 2
    rows = coverage_curve(cal, correct)
    assert rows[0][1] == 1.0 and rows[-1][1] < rows[0][1]
    assert rows[-3][2] >= rows[0][2]  # rejecting low confidence raises accuracy
    # nothing kept above a threshold: no error made there; no plates at all: the identity curve
    assert coverage_curve([0.2, 0.3], [False, True])[-1][1:] == (0.0, 1.0)
    assert fit_isotonic([], []) == ([0.0, 1.0], [0.0, 1.0])


def test_calibration_keeps_the_order_and_promises_no_certainty_from_few_plates() -> None:
    from plateread.calibration import apply_curve, fit_isotonic

    raw = np.linspace(0.9, 0.999, 30)
    correct = np.ones(30, dtype=bool)  # a small held-out set read all right
    cal = apply_curve(fit_isotonic(raw, correct), raw)
    assert np.all(np.diff(cal) > 0)  # the raw ranking survives: thresholds still separate plates
    assert np.all(cal > raw) and cal.max() < 1.0  # raised towards the accuracy seen, short of 1
    plain = apply_curve(fit_isotonic(raw, correct, prior=0), raw)
    assert np.all(plain == 1.0)  # plain isotonic regression: every plate certain, all tied


def test_text_changing_mass_ignores_boundary_splits_but_not_rival_characters() -> None:
    from plateread.decoding import text_changing_mass

    # steps: A A blank B ; classes: blank, A, B, C
    p = np.zeros((1, 4, 4))
    p[0, 0, 1] = 1.0
    p[0, 1, [1, 0]] = [0.6, 0.4]  # A or blank: "A" stays either way (A also wins step 0)
    p[0, 2, [0, 2]] = [0.7, 0.3]  # blank or B: B also wins step 3, harmless
    p[0, 3, 2] = 1.0
    assert text_changing_mass(p)[0] == pytest.approx(0.0, abs=1e-9)
    q = p.copy()
    q[0, 3, [2, 3]] = [0.8, 0.2]  # B or C: a different text
    assert text_changing_mass(q)[0] == pytest.approx(0.2)
    r = np.zeros((1, 3, 4))
    r[0, 0, 1] = 1.0
    r[0, 1, [0, 1]] = [0.9, 0.1]  # the blank separating "A A": filling it merges them
    r[0, 2, 1] = 1.0
    assert text_changing_mass(r)[0] == pytest.approx(0.1)


def _mass_reference(probs: np.ndarray) -> np.ndarray:
    """text_changing_mass written with whole-array numpy operations, step by step as defined."""
    n, t, _ = probs.shape
    top = probs.argmax(-1)
    prev = np.concatenate([np.full((n, 1), -1), top[:, :-1]], axis=1)
    nxt = np.concatenate([top[:, 1:], np.full((n, 1), -1)], axis=1)
    rows, cols = np.arange(n)[:, None], np.arange(t)[None, :]
    harmless = probs[rows, cols, top].copy()
    blank = top == 0
    harmless += np.where(~blank & ((prev == top) | (nxt == top)), probs[..., 0], 0.0)
    separates = blank & (prev == nxt) & (prev > 0)
    for nb in (prev, nxt):
        harmless += np.where(blank & ~separates & (nb > 0), probs[rows, cols, np.maximum(nb, 0)], 0)
    return (1.0 - harmless).max(-1)  # type: ignore[no-any-return]


def test_text_changing_mass_and_the_search_skip_match_the_definition() -> None:
    from plateread.decoding import _probs, text_changing_mass
    from plateread.formats import RU

    rng = np.random.default_rng(3)
    alphabet = RU.alphabet
    for scale in (1.0, 4.0, 8.0, 16.0):  # from flat to peaked steps, as real plates have
        logits = (rng.normal(size=(300, 24, len(alphabet) + 1)) * scale).astype(np.float32)
        logits[:, ::3, 0] += scale  # blanks between characters, as CTC models emit them
        probs = _probs(logits, alphabet)
        mass = _mass_reference(probs)
        assert np.allclose(text_changing_mass(probs), mass, atol=1e-6)
        # the search is skipped exactly for plates at or under 1 - sure (greedy reading kept)
        greedy = greedy_decode(logits, alphabet)
        searched = beam_decode(logits, alphabet, sure=0.9)
        full = beam_decode(logits, alphabet, sure=1.1)  # every plate searched
        for i, m in enumerate(mass):
            assert searched[i] == (full[i] if m > 0.1 else greedy[i]), (scale, i)
    # two steps of blank 0.6 / "0" 0.4: the best path is empty, the best text "0" (0.64)
    two = np.log(np.tile([0.6, 0.4] + [1e-9] * (len(alphabet) - 1), (1, 2, 1)))
    assert greedy_decode(two, alphabet)[0].text == ""
    assert beam_decode(two, alphabet, sure=0.9)[0].text == "0"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, 0.99, 1.0]) | st.floats(0, 1), st.booleans()),
        min_size=1,
        max_size=80,
    ),
    st.sampled_from([0.0, 5.0]),
)
# many plates half right at a low score, then one right just above it: the blend with the raw
# score would put the lone plate below the block
@example([(0.1, i % 2 == 0) for i in range(40)] + [(0.11, True)], 5.0)
def test_any_calibration_curve_is_a_monotone_map_into_0_1(
    readings: list[tuple[float, bool]], prior: float
) -> None:
    from plateread.calibration import apply_curve, fit_isotonic

    raw = np.array([r for r, _ in readings])
    curve = fit_isotonic(raw, [c for _, c in readings], prior=prior)
    xs, ys = np.asarray(curve[0]), np.asarray(curve[1])
    assert np.all(np.diff(xs) >= 0) and np.all(np.diff(ys) >= 0)
    assert xs[0] == 0.0 and xs[-1] == 1.0 and ys[0] == 0.0 and np.all((ys >= 0) & (ys <= 1))
    grid = np.linspace(0, 1, 101)
    mapped = apply_curve(curve, grid)
    assert np.all(np.isfinite(mapped)) and np.all(np.diff(mapped) >= -1e-12)  # keeps the order
