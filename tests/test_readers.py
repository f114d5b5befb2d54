from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import plate_like, shared, write_png
from plateread.data import DataSpecError, load_dataset, read_spec, split_by_text
from plateread.data.ccpd import make_name, parse_name
from plateread.data.sources import fix_zip_name
from plateread.formats import CN, RU
from plateread.imaging import ImageError, decode_image, read_image


def test_json_reader_normalises_and_reports(json_dataset: Path) -> None:
    ds = load_dataset(f"json:{json_dataset}", RU)
    assert [s.text for s in ds.samples] == ["A123BC77", "X999XX199"]
    assert ds.report.dropped["characters outside the alphabet"] == 1
    assert ds.report.dropped["empty label"] == 1
    assert ds.samples[0].load().shape == (40, 160, 3)


def test_json_reader_missing_file_is_a_problem_not_a_crash(json_dataset: Path) -> None:
    (json_dataset / "images" / "0.png").unlink()
    res = read_spec(f"json:{json_dataset / 'config.json'}")
    assert len(res.samples) == 4
    assert any("not found" in p for p in res.problems)


def test_json_takes_a_mapping_other_key_names_and_refuses_non_text(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png", plate_like())
    (tmp_path / "map.json").write_text('{"a.png": "01A123BC"}')
    (tmp_path / "names.json").write_text('[{"Image_Path": "a.png", "plate_text": "01A123BC"}]')
    for name in ("map.json", "names.json"):
        res = read_spec(f"json:{tmp_path / name}")
        assert [s.text for s in res.samples] == ["01A123BC"] and not res.problems, name
    # null became the label "None", a list its repr; a number is a text of digits
    (tmp_path / "odd.json").write_text(
        '[{"file": "a.png", "text": null}, {"file": "a.png", "text": ["A"]},'
        ' {"file": null, "text": "A"}, {"file": "a.png", "text": 1234}]'
    )
    res = read_spec(f"json:{tmp_path / 'odd.json'}")
    assert [s.text for s in res.samples] == ["1234"]
    assert len(res.problems) == 3 and "entry 0 lacks 'file' or 'text'" in res.problems[0]
    assert "entry 1: expected a file name and a text" in res.problems[1]


def test_csv_reader(tmp_path: Path) -> None:
    write_png(tmp_path / "images" / "a.png", plate_like())
    (tmp_path / "labels.csv").write_text("file,text\nimages/a.png,01A123BC\nimages/b.png,X\n")
    res = read_spec(f"csv:{tmp_path / 'labels.csv'}")
    assert [s.text for s in res.samples] == ["01A123BC"]
    assert len(res.problems) == 1
    (tmp_path / "bad.csv").write_text("name,label\n")
    with pytest.raises(DataSpecError, match=r"header naming its image column \(file, filename"):
        read_spec(f"csv:{tmp_path / 'bad.csv'}")


def test_csv_and_json_as_spreadsheets_and_windows_tools_save_them(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png", plate_like())
    variants = {  # a byte-order mark, semicolons or tabs, capitalised headers, CRLF line ends
        "bom.csv": b"\xef\xbb\xbffile,text\r\na.png,01A123BC\r\n",
        "semicolon.csv": b"file;text\na.png;01A123BC\n",
        "tab.csv": b"text\tfile\n01A123BC\ta.png\n",
        "caps.csv": b"File, Text\na.png,01A123BC\n",
        "fast-plate-ocr.csv": b"image_path,plate_text\na.png,01A123BC\n",  # its column names
        "other_names.csv": b"filename,label\na.png,01A123BC\n",
    }
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
        res = read_spec(f"csv:{tmp_path / name}")
        assert [s.text for s in res.samples] == ["01A123BC"] and not res.problems, name
    # paths written on Windows: images\\a.png
    write_png(tmp_path / "images" / "b.png", plate_like())
    (tmp_path / "windows.csv").write_text("file,text\nimages\\b.png,01A123BC\n")
    (tmp_path / "windows.json").write_text('[{"file": "images\\\\b.png", "text": "01A123BC"}]')
    for name in ("windows.csv", "windows.json"):
        res = read_spec(f"{name.split('.')[1]}:{tmp_path / name}")
        assert [s.id for s in res.samples] == [str(tmp_path / "images" / "b.png")], res.problems
    (tmp_path / "bom.json").write_bytes(b'\xef\xbb\xbf[{"file": "a.png", "text": "01A123BC"}]')
    assert len(read_spec(f"json:{tmp_path / 'bom.json'}").samples) == 1
    # a Russian spreadsheet's default encoding: a clear error naming the file
    (tmp_path / "cp1251.csv").write_bytes("file,text\na.png,А123ВС77\n".encode("cp1251"))
    (tmp_path / "cp1251.json").write_bytes('[{"file": "a.png", "text": "А"}]'.encode("cp1251"))
    for name in ("cp1251.csv", "cp1251.json"):
        with pytest.raises(DataSpecError, match=f"{name}: not UTF-8 text"):
            read_spec(f"{name.split('.')[1]}:{tmp_path / name}")


def test_dir_reader_uses_file_stem(tmp_path: Path) -> None:
    write_png(tmp_path / "皖A12345.jpg", plate_like())
    write_png(tmp_path / "苏E7R5Y0_2.png", plate_like())
    (tmp_path / "notes.txt").write_text("ignored")
    ds = load_dataset(f"dir:{tmp_path}", CN)
    assert sorted(s.text for s in ds.samples) == ["皖A12345", "苏E7R5Y0"]
    assert ds.samples[0].load().ndim == 3


def test_dir_and_zip_labels_end_at_the_separators_sep_names(tmp_path: Path) -> None:
    """``-1`` or `` (2)`` after a copy's name is not part of its plate: ``?sep=`` says where a
    name's label ends (``_`` by default; empty keeps the whole stem).
    """
    root = tmp_path / "crops"
    for name in ("A123BC77-1.png", "B456EK99 (2).png", "C789OP116_x.png"):
        write_png(root / name, plate_like())
    archive = tmp_path / "crops.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in root.iterdir():
            zf.write(p, p.name)
    for spec in (f"dir:{root}", f"zip:{archive}"):
        texts = sorted(s.text for s in read_spec(f"{spec}?sep=_- ").samples)
        assert texts == ["A123BC77", "B456EK99", "C789OP116"], spec
        assert sorted(s.text for s in read_spec(spec).samples)[0] == "A123BC77-1"
        assert sorted(s.text for s in read_spec(f"{spec}?sep=").samples)[-1] == "C789OP116_x"


def test_data_names_labels_that_took_in_a_copy_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``A123BC77-1.png`` reads as ``A123BC771``, a valid plate: ``plateread data`` says so (and
    how to cut it), but not of ``K001MM-77.png``, whose name without ``-77`` is no plate.
    """
    from plateread.cli import main

    for name in ("A123BC77-1.png", "E222KK777 3.png", "K001MM-77.png", "M555MM55.png"):
        write_png(tmp_path / name, plate_like())
    assert main(["data", f"dir:{tmp_path}", "--format", "ru"]) == 0
    out = capsys.readouterr().out
    assert "2 labels take in what may be a copy number" in out
    assert "(A123BC77-1.png labelled A123BC771, not A123BC77)" in out
    assert main(["data", f"dir:{tmp_path}?sep=_- ", "--format", "ru", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["copy_numbers"] == {"count": 0, "examples": []}


def _ccpd_image(tmp_path: Path, text: str) -> tuple[Path, np.ndarray]:
    """A 200x300 scene with a bright plate at a known box; named the CCPD way."""
    scene = np.zeros((200, 300, 3), np.uint8)
    scene[80:120, 100:220] = 255
    corners = np.array([[100, 80], [219, 80], [219, 119], [100, 119]])
    name = make_name(text, (100, 80, 220, 120), corners)
    path = tmp_path / name
    write_png(path, scene)
    return path, scene


# a CCPD file name: area, tilt, box, corners, plate indices, brightness, blur
CCPD_NAME = (
    "025-95_113-154&383_386&473-386&473_177&454_154&383_363&402-0_0_22_27_27_33_16-37-15.jpg"
)


def test_ccpd_name_roundtrip() -> None:
    label = parse_name(CCPD_NAME)
    assert label.text == "皖AY339S"
    assert label.box == (154, 383, 386, 473)
    assert label.corners[0].tolist() == [154, 383]  # top-left first after reordering
    green = parse_name(CCPD_NAME.replace("0_0_22_27_27_33_16", "0_0_3_24_30_32_28_26"))
    assert green.text == "皖AD06842"
    # CCPD's own order of provinces and letters (皖 and A are both index 0)
    assert parse_name(CCPD_NAME.replace("0_0_22", "2_5_22")).text == "津FY339S"


def test_ccpd_reader_crops_by_box_and_rectifies(tmp_path: Path) -> None:
    _ccpd_image(tmp_path, "皖A12345")
    write_png(tmp_path / "not-a-ccpd-name.jpg", plate_like())
    res = read_spec(f"ccpd:{tmp_path}")
    assert [s.text for s in res.samples] == ["皖A12345"]
    assert len(res.problems) == 1
    crop = res.samples[0].load()
    assert crop.shape == (40, 120, 3) and crop.min() == 255
    rect = read_spec(f"ccpd:{tmp_path}?rectify=1").samples[0].load()
    assert rect.shape == (40, 120, 3) and rect.mean() > 240


def test_a_box_is_clipped_to_the_image_and_one_outside_it_is_an_error(tmp_path: Path) -> None:
    from plateread.data.sources import FileImage

    img = plate_like(40, 100)
    write_png(tmp_path / "a.png", img)
    path = str(tmp_path / "a.png")
    assert (FileImage(path, (90, 10, 120, 30)).load() == img[10:30, 90:]).all()  # clipped
    assert FileImage(path, (-5, -5, 2, 2)).load().shape == (2, 2, 3)  # two pixels still a crop
    for box in ((100, 0, 140, 40), (0, 39, 100, 60), (50, 10, 50, 30)):
        with pytest.raises(ImageError, match="lies outside the 100x40 image"):
            FileImage(path, box).load()
    # corners: rectified to the box's size, at least 8x16
    corners = ((10.0, 10.0), (14.0, 10.0), (14.0, 14.0), (10.0, 14.0))
    assert FileImage(path, (10, 10, 14, 14), corners).load().shape == (8, 16, 3)


def _clear_utf8_flags(path: Path) -> None:
    """Rewrite a zip as old Windows tools do: UTF-8 names without the UTF-8 flag."""
    data = bytearray(path.read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = data.find(sig)
        while i != -1:
            (flags,) = struct.unpack_from("<H", data, i + off)
            struct.pack_into("<H", data, i + off, flags & ~0x800)
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))


def test_macos_and_notebook_leftovers_are_passed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Mac writes ._NAME.jpg (not an image) beside every picture on a foreign disk and into
    the zips it makes; Jupyter copies files into .ipynb_checkpoints. Each counted as a plate."""
    from plateread.cli import main

    root = tmp_path / "plates"
    write_png(root / "A123BC77.png", plate_like())
    (root / "._A123BC77.png").write_bytes(b"\0\5\26\7 AppleDouble")
    write_png(root / ".ipynb_checkpoints" / "B456CE99.png", plate_like())
    archive = tmp_path / "plates.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(root / "A123BC77.png", "plates/A123BC77.png")
        zf.writestr("__MACOSX/plates/._A123BC77.png", b"\0\5\26\7 AppleDouble")
    for spec in (f"dir:{root}", f"zip:{archive}"):
        res = read_spec(spec)
        assert [s.text for s in res.samples] == ["A123BC77"] and not res.problems, spec
    assert main(["read", "--model", "ru", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "A123BC77.png" in out
    hidden_root = tmp_path / ".cache" / "plates"  # a hidden folder named as the root is read
    write_png(hidden_root / "A123BC77.png", plate_like())
    assert len(read_spec(f"dir:{hidden_root}").samples) == 1


def test_zip_of_a_json_or_csv_folder_takes_labels_from_its_list(tmp_path: Path) -> None:
    """A zipped course folder was read as a folder of images named 0.png, 1.png...: labels '0',
    '1' (kept by eval, which scores plates of any length)."""
    png = cv2.imencode(".png", plate_like())[1].tobytes()
    course = tmp_path / "course.zip"
    with zipfile.ZipFile(course, "w") as zf:
        zf.writestr("ru_data/config.json", '[{"file": "0.png", "text": "A123BC77"},'
                    ' {"file": "images\\\\1.png", "text": "B456CE99", "rows": 1},'
                    ' {"file": "2.png", "text": "K777KK199"}]')  # fmt: skip
        zf.writestr("ru_data/images/0.png", png)
        zf.writestr("ru_data/images/1.png", png)
        zf.writestr("__MACOSX/ru_data/._config.json", b"AppleDouble")
    res = read_spec(f"zip:{course}")
    assert [s.text for s in res.samples] == ["A123BC77", "B456CE99"]
    assert res.samples[0].id == f"{course}:ru_data/images/0.png"
    assert res.problems == [f"{course}:2.png: not in the archive"]
    assert res.samples[1].load().shape == (40, 160, 3)
    table = tmp_path / "table.zip"
    with zipfile.ZipFile(table, "w") as zf:
        zf.writestr("labels.csv", "image_path,plate_text\ncrops/a.png,01A123BC\n")
        zf.writestr("crops/a.png", png)
    assert [s.text for s in read_spec(f"zip:{table}").samples] == ["01A123BC"]
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("labels.csv", "name;number\n")
    with pytest.raises(DataSpecError, match=r"bad.zip:labels.csv: a CSV needs a header"):
        read_spec(f"zip:{bad}")
    with zipfile.ZipFile(table, "a") as zf:
        zf.writestr("VAL.CSV", "file,text\ncrops/a.png,01A123BC\n")
    with pytest.raises(DataSpecError, match=r"holds 2 label lists \(labels.csv, VAL.CSV\)"):
        read_spec(f"zip:{table}")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataSpecError, match="cannot read the CSV"):
        read_spec(f"csv:{tmp_path / 'folder.csv'}")


def test_zip_reader_repairs_cp437_mangled_names(tmp_path: Path) -> None:
    png = cv2.imencode(".png", plate_like())[1].tobytes()
    ccpd_src, _ = _ccpd_image(tmp_path / "src", "沪B88888")
    archive = tmp_path / "crops.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train/皖A12345.jpg", png)
        zf.writestr("train/京N5X6Y7_1.jpg", png)
        zf.writestr(f"ccpd/{ccpd_src.name}", ccpd_src.read_bytes())
        zf.writestr("readme.txt", "x")
    _clear_utf8_flags(archive)
    with zipfile.ZipFile(archive) as zf:
        raw = [i.filename for i in zf.infolist()]
        assert not any("皖" in n for n in raw)  # really mangled
        assert any(fix_zip_name(i) == "train/皖A12345.jpg" for i in zf.infolist())
    ds = load_dataset(f"zip:{archive}", CN)
    assert sorted(s.text for s in ds.samples) == ["京N5X6Y7", "沪B88888", "皖A12345"]
    crops = {s.text: s.load() for s in ds.samples}
    assert crops["沪B88888"].shape == (40, 120, 3)
    assert crops["皖A12345"].shape == (40, 160, 3)


def _zip_with_raw_names(path: Path, names: dict[str, bytes], payload: bytes) -> None:
    """A zip whose member names are the given bytes without the UTF-8 flag, as Windows' own zip
    tool writes them in the system code page (GBK on Chinese Windows)."""
    placeholders = {bytes([ord("Q") + i]) * len(raw): raw for i, raw in enumerate(names.values())}
    with zipfile.ZipFile(path, "w") as zf:
        for ph in placeholders:
            zf.writestr(ph.decode(), payload)
    data = path.read_bytes()
    for ph, raw in placeholders.items():
        assert data.count(ph) == 2  # the local header and the central directory
        data = data.replace(ph, raw)
    path.write_bytes(data)


def test_zip_reader_decodes_gbk_names_and_takes_an_encoding(tmp_path: Path) -> None:
    png = cv2.imencode(".png", plate_like())[1].tobytes()
    names = {t: t.encode("gbk") for t in ("皖A12345.jpg", "臺北/京N5X6Y7_1.jpg", "Mü_2.png")}
    archive = tmp_path / "gbk.zip"
    _zip_with_raw_names(archive, names, png)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        assert not any("皖" in i.filename for i in infos)  # really mangled
        guessed = [fix_zip_name(i) for i in infos]
        assert guessed[:2] == ["皖A12345.jpg", "臺北/京N5X6Y7_1.jpg"]  # 臺: GBK, not GB2312
        assert guessed[2] == infos[2].filename  # GBK gives no Chinese: the stored reading stands
        assert [fix_zip_name(i, "gbk") for i in infos] == list(names)
    ds = load_dataset(f"zip:{archive}", CN)
    assert sorted(s.text for s in ds.samples) == ["京N5X6Y7", "皖A12345"]
    assert ds.samples[0].load().shape == (40, 160, 3)
    # a name stored in cp437 stays as it is when the archive says so
    ascii_like = tmp_path / "cp437.zip"
    _zip_with_raw_names(ascii_like, {"Mü": "Mü_3.png".encode("cp437")}, png)
    with zipfile.ZipFile(ascii_like) as zf:
        (info,) = zf.infolist()
        assert fix_zip_name(info, "cp437") == "Mü_3.png"
        # and unguided: its bytes M 0x81 _ read as GBK give M乢3.png, no common Chinese character
        assert fix_zip_name(info) == "Mü_3.png"
    with pytest.raises(DataSpecError, match="unknown encoding"):
        read_spec(f"zip:{archive}?encoding=nope")
    with pytest.raises(DataSpecError, match="is not utf-8"):
        read_spec(f"zip:{archive}?encoding=utf-8")


def test_bad_specs_and_bad_images(tmp_path: Path) -> None:
    with pytest.raises(DataSpecError, match="KIND:PATH"):
        read_spec("foo:bar")
    with pytest.raises(DataSpecError, match="does not exist"):
        read_spec(f"json:{tmp_path / 'nope'}")
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(DataSpecError, match="zip"):
        read_spec(f"zip:{tmp_path / 'bad.zip'}")
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")
    with pytest.raises(ImageError, match="not a readable image"):
        decode_image(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ImageError, match="cannot read"):  # a folder where a file belongs
        read_image(tmp_path)
    for text, words in (("[{", "cannot read the config"), ('"A123BC77"', "expected a list")):
        (tmp_path / "config.json").write_text(text)
        with pytest.raises(DataSpecError, match=words):
            read_spec(f"json:{tmp_path}")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        (4, "0_0_22_27_27_33", "expected 7 or 8 plate indices, got 6"),
        (4, "0_0_22_27_27_33_99", "plate index out of range"),
        (4, "0_0_22_x_27_33_16", "malformed CCPD fields"),
        (2, "154&383", "malformed CCPD fields"),
        (3, "386&473_177&454_154&383", "expected 4 corners, got 3"),
    ],
)
def test_a_bad_ccpd_name_is_named(field: int, value: str, words: str) -> None:
    bad = CCPD_NAME.split("-")
    bad[field] = value
    with pytest.raises(ValueError, match=words):
        parse_name("-".join(bad))


