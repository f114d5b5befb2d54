from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from plateread.errors import FormatError
from plateread.formats import CN, GENERIC, RU, RU_ALL, PlateFormat, load_format
from plateread.synth import SynthImage, random_text, synth_samples, write_dataset
from plateread.synth.render import render_plate


@pytest.mark.parametrize("fmt", [RU, RU_ALL, CN, GENERIC])
def test_random_texts_are_valid(fmt) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    texts = [random_text(fmt, rng) for _ in range(300)]
    assert all(fmt.is_valid(t) for t in texts)
    assert len(set(texts)) > 250


def test_cn_texts_include_green_plates_and_many_provinces() -> None:
    rng = np.random.default_rng(1)
    texts = [random_text(CN, rng) for _ in range(500)]
    assert any(len(t) == 8 for t in texts)
    assert len({t[0] for t in texts}) > 20


@pytest.mark.parametrize("name", ["ru", "ru_all", "cn", "generic"])
def test_synthetic_plates_are_deterministic(name: str) -> None:
    a = synth_samples(name, 4, seed=7)
    b = synth_samples(name, 4, seed=7)
    assert [s.text for s in a] == [s.text for s in b]
    for x, y in zip(a, b):
        ia, ib = x.load(), y.load()
        assert ia.dtype == np.uint8 and ia.ndim == 3 and ia.shape[2] == 3
        assert np.array_equal(ia, ib)
    c = synth_samples(name, 4, seed=8)
    assert [s.text for s in c] != [s.text for s in a]


