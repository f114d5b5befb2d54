from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from plateread.formats import CN
from plateread.synth.fonts import cjk_font, glyph_mask
from plateread.synth.render import render_plate
from plateread.synth.swap import first_char_box, swap_first


def _ccpd_like(text: str, seed: int = 0) -> np.ndarray:
    """A clean Chinese plate at CCPD's crop size (94x24)."""
    plate = render_plate(CN, text, np.random.default_rng(seed))
    return cv2.resize(plate, (94, 24), interpolation=cv2.INTER_AREA)


def _likeness(ink: np.ndarray, char: str) -> float:
    """Intersection over union of ``ink`` and ``char``'s glyph stretched to the same box."""
    glyph = glyph_mask(char, cjk_font(), 2, "Bold")
    glyph = cv2.resize(glyph, (ink.shape[1], ink.shape[0]), interpolation=cv2.INTER_AREA) > 0.5
    return float((ink & glyph).sum() / max(1, (ink | glyph).sum()))


def test_the_first_character_is_found_and_redrawn_as_asked() -> None:
    crop = _ccpd_like("皖A12345")
    found = first_char_box(crop)
    assert found is not None
    x0, y0, x1, y1, _ = found
    assert x1 <= 0.2 * 94 and 7 <= x1 - x0 <= 15 and y1 - y0 >= 12  # the province, not 'A'
    for char in "京鲁":
        swapped = swap_first(crop, char, np.random.default_rng(1))
        assert swapped is not None and swapped.shape == crop.shape
        # the rest of the plate is left as it was
        assert np.array_equal(swapped[:, x1 + 2 :], crop[:, x1 + 2 :])
        again = first_char_box(swapped)
        assert again is not None
        ax0, ay0, ax1, ay1, ink = again
        box = ink[ay0:ay1, ax0:ax1]
        assert _likeness(box, char) > _likeness(box, "皖")


def test_crops_without_a_first_character_are_left_alone() -> None:
    rng = np.random.default_rng(0)
    assert swap_first(np.full((24, 94, 3), 120, np.uint8), "京", rng) is None
    assert swap_first(np.zeros((6, 20, 3), np.uint8), "京", rng) is None
    assert first_char_box(np.full((24, 94, 3), 120, np.uint8)) is None


def test_real_training_crops_swap_their_first_character_with_their_label(
    tmp_path: Path,
) -> None:
    from plateread.data import load_dataset
    from plateread.train.data import PlateTorchDataset

    texts = ["皖A12345", "皖B67890", "皖AD7K21", "皖C2M5Q8"]
    for i, text in enumerate(texts):
        cv2.imwrite(str(tmp_path / f"{text}.png"), _ccpd_like(text, i)[..., ::-1])
    samples = load_dataset(f"dir:{tmp_path}", CN).samples
    swapped = PlateTorchDataset(samples, CN, (32, 128), augment=True, swap_first=1.0)
    items = [swapped[(epoch, i)] for epoch in range(3) for i in range(len(samples))]
    firsts = {item["text"][0] for item in items if item}
    assert len(firsts) >= 5 and "皖" not in firsts and firsts <= set(CN.classes["P"])
    for item in items:
        assert item and item["text"][1:] in {s.text[1:] for s in samples}
        assert CN.encode(item["text"]) == item["target"].tolist()
    # off (the default), the items are what they were before the option existed
    plain = PlateTorchDataset(samples, CN, (32, 128), augment=True)
    off = PlateTorchDataset(samples, CN, (32, 128), augment=True, swap_first=0.0)
    for i in range(len(samples)):
        a, b = plain[(1, i)], off[(1, i)]
        assert a and b and a["text"] == b["text"] == samples[i].text
        assert np.array_equal(a["image"].numpy(), b["image"].numpy())
    # validation crops are never swapped
    val = PlateTorchDataset(samples, CN, (32, 128), augment=False, swap_first=1.0)
    assert [val[i]["text"] for i in range(len(samples))] == [s.text for s in samples]  # type: ignore[index]


def test_swap_first_is_a_share() -> None:
    from plateread.train.config import ConfigError, load_config

    assert load_config(None, {"data": ["synth:cn"], "swap_first": 0.5}).swap_first == 0.5
    for bad in (-0.1, 1.5):
        with pytest.raises(ConfigError, match="swap_first"):
            load_config(None, {"data": ["synth:cn"], "swap_first": bad})
