"""Where a sample's pixels come from: image files and zip members, cropped or rectified on load.

Sources are small frozen dataclasses, so samples pickle cheaply into data-loading workers.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from plateread.imaging import ImageError, crop_quad, decode_image, read_image


class ImageSource(Protocol):
    """Something that yields an RGB ``uint8`` image."""

    def load(self) -> np.ndarray:
        """Decode the image; raises :class:`~plateread.imaging.ImageError` when it cannot."""
        ...


@dataclass(frozen=True)
class FileImage:
    """An image file, optionally cropped to a box or rectified from four corners."""

    path: str
    box: tuple[int, int, int, int] | None = None
    corners: tuple[tuple[float, float], ...] | None = None

    def load(self) -> np.ndarray:
        """Read, then crop or rectify."""
        return _crop(read_image(self.path), self.path, self.box, self.corners)


_ZIPS: dict[tuple[int, str], zipfile.ZipFile] = {}


@dataclass(frozen=True)
class ZipImage:
    """A member of a zip archive (archives are opened once per process)."""

    archive: str
    member: str  # the raw name as stored in the archive
    box: tuple[int, int, int, int] | None = None
    corners: tuple[tuple[float, float], ...] | None = None

    def load(self) -> np.ndarray:
        """Read the member's bytes and decode them."""
        key = (os.getpid(), self.archive)
        zf = _ZIPS.get(key)
        if zf is None:
            zf = _ZIPS[key] = zipfile.ZipFile(self.archive)
        name = f"{self.archive}:{self.member}"
        try:
            data = zf.read(self.member)
        except (KeyError, zipfile.BadZipFile, OSError) as e:
            raise ImageError(f"{name}: cannot read ({e})") from None
        return _crop(decode_image(data, name), name, self.box, self.corners)


def _crop(
    img: np.ndarray,
    name: str,
    box: tuple[int, int, int, int] | None,
    corners: tuple[tuple[float, float], ...] | None,
) -> np.ndarray:
    if corners is not None and box is not None:
        x1, y1, x2, y2 = box
        size = (max(8, y2 - y1), max(16, x2 - x1))
        return crop_quad(img, np.asarray(corners, dtype=np.float32), size)
    if box is not None:
        x1, y1, x2, y2 = box
        h, w = img.shape[:2]
        x1, x2 = max(0, min(x1, w)), max(0, min(x2, w))
        y1, y2 = max(0, min(y1, h)), max(0, min(y2, h))
        if x2 - x1 < 2 or y2 - y1 < 2:
            raise ImageError(f"{name}: box {box} lies outside the {w}x{h} image")
        return img[y1:y2, x1:x2].copy()
    return img


def fix_zip_name(info: zipfile.ZipInfo, encoding: str | None = None) -> str:
    """A member's real name, whatever encoding the tool that made the archive used.

    Names stored without the UTF-8 flag come out of ``zipfile`` decoded as cp437 (mojibake such
    as ``çÜ¢``). Their bytes are decoded again with ``encoding`` when given; otherwise as UTF-8
    (what most tools write) and, failing that, as GB18030 (GBK, what Chinese Windows writes) when
    that yields only ASCII and CJK ideographs, one of them at least a common one (in GB2312: a
    cp437 name such as ``Müller`` reads as GBK too, as ASCII and a rare ideograph); else the cp437
    reading stands.

    Args:
        info: the member, as ``ZipFile.infolist()`` lists it.
        encoding: the encoding of names stored without the UTF-8 flag, or None to guess.

    Raises:
        ValueError: ``encoding`` is unknown or does not decode this name.
    """
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:  # not read through cp437 (zipfile's metadata_encoding)
        return info.filename
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r} for zip member names") from None
        except UnicodeDecodeError:
            raise ValueError(f"member {info.filename!r}: its name is not {encoding}") from None
    if raw.isascii():
        return info.filename
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        name = raw.decode("gb18030")
    except UnicodeDecodeError:
        return info.filename
    wide = [c for c in name if not c.isascii()]
    if all("\u4e00" <= c <= "\u9fff" for c in wide) and any(map(_common_hanzi, wide)):
        return name
    return info.filename


def _common_hanzi(char: str) -> bool:
    """Whether ``char`` is in GB2312 (the 6,763 common simplified characters and symbols)."""
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True
