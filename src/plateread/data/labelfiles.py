"""Label lists: the course's ``config.json`` and CSV files, parsed from their text (no images).

The ``json:`` and ``csv:`` readers find the listed files on disk; the ``zip:`` reader inside the
archive, for a zipped data folder.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from typing import Any

# names a CSV's header (or a JSON entry) may use, the first found taken (fast-plate-ocr's last)
FILE_KEYS = ("file", "filename", "image", "path", "image_path")
TEXT_KEYS = ("text", "label", "plate", "plate_text")


class LabelFileError(ValueError):
    """A label list cannot be used at all (not UTF-8, not JSON, a CSV without the columns)."""


@dataclass(frozen=True)
class Entry:
    """One listed image: its file as written in the list, its label and its ``rows`` value."""

    file: str
    text: str
    rows: Any = None

    def places(self) -> list[str]:
        """Where the image may be, relative to the list's folder, in the order to look: the file
        as written (and with Windows separators turned to ``/``), then the same in ``images/``.
        """
        names = [self.file, self.file.replace("\\", "/")] if "\\" in self.file else [self.file]
        return names + [f"images/{n}" for n in names]


def _text(data: bytes, where: str) -> str:
    try:  # utf-8-sig: spreadsheets and Windows tools often start the file with a byte-order mark
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabelFileError(f"{where}: not UTF-8 text (save it as UTF-8)") from None


def json_entries(data: bytes, where: str) -> tuple[list[Entry], list[str]]:
    """Entries of a ``config.json``: a list of ``{"file", "text"}`` objects (or the other key
    names of :data:`FILE_KEYS` and :data:`TEXT_KEYS`), or one ``{"FILE": "TEXT"}`` object.

    Returns:
        The usable entries and a problem line for each entry that is not.

    Raises:
        LabelFileError: not UTF-8, not JSON, or neither a list nor an object.
    """
    try:
        items = json.loads(_text(data, where))
    except json.JSONDecodeError as e:
        raise LabelFileError(f"{where}: cannot read the config ({e})") from None
    if isinstance(items, dict):  # {"file": "text", ...}, as many labelling tools write
        items = [{"file": f, "text": t} for f, t in items.items()]
    if not isinstance(items, list):
        raise LabelFileError(f"{where}: expected a list of {{'file', 'text'}} objects")
    entries, problems = [], []
    for i, it in enumerate(items):
        entry = {k.strip().lower(): v for k, v in it.items()} if isinstance(it, dict) else {}
        file = next((entry[c] for c in FILE_KEYS if c in entry), None)
        text = next((entry[c] for c in TEXT_KEYS if c in entry), None)
        if file is None or text is None:
            problems.append(f"{where}: entry {i} lacks 'file' or 'text' (or has them null)")
        elif not isinstance(file, str) or isinstance(text, (bool, list, dict)):
            problems.append(f"{where}: entry {i}: expected a file name and a text, got {it}")
        else:
            entries.append(Entry(file, str(text), entry.get("rows")))
    return entries, problems


def csv_entries(data: bytes, where: str) -> list[Entry]:
    """Rows of a CSV with a header naming its file and label columns (any of :data:`FILE_KEYS`
    and :data:`TEXT_KEYS`, any case), separated by commas, semicolons or tabs.

    Raises:
        LabelFileError: not UTF-8, or no such columns.
    """
    lines = _text(data, where).splitlines()
    # commas, or the semicolons and tabs that spreadsheets write in many locales
    delimiter = max(",;\t", key=lambda d: lines[0].count(d)) if lines else ","
    reader = csv.reader(lines, delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    file_col = next((c for c in FILE_KEYS if c in header), None)
    text_col = next((c for c in TEXT_KEYS if c in header), None)
    if file_col is None or text_col is None:
        raise LabelFileError(
            f"{where}: a CSV needs a header naming its image column ({', '.join(FILE_KEYS)}) "
            f"and its label column ({', '.join(TEXT_KEYS)}); found {header}"
        )
    entries = []
    for cells in reader:
        row = dict(zip(header, cells))
        entries.append(Entry(row.get(file_col, ""), row.get(text_col, ""), row.get("rows")))
    return entries