def test_zip_names_in_a_named_encoding() -> None:
    info = zipfile.ZipInfo("plate.jpg")
    info.filename = "皖A12345.jpg".encode("gbk").decode("cp437")  # as zipfile reads it
    assert fix_zip_name(info, "gbk") == "皖A12345.jpg"
    with pytest.raises(ValueError, match="unknown encoding 'klingon'"):
        fix_zip_name(info, "klingon")
    with pytest.raises(ValueError, match="its name is not utf-8"):
        fix_zip_name(info, "utf-8")
    info.flag_bits |= 0x800  # flagged UTF-8: zipfile already read it right
    assert fix_zip_name(info, "gbk") == info.filename
    info.filename = "皖A12345.jpg"  # read through another metadata_encoding than cp437
    info.flag_bits = 0
    assert fix_zip_name(info) == fix_zip_name(info, "gbk") == "皖A12345.jpg"


def test_a_zip_member_that_cannot_be_read_is_an_image_error(tmp_path: Path) -> None:
    from plateread.data.sources import ZipImage

    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zf:
        zf.writestr("A123BC77.png", b"x")
    with pytest.raises(ImageError, match="a.zip:B456KM99.png: cannot read"):
        ZipImage(str(tmp_path / "a.zip"), "B456KM99.png").load()


