from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from plateread.formats import (
    BUILTIN,
    CN,
    GENERIC,
    RU,
    RU_ALL,
    STYLE_KEYS,
    FormatError,
    PlateFormat,
    compute_mask,
    load_format,
)
from plateread.labels import filter_labels


def test_ru_alphabet_and_templates() -> None:
    assert RU.alphabet == "0123456789ABEKMHOPCTYX"
    assert RU.num_classes == 23
    assert RU.is_valid("A123BC77") and RU.is_valid("E506EC152")
    assert not RU.is_valid("A123BC7") and not RU.is_valid("A123GG99") and not RU.is_valid("")
    assert RU.match_template("E506EC152") == "LDDDLLDDD"


def test_ru_all_takes_the_other_one_row_types() -> None:
    assert load_format("ru_all") is RU_ALL and RU_ALL.alphabet == RU.alphabet
    for text in (
        "A123BC77",
        "E506EC152",
        "AB12377",
        "AB123777",
        "AB1234177",
        "A123477",
        "1234AB77",
    ):
        assert RU_ALL.is_valid(text) and RU_ALL.match_template(text), text
    assert (
        not RU.is_valid("AB12377") and not RU_ALL.is_valid("AB12") and not RU_ALL.is_valid("1234AB")
    )


def test_cn_format() -> None:
    assert len(CN.classes["P"]) == 31
    assert "I" not in CN.alphabet and "O" not in CN.alphabet
    assert CN.is_valid("皖A12345") and CN.is_valid("京AD12345")
    assert not CN.is_valid("A皖12345") and not CN.is_valid("皖A1234O")


def test_normalize_cyrillic_case_and_separators() -> None:
    assert RU.normalize("а 123 вс-77") == "A123BC77"
    assert RU.normalize("Х 777 ХХ 199") == "X777XX199"
    assert CN.normalize("皖A·12345") == "皖A12345"
    assert GENERIC.normalize("ab-12 ３") == "AB123"


def test_course_mask_and_alphabet_check() -> None:
    assert compute_mask("E506EC152") == "LDDDLLDDD"
    assert compute_mask("E123KX99") == "LDDDLLDD"
    assert compute_mask("P@@@KA@@") is None
    assert RU.in_alphabet("E506EC152") is True
    assert RU.in_alphabet("A123GG999") is False


def test_filter_reports_why() -> None:
    kept, report = filter_labels(["A123BC77", "A123GG77", "A12", "", "B456KM199"], RU)
    assert kept == ["A123BC77", "B456KM199"]
    assert report.total == 5 and report.kept == 2
    assert report.dropped == {
        "characters outside the alphabet": 1,
        "matches no template": 1,
        "empty label": 1,
    }
    assert "A123GG77" in str(report)
    loose, report = filter_labels(["A12", "A123BC77", "Ж1"], RU, require_template=False)
    assert loose == ["A12", "A123BC77"] and report.dropped == {"characters outside the alphabet": 1}
    short = PlateFormat("short", "0123AB", min_length=2, max_length=4)
    kept, report = filter_labels(["A1", "A12301", "AB12", "1"], short)
    assert kept == ["A1", "AB12"] and report.dropped == {"length out of range": 2}


def test_encode_rejects_foreign_characters() -> None:
    assert RU.encode("A1") == [RU.alphabet.index("A") + 1, 2]
    with pytest.raises(FormatError, match="not in"):
        RU.encode("Ж1")


def test_yaml_format_roundtrip(tmp_path: Path) -> None:
    f = tmp_path / "uz.yaml"
    f.write_text(
        "name: uz\nalphabet: 0-9A-Z\nclasses: {D: 0-9, L: A-Z}\n"
        "templates: [DDLDDDLL, DDDDDLLL]\nstyle: {background: [240, 240, 240]}\n"
    )
    fmt = load_format(str(f))
    assert fmt.alphabet == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert fmt.is_valid("01A123BC") and fmt.is_valid("01123ABC") and not fmt.is_valid("0112ABC")
    assert PlateFormat.from_dict(fmt.to_dict()) == fmt
    assert load_format(str(f)) is fmt  # parsed once: synthetic plates load it per image
    f.write_text(f.read_text().replace("name: uz", "name: uzb"))
    assert load_format(str(f)).name == "uzb"  # an edited file is read again


