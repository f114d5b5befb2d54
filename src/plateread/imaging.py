"""Image decoding and the one preprocessing path shared by training, export and inference.

Models take ``uint8`` RGB batches ``[N, H, W, 3]``; scaling and normalisation happen inside the
model (and so inside the exported ONNX graph). This module only decodes and resizes.
"""

from __future__ import annotations

import functools
import io
import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

MAX_PIXELS = 40_000_000  # refuse larger images (decompression bombs)
# the formats OpenCV decodes that Pillow can size from a header (AVIF: Pillow 11.3 and later)
_HEADER_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF", "AVIF", "JPEG2000", "PPM", "SUN")
_ORIENTATION = 0x0112  # the EXIF tag
_EXIF_MARKERS = (b"Exif", b"eXIf", b"EXIF")  # its block in JPEG, PNG and WebP files
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# the PNG chunks that make OpenCV's pixels: the critical ones and transparency (its alpha)
_PNG_PIXELS = (b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS")
_Limit = tuple[int, int | None]  # most pixels, longest side (None: any)


class ImageError(ValueError):
    """An image is missing, empty, corrupt or of an unsupported kind."""


class ImageTooLarge(ImageError):
    """An image has more pixels, or a longer side, than the limit it is held to."""


def image_problem(sample_id: str, error: ImageError) -> str:
    """``error``'s message naming ``sample_id`` once (most messages already start with it)."""
    msg = str(error)
    return msg if msg.startswith(sample_id) else f"{sample_id}: {msg}"


def quiet_opencv() -> None:
    """Silence OpenCV's own log lines on stderr (warnings such as "PNG input buffer is
    incomplete", and OpenCV 5's errors for a damaged header), where our messages already name
    the bad file. OpenCV 4.13 and later set the level through ``cv2.utils.logging``; earlier
    versions (4.8-4.12 checked) through ``cv2.setLogLevel``. The command line calls it; the
    library leaves the process's settings alone.
    """
    try:
        from cv2.utils import logging as cv_logging
    except ImportError:
        set_level = getattr(cv2, "setLogLevel", None)
        if set_level is not None:
            set_level(0)  # LOG_LEVEL_SILENT, which those versions do not name in Python
        return
    cv_logging.setLogLevel(cv_logging.LOG_LEVEL_SILENT)


def quiet_decoders() -> None:
    """:func:`quiet_opencv`, and Pillow's warning about a huge picture's header, which our own
    size check refuses with the file's name: for the command line, which owns its process.
    """
    quiet_opencv()
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def decode_image(
    data: bytes,
    name: str = "<bytes>",
    *,
    max_pixels: int | None = None,
    max_side: int | None = None,
) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, BMP, WebP, …) to an RGB ``uint8`` array, turned
    upright as an EXIF orientation tag says (phones often save pictures on their side with one).

    Args:
        data: The encoded image.
        name: What messages call it.
        max_pixels: Most pixels (width x height) let through; :data:`MAX_PIXELS` when None.
            Checked from the header, before decoding, wherever Pillow can read the header.
        max_side: Longest side let through; no limit when None.

    Raises:
        ImageTooLarge: over ``max_pixels`` or ``max_side``.
        ImageError: empty, corrupt or unsupported data.
    """
    if not data:
        raise ImageError(f"{name}: empty file")
    limit = (MAX_PIXELS if max_pixels is None else max_pixels, max_side)
    orientation = _read_header(data, name, limit)
    img: np.ndarray | None = None
    for_opencv = _png_pixels(data) if data[:8] == _PNG_SIGNATURE else data
    if for_opencv is not None:
        buf = np.frombuffer(for_opencv, dtype=np.uint8)
        try:  # keeps 16 bits and floats; ignores EXIF
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        except cv2.error:  # OpenCV asserts on a size it refuses in a header (a huge PGM's)
            img = None
    if img is None or img.size == 0:
        img = _pillow_decode(data, name, limit)  # and what OpenCV cannot read (GIF before 4.12)
    # held to the limit again: a header Pillow could not size (Radiance HDR, say) was decoded
    return to_rgb(apply_orientation(img, orientation), name, limit)


def _png_pixels(data: bytes) -> bytes | None:
    """A PNG file with only the chunks that make its pixels, or None for a damaged one (cut
    short, or a checksum that does not match), which goes to Pillow: libpng prints its own
    lines on stderr, without the file's name, for damage and for odd ancillary chunks
    ("iCCP: known incorrect sRGB profile"), and OpenCV cannot silence them. Colour profiles,
    gamma, text and the like change nothing OpenCV decodes.
    """
    view = memoryview(data)
    kept, pos, dropped = [view[:8]], 8, False
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            return None
        if kind in _PNG_PIXELS:
            if zlib.crc32(view[pos + 4 : end - 4]) != struct.unpack_from(">I", data, end - 4)[0]:
                return None
            kept.append(view[pos:end])
        else:
            dropped = True
        if kind == b"IEND":
            return b"".join(kept) if dropped else data
        pos = end
    return None  # no IEND: cut short


def _read_header(data: bytes, name: str, limit: _Limit) -> int:
    """The EXIF orientation of encoded image bytes (1, upright, when there is none), read with
    one look at the header, which also refuses a picture over ``limit`` before it is decoded:
    a small file can hold a huge plain picture (a 440 KB PNG of 12000x12000 pixels took
    870 MB and 2.5 s to decode, only to be refused).

    Raises:
        ImageTooLarge: the header's size is over the limit.
    """
    try:  # the formats named: Pillow probes only these (5x faster than probing them all)
        im = Image.open(io.BytesIO(data), formats=_header_formats())
    except Image.DecompressionBombError:  # Pillow's own limit, far above ours
        raise ImageTooLarge(f"{name}: exceeds the limit of {limit[0]} pixels") from None
    except Exception:  # a header Pillow cannot read: held to the limit once decoded
        return 1
    with im:
        _check_size(*im.size, name, limit)
        return _exif_orientation(im, data)


@functools.cache
def _header_formats() -> tuple[str, ...]:
    """:data:`_HEADER_FORMATS` that this Pillow knows (it refuses a name it does not)."""
    Image.init()
    return tuple(f for f in _HEADER_FORMATS if f in Image.ID)


def _pillow_decode(data: bytes, name: str, limit: _Limit) -> np.ndarray:
    """Decode with Pillow to what OpenCV would give (BGR ``uint8``).

    Raises:
        ImageTooLarge: over ``limit``, refused before decoding.
        ImageError: Pillow cannot read it either.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            _check_size(*im.size, name, limit)  # refused before decoding
            return pillow_pixels(im)
    except ImageError:
        raise
    except Exception:  # corrupt, truncated or unknown to Pillow too
        raise ImageError(f"{name}: not a readable image (corrupt or unsupported format)") from None


