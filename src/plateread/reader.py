"""``PlateReader``: read plates with an exported model on ONNX Runtime (never imports torch)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from plateread.calibration import calibrate_reading
from plateread.decoding import Decoded, decode_logits, resolve_decoder
from plateread.imaging import (
    ImageError,
    decode_image,
    pillow_pixels,
    prepare_batch,
    read_image,
    to_rgb,
)
from plateread.predict import OnnxPredictor, resolve_model
from plateread.tighter import TIGHTER_BELOW, TURNED_BELOW, second_readings
from plateread.tworow import REREAD_BELOW

ImageInput = str | Path | bytes | bytearray | memoryview | np.ndarray | Image.Image


def check_settings(
    batch_size: int, two_row_below: float, tighter_below: float, turned_below: float
) -> None:
    """Check the reading settings that :class:`PlateReader` and ``evaluate`` share.

    Raises:
        ValueError: ``batch_size`` under 1, or a threshold outside [0, 1].
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    if not all(0 <= t <= 1 for t in (two_row_below, tighter_below, turned_below)):
        raise ValueError(
            f"two_row_below, tighter_below and turned_below are confidences from 0 to 1; "
            f"got {two_row_below}, {tighter_below}, {turned_below}"
        )


@dataclass(frozen=True)
class PlateResult:
    """One plate reading.

    Attributes:
        text: The plate text.
        confidence: Calibrated probability that the whole text is right.
        char_confidences: Calibrated probability per character.
        valid: Whether the text matches a template of the model's format.
        template: The template it matches, or None.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    valid: bool
    template: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        d = asdict(self)
        d["char_confidences"] = [round(c, 4) for c in self.char_confidences]
        d["confidence"] = round(self.confidence, 4)
        return d


def load_image(image: ImageInput, bgr: bool = False) -> np.ndarray:
    """Paths, encoded bytes, Pillow images or arrays (RGB or gray ``uint8``) to an RGB ``uint8``
    array.

    Args:
        image: The image.
        bgr: Arrays are in OpenCV's channel order (BGR, BGRA: what ``cv2.imread`` and video
            capture give), not RGB. Paths, bytes and Pillow images say their own order.

    Raises:
        ImageError: unreadable or malformed input.
    """
    if isinstance(image, (str, Path)):
        return read_image(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_image(bytes(image))
    if isinstance(image, Image.Image):  # a detector's crop, a Pillow pipeline's image
        if image.width == 0 or image.height == 0:
            raise ImageError(f"empty image: {image.width}x{image.height} pixels")
        try:  # pixels are loaded lazily: a damaged file fails here
            pixels = pillow_pixels(image)
        except (OSError, ValueError) as e:
            raise ImageError(f"Pillow image: cannot read its pixels ({e})") from None
        return to_rgb(pixels, "Pillow image")  # the image files' path from here on
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8:  # a float or 16-bit array's range is anyone's guess
            hint = (
                "a 16-bit image: (image >> 8).astype(np.uint8)"
                if image.dtype == np.uint16
                else "a float image in [0, 1]: (image * 255).round().astype(np.uint8)"
            )
            raise ImageError(f"unsupported array dtype {image.dtype}: expected uint8 ({hint})")
        if image.ndim == 3 and image.shape[2] == 3 and not bgr:
            return image
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4)):
            if image.ndim == 3 and image.shape[2] > 1 and not bgr:  # RGBA -> BGR for to_rgb
                image = image[..., :3][..., ::-1]
            return to_rgb(np.ascontiguousarray(image))
        raise ImageError(f"unsupported array {image.dtype} {image.shape}: expected HxWx3 uint8 RGB")
    raise ImageError(f"unsupported image input of type {type(image).__name__}")


class _StageClock:
    """Adds the time since the previous lap to ``stages[name]``; does nothing without ``stages``."""

    def __init__(self, stages: dict[str, float] | None) -> None:
        self.stages = stages
        self.last = time.perf_counter() if stages is not None else 0.0

    def lap(self, name: str) -> None:
        if self.stages is not None:
            now = time.perf_counter()
            self.stages[name] = self.stages.get(name, 0.0) + now - self.last
            self.last = now


class PlateReader:
    """Read plate crops with an exported plateread model.

    Args:
        model: ``"ru"``, ``"ru_all"``, ``"cn"`` (shipped readers) or a path to an exported
            ``.onnx`` file.
        decoder: ``constrained`` (format-constrained beam search; the ``auto`` choice for formats
            with templates), ``beam`` (CTC prefix beam search) or ``greedy``.
        beam: Beam width.
        threads: ONNX Runtime threads (None: its default).
        batch_size: Largest batch sent to the model at once.
        two_row_below: For formats with two-row layouts, the raw confidence under which a plate is
            read again through the two-row view (0 never reads twice).
        tighter_below: The raw confidence under which a plate (or one read as a text that is
            not a valid plate) is read again through tighter views of its crop, for crops looser
            than the model's (0 never; see :func:`~plateread.tighter.reread_tighter`).
        turned_below: The same, after the tighter views, for views of the crop turned by 10 and 15
            degrees either way, for plates turned further than the model learnt (0 never; see
            :func:`~plateread.tighter.reread_turned`).

    Raises:
        ModelFileError: no such shipped reader or file, or not a plateread ONNX model.
        ValueError: an unknown decoder, or a setting out of its range.

    Example:
        >>> reader = PlateReader("ru")  # doctest: +SKIP
        >>> reader.read("plate.png").text  # doctest: +SKIP
        'A123BC77'
    """

    def __init__(
        self,
        model: str | Path = "ru",
        decoder: str = "auto",
        beam: int = 8,
        threads: int | None = None,
        batch_size: int = 64,
        two_row_below: float = REREAD_BELOW,
        tighter_below: float = TIGHTER_BELOW,
        turned_below: float = TURNED_BELOW,
    ) -> None:
        if beam < 1 or (threads is not None and threads < 0):
            raise ValueError(
                f"beam must be at least 1, threads at least 0 (0 or None: ONNX Runtime's "
                f"default); got {beam}, {threads}"
            )
        check_settings(batch_size, two_row_below, tighter_below, turned_below)
        self.path = resolve_model(model)
        self.predictor = OnnxPredictor(self.path, threads)
        self.format = self.predictor.format
        self.input_size = self.predictor.input_size
        self.decoder = resolve_decoder(decoder, self.format)
        self.beam = beam
        self.batch_size = batch_size
        self.two_row_below = two_row_below
        self.tighter_below = tighter_below
        self.turned_below = turned_below
        self.threads = threads

    def __getstate__(self) -> dict[str, Any]:
        """The settings, not the ONNX Runtime session (which cannot be pickled): a reader sent
        to another process (``multiprocessing`` with spawn, as on macOS and Windows, joblib,
        Dask) opens its model file again there.
        """
        return {
            "model": str(self.path),
            "decoder": self.decoder,
            "beam": self.beam,
            "threads": self.threads,
            "batch_size": self.batch_size,
            "two_row_below": self.two_row_below,
            "tighter_below": self.tighter_below,
            "turned_below": self.turned_below,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __repr__(self) -> str:
        h, w = self.input_size
        return (
            f"PlateReader({str(self.path)!r}, format={self.format.name!r}, "
            f"decoder={self.decoder!r}, input={h}x{w})"
        )

    def read(self, image: ImageInput, *, bgr: bool = False) -> PlateResult:
        """Read one plate crop (``bgr``: a numpy array is in OpenCV's BGR order, as
        ``cv2.imread`` gives it; see :func:`load_image`).
        """
        return self.read_batch([image], bgr=bgr)[0]

    def read_batch(self, images: Iterable[ImageInput], *, bgr: bool = False) -> list[PlateResult]:
        """Read many crops (a list, or any iterable: a generator is read as it goes); they are
        resized and run through the model together, ``batch_size`` at a time.

        With a format that has two-row layouts, crops read with a raw confidence under
        ``two_row_below`` are read again through the two-row view; then crops read with a raw
        confidence under ``tighter_below`` (or as no valid plate) through tighter views, and
        those still under ``turned_below`` (or not valid) through turned views.

        Args:
            images: Paths, encoded bytes, Pillow images or ``uint8`` arrays (RGB unless ``bgr``).
            bgr: Arrays are in OpenCV's BGR order (``cv2.imread``, video frames): the Chinese
                reader misreads a third of its development plates given them as RGB.

        Raises:
            ImageError: an image cannot be loaded (the message names it). To read the others
                anyway, load each with :func:`load_image` first, then call :meth:`read_crops`.
            TypeError: ``images`` is one path or file content, not a collection of images.
        """
        if isinstance(images, (str, bytes, bytearray, memoryview, os.PathLike)):
            raise TypeError(
                f"read_batch takes a list of images, not one {type(images).__name__}: read() "
                "reads one image, and a folder's images are listed by "
                "plateread.data.iter_images(folder)"
            )
        out: list[PlateResult] = []
        pending = iter(images)
        # loaded batch by batch: a long list of paths never sits in memory decoded
        while chunk := list(itertools.islice(pending, self.batch_size)):
            out.extend(self.read_crops([load_image(im, bgr) for im in chunk]))
        return out

    @property
    def reads_twice(self) -> bool:
        """Whether unsure plates are read a second time through the two-row view."""
        return bool(self.format.two_row) and self.two_row_below > 0

    def read_crops(
        self, crops: list[np.ndarray], stages: dict[str, float] | None = None
    ) -> list[PlateResult]:
        """Read loaded RGB ``uint8`` crops (:func:`load_image`) as one model batch.

        Args:
            crops: The crops.
            stages: If given, the seconds each stage took are added to it: ``prepare`` (resize
                and stack), ``model`` (ONNX Runtime), ``decode`` (decoding and calibration)
                and, when :attr:`reads_twice`, ``two-row`` (the second reading) and, unless
                ``tighter_below`` is 0, ``tighter`` (the reading through tighter views) and,
                unless ``turned_below`` is 0, ``turned`` (through turned views).
        """
        clock = _StageClock(stages)
        batch = prepare_batch(crops, self.input_size)
        clock.lap("prepare")
        logits = self.predictor.logits(batch)
        clock.lap("model")
        decoded = self.decode(logits)
        clock.lap("decode")
        decoded = second_readings(
            self.predictor.logits, crops, decoded, self.format, self.input_size, self.decoder,
            self.beam, self.two_row_below, self.tighter_below, self.turned_below, clock.lap,
        ).readings  # fmt: skip
        results = self.results(decoded)
        clock.lap("decode")
        return results

    def decode(self, logits: np.ndarray) -> list[Decoded]:
        """Decode logits with this reader's decoder (raw, uncalibrated confidences)."""
        return decode_logits(logits, self.format, self.decoder, self.beam)

    def results(self, decoded: list[Decoded]) -> list[PlateResult]:
        """Calibrate decoded readings (:meth:`decode`) and check them against the format: the
        last stage of :meth:`read_batch`.
        """
        results = []
        for d in decoded:
            conf, chars = calibrate_reading(
                self.predictor.calibration, d.confidence, d.char_confidences
            )
            results.append(
                PlateResult(
                    text=d.text,
                    confidence=conf,
                    char_confidences=chars,
                    valid=self.format.is_valid(d.text),
                    template=self.format.match_template(d.text),
                )
            )
        return results
