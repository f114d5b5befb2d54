from __future__ import annotations

import numpy as np
import pytest

from plateread.decoding import greedy_decode
from plateread.metrics import edit_distance, score


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
    assert greedy_decode(_logits([0, 0, 0], 3), "AB")[0].text == ""
    with pytest.raises(ValueError):
        greedy_decode(np.zeros((1, 4, 5)), "AB")


def test_scores() -> None:
    m = score(["A123BC77", "B456KM199"], ["A123BC77", "B456KM19"])
    assert m["n"] == 2 and m["exact"] == 0.5
    assert m["cer"] == pytest.approx(1 / 17)
    assert m["char_acc"] == pytest.approx(16 / 17)
    assert edit_distance("ABC", "AXC") == 1
    assert score([], [])["exact"] == 0.0