def pillow_pixels(im: Image.Image) -> np.ndarray:
    """A Pillow image's pixels as OpenCV decodes them, for :func:`to_rgb`: gray ones (8-bit,
    16-bit, float) as they are, so that ``to_rgb`` scales them as it does image files' (Pillow's
    own RGB conversion clips 16-bit gray to white), any other mode as BGR ``uint8``.
    """
    if im.mode == "I":  # 32-bit integers: how Pillow 10 opens a 16-bit gray PNG
        pixels = np.asarray(im)
        if pixels.size and pixels.min() >= 0 and pixels.max() < 65536:
            return pixels.astype(np.uint16)  # scaled as a 16-bit file is
        return pixels
    if im.mode in ("L", "I;16", "F"):
        return np.asarray(im)
    return cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)


def _check_size(width: int, height: int, name: str, limit: _Limit | None = None) -> None:
    """Refuse images over ``limit`` (most pixels, longest side or None), :data:`MAX_PIXELS`
    pixels when None (decompression bombs).
    """
    max_pixels, max_side = (MAX_PIXELS, None) if limit is None else limit
    if width * height > max_pixels:
        raise ImageTooLarge(f"{name}: {width}x{height} exceeds the limit of {max_pixels} pixels")
    if max_side is not None and max(width, height) > max_side:
        raise ImageTooLarge(
            f"{name}: {width}x{height} exceeds the limit of {max_side} pixels a side"
        )


