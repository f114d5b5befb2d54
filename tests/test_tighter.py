"""The second reading through tighter views of the crop, for loose crops."""

from __future__ import annotations

import numpy as np

from conftest import path_logits
from plateread.decoding import Decoded
from plateread.formats import RU
from plateread.tighter import CUTS, reread_tighter, tighter_view

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

    images = [_framed(3, 8), _framed(3, 8), _framed(6, 16), _framed(3, 8)]
    readings = [
        Decoded("A123BC77", 0.2, (0.8,) * 8),  # unsure: the first view has no frame left
        Decoded("A123BC77", 0.95, (0.99,) * 8),  # sure: not read again
        Decoded("A123BC77", 0.2, (0.8,) * 8),  # only the second, tighter view drops the frame
        Decoded("A12", 0.9, (0.97,) * 3),  # sure but not a valid plate: read again
    ]
    out, views = reread_tighter(model("M456CE99"), images, readings, RU, SIZE)
    assert seen == [6]  # the three plates to read again, each through both views, in one call
    assert [d.text for d in out] == ["M456CE99", "A123BC77", "M456CE99", "M456CE99"]
    assert views == [0, None, 1, 0] and out[1] is readings[1]
    assert out[0].confidence > 0.9

    seen.clear()
    assert reread_tighter(model("M456CE99"), images, readings, RU, SIZE, below=0.0) == (
        readings,
        [None] * 4,
    )
    assert seen == []
    # a view read less surely than `sure`, or as no valid plate, replaces nothing
    for sure, text in ((0.99, "M456CE99"), (0.7, "M456C")):
        out, views = reread_tighter(model(text), images, readings, RU, SIZE, sure=sure)
        assert out == readings and views == [None] * 4