def test_ru_all_draws_every_type_in_its_colours() -> None:
    rng = np.random.default_rng(2)
    texts = [random_text(RU_ALL, rng) for _ in range(400)]
    counts = Counter(RU_ALL.match_template(t) for t in texts)
    assert set(counts) == set(RU_ALL.templates) and counts["LDDDLLDD"] > 80
    # military plates have two-digit codes: a three-digit one after DDDD LL is a two-row plate's
    assert counts["DDDDLLDDD"] and "DDDDLLDDD" in RU_ALL.style["two_row_only"]
    # civil and trailer white, taxi yellow, police blue, military black (the main part's paper)
    for text, check in [
        ("A123BC77", lambda p: p.mean() > 150),
        ("AB1234177", lambda p: p.mean() > 150),
        ("AB12377", lambda p: p[..., 0].mean() > 1.5 * p[..., 2].mean()),
        ("A1234177", lambda p: p[..., 2].mean() > 1.5 * p[..., 0].mean()),
        ("1234AB77", lambda p: p.mean() < 100),
    ]:
        plate = render_plate(RU_ALL, text, np.random.default_rng(0))
        assert 4.3 < plate.shape[1] / plate.shape[0] < 4.9
        assert check(plate[:, : plate.shape[1] * 3 // 4].astype(float)), text
    # the civil type draws what the ru format draws
    civil = render_plate(RU_ALL, "A123BC77", np.random.default_rng(5))
    assert np.array_equal(civil, render_plate(RU, "A123BC77", np.random.default_rng(5)))
    with pytest.raises(ValueError, match="known type"):
        render_plate(RU_ALL, "AB12", np.random.default_rng(0))


def test_ru_alls_drawing_with_templates_it_cannot_draw_is_refused_before_training() -> None:
    """``extends: ru_all`` with other plates keeps the Russian renderer: refused when the
    plates are drawn (as training starts), not as a traceback in a data-loading worker."""
    style = {k: v for k, v in RU_ALL.style.items() if k != "two_row_only"}
    fmt = PlateFormat.from_dict(
        {**RU_ALL.to_dict(), "name": "my", "templates": ["LLDDDDD", "DDLDDDLL"], "style": style}
        | {"two_row": {}}
    )
    with pytest.raises(FormatError, match=r"kind ru_all draws Russian plates only, not '\d\d"):
        synth_samples(fmt, 40)
    # the ru_all types it can draw, on one row and two
    two_row = {"DDDDLLDDD": [[0, 1, 2, 3], [4, 5, 6, 7, 8]]}
    fmt = PlateFormat.from_dict(
        {
            **RU_ALL.to_dict(),
            "name": "my",
            "templates": ["LLDDDDD", "DDDDLLDDD"],
            "two_row": two_row,
        }
    )
    samples = synth_samples(fmt, 40)
    assert {s.rows for s in samples} == {1, 2} and all(s.load().ndim == 3 for s in samples)


def test_codes_that_overlap_on_a_short_plate_still_give_valid_texts() -> None:
    """A prefix and a suffix that share characters on a short plate (or, without templates,
    need a length the first draw lacked): the texts were written head + middle + tail, too long
    (``"00"`` for the one-character plate ``"0"``), and returned invalid."""
    abc = ("x", "0123AB", {"D": "0123", "L": "AB"})
    for fmt, only in (
        (PlateFormat(*abc, ("D",), prefixes=("0",), suffixes=("0",)), {"0"}),
        (PlateFormat(*abc, ("DDL",), prefixes=("01",), suffixes=("1A", "1B")), {"01A", "01B"}),
        (PlateFormat("x", "0123AB", max_length=4, prefixes=("BB0",), suffixes=("BB0",)), {"BB0"}),
    ):
        texts = {random_text(fmt, np.random.default_rng(i)) for i in range(60)}
        assert texts == only, fmt
    # codes that do not overlap: written over the two ends, the drawn middle kept
    fmt = PlateFormat(*abc, ("DDLDD",), prefixes=("01",), suffixes=("23",))
    texts = {random_text(fmt, np.random.default_rng(i)) for i in range(20)}
    assert {t[:2] + t[3:] for t in texts} == {"0123"} and len({t[2] for t in texts}) == 2


def test_ru_all_draws_two_row_plates() -> None:
    samples = synth_samples("ru_all", 600, seed=3, augment=False)
    two = [s for s in samples if s.rows == 2]
    # every DDDD LL DDD plate and some DDDD LL DD ones (the rest are one-row military plates)
    assert {RU_ALL.match_template(s.text) for s in two} == {"DDDDLLDD", "DDDDLLDDD"}
    assert all(s.rows == 2 for s in samples if RU_ALL.match_template(s.text) == "DDDDLLDDD")
    assert any(s.rows == 1 for s in samples if RU_ALL.match_template(s.text) == "DDDDLLDD")
    assert 0.04 < len(two) / len(samples) < 0.15
    plate = two[0].load()
    assert 1.2 < plate.shape[1] / plate.shape[0] < 1.4  # 190 x 145 mm
    # ink in both halves: four digits over the letters and the region code
    clean = render_plate(RU_ALL, "1234AB177", np.random.default_rng(0), rows=2).astype(float)
    paper = np.median(clean)
    for half in np.array_split(clean, 2):
        assert half.mean() < 0.85 * paper
    with pytest.raises(ValueError, match="two-row"):
        render_plate(RU_ALL, "A123BC77", np.random.default_rng(0), rows=2)
    # an older model's ru_all format (no two-row layouts): one-row plates only, all drawable
    d = RU_ALL.to_dict()
    old = PlateFormat.from_dict(
        {
            **d,
            "templates": [t for t in d["templates"] if t != "DDDDLLDDD"],
            "two_row": {},
            "style": {"kind": "ru_all", "binarized": 0.05},
        }
    )
    drawn = synth_samples(old, 300, seed=3, augment=False)
    assert all(s.rows == 1 and old.is_valid(s.text) for s in drawn)
    assert all(s.load().shape[1] > 4 * s.load().shape[0] for s in drawn[:40])


def test_clean_renderings_have_plate_proportions() -> None:
    rng = np.random.default_rng(0)
    ru = render_plate(RU, "A123BC777", rng)
    cn = render_plate(CN, "皖A12345", rng)
    green = render_plate(CN, "皖AD12345", rng)
    assert 4.3 < ru.shape[1] / ru.shape[0] < 4.9
    assert 3.0 < cn.shape[1] / cn.shape[0] < 3.3
    assert green.shape[1] > cn.shape[1]
    assert cn[..., 2].mean() > cn[..., 0].mean()  # blue plate
    assert ru.mean() > 150  # white plate


def test_write_dataset_course_layout_and_grid(tmp_path: Path) -> None:
    cfg = write_dataset("cn", 6, tmp_path / "d", seed=2, grid=tmp_path / "grid.png")
    items = json.loads(cfg.read_text(encoding="utf-8"))
    assert len(items) == 6 and all((tmp_path / "d" / it["file"]).is_file() for it in items)
    assert all(CN.is_valid(it["text"]) for it in items)
    assert (tmp_path / "grid.png").stat().st_size > 1000


def test_custom_format_renders(tmp_path: Path) -> None:
    f = tmp_path / "uz.yaml"
    f.write_text("name: uz\nalphabet: 0-9A-Z\nclasses: {D: 0-9, L: A-Z}\ntemplates: [DDLDDDLL]\n")
    s = synth_samples(str(f), 2, seed=0)
    assert load_format(str(f)).is_valid(s[0].text)
    assert s[0].load().shape[2] == 3


def test_example_uz_format_renders_region_box_and_flag() -> None:
    uz = ROOT / "examples" / "uz.yaml"
    fmt = load_format(str(uz))
    assert fmt.is_valid("01A123BC") and fmt.is_valid("01123ABC")
    plate = render_plate(fmt, "01A123BC", np.random.default_rng(0))
    h, w = plate.shape[:2]
    right = plate[: h // 2, int(w * 0.88) :].reshape(-1, 3).astype(int)
    assert (right[:, 2] - right[:, 0] > 60).any()  # the flag's blue stripe
    samples = synth_samples(str(uz), 20, seed=1)
    assert {len(s.text) for s in samples} == {8}
    assert all(fmt.is_valid(s.text) for s in samples)
    assert {s.text[:2] for s in samples} <= set(fmt.style["region_codes"])


def test_region_code_weights_group_gaps_and_region_box(tmp_path: Path) -> None:
    base = (
        "name: xx\nalphabet: 0-9A-Z\nclasses: {D: 0-9, L: A-Z}\ntemplates: [DDLDDDLL]\n"
        "style: {region_chars: 2, region_codes: {'01': 9, '77': 1, '95': 0}"
    )
    f = tmp_path / "xx.yaml"
    f.write_text(base + "}\n")
    codes = Counter(s.text[:2] for s in synth_samples(str(f), 300, seed=2, augment=False))
    assert set(codes) == {"01", "77"} and codes["01"] > 5 * codes["77"]  # follows the weights

    def ink(style: str) -> np.ndarray:
        f.write_text(base + style + "}\n")
        plate = render_plate(load_format(str(f)), "01A123BC", np.random.default_rng(0))
        return (plate.mean(axis=2) < 128)[10:-10]  # [rows inside the frame, columns]

    def widest_gap(columns: np.ndarray) -> int:
        return max(len(r) for r in "".join("x" if c else "." for c in columns).split("x"))

    plain, gapped = ink(""), ink(", group_gap: 25")
    assert widest_gap(gapped.any(axis=0)) > 1.5 * widest_gap(plain.any(axis=0))

    def separator(a: np.ndarray) -> int:  # the region box's full-height line
        full = np.flatnonzero(a.mean(axis=0) > 0.9)
        return int(full[full > 0.05 * a.shape[1]][0])

    small = ink(", region_box: 0.08, region_height: 0.3")
    assert separator(small) < 0.7 * separator(plain)

    def region_rows(a: np.ndarray) -> int:  # how many rows the region digits cover
        return int(a[:, int(0.04 * a.shape[1]) : separator(a) - 2].any(axis=1).sum())

    assert region_rows(small) < 0.8 * region_rows(plain)


def test_synthetic_texts_start_with_a_listed_prefix() -> None:
    from plateread.formats import PlateFormat

    fmt = PlateFormat(
        "x", "0123456789AB", {"D": "0123456789", "L": "AB"}, ("DDLD",), prefixes=("42", "7")
    )
    texts = [random_text(fmt, np.random.default_rng(i)) for i in range(40)]
    assert all(fmt.is_valid(t) for t in texts)
    assert {t[:2] for t in texts} <= {"42"} | {f"7{d}" for d in "0123456789"}
    free = PlateFormat("y", "0123456789", prefixes=("5",), min_length=3, max_length=5)
    assert all(random_text(free, np.random.default_rng(i)).startswith("5") for i in range(20))


def test_synthetic_texts_end_with_a_listed_suffix_and_codes_go_last() -> None:
    fmt = PlateFormat(
        "x", "0123456789AB", {"D": "0123456789", "L": "AB"}, ("LDDD", "LDD"), suffixes=("42", "7")
    )
    texts = [random_text(fmt, np.random.default_rng(i)) for i in range(40)]
    assert all(fmt.is_valid(t) for t in texts) and {len(t) for t in texts} == {3, 4}
    both = PlateFormat("y", "0123456789", prefixes=("5",), suffixes=("99",), max_length=5)
    assert all(both.is_valid(random_text(both, np.random.default_rng(i))) for i in range(20))
    kz = PlateFormat(
        "kz",
        "0123456789AB",
        {"D": "0123456789", "L": "AB"},
        ("DDDLLDD",),
        style={"region_chars": 2, "region_at": "end", "region_codes": {"02": 9, "17": 1}},
    )
    codes = Counter(random_text(kz, np.random.default_rng(i))[-2:] for i in range(200))
    assert set(codes) == {"02", "17"} and codes["02"] > 4 * codes["17"]
    with pytest.raises(FormatError, match="region_codes must be texts a plate can end with"):
        PlateFormat(
            "kz", "0123456789AB", {"D": "0123456789", "L": "AB"}, ("DDDLLDD",),
            style={"region_chars": 2, "region_at": "end", "region_codes": ["A2"]},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("base", "codes"),
    [
        (RU, {"suffixes": ["77", "177", "777"]}),
        (CN, {"prefixes": ["皖A", "沪"]}),
        (RU_ALL, {"templates": ["LDDDLLDD", "LLDDDDD"]}),
        (CN, {"classes": {"X": "皖沪", "D": "0123456789"}, "templates": ["XDDDDD"]}),
    ],
)
def test_built_in_formats_narrowed_by_a_file_draw_texts_that_keep_to_it(
    base: PlateFormat, codes: dict[str, object]
) -> None:  # `extends: ru` with the Moscow codes: the same name, the same drawing of texts
    style = {k: v for k, v in base.style.items() if k != "two_row_only"}
    fmt = PlateFormat.from_dict({**base.to_dict(), **codes, "two_row": {}, "style": style})
    texts = [random_text(fmt, np.random.default_rng(i)) for i in range(100)]
    assert all(fmt.is_valid(t) for t in texts) and len(set(texts)) > 90


def test_a_region_code_at_the_end_is_boxed_on_the_right_and_the_flag_moves_left() -> None:
    style = {"region_chars": 2, "flag": [[0, 0, 255]], "size_mm": [520, 112]}
    fmt = PlateFormat(
        "a", "0123456789AB", {"D": "0123456789", "L": "AB"}, ("DDDLLDD",), style=style
    )
    end = PlateFormat.from_dict({**fmt.to_dict(), "style": {**style, "region_at": "end"}})

    def blue_columns(plate: np.ndarray) -> np.ndarray:
        p = plate.reshape(-1, 3).astype(int).reshape(plate.shape)
        return np.flatnonzero(((p[..., 2] - p[..., 0]) > 100).any(axis=0)) / plate.shape[1]

    def lines(plate: np.ndarray) -> np.ndarray:  # full-height dark columns inside the frame
        dark = (plate.mean(axis=2) < 128)[10:-10].mean(axis=0) > 0.9
        full = np.flatnonzero(dark) / plate.shape[1]
        return full[(full > 0.05) & (full < 0.95)]

    start_plate = render_plate(fmt, "123AB02", np.random.default_rng(0))
    end_plate = render_plate(end, "123AB02", np.random.default_rng(0))
    assert blue_columns(start_plate).min() > 0.8 and blue_columns(end_plate).max() < 0.2
    assert lines(start_plate).min() < 0.25 and lines(end_plate).max() > 0.75  # the box's side
    two = PlateFormat.from_dict(
        {**end.to_dict(), "two_row": {"DDDLLDD": [[0, 1, 2], [3, 4, 5, 6]]}}
    )
    assert render_plate(two, "123AB02", np.random.default_rng(0), rows=2).ndim == 3
    with pytest.raises(FormatError, match="style region_at must be start or end"):
        PlateFormat.from_dict({**fmt.to_dict(), "style": {"region_at": "right"}})


def test_a_template_drawn_in_a_style_of_its_own() -> None:
    taxi = {"background": [250, 205, 40], "size_mm": [300, 112]}
    base = {"background": [236, 236, 232], "template_styles": {"LLDDD": taxi}}
    fmt = PlateFormat(
        "t", "0123456789AB", {"L": "AB", "D": "0123456789"}, ("LDDDLL", "LLDDD"), style=base
    )
    assert fmt.drawn("A123AB") is fmt and fmt.drawn("AB123").style["background"] == [250, 205, 40]
    yellow, white = (render_plate(fmt, t, np.random.default_rng(0)) for t in ("AB123", "A123AB"))
    assert yellow.shape[1] < 0.7 * white.shape[1]  # 300 mm wide, not 520
    centre = yellow[yellow.shape[0] // 4, yellow.shape[1] // 10 :].astype(int)
    assert ((centre[:, 0] - centre[:, 2]) > 150).any()  # yellow: red well above blue
    synth = SynthImage(fmt, "AB123", seed=1, augment=False).load()
    assert synth.shape == yellow.shape
    for styles, words in (
        ({"LLDDDD": taxi}, r"template_styles names \['LLDDDD'\], not templates"),
        ({"LLDDD": {"tilt": 2}}, r"template_styles\['LLDDD'\] has \['tilt'\]"),
        ({"LLDDD": {"background": "yellow"}}, r"background must be .* \(in style template_s"),
        (["LLDDD"], "template_styles must map templates to style keys"),
    ):
        with pytest.raises(FormatError, match=words):
            PlateFormat.from_dict({**fmt.to_dict(), "style": {"template_styles": styles}})


def test_thin_glyphs_stay_thin() -> None:
    from plateread.synth.canvas import Canvas
    from plateread.synth.fonts import latin_font

    widths = {}
    for ch in "I0":
        c = Canvas(60, 100, 1.0, (255.0, 255.0, 255.0))
        c.glyph(ch, 5, 5, 50, 90, (0.0, 0.0, 0.0), latin_font())
        ink = c.result()[..., 0] < 128
        widths[ch] = int(ink.any(axis=0).sum())
    assert widths["I"] < widths["0"] / 2


def test_latin_font_families() -> None:
    from plateread.formats import FormatError
    from plateread.synth.fonts import LATIN_FAMILIES, glyph_mask, latin_font

    widths = {}
    for family in LATIN_FAMILIES:
        path = latin_font("Regular", family)
        assert Path(path).is_file()
        mask = glyph_mask("0", path)
        widths[family] = mask.shape[1] / mask.shape[0]
    # the wide family draws wider glyphs than the condensed ones it stands beside
    assert widths["Barlow"] > 1.2 * widths["Barlow Condensed"]
    with pytest.raises(FormatError, match="no font family"):
        latin_font("Regular", "Comic Sans")
    with pytest.raises(FormatError, match="Saira Condensed 'Heavy'"):
        latin_font("Heavy", "Saira Condensed")


def test_characters_the_latin_fonts_lack_are_drawn_or_refused(tmp_path: Path) -> None:
    """FreeType draws a character a font lacks as one .notdef box: a Korean format's letters
    were all the same box, and a reader trained on them could not tell them apart.
    """
    from plateread.errors import FontError
    from plateread.synth.fonts import font_for, glyph_mask, latin_font

    latin = latin_font()
    assert font_for("A", latin)[0] == latin
    ga, na = (glyph_mask(c, *font_for(c, latin)) for c in "가나")  # Hangul: the CJK font's
    assert font_for("가", latin)[0] != latin
    assert ga.shape != na.shape or not np.array_equal(ga, na)
    assert glyph_mask("가", latin).shape == glyph_mask("ก", latin).shape  # both the box
    with pytest.raises(FontError, match="U\\+1200"):
        font_for("ሀ", latin)  # Ethiopic: no font here has it
    kr = tmp_path / "kr.yaml"
    kr.write_text("name: kr\nalphabet: 0-9가나\nclasses: {D: 0-9, H: 가나}\ntemplates: [DDHDDDD]\n")
    images = [s.load() for s in synth_samples(str(kr), 2, seed=1)]
    assert all(im.ndim == 3 for im in images)
    et = tmp_path / "et.yaml"
    et.write_text("name: et\nalphabet: 0-9ሀለ\nclasses: {D: 0-9, E: ሀለ}\ntemplates: [DEEDDDD]\n")
    with pytest.raises(FontError, match="'ሀ' \\(U\\+1200\\), 'ለ' \\(U\\+1208\\)"):
        synth_samples(str(et), 2)  # every such character named, before any plate is drawn
    flag = tmp_path / "flag.yaml"
    flag.write_text(kr.read_text() + "style: {flag: [[0, 0, 200]], flag_text: ሀለ}\n")
    with pytest.raises(FontError, match="flag_text"):
        synth_samples(str(flag), 2)


def test_thai_arabic_and_devanagari_plates_are_drawn_with_their_script_fonts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scripts the Latin and CJK fonts lack are drawn by the optional Noto packages (the dev
    extra installs them): each letter its own glyph, not the .notdef box; without the package,
    the refusal names it.
    """
    from plateread.errors import FontError
    from plateread.synth import fonts

    latin = fonts.latin_font()
    box = fonts.glyph_mask("ሀ", latin)
    for pair, script in (("กข", "Thai"), ("بج", "Arabic"), ("कख", "Devanagari")):
        found = [fonts.font_for(c, latin) for c in pair]
        assert {Path(f[0]).name for f in found} == {fonts.SCRIPT_FONTS[script][2]}, script
        a, b = (fonts.glyph_mask(c, *f) for c, f in zip(pair, found))
        assert not any(m.shape == box.shape and np.array_equal(m, box) for m in (a, b)), script
        assert a.shape != b.shape or not np.array_equal(a, b), script
    th = tmp_path / "th.yaml"
    th.write_text("name: th\nalphabet: 0-9กข\nclasses: {D: 0-9, T: กข}\ntemplates: [TTDDDD]\n")
    assert synth_samples(str(th), 2, seed=1)[0].load().ndim == 3
    monkeypatch.setattr(fonts, "script_font", lambda script: None)  # as if not installed
    with pytest.raises(FontError, match="pip install fontpkg-noto-sans-thai"):
        synth_samples(str(th), 2)


def test_every_font_a_format_draws_with_is_checked_up_front(tmp_path: Path) -> None:
    """The Latin families differ a little: Saira Condensed draws Ȁ (U+0200) and lacks ₽
    (U+20BD), Barlow Condensed the other way round, and Noto Sans CJK has neither. A format is
    checked against the fonts it is drawn with: refused before any plate where one of them
    lacks a character (not half-way through training), drawn where all have it.
    """
    from plateread.errors import FontError
    from plateread.formats import load_format
    from plateread.synth.render import latin_fonts

    def fmt(name: str, letters: str, family: str) -> str:
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            f"name: {name}\nalphabet: 0-9{letters}\nclasses: {{D: 0-9, L: {letters}}}\n"
            f"templates: [DDLDD]\nstyle: {{font_families: [{family}]}}\n"
        )
        return str(path)

    image = synth_samples(fmt("saira", "AȀ", "Saira Condensed"), 1, seed=1)[0].load()
    assert image.ndim == 3
    with pytest.raises(FontError, match="'Ȁ' \\(U\\+0200\\) by BarlowCondensed-Medium"):
        synth_samples(fmt("barlow", "AȀ", "Barlow Condensed"), 1)
    assert len(latin_fonts(load_format("ru"))) == 12  # three families in four weights
    assert {Path(f).stem.split("-")[0] for f in latin_fonts(load_format("cn"))} == {
        "BarlowCondensed",
        "SairaCondensed",
    }
    with pytest.raises(FontError, match="SairaCondensed-Bold.*; choose style font_families"):
        synth_samples(fmt("both", "A₽", "Barlow Condensed, Saira Condensed"), 1)
    # the Russian renderer picks its fonts whatever font_families says: the advice says so
    fixed = Path(fmt("fixed", "AȀ", "Saira Condensed"))
    fixed.write_text(fixed.read_text().replace("style: {", "style: {kind: ru_civil, "))
    with pytest.raises(FontError, match="by Barlow-Regular.*style kind ru_civil draws with fonts"):
        synth_samples(str(fixed), 1)


def test_template_weights_and_tilt(tmp_path: Path) -> None:
    from plateread.formats import FormatError

    f = tmp_path / "tw.yaml"
    base = (
        "name: tw\nalphabet: 0-9A-Z\nclasses: {D: 0-9, L: A-Z}\ntemplates: [DDLDDDLL, DDDDDLLL]\n"
    )
    f.write_text(base + "style: {template_weights: {DDLDDDLL: 4, DDDDDLLL: 1}}\n")
    fmt = load_format(str(f))
    kinds = Counter(
        fmt.match_template(random_text(fmt, np.random.default_rng(i))) for i in range(400)
    )
    assert kinds["DDDDDLLL"] > 30 and kinds["DDLDDDLL"] > 2.5 * kinds["DDDDDLLL"]
    for bad in ("{DDLDDDL: 1}", "{DDLDDDLL: -1}", "{DDLDDDLL: 0}", "{DDLDDDLL: x}"):
        f.write_text(base + "style: {template_weights: " + bad + "}\n")  # a typo, bad weights
        with pytest.raises(FormatError, match="template_weights"):
            load_format(str(f))

    def slant(tilt: float) -> float:  # mean |angle| of the plate's top edge, over many draws
        from plateread.synth.augment import place_in_scene

        angles = []
        for i in range(60):
            plate = np.full((40, 200, 3), 255, np.uint8)
            scene = place_in_scene(plate, np.random.default_rng(i), loose=1.0, tilt=tilt)
            rows = np.argmax(scene.min(axis=2) > 250, axis=0)  # first white row per column
            cols = np.flatnonzero(rows > 0)
            angles.append(abs(np.polyfit(cols, rows[cols], 1)[0]))
        return float(np.mean(angles))

    assert slant(2.0) > 1.5 * slant(1.0)


def test_scene_style_margins_car_scene_frame_and_lighter_glyphs(tmp_path: Path) -> None:
    from plateread.formats import FormatError
    from plateread.styles import scene_style
    from plateread.synth.augment import add_frame, place_in_scene

    base = "name: sc\nalphabet: 0-9A-Z\nclasses: {D: 0-9, L: A-Z}\ntemplates: [DDLDDDLL]\n"
    f = tmp_path / "sc.yaml"
    f.write_text(base + "style: {}\n")
    assert scene_style(load_format(str(f))).background == "noise"  # defaults: as before
    f.write_text(
        base + "style: {scene: car, frame: 0.1, loose_margins: [[0.2, 0.3], [0.5, 0.6]], "
        "char_height: 0.5, font_weights: [Light]}\n"
    )
    fmt = load_format(str(f))
    scene = scene_style(fmt)
    assert scene.background == "car" and scene.frame == 0.1
    plate = np.full((40, 200, 3), 255, np.uint8)

    def saturation(background: str) -> float:  # how coloured the scene beside the plate is
        spread = []
        for i in range(10):
            rng = np.random.default_rng(i)
            img = place_in_scene(plate, rng, 1.0, 0.0, 1.0, scene.margins, background)
            # margins of 20-30% of the width and 50-60% of the height on each side
            assert 1.4 * 200 <= img.shape[1] <= 1.6 * 200 + 1
            assert 2 * 40 <= img.shape[0] <= 2.2 * 40 + 1
            bg = img[:, :10].reshape(-1, 3).astype(int)
            spread.append((bg.max(axis=1) - bg.min(axis=1)).mean())
        return float(np.mean(spread))

    assert saturation("car") < 40 < 60 < saturation("noise")  # mostly grey paint, not a rainbow
    framed = add_frame(plate, np.random.default_rng(0), 0.1)
    assert framed.shape[0] > 40 and framed[0, 0].max() < 80 and framed[20, 100].min() == 255

    def ink(style: str) -> float:
        f.write_text(base + "style: {" + style + "}\n")
        rng = np.random.default_rng(0)
        clean = render_plate(load_format(str(f)), "01A123BC", rng)
        return float((clean.min(axis=2) < 128).mean())

    assert ink("char_height: 0.5, font_weights: [Light]") < 0.7 * ink("")
    for bad in ("scene: city", "loose_margins: [0.1, 0.2]", "loose_margins: [[0.3, 0.1], [0, 1]]"):
        f.write_text(base + "style: {" + bad + "}\n")
        with pytest.raises(FormatError, match="scene|loose_margins"):
            load_format(str(f))  # checked when the format loads, before any rendering
    f.write_text(base + "style: {frame: 2}\n")
    with pytest.raises(FormatError, match="frame"):
        load_format(str(f))
    f.write_text(base + "style: {char_height: 1.5}\n")
    with pytest.raises(FormatError, match="char_height"):
        load_format(str(f))
    f.write_text(base + "style: {font_weights: [Heavy]}\n")
    with pytest.raises(FormatError, match="Heavy.*SemiBold"):
        render_plate(load_format(str(f)), "01A123BC", np.random.default_rng(0))


def test_font_families_style_key(tmp_path: Path) -> None:
    from plateread.formats import FormatError
    from plateread.styles import scene_style

    base = "name: ff\nalphabet: 0-9A-Z\nclasses: {D: 0-9, L: A-Z}\ntemplates: [DDLDDDLL]\n"
    f = tmp_path / "ff.yaml"

    def draw(style: str) -> np.ndarray:
        f.write_text(base + "style: {" + style + "}\n")
        return render_plate(load_format(str(f)), "01A696BC", np.random.default_rng(0))

    default = draw("")
    assert np.array_equal(default, draw("font_families: [Barlow Condensed]"))
    assert not np.array_equal(default, draw("font_families: Saira Condensed"))
    f.write_text(base + "style: {font_families: [Barlow, Saira Condensed]}\n")
    fmt = load_format(str(f))
    assert scene_style(fmt).font_families == ("Barlow", "Saira Condensed")
    # a name that is not text fails when the format loads, an unknown family when drawn
    for bad, match in (("[3]", "style font_families"), ("[Comic Sans]", "family 'Comic Sans'")):
        with pytest.raises(FormatError, match=match):
            draw("font_families: " + bad)


def test_real_crops_are_turned_far_as_often_as_real_turns_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import plateread.synth.augment as augment

    angles: list[float] = []
    turn = augment.turned_view

    def spy(image: np.ndarray, degrees: float) -> np.ndarray:
        angles.append(degrees)
        return turn(image, degrees)

    monkeypatch.setattr(augment, "turned_view", spy)
    crop = np.full((40, 170, 3), 200, np.uint8)
    for i in range(40):
        augment.augment_real(crop, np.random.default_rng(i))  # the default: never
    assert angles == []
    for i in range(40):
        augment.augment_real(crop, np.random.default_rng(i), turns=1.0)
    low, high = augment.TURN_DEGREES
    assert len(angles) == 40 and all(low <= abs(a) <= high for a in angles)
    assert min(angles) < 0 < max(angles)  # either way
    for i in range(400):
        augment.augment_real(crop, np.random.default_rng(1000 + i), turns=0.25)
    assert 60 <= len(angles) - 40 <= 140  # about a quarter


def test_augmentation_stays_offline() -> None:
    """albumentations asks PyPI for updates on import unless told not to; we never let it."""
    code = """
import socket, warnings
def refuse(*args, **kwargs):
    raise OSError("network refused by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    from plateread.synth.augment import camera
    camera()
tried = [str(w.message) for w in seen if "version info" in str(w.message)]
assert not tried, tried
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-1500:]