def _exif_orientation(im: Image.Image, data: bytes) -> int:
    """The EXIF orientation tag of the opened image ``im`` of bytes ``data`` (1, upright, when
    there is none).
    """
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return 1  # TIFF: OpenCV's decoder already turns the picture as its header says
    if not any(marker in data for marker in _EXIF_MARKERS):
        return 1  # most files: no EXIF block at all, and reading a PNG's for one costs 0.5 ms
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # a damaged EXIF block: no tag to honour
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a decoded ``[H, W, ...]`` array upright as its EXIF ``orientation`` (1-8) says,
    as a camera or phone expects its pictures to be shown.
    """
    if orientation in (5, 6, 7, 8):  # the stored picture lies on its side
        # 5: transpose, 6: a quarter turn clockwise, 7: transverse, 8: anticlockwise
        img = np.rot90(img, k={5: 0, 6: -1, 7: 2, 8: 1}[orientation])
        if orientation in (5, 7):
            img = img.swapaxes(0, 1)
    elif orientation in (2, 3, 4):  # 2: mirrored, 3: upside down, 4: flipped vertically
        img = img[:: -1 if orientation > 2 else 1, :: -1 if orientation < 4 else 1]
    else:
        return img
    return np.ascontiguousarray(img)


def to_rgb(img: np.ndarray, name: str = "<array>", limit: _Limit | None = None) -> np.ndarray:
    """Convert a decoded OpenCV array (gray, BGR, BGRA; 8-bit, 16-bit, or float in [0, 1] as
    OpenCV decodes floating-point TIFFs, or in 0-255 as Pillow writes them) to RGB ``uint8``.
    Floats whose maximum is at most 2 are taken as [0, 1]: a 0-255 picture that dark is black.
    ``limit`` (most pixels, longest side or None) is :data:`MAX_PIXELS` pixels when None.

    Raises:
        ImageTooLarge: over the limit.
        ImageError: not an image's shape or channels.
    """
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ImageError(f"{name}: unexpected image shape {img.shape}")
    _check_size(img.shape[1], img.shape[0], name, limit)
    if img.dtype == np.uint16:
        # 8-bit values kept in 16-bit files (some tools write them so) would shift to black
        img = (img if img.max() < 256 else img >> 8).astype(np.uint8)
    elif img.dtype.kind == "f":
        img = np.nan_to_num(img)
        # [0, 1] (OpenCV's convention; lossy float encoders overshoot 1 a little) or 0-255
        scale = 255.0 if img.max() <= 2.0 else 1.0
        img = np.clip(img * scale + 0.5, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2 or img.shape[2] == 1:
        return cv2.cvtColor(img.reshape(img.shape[:2]), cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    raise ImageError(f"{name}: unsupported channel count {img.shape[2]}")


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file (any path, UTF-8 names included) as RGB ``uint8``.

    Raises:
        ImageError: missing, empty or unreadable file.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{p}: file not found") from None
    except OSError as e:
        raise ImageError(f"{p}: cannot read ({e.strerror})") from None
    return decode_image(data, str(p))


def prepare(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB ``uint8`` crop to the model input ``size`` = (height, width).

    The single resize used everywhere: area interpolation when shrinking, linear when growing.
    """
    h, w = size
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageError(f"expected an RGB uint8 image, got {image.dtype} {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"empty image: {image.shape[0]}x{image.shape[1]} pixels")
    if image.shape[:2] == (h, w):
        return np.ascontiguousarray(image)
    shrink = image.shape[0] > h or image.shape[1] > w
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(image, (w, h), interpolation=interp)


def split_rows(image: np.ndarray, overlap: float = 0.12) -> np.ndarray:
    """The two-row view of a crop: its top and bottom halves side by side.

    A model that reads one row left to right reads a two-row plate through this view (top row,
    then bottom row). The halves overlap by ``overlap`` of the height, so a row that sits a
    little off the middle of a loose crop stays whole in one of them.
    """
    h = image.shape[0]
    half = min(h, max(1, round(h * (0.5 + overlap / 2))))
    return np.ascontiguousarray(np.hstack([image[:half], image[h - half :]]))


def prepare_batch(images: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """Stack crops into one ``[N, H, W, 3]`` ``uint8`` batch for a model."""
    if not images:
        return np.zeros((0, size[0], size[1], 3), dtype=np.uint8)
    return np.stack([prepare(im, size) for im in images])


def crop_quad(image: np.ndarray, corners: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Rectify a quadrilateral (4x2, clockwise from top-left) to an upright ``size`` crop."""
    h, w = size
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), dst)
    return cv2.warpPerspective(image, m, (w, h), flags=cv2.INTER_LINEAR)
