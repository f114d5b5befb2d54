"""The ``zip:`` reader: images inside an archive, labelled by a list inside it (a zipped ``json:``
or ``csv:`` folder) or by their names (CCPD names or stems).
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import PurePath

from plateread.data import ccpd
from plateread.data.labelfiles import csv_entries, json_entries
from plateread.data.readers import (
    IMAGE_SUFFIXES,
    DataSpecError,
    ReadResult,
    Sample,
    _ccpd_geometry,
    _label_from_stem,
    _rows,
    hidden,
)
from plateread.data.sources import ZipImage, fix_zip_name


def read_zip(path: str, opts: dict[str, str]) -> ReadResult:
    """Read a ``zip:`` spec (see :mod:`plateread.data.readers`)."""
    rectify = opts.get("rectify", "0") not in ("0", "", "false")
    encoding = opts.get("encoding") or None
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataSpecError(f"{path}: not a readable zip archive ({e})") from None
    with zf:
        members: dict[str, str] = {}  # decoded name -> the raw name stored in the archive
        for info in zf.infolist():
            try:
                name = fix_zip_name(info, encoding)
            except ValueError as e:
                raise DataSpecError(f"{path}: {e}") from None
            # macOS's __MACOSX/._NAME.jpg beside each picture
            if not info.is_dir() and not hidden(PurePath(name)):
                members[name] = info.filename
        lists = [n for n in members if PurePath(n).name == "config.json" or _is_csv(n)]
        if len(lists) > 1:  # member names would be a guess at best
            raise DataSpecError(
                f"{path}: holds {len(lists)} label lists ({', '.join(lists[:4])}): unzip it and "
                "give each as json:FILE or csv:FILE"
            )
        if lists:  # a zipped json: or csv: folder: its list holds the labels
            return _zip_listed(path, lists[0], zf.read(members[lists[0]]), members)
    res = ReadResult()
    for name, raw in members.items():
        if PurePath(name).suffix.lower() not in IMAGE_SUFFIXES:
            continue
        base = PurePath(name).name
        sid = f"{path}:{name}"
        if base.count("-") == 6:
            try:
                label = ccpd.parse_name(base)
            except ccpd.CCPDNameError as e:
                res.problems.append(f"{sid}: {e}")
                continue
            box, corners = _ccpd_geometry(label, rectify)
            res.samples.append(Sample(sid, label.text, ZipImage(path, raw, box, corners)))
        else:
            label_text = _label_from_stem(base, opts.get("sep", "_"))
            res.samples.append(Sample(sid, label_text, ZipImage(path, raw)))
    return res


def _is_csv(name: str) -> bool:
    return name.lower().endswith(".csv")


def _zip_listed(path: str, listing: str, data: bytes, members: dict[str, str]) -> ReadResult:
    """The images a zipped ``config.json`` or CSV lists, found relative to its folder."""
    where = f"{path}:{listing}"
    problems: list[str] = []
    if _is_csv(listing):
        entries = csv_entries(data, where)
    else:
        entries, problems = json_entries(data, where)
    res = ReadResult(problems=problems)
    folder = posixpath.dirname(listing)
    for entry in entries:
        rows = _rows(entry, f"{path}:{entry.file}", res)
        if rows is None:
            continue
        names = (posixpath.normpath(posixpath.join(folder, place)) for place in entry.places())
        found = next((n for n in names if n in members), None)
        if found is None:
            res.problems.append(f"{path}:{entry.file}: not in the archive")
        else:
            image = ZipImage(path, members[found])
            res.samples.append(Sample(f"{path}:{found}", entry.text, image, rows))
    return res
