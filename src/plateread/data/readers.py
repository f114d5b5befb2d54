"""Dataset readers chosen by a spec string.

==================  ===============================================================
spec                what it reads
==================  ===============================================================
``json:PATH``       the course layout: ``config.json`` (a list of ``{"file","text"}``, or
                    ``{"FILE": "TEXT"}``) with images beside it or in ``images/``; PATH
                    may be the folder
``csv:PATH``        a ``file,text`` CSV; files relative to the CSV's folder (both take an
                    optional ``rows``: 2 marks a two-row plate)
``dir:PATH``        every image in a folder; the text is the file stem up to a ``_``
                    (``?sep=_-`` cuts at any of those characters; ``?sep=`` keeps it whole)
``ccpd:PATH``       CCPD full images; text and box from the name (``?rectify=1``)
``zip:PATH``        images inside a zip; labels from its one ``config.json`` or CSV,
                    else from member names (CCPD or stem, ``?sep=`` as ``dir:``);
                    names stored without the UTF-8 flag are read as UTF-8 or GBK
                    (``?encoding=NAME`` to say which)
``synth:FMT``       rendered plates: ``synth:ru?n=1000&seed=0``
==================  ===============================================================

Any spec takes ``?split=train|val&holdout=0.2&split_seed=0`` to keep one side of a split by plate
text, ``?limit=N`` to keep a fixed pseudo-random subset of N samples, and ``?repeat=N`` to list its
samples N times (oversampling real data in a mix with
synthetic plates; each copy is augmented differently). Images are decoded lazily: a sample holds a
small picklable image source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from plateread.data import ccpd
from plateread.data.labelfiles import Entry, LabelFileError, csv_entries, json_entries
from plateread.data.sources import FileImage
from plateread.imaging import ImageError, image_problem

# AVIF decodes with OpenCV 5 or Pillow 11.3 and later; with older ones such a file gets a clear
# error rather than being passed over in silence
IMAGE_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif",
    ".avif", ".jp2", ".ppm", ".pgm", ".pnm",
}  # fmt: skip


class DataSpecError(ValueError):
    """A data spec is malformed, names an unknown reader, or points at nothing."""


@dataclass(frozen=True)
class Sample:
    """One labelled plate crop: an id for reports, the label and where its pixels come from.

    ``rows`` is 2 for a plate known to show its text on two rows (synthetic two-row plates, or a
    ``rows`` column or key in the labels): training reads it through the two-row view.
    """

    id: str
    text: str
    image: Any  # an ImageSource; Any keeps dataclass pickling simple
    rows: int = 1

    def load(self) -> np.ndarray:
        """The crop as RGB ``uint8``."""
        return self.image.load()  # type: ignore[no-any-return]


def load_readable(
    samples: Iterable[Sample],
) -> tuple[list[tuple[Sample, np.ndarray]], list[str]]:
    """Load each sample's crop: ``(sample, RGB image)`` for the readable ones, in order, and a
    line naming each unreadable one (what eval, bench and ``data`` leave out and say).
    """
    loaded, problems = [], []
    for s in samples:
        try:
            loaded.append((s, s.load()))
        except ImageError as e:
            problems.append(image_problem(s.id, e))
    return loaded, problems


@dataclass
class ReadResult:
    """Samples read from a spec, plus the problems met on the way (never fatal)."""

    samples: list[Sample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split ``kind:path?k=v&…`` into its parts.

    Raises:
        DataSpecError: no ``kind:`` prefix, an unknown kind, or an option given twice.
    """
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in READERS:
        raise DataSpecError(
            f"bad data spec {spec!r}: expected KIND:PATH with KIND one of {sorted(READERS)}"
        )
    path, _, query = rest.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    twice = sorted({k for k, _ in pairs if sum(k == o for o, _ in pairs) > 1})
    if twice:  # which one counts would be a guess
        raise DataSpecError(f"{spec}: option {', '.join(twice)} given twice")
    return kind, path, dict(pairs)


def read_spec(spec: str) -> ReadResult:
    """Read the samples a spec names (labels raw, not yet normalised or filtered).

    Raises:
        DataSpecError: malformed spec, or its file or folder is missing.
    """
    kind, path, opts = parse_spec(spec)
    if kind != "synth" and not Path(path).exists():
        raise DataSpecError(f"{spec}: {path} does not exist")
    if "holdout" in opts and "split" not in opts:  # the whole set would be read, unsplit
        raise DataSpecError(
            f"{spec}: holdout is the share of plates split=val keeps and split=train leaves "
            "out; give split=train or split=val with it"
        )
    try:
        repeat = int(opts.pop("repeat", "1"))
        limit = int(opts.pop("limit")) if "limit" in opts else None  # None: every sample
        holdout = float(opts.pop("holdout", "0.2"))
        split_seed = int(opts.pop("split_seed", "0"))
    except ValueError:
        raise DataSpecError(
            f"{spec}: repeat, limit, holdout and split_seed must be numbers"
        ) from None
    split = opts.pop("split", "")
    if split not in ("", "train", "val"):
        raise DataSpecError(f"{spec}: split must be train or val")
    unknown = sorted(set(opts) - READER_OPTIONS[kind])
    if unknown:  # a misspelt option would otherwise be ignored, e.g. the holdout of a split
        allowed = sorted(READER_OPTIONS[kind] | COMMON_OPTIONS)
        raise DataSpecError(f"{spec}: unknown option {', '.join(unknown)} ({kind} takes {allowed})")
    if repeat < 1 or (limit is not None and limit < 1) or not 0.0 < holdout < 1.0:
        raise DataSpecError(f"{spec}: repeat and limit must be at least 1, holdout in (0, 1)")
    try:
        result: ReadResult = READERS[kind](path, opts)
    except LabelFileError as e:
        raise DataSpecError(str(e)) from None
    if split:  # the same text-based split as split_by_text, chosen in the spec
        want_val = split == "val"
        result.samples = [
            s for s in result.samples if (text_bucket(s.text, split_seed) < holdout) == want_val
        ]
    # a fixed pseudo-random subset (not the first files, which are often sorted)
    if limit is not None:
        ranked = sorted(result.samples, key=lambda s: text_bucket(s.text + s.id, split_seed + 1))
        keep = {id(s) for s in ranked[:limit]}
        result.samples = [s for s in result.samples if id(s) in keep]
    result.samples *= repeat  # oversample scarce real data in a mix
    return result