def test_bad_formats_are_clear(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="unknown format"):
        load_format("mars")
    with pytest.raises(FormatError, match="not found"):
        load_format(str(tmp_path / "missing.yaml"))
    with pytest.raises(FormatError, match="unknown"):
        PlateFormat("x", "AB", {"L": "AB"}, ("LQ",))
    with pytest.raises(FormatError, match="quote"):
        load_format({"name": "x", "alphabet": "0-9", "prefixes": [1]})  # YAML's 01 is an int
    with pytest.raises(FormatError, match="prefix"):
        PlateFormat("x", "AB", prefixes=("AC",))
    with pytest.raises(FormatError, match="repeated"):
        PlateFormat("x", "AA")
    with pytest.raises(FormatError, match="format 'x': empty alphabet"):
        PlateFormat("x", "")
    with pytest.raises(FormatError, match="class name 'DD' must be one letter"):
        PlateFormat("x", "0123", {"DD": "0123"})
    with pytest.raises(FormatError, match=r"class D has \['7'\] not in alphabet"):
        PlateFormat("x", "0123", {"D": "0127"})
    with pytest.raises(FormatError, match="needs at least 'name' and 'alphabet'"):
        load_format({"name": "x", "templates": ["DDD"]})


def test_format_file_mistakes_are_named(tmp_path: Path) -> None:
    base = "name: x\nalphabet: 0-9\nclasses: {D: 0-9}\ntemplates: [DDD]\n"
    for i, (extra, message) in enumerate(
        (
            ("clases: {D: 0-9}\n", r"unknown key \['clases'\]"),
            ("style: {tlt: 2}\n", r"unknown style key \['tlt'\]"),
            ("templates: [DDD\n", "not valid YAML"),
            ("templates: [DD]\n", "key 'templates' is given twice"),  # YAML keeps the last
            ("style: {tilt: 1, frame: 2,\n  tilt: 2}\n", "key 'tilt' is given twice"),
        )
    ):
        f = tmp_path / f"bad{i}.yaml"
        f.write_text(base + extra)
        with pytest.raises(FormatError, match=message):
            load_format(str(f))
    (tmp_path / "cp1251.yaml").write_bytes((base + "# номера\n").encode("cp1251"))
    with pytest.raises(FormatError, match="cp1251.yaml: not UTF-8 text"):
        load_format(str(tmp_path / "cp1251.yaml"))
    # every key the package itself writes or documents is known
    for fmt in (load_format("ru_all"), load_format("cn")):
        f = tmp_path / f"{fmt.name}.yaml"
        f.write_text(yaml.safe_dump(fmt.to_dict(), allow_unicode=True))
        assert load_format(str(f)).templates == fmt.templates
    uz = ROOT / "examples" / "uz.yaml"
    assert load_format(str(uz)).prefixes


