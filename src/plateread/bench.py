"""Reader speed: plates/s per batch size, latency percentiles at batch 1, peak memory, model size.
Runs on ONNX Runtime only (no torch).
"""

from __future__ import annotations

import resource
import sys
import time
from typing import Any

import numpy as np

from plateread.reader import PlateReader


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def bench_reader(
    reader: PlateReader,
    images: list[np.ndarray],
    batch_sizes: tuple[int, ...] = (1, 32),
    seconds: float = 3.0,
) -> dict[str, Any]:
    """Time ``reader.read_batch`` end to end (resize, model, decoding) on ``images``.

    Returns:
        ``model``, ``size_mb``, ``decoder``, per batch size ``plates_per_s``, ``ms_p50`` and
        ``ms_p99`` per plate, and ``peak_rss_mb``.
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
        }
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out