def text_bucket(text: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) for a plate text (for splits by plate)."""
    digest = hashlib.sha1(f"{seed}:{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _read_json(path: str, opts: dict[str, str]) -> ReadResult:
    p = Path(path)
    cfg = p / "config.json" if p.is_dir() else p
    try:
        entries, problems = json_entries(cfg.read_bytes(), str(cfg))
    except OSError as e:
        raise DataSpecError(f"{cfg}: cannot read the config ({e})") from None
    res = ReadResult(problems=problems)
    for entry in entries:
        _add_file(res, cfg.parent, entry)
    return res


def _read_csv(path: str, opts: dict[str, str]) -> ReadResult:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:  # a folder, say
        raise DataSpecError(f"{p}: cannot read the CSV ({e})") from None
    res = ReadResult()
    for entry in csv_entries(data, str(p)):
        _add_file(res, p.parent, entry)
    return res


def _rows(entry: Entry, where: str, res: ReadResult) -> int | None:
    """The entry's rows (1 or 2), or None after noting a bad value as a problem."""
    if entry.rows in (None, "", 1, 2, "1", "2"):
        return int(entry.rows or 1)
    res.problems.append(f"{where}: rows must be 1 or 2, got {entry.rows!r}")
    return None


def _add_file(res: ReadResult, root: Path, entry: Entry) -> None:
    rows = _rows(entry, str(root / entry.file), res)
    if rows is None:
        return
    for cand in (root / place for place in entry.places()):
        if cand.is_file():
            res.samples.append(Sample(str(cand), entry.text, FileImage(str(cand)), rows))
            return
    res.problems.append(f"{root / entry.file}: file not found")


def _label_from_stem(name: str, sep: str = "_") -> str:
    """The label a file name gives: its stem up to the first of the characters ``sep``."""
    stem = Path(name).stem
    cut = min((i for i in (stem.find(c) for c in sep) if i >= 0), default=len(stem))
    return stem[:cut]


def hidden(relative: PurePath) -> bool:
    """Whether a path below a data root is one to pass over: a dot file or folder (macOS's
    ``._NAME.jpg`` beside each picture on a foreign disk, ``.ipynb_checkpoints``) or a zip's
    ``__MACOSX`` folder.
    """
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


def iter_images(root: str | Path) -> Iterator[Path]:
    """The image files below ``root``, sorted, hidden ones (see :func:`hidden`) left out."""
    root = Path(root)
    yield from sorted(
        p
        for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and not hidden(p.relative_to(root))
    )


def _read_dir(path: str, opts: dict[str, str]) -> ReadResult:
    res = ReadResult()
    for p in iter_images(Path(path)):
        label = _label_from_stem(p.name, opts.get("sep", "_"))
        res.samples.append(Sample(str(p), label, FileImage(str(p))))
    return res


def _ccpd_geometry(
    label: ccpd.CCPDLabel, rectify: bool
) -> tuple[tuple[int, int, int, int], tuple[tuple[float, float], ...] | None]:
    corners = tuple((float(x), float(y)) for x, y in label.corners) if rectify else None
    return label.box, corners


def _read_ccpd(path: str, opts: dict[str, str]) -> ReadResult:
    res = ReadResult()
    rectify = opts.get("rectify", "0") not in ("0", "", "false")
    for p in iter_images(Path(path)):
        try:
            label = ccpd.parse_name(p.name)
        except ccpd.CCPDNameError as e:
            res.problems.append(str(e))
            continue
        box, corners = _ccpd_geometry(label, rectify)
        res.samples.append(Sample(str(p), label.text, FileImage(str(p), box, corners)))
    return res


def _read_zip(path: str, opts: dict[str, str]) -> ReadResult:
    from plateread.data.zipped import read_zip  # it builds on this module's helpers

    return read_zip(path, opts)


def _read_synth(path: str, opts: dict[str, str]) -> ReadResult:
    from plateread.synth import synth_samples  # rendering needs fonts; import on demand

    try:
        n = int(opts.get("n", "1000"))
        seed = int(opts.get("seed", "0"))
    except ValueError:
        raise DataSpecError(f"synth:{path}: n and seed must be integers") from None
    if n < 1 or seed < 0:
        raise DataSpecError(f"synth:{path}: n must be at least 1 and seed at least 0")
    augment = opts.get("augment", "1") not in ("0", "false")
    return ReadResult(samples=synth_samples(path, n=n, seed=seed, augment=augment))


# the options every spec takes (read above), and those each reader takes besides them
COMMON_OPTIONS = frozenset({"split", "holdout", "split_seed", "limit", "repeat"})
READER_OPTIONS: dict[str, set[str]] = {
    "json": set(),
    "csv": set(),
    "dir": {"sep"},
    "ccpd": {"rectify"},
    "zip": {"rectify", "encoding", "sep"},
    "synth": {"n", "seed", "augment"},
}
READERS: dict[str, Any] = {
    "json": _read_json,
    "csv": _read_csv,
    "dir": _read_dir,
    "ccpd": _read_ccpd,
    "zip": _read_zip,
    "synth": _read_synth,
}