def test_split_by_text_is_deterministic_and_keeps_plates_together() -> None:
    ds = load_dataset("synth:ru?n=200&seed=1", RU)
    samples = ds.samples + ds.samples[:20]  # duplicate plates
    tr1, va1 = split_by_text(samples, 0.2, seed=0)
    tr2, va2 = split_by_text(samples, 0.2, seed=0)
    assert [s.id for s in va1] == [s.id for s in va2]
    assert not {s.text for s in tr1} & {s.text for s in va1}
    assert 20 < len(va1) < 70


def test_shared_dev_sets_read() -> None:
    ru = load_dataset(f"json:{shared('ru_dev')}", RU)
    assert len(ru) == 87 and not ru.problems
    cn = load_dataset(f"dir:{shared('cn_dev')}", CN)
    assert len(cn) == 219


def test_repeat_option_oversamples(json_dataset: Path) -> None:
    once = read_spec(f"json:{json_dataset}")
    thrice = read_spec(f"json:{json_dataset}?repeat=3")
    assert len(thrice.samples) == 3 * len(once.samples)
    with pytest.raises(DataSpecError, match="repeat"):
        read_spec(f"json:{json_dataset}?repeat=x")


def test_split_in_the_spec_partitions_by_text() -> None:
    train = read_spec("synth:ru?n=300&seed=4&split=train&holdout=0.3")
    val = read_spec("synth:ru?n=300&seed=4&split=val&holdout=0.3")
    assert len(train.samples) + len(val.samples) == 300
    assert 50 < len(val.samples) < 130
    assert not {s.text for s in train.samples} & {s.text for s in val.samples}
    with pytest.raises(DataSpecError, match="split"):
        read_spec("synth:ru?split=test")


