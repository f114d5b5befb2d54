"""Reader speed: plates/s per batch size, latency percentiles at batch 1, peak memory, model size.
Runs on ONNX Runtime only (no torch).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from plateread.formats import PlateFormat
from plateread.reader import PlateReader


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process in MB, or None where the platform cannot say
    (Windows has no ``getrusage``).
    """
    try:
        import resource
    except ImportError:
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _render(fmt: PlateFormat, n: int, seed: int) -> list[np.ndarray]:
    from plateread.synth import synth_samples  # needs the fonts of plateread[train]

    return [s.load() for s in synth_samples(fmt, n=n, seed=seed, augment=False)]


def synthetic_plates(fmt: PlateFormat, n: int = 64, seed: int = 0) -> list[np.ndarray]:
    """``n`` plates of ``fmt`` drawn by the generator without augmentation, rendered in a child
    process so that the fonts and renderer do not count in this process's peak memory.

    Raises:
        FontError: the generator's fonts are not installed.
    """
    # spawned, not forked: this process already runs ONNX Runtime's threads
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_render, fmt, n, seed).result()


def stage_times(
    reader: PlateReader, images: list[np.ndarray], batch_size: int, seconds: float = 1.0
) -> dict[str, float]:
    """Mean ms per plate in each stage of ``read_batch`` at ``batch_size``: ``prepare`` (resize
    and stack), ``model`` (ONNX Runtime), ``decode`` (decoding and calibration) and, for formats
    with two-row layouts, ``two-row`` (the second reading of unsure plates through the two-row
    view: its resize, model call and decoding) and, unless the reader's ``tighter_below`` or
    ``turned_below`` is 0, ``tighter`` or ``turned`` (unsure plates read through tighter or
    turned views). Timed by
    :meth:`PlateReader.read_crops` itself.
    """
    spent = {"prepare": 0.0, "model": 0.0, "decode": 0.0}
    plates, i = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or plates < 5 * batch_size:
        reader.read_crops([images[(i + k) % len(images)] for k in range(batch_size)], spent)
        i += batch_size
        plates += batch_size
    return {stage: round(dt * 1000 / plates, 3) for stage, dt in spent.items()}


def bench_reader(
    reader: PlateReader,
    images: list[np.ndarray],
    batch_sizes: tuple[int, ...] = (1, 32),
    seconds: float = 3.0,
) -> dict[str, Any]:
    """Time ``reader.read_batch`` end to end (resize, model, decoding) on ``images``.

    Returns:
        ``model``, ``size_mb``, ``decoder``, per batch size ``plates_per_s``, ``ms_p50`` and
        ``ms_p99`` per plate and the mean per stage (:func:`stage_times`, timed separately
        after the end-to-end runs), and ``peak_rss_mb``.
    """
    out: dict[str, Any] = {
        "model": str(reader.path.name),
        "size_mb": round(reader.path.stat().st_size / 1e6, 2),
        "decoder": reader.decoder,
        "batches": {},
    }
    reader.read_batch(images[:8])  # warm-up
    for bs in batch_sizes:
        times: list[float] = []
        plates = 0
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < seconds or len(times) < 5:
            batch = [images[(i + k) % len(images)] for k in range(bs)]
            i += bs
            t = time.perf_counter()
            reader.read_batch(batch)
            times.append((time.perf_counter() - t) / bs)
            plates += bs
        total = time.perf_counter() - start
        ms = np.asarray(times) * 1000
        out["batches"][str(bs)] = {
            "plates_per_s": round(plates / total, 1),
            "ms_per_plate_p50": round(float(np.percentile(ms, 50)), 3),
            "ms_per_plate_p99": round(float(np.percentile(ms, 99)), 3),
            "stages_ms_per_plate": stage_times(reader, images, bs, seconds / 3),
        }
    peak = peak_rss_mb()
    out["peak_rss_mb"] = None if peak is None else round(peak, 1)
    return out
