"""The verbs that read plates with a model: ``read``, ``bench``, ``serve``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from plateread.commands.common import say_left_out
from plateread.errors import FontError
from plateread.imaging import ImageError

if TYPE_CHECKING:  # the reader loads ONNX Runtime: imported by the verbs that read
    from plateread.reader import PlateResult

BENCH_SYNTH = 64  # synthetic plates `bench` reads when no --data is given
BENCH_MAX = 256  # the most images of --data it reads
READ_CHUNK = 32  # images `read` loads and sends to the model at once


def image_paths(paths: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """Image files named directly or found below folders, in order, and the folders that hold
    none.
    """
    from plateread.data.readers import iter_images

    out: list[Path] = []
    empty: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = list(iter_images(p))
            out.extend(found)
            if not found:
                empty.append(p)
        else:
            out.append(p)
    return out, empty


def run_read(a: argparse.Namespace) -> int:
    """Read plate crops and print one line (or JSON line) per image."""
    from plateread.data.readers import IMAGE_SUFFIXES
    from plateread.imaging import decode_image
    from plateread.reader import PlateReader, load_image

    if a.paths.count("-") > 1:
        raise ValueError("'-' (standard input) can be given once")
    reader = PlateReader(
        a.model, decoder=a.decoder, threads=a.threads,
        two_row_below=a.two_row_below, tighter_below=a.tighter_below,
        turned_below=a.turned_below,
    )  # fmt: skip
    paths, empty = image_paths(a.paths)
    suffixes = " ".join(sorted(IMAGE_SUFFIXES))
    for folder in empty:
        print(f"plateread read: error: {folder}: no images ({suffixes}) in it", file=sys.stderr)
    failed = len(empty)
    for start in range(0, len(paths), READ_CHUNK):  # crops go through the model in batches
        loaded: list[tuple[Path, np.ndarray]] = []
        for path in paths[start : start + READ_CHUNK]:
            try:
                if str(path) == "-":  # one image piped in: `curl ... | plateread read -`
                    loaded.append((path, decode_image(sys.stdin.buffer.read(), "<stdin>")))
                else:
                    loaded.append((path, load_image(path)))
            except ImageError as e:  # its message names the file
                failed += 1
                print(f"plateread read: error: {e}", file=sys.stderr)
        results = reader.read_batch([image for _, image in loaded])
        for (path, _), res in zip(loaded, results):
            _print_reading(path, res, a.min_confidence, a.json)
    return 1 if failed else 0


def _print_reading(path: Path, res: PlateResult, min_confidence: float, as_json: bool) -> None:
    accepted = res.confidence >= min_confidence
    if as_json:
        record = {"file": str(path), **res.to_dict(), "accepted": accepted}
        print(json.dumps(record, ensure_ascii=False))
    else:
        text = res.text if accepted else f"({res.text}: rejected)"
        flag = "" if res.valid else "  [no template]"
        print(f"{_one_field(str(path))}\t{text}\t{res.confidence:.3f}{flag}")


def _one_field(name: str) -> str:
    r"""A file name as one tab-separated field: tabs and line breaks written as \t, \n, \r
    (backslashes stay, for Windows paths; --json gives names exactly).
    """
    return name.translate(_FIELD_ESCAPES)


_FIELD_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def run_bench(a: argparse.Namespace) -> int:
    """Measure a reader's speed and memory."""
    from plateread.bench import bench_reader, synthetic_plates
    from plateread.reader import PlateReader

    reader = PlateReader(a.model, decoder=a.decoder, threads=a.threads)
    if a.data:
        from plateread.data import DataSpecError, load_readable
        from plateread.data.readers import read_spec

        # every image of the specs, whatever its label says: only the pixels are timed
        samples = [s for spec in a.data for s in read_spec(spec).samples][:BENCH_MAX]
        if not samples:
            raise DataSpecError(f"no images in {', '.join(a.data)}")
        loaded, unreadable = load_readable(samples)  # timed without them, as eval scores
        images = [img for _, img in loaded]
        say_left_out(unreadable)
        if not images:
            raise DataSpecError(f"none of the images in {', '.join(a.data)} could be read")
        source = f"{len(images)} plates of {', '.join(a.data)}"
    else:
        # plates of the reader's own format: on random pixels the search would run on every
        # plate and the figures would say little about reading plates
        try:
            images = synthetic_plates(reader.format, n=BENCH_SYNTH)
        except FontError as e:
            raise FontError(f"{e}; or give --data with plate crops to time") from None
        source = f"{BENCH_SYNTH} synthetic {reader.format.name} plates (no --data given)"
    figures = bench_reader(reader, images, a.batch_sizes, seconds=a.seconds)
    figures["threads"] = a.threads
    figures["images"] = source
    if a.json:
        print(json.dumps(figures))
        return 0
    peak = figures["peak_rss_mb"]
    print(
        f"{figures['model']} ({figures['size_mb']} MB, {figures['decoder']} decoding, "
        f"{a.threads or 'default'} threads), peak memory "
        + (f"{peak} MB" if peak is not None else "unknown on this platform")
        + f"; {source}"
    )
    for bs, f in figures["batches"].items():
        print(
            f"  batch {bs:>3}: {f['plates_per_s']:>8.1f} plates/s  "
            f"p50 {f['ms_per_plate_p50']:.3f} ms  p99 {f['ms_per_plate_p99']:.3f} ms per plate"
        )
        stages = f["stages_ms_per_plate"]
        print(
            "             mean ms per plate: "
            + ", ".join(f"{k} {v:.3f}" for k, v in stages.items())
        )
    return 0


def run_serve(a: argparse.Namespace) -> int:
    """Run the HTTP service until interrupted."""
    import uvicorn

    from plateread.predict import shipped_models
    from plateread.serve.app import Limits, create_app, model_specs

    models = model_specs(a.model or shipped_models())
    limits = Limits(max_body_bytes=a.max_body_mb * 1024 * 1024, max_images=a.max_images)
    app = create_app(models, limits, threads=a.threads)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    return 0