@pytest.mark.parametrize(
    ("style", "words"),
    [
        ({"background": "red"}, r"style background must be an \[R, G, B\] colour, 0-255"),
        ({"foreground": [300, 0, 0]}, r"style foreground must be an \[R, G, B\] colour"),
        ({"flag": [[0, 0, 0], [1, 2]]}, r"style flag must be an \[R, G, B\] colour"),
        ({"size_mm": [0, 10]}, r"style size_mm must be \[width, height\] in mm"),
        ({"two_row_size_mm": "190x145"}, r"style two_row_size_mm must be \[width, height\]"),
        ({"tilt": "2"}, "style tilt must be a number from 0.0 to 5.0"),
        ({"loose_crops": 1.5}, "style loose_crops must be a number from 0.0 to 1.0"),
        ({"region_chars": 1.5}, "style region_chars must be a whole number"),
        ({"group_gap": float("nan")}, "style group_gap must be a number"),
        ({"tilt": None}, "style tilt must be a number"),  # `tilt:` left empty in YAML
        ({"size_mm": None}, r"style size_mm must be \[width, height\]"),
        ({"region_codes": [["01"]]}, "style region_codes must list codes or map them"),
        ({"region_codes": {1: 696, "10": 428}}, r"quote codes such as '01' in YAML\), .* \[1\]"),
        ({"region_codes": ["1A"]}, "style region_codes must be texts a plate can start with"),
        ({"region_codes": {"01": -1}}, "style region_codes must list codes or map them"),
        ({"region_codes": {"01": 0}}, "weights not all 0"),
        ({"kind": "generic"}, r"style kind must be one of \['ru_civil', 'ru_all', 'cn'\]"),
    ],
)
def test_bad_style_values_are_format_errors_when_the_format_loads(
    style: dict[str, object], words: str
) -> None:
    with pytest.raises(FormatError, match=words):  # not a traceback mid-training
        PlateFormat("x", "0123456789", {"D": "0123456789"}, ("DDD",), style=style)


def test_a_backward_character_range_is_an_error() -> None:
    for key, value in (("alphabet", "Z-A0-9"), ("classes", {"D": "9-0"})):
        d = {"name": "x", "alphabet": "0-9A-Z", "classes": {"D": "0-9"}, key: value}
        with pytest.raises(FormatError, match="format 'x': character range .* runs backwards"):
            PlateFormat.from_dict(d)
    assert PlateFormat.from_dict({"name": "x", "alphabet": "+0-9"}).alphabet == "+0123456789"
    with pytest.raises(FormatError, match=r"range 'Z-A' runs backwards \(write A-Z\)"):
        PlateFormat.from_dict({"name": "x", "alphabet": "Z-A"})


@pytest.mark.parametrize(
    ("alphabet", "words"),
    [
        ("0-9АВЕКМНОРСТУХ", "would hold 'А' as 'A', 'В' as 'B'"),  # written in Cyrillic
        ("0-9a-z", "'a' as 'A'"),
        ("-0-9A-Z", "'-' not at all"),
        ("0-9AB-", "'-' not at all"),  # a dash last is no range
        ("0-9A-Z.", "'.' not at all"),
        ("0-9Ａ", "'Ａ' as 'A'"),  # full-width
    ],
)
def test_an_alphabet_labels_cannot_hold_is_an_error(alphabet: str, words: str) -> None:
    """Every label goes through normalize(): its characters alone can reach the model."""
    with pytest.raises(FormatError, match=re.escape(words)):
        PlateFormat.from_dict({"name": "x", "alphabet": alphabet})
    for fmt in BUILTIN.values():
        assert all(fmt.normalize(c) == c for c in fmt.alphabet), fmt.name
    for length in ("two", float("inf")):  # YAML's .inf: int() raises OverflowError
        with pytest.raises(FormatError, match="min_length and max_length must be whole numbers"):
            PlateFormat.from_dict({"name": "x", "alphabet": "0-9", "max_length": length})