def test_limit_takes_a_fixed_spread_subset() -> None:
    full = read_spec("synth:ru?n=200&seed=4&split=train")
    a = read_spec("synth:ru?n=200&seed=4&split=train&limit=50")
    b = read_spec("synth:ru?n=200&seed=4&split=train&limit=50&repeat=2")
    assert len(a.samples) == 50 and len(b.samples) == 100
    assert [s.id for s in a.samples] == [s.id for s in b.samples[:50]]
    ids = [s.id for s in full.samples]
    assert max(ids.index(s.id) for s in a.samples) > len(ids) // 2  # not just the first files


def test_filter_report_names_distinct_examples() -> None:
    from plateread.labels import filter_labels

    kept, report = filter_labels(["A123BC77", "Ж123BC77"] * 20 + ["Щ1"], RU)
    assert len(kept) == 20
    assert str(report) == (
        "kept 20 of 41; dropped 21 labels: characters outside the alphabet (e.g. 'Ж123BC77', 'Щ1')"
    )


def test_spec_options_are_checked(json_dataset: Path) -> None:
    for query, message in (
        ("split=val&holdot=0.3", r"unknown option holdot \(json takes \['holdout', 'limit'"),
        ("split=val&holdout=2", "holdout in"),
        ("split=train&holdout=0", "holdout in"),
        ("holdout=0.3", "give split=train or split=val with it"),  # read whole, silently
        ("repeat=0", "repeat and limit must be at least 1"),
        ("limit=0", "repeat and limit must be at least 1"),  # not "no limit": say so
        ("limit=-1", "repeat and limit must be at least 1"),
        ("limit=2&split=val&limit=3", "option limit given twice"),  # not the last silently
    ):
        with pytest.raises(DataSpecError, match=message):
            read_spec(f"json:{json_dataset}?{query}")
    with pytest.raises(DataSpecError, match="unknown option rectify"):
        read_spec("synth:ru?n=2&rectify=1")
    for query in ("n=0", "n=-5", "n=2&seed=-1"):  # not "no labelled images" further on
        with pytest.raises(DataSpecError, match="n must be at least 1 and seed at least 0"):
            read_spec(f"synth:ru?{query}")
    assert len(read_spec("synth:ru?n=2&seed=1&augment=0&repeat=2").samples) == 4
