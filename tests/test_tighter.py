"""The second readings through tighter views of the crop, for loose crops, and through turned
views, for plates turned further than the readers learnt.
"""

from __future__ import annotations

import numpy as np
import pytest

import plateread.tighter
from conftest import path_logits
from plateread.decoding import Decoded
from plateread.formats import RU
from plateread.tighter import (
    CUTS,
    TURNS,
    reread_tighter,
    reread_turned,
    second_readings,
    tighter_view,
    turned_view,
)

SIZE = (32, 128)


def _framed(top: int, side: int) -> np.ndarray:
    """A white 40x200 crop inside a black frame ``top`` rows and ``side`` columns thick."""
    img = np.zeros((40, 200, 3), np.uint8)
    img[top : 40 - top, side : 200 - side] = 255
    return img


def test_tighter_view_cuts_each_side() -> None:
    img = np.arange(40 * 200 * 3, dtype=np.uint32).reshape(40, 200, 3)
    assert CUTS[0] == (0.06, 0.12)
    view = tighter_view(img, CUTS[0])
    assert view.shape == (30, 176, 3)  # 5 rows and 12 columns off each side
    assert (view == img[5:35, 12:188]).all()
    assert tighter_view(img[:2, :3], (0.5, 0.5)).shape == (2, 1, 3)  # never empty


def test_only_unsure_plates_are_reread_and_only_sure_valid_views_replace_them() -> None:
    seen: list[int] = []

    def model(text: str) -> object:
        def logits(batch: np.ndarray) -> np.ndarray:
            seen.append(len(batch))
            sure, unsure = path_logits(text, RU.alphabet), path_logits("A123BC77", RU.alphabet)
            # a view with no frame left reads `text` surely; any other reads A123BC77 unsurely
            return np.concatenate([sure if im.min() == 255 else 0.2 * unsure for im in batch])

        return logits

    images = [_framed(3, 8), _framed(3, 8), _framed(6, 16), _framed(12, 40), _framed(3, 8)]
    readings = [
        Decoded("A123BC77", 0.2, (0.8,) * 8),  # unsure: the first view has no frame left
        Decoded("A123BC77", 0.95, (0.99,) * 8),  # sure: not read again
        Decoded("A123BC77", 0.2, (0.8,) * 8),  # only the second, tighter view drops the frame
        Decoded("A123BC77", 0.2, (0.8,) * 8),  # no view drops the frame: kept
        Decoded("A12", 0.9, (0.97,) * 3),  # sure but not a valid plate: read again
    ]
    out, views = reread_tighter(model("M456CE99"), images, readings, RU, SIZE)
    assert seen == [8]  # the four plates to read again, each through both views, in one call
    assert [d.text for d in out] == ["M456CE99", "A123BC77", "M456CE99", "A123BC77", "M456CE99"]
    assert views == [0, None, 1, None, 0] and out[1] is readings[1] and out[3] is readings[3]
    assert out[0].confidence > 0.9

    seen.clear()
    assert reread_tighter(model("M456CE99"), images, readings, RU, SIZE, below=0.0) == (
        readings,
        [None] * 5,
    )
    assert seen == []
    # a view read less surely than `sure`, or as no valid plate, replaces nothing
    for sure, text in ((0.99, "M456CE99"), (0.7, "M456C")):
        out, views = reread_tighter(model(text), images, readings, RU, SIZE, sure=sure)
        assert out == readings and views == [None] * 5


def test_turned_view_keeps_the_whole_crop() -> None:
    img = np.full((40, 200, 3), 255, np.uint8)
    img[:, :10] = 0  # a dark left end
    assert (turned_view(img, 0.0) == img).all()
    view = turned_view(img, 10.0)
    assert view.shape == (74, 204, 3)  # 200 sin 10 + 40 cos 10 high, 200 cos 10 + 40 sin 10 wide
    assert view[:, :20].min() == 0 and view[:, -20:].min() == 255  # the dark end still in view
    assert turned_view(img, -10.0).shape == view.shape
    back = turned_view(view, -10.0)  # turned back: the crop again at the centre, same size
    y, x = (back.shape[0] - 40) // 2, (back.shape[1] - 200) // 2
    assert np.abs(back[y : y + 40, x : x + 200].astype(int) - img).mean() < 2
    assert turned_view(img, 90.0).shape == (200, 40, 3)


def test_turned_views_read_unsure_plates_and_the_surest_valid_one_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # each view is a flat picture of its angle's index in TURNS (plus the crop's own value), so
    # the stub model knows it
    monkeypatch.setattr(
        plateread.tighter,
        "turned_view",
        lambda im, a: np.full((32, 128, 3), TURNS.index(a) + im[0, 0, 0] - 9, np.uint8),
    )
    seen: list[int] = []

    def model(batch: np.ndarray) -> np.ndarray:
        seen.append(len(batch))
        out = []
        for view in batch:
            # +10 reads M456CE99 at 0.94, -10 at 0.999, +15 unsurely, -15 no valid plate
            readings = {0: ("M456CE99", 1.0), 1: ("M456CE99", 1.5), 2: ("E001KX55", 0.3)}
            text, scale = readings.get(int(view[0, 0, 0]), ("A12", 1.0))
            out.append(scale * path_logits(text, RU.alphabet))
        return np.concatenate(out)

    # read as no valid plate as they are (the stub reads 9 and 29 as A12), the first one's
    # turned views too
    images = [np.full((40, 200, 3), v, np.uint8) for v in (29, 9, 9)]
    readings = [
        Decoded("A123BC77", 0.3, (0.9,) * 8),  # unsure: read again
        Decoded("A123BC77", 0.95, (0.99,) * 8),  # sure: not read again
        Decoded("A12", 0.9, (0.97,) * 3),  # no valid plate: read again
    ]
    out, turns = reread_turned(model, images, readings, RU, SIZE)
    assert seen == [2 * len(TURNS)]  # the two plates, each through every turn, in one call
    assert [d.text for d in out] == ["A123BC77", "A123BC77", "M456CE99"]
    assert turns == [None, None, -10.0] and out[0] is readings[0] and out[1] is readings[1]
    assert out[2].confidence > 0.9
    # none sure enough (the stub's surest is under 0.999): nothing replaced
    assert reread_turned(model, images, readings, RU, SIZE, sure=0.999) == (readings, [None] * 3)
    seen.clear()
    assert reread_turned(model, images, readings, RU, SIZE, below=0.0) == (readings, [None] * 3)
    assert seen == []  # 0: never read again
    # after the tighter views, whose crops of these read no valid plate
    second = second_readings(model, images, readings, RU, SIZE)
    assert [d.text for d in second.readings] == ["A123BC77", "A123BC77", "M456CE99"]
    assert second.turned == [None, None, -10.0] and second.tighter == [None] * 3
    assert second_readings(model, images, readings, RU, SIZE, turned_below=0).readings == readings