@pytest.mark.parametrize("lengths", [(1e9, 12), (1, 10**12), (0, 8), (9, 8)])
def test_lengths_out_of_order_or_out_of_reach_are_format_errors(lengths: tuple[float, int]) -> None:
    """A format that allowed a billion characters made the constrained decoder list every
    length up to it (and the property test below build such a text): caught when it loads."""
    d = {"name": "x", "alphabet": "0-9", "min_length": lengths[0], "max_length": lengths[1]}
    with pytest.raises(FormatError, match="1 <= min_length <= max_length <= 32"):
        PlateFormat.from_dict(d)


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_config_in_the_repo_loads(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plateread.data.readers import parse_spec
    from plateread.train.config import load_config

    monkeypatch.chdir(ROOT)  # configs name files relative to the repository root
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "data" not in data:  # a format file (the synthetic plates of a config)
        assert load_format(str(path.relative_to(ROOT))).templates
        return
    cfg = load_config(path, {})
    assert load_format(cfg.format).templates
    for spec in [*cfg.data, *cfg.val_data]:
        kind, target, _ = parse_spec(spec)
        if kind == "synth":  # its format: a built-in name or a file in the repository
            assert load_format(target).alphabet == load_format(cfg.format).alphabet, spec


def test_a_format_file_extends_another_format(tmp_path: Path) -> None:
    (tmp_path / "tilted.yaml").write_text("extends: cn\nstyle: {tilt: 2.0}\n", encoding="utf-8")
    tilted = load_format(str(tmp_path / "tilted.yaml"))
    assert tilted.style == {**CN.style, "tilt": 2.0}  # style merged key by key
    assert (tilted.name, tilted.alphabet, tilted.templates) == (CN.name, CN.alphabet, CN.templates)
    # a file relative to the extending one; its own keys replace the base's
    (tmp_path / "short.yaml").write_text(
        "extends: tilted.yaml\nname: cn7\ntemplates: [PLAAAAA]\n", encoding="utf-8"
    )
    short = load_format(str(tmp_path / "short.yaml"))
    assert (short.name, short.templates, short.style["tilt"]) == ("cn7", ("PLAAAAA",), 2.0)
    assert short.alphabet == CN.alphabet


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("extends: self.yaml\n", r"chain loops \(\S*self.yaml -> \S*self.yaml\)"),
        ("extends: other.yaml\n", r"loops \(\S*self.yaml -> \S*other.yaml -> \S*self.yaml\)"),
        ("extends: nowhere.yaml\n", "format file not found"),
        ("extends: xx\n", "unknown format 'xx'"),
        ("extends: cn\nstyle: [tilt]\n", "style must be a mapping"),
    ],
)
def test_a_bad_extends_is_a_format_error(tmp_path: Path, text: str, match: str) -> None:
    (tmp_path / "self.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "other.yaml").write_text("extends: self.yaml\n", encoding="utf-8")
    with pytest.raises(FormatError, match=match):
        load_format(str(tmp_path / "self.yaml"))
    # nothing of the failed load stays behind: the same file, mended, loads
    (tmp_path / "self.yaml").write_text("extends: cn\nname: mended\n", encoding="utf-8")
    assert load_format(str(tmp_path / "self.yaml")).name == "mended"


def test_a_draft_holds_the_labels_alphabet_classes_and_templates(tmp_path: Path) -> None:
    from plateread.formats.draft import compact, draft_format, draft_yaml

    assert compact("0123456789ABCEHK") == "0-9A-CEHK" and compact("AB") == "AB"
    labels = ["01a 123 bc"] * 30 + ["10 123 ABC"] * 10 + ["01Q999ZZ", "!"]
    draft = draft_format(labels, "uz")
    assert draft.templates == [("DDLDDDLL", 31), ("DDDDDLLL", 10)]  # lower case, spaces as read
    assert draft.rare == [("E", 1)] and draft.labels == 42  # "!" (EXCLAMATION MARK): no layout
    assert draft.classes == {"D": "0123456789", "L": "ABCQZ"}  # every digit, seen or not
    assert draft.alphabet == "0123456789ABCQZ"
    path = tmp_path / "uz.yaml"
    path.write_text(draft_yaml(draft), encoding="utf-8")
    fmt = load_format(str(path))  # what it writes loads as that format
    assert fmt.templates == ("DDLDDDLL", "DDDDDLLL") and fmt.alphabet == "0123456789ABCQZ"
    assert fmt.is_valid("01A123BC") and not fmt.is_valid("01A123B")
    assert "#  - E  # 1" in path.read_text(encoding="utf-8")  # left out, shown to the user


def test_a_draft_merges_many_layouts_and_names_other_scripts(tmp_path: Path) -> None:
    from plateread.formats.draft import draft_format, draft_yaml

    # Chinese plates: the last five take letters and digits in any order
    cn = ["皖A12345", "皖AB1234", "苏E1C234", "皖A1234D", "浙AD1F34", "皖AZZ1Q3", "豫B9W876"] * 3
    draft = draft_format(cn, "cn2")
    assert draft.templates == [("CLAAAAA", 21)] and draft.rare == []
    assert set(draft.classes) == {"C", "L", "A"}  # the digits' own class is merged away
    assert (
        draft.classes["C"] == "浙皖苏豫" and draft.classes["A"] == "0123456789" + draft.classes["L"]
    )
    # up to three layouts of one length stay apart; Hangul gets a class of its own
    kr = draft_format(["12가3456", "34나5678", "123다4567"] * 3 + ["12AB3456"], "kr")
    assert kr.templates == [("DDHDDDD", 6), ("DDDHDDDD", 3)] and kr.rare == [("DDLLDDDD", 1)]
    assert kr.scripts["H"] == "HANGUL" and kr.alphabet == "0123456789가나다"  # not A, B
    path = tmp_path / "kr.yaml"
    path.write_text(draft_yaml(kr), encoding="utf-8")
    assert load_format(str(path)).is_valid("99다9999")
    with pytest.raises(ValueError, match="no labels"):
        draft_format(["", " - "], "none")


def test_a_draft_offers_a_leading_run_of_few_values_as_a_region_code(tmp_path: Path) -> None:
    from plateread.formats.draft import draft_format, draft_yaml

    labels = [f"01A{i:03d}BC" for i in range(40)] + [f"10{i:03d}XYZ" for i in range(20)]
    draft = draft_format(labels + ["O1A123BC"], "uz")  # a slip starts no code
    assert draft.codes == [("01", 40), ("10", 20)]  # the shorter leading run of D
    text = draft_yaml(draft)
    path = tmp_path / "uz.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_format(str(path)).prefixes == ()  # offered in comments, not in force
    path.write_text(
        text.replace("# prefixes", "prefixes").replace("  # region_", "  region_"), encoding="utf-8"
    )
    fmt = load_format(str(path))
    assert fmt.prefixes == ("01", "10") and not fmt.is_valid("30A123BC")
    assert fmt.style["region_chars"] == 2 and fmt.style["region_codes"] == {"01": 40, "10": 20}
    # leading digits of every value, too few labels, or templates that start apart: no code
    spread = [f"{i % 100:02d}A123BC" for i in range(200)]
    assert draft_format(spread, "x").codes == [] and draft_format(labels[:49], "x").codes == []
    assert draft_format(labels[:40] + ["A01123BC"] * 20, "x").codes == []


def test_a_draft_offers_trailing_digits_of_few_values_as_a_region_code(tmp_path: Path) -> None:
    from plateread.data.inspect import inspect_data
    from plateread.formats.draft import draft_format, draft_yaml

    labels = [f"{i:03d}ABC02" for i in range(40)] + [f"{i:03d}XY17" for i in range(20)]
    draft = draft_format(labels, "kz")
    assert draft.codes == [] and draft.end_codes == [("02", 40), ("17", 20)]
    text = draft_yaml(draft)
    assert "# prefixes" not in text  # no hint of codes at the start
    path = tmp_path / "kz.yaml"
    path.write_text(text.replace("# suffixes", "suffixes").replace("  # region_", "  region_"))
    fmt = load_format(str(path))
    assert fmt.suffixes == ("02", "17") and not fmt.is_valid("123ABC03")
    assert fmt.style["region_at"] == "end" and fmt.style["region_codes"] == {"02": 40, "17": 20}
    folder = tmp_path / "crops"
    folder.mkdir()
    for name in ("123ABC02", "456XY17", "789XYC02"):
        cv2.imwrite(str(folder / f"{name}.png"), np.full((20, 60, 3), 200, np.uint8))
    info = inspect_data([f"dir:{folder}"], fmt)
    assert info["region_codes"] == {"02": 2, "17": 1}  # counted where the style puts them
    # last letters (Uzbek series) are no code, however few their values
    assert draft_format([f"01A{i:03d}BA" for i in range(60)], "uz").end_codes == []


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("templates: LDDDLLDD", "templates"),
        ("prefixes: '01'", "prefixes"),
        ("suffixes: '77'", "suffixes"),
    ],
)
def test_a_lone_text_where_a_list_belongs_is_an_error(tmp_path: Path, line: str, key: str) -> None:
    # read as characters, '77' would be the suffixes 7 and 7, and LDDDLLDD eight templates
    f = tmp_path / "x.yaml"
    f.write_text(f"name: x\nalphabet: 0-9A-Z\nclasses: {{L: A-Z, D: 0-9}}\n{line}\n")
    with pytest.raises(FormatError, match=rf"{key} must be a list \(\[\.\.\.\]\), got '"):
        load_format(str(f))


