from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import write_png
from plateread.cli import main
from plateread.data.colours import centre_colours, plate_colours
from plateread.data.inspect import draft_from_specs
from plateread.formats import load_format
from plateread.formats.draft import draft_yaml

BLUE, WHITE, BLACK, YELLOW = (30, 90, 200), (245, 245, 240), (20, 20, 25), (230, 190, 40)


def plate(
    background: tuple[int, ...], ink: tuple[int, ...], seed: int = 0, stroke: int = 3
) -> np.ndarray:
    """A loose crop: a noisy scene around a plate of vertical strokes, blurred a little."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (48, 160, 3), dtype=np.uint8)
    img[8:40, 10:150] = background
    for x in range(16, 144, 10):
        img[12:36, x : x + stroke] = ink
    return cv2.GaussianBlur(img, (3, 3), 0)


def near(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 12) -> bool:
    return max(abs(x - y) for x, y in zip(a, b)) <= tolerance


def test_plate_colours_tell_the_plate_from_its_characters() -> None:
    blue = plate_colours(plate(BLUE, WHITE, seed) for seed in range(5))
    assert blue is not None and blue.images == 5 and not blue.light_plate  # white on blue
    assert near(blue.background, BLUE) and near(blue.foreground, WHITE)
    black = plate_colours(plate(YELLOW, BLACK, seed) for seed in range(3))
    assert black is not None and black.light_plate
    assert near(black.background, YELLOW) and near(black.foreground, BLACK)
    # bold strokes, more ink than plate in the centre, read as light on dark; unless told
    bold = [plate(WHITE, BLACK, seed, stroke=6) for seed in range(3)]
    assert plate_colours(bold).light_plate is False  # type: ignore[union-attr]
    forced = plate_colours(bold, light_plate=True)
    assert forced is not None and near(forced.foreground, BLACK) and min(forced.background) > 200


def test_a_centre_of_one_colour_or_too_small_is_not_measured() -> None:
    assert centre_colours(np.full((40, 160, 3), 128, np.uint8)) is None
    assert centre_colours(plate(BLUE, WHITE)[:4, :8]) is None
    assert plate_colours([np.zeros((40, 160, 3), np.uint8)]) is None and plate_colours([]) is None


def test_a_draft_paints_its_plates_in_the_crops_colours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "crops"
    for i, text in enumerate(["A123BC77", "B456CE78", "K789MH99", "X012TY177"]):
        write_png(folder / f"{text}.png", plate(BLUE, WHITE, seed=i))
    (folder / "E345OP50.png").write_bytes(b"not a picture")  # left out of the colours
    draft = draft_from_specs([f"dir:{folder}"], "blue")
    assert draft.colours is not None and draft.colours[2] == 4
    path = tmp_path / "blue.yaml"
    path.write_text(draft_yaml(draft), encoding="utf-8")
    assert "the median of 4 crops' centres" in path.read_text(encoding="utf-8")
    style = load_format(str(path)).style
    assert near(tuple(style["background"]), BLUE) and near(tuple(style["foreground"]), WHITE)
    # labels without pictures to measure: a plain white plate
    draft.colours = None
    text = draft_yaml(draft)
    assert "background: [236, 236, 232]" in text and "crops' centres" not in text
    # `plateread data` prints the colours, for comparing real crops with synthetic ones
    assert main(["data", f"dir:{folder}"]) == 0
    assert "colours, the median of 4 crops' centres: plate [" in capsys.readouterr().out


def test_a_draft_gives_a_template_whose_plates_differ_colours_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "crops"
    green = (150, 215, 165)
    for i in range(24):  # 24 blue plates of 7 characters, 20 green ones of 8 (or 19)
        write_png(folder / f"A{i:03d}BC7.png", plate(BLUE, WHITE, seed=i))
        if i < 20:
            write_png(folder / f"A{i:03d}BC77.png", plate(green, BLACK, seed=i))
    draft = draft_from_specs([f"dir:{folder}"], "two")
    assert [t for t, _ in draft.templates] == ["LDDDLLD", "LDDDLLDD"]
    assert list(draft.template_colours) == ["LDDDLLDD"]
    bg, fg, n = draft.template_colours["LDDDLLDD"]
    assert near(bg, green) and near(fg, BLACK) and n == 20
    path = tmp_path / "two.yaml"
    path.write_text(draft_yaml(draft), encoding="utf-8")
    fmt = load_format(str(path))
    assert near(tuple(fmt.drawn("A123BC77").style["background"]), green)
    assert fmt.drawn("A123BC7") is fmt and "template_styles" not in fmt.drawn("A123BC77").style
    (folder / "A000BC77.png").unlink()  # 19 crops: too few to measure apart
    assert draft_from_specs([f"dir:{folder}"], "two").template_colours == {}