@pytest.mark.parametrize("key", ["classes", "style"])
def test_classes_or_style_that_are_no_mapping_are_format_errors(key: str) -> None:
    for value in ("A-Z", ["A-Z"], 5):  # a traceback before
        with pytest.raises(FormatError, match=f"{key} must be a mapping, got "):
            PlateFormat.from_dict({"name": "x", "alphabet": "0-9A-Z", key: value})


_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-3, 300)
    | st.floats(allow_nan=True)
    | st.text(max_size=6)
    | st.sampled_from(["0-9", "A-Z", "0-9A-Z", "9-0", "D", "DDLL", "ru", "-", "京"])
)
_VALUE = st.recursive(
    _LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("DLX"), inner),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {"name": st.text(max_size=4) | _VALUE},
        optional={
            "alphabet": st.sampled_from(["0-9A-Z", "0-9", "AB", ""]) | _VALUE,
            "classes": st.fixed_dictionaries({"D": st.sampled_from(["0-9", "A-Z", "x"])}) | _VALUE,
            "templates": st.lists(st.sampled_from(["DDLL", "DDDD", "XX", ""]), max_size=2) | _VALUE,
            "prefixes": st.lists(st.sampled_from(["01", "A", ""]), max_size=2) | _VALUE,
            "suffixes": _VALUE,
            "min_length": _VALUE,
            "max_length": _VALUE,
            "two_row": _VALUE,
            "style": st.dictionaries(st.sampled_from(sorted(STYLE_KEYS)), _VALUE, max_size=3)
            | _VALUE,
        },
    )
)
@example({"name": "x", "alphabet": "0-9", "max_length": float("inf")})  # was an OverflowError
def test_any_format_mapping_loads_or_is_a_format_error(mapping: dict[str, object]) -> None:
    """Whatever a format file holds, loading it gives a format or a FormatError that names
    the format, never another exception from deep inside."""
    try:
        fmt = load_format(mapping)
    except FormatError as e:
        assert str(e)
        return
    assert fmt.is_valid(fmt.alphabet[:1] * fmt.min_length) in (True, False)
    assert PlateFormat.from_dict(fmt.to_dict()) == fmt


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=14))
@example("W\x08\x03\x9aÄ¯")  # NFKC makes "¯" a space and a combining macron; the space dropped,
# the macron composed with the Ä before it only on a second pass
def test_normalising_twice_changes_nothing(text: str) -> None:
    """Labels and readings are compared once normalised: a second pass must not change them."""
    once = GENERIC.normalize(text)
    assert GENERIC.normalize(once) == once
