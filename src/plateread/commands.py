"""The ``plateread`` verbs: each takes parsed arguments and calls the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from plateread.errors import FontError
from plateread.imaging import ImageError

if TYPE_CHECKING:  # the reader loads ONNX Runtime: imported by the verbs that read
    from plateread.reader import PlateResult

BENCH_SYNTH = 64  # synthetic plates `bench` reads when no --data is given
BENCH_MAX = 256  # the most images of --data it reads
RESUME_TAKES = frozenset({"resume", "epochs", "max_minutes", "device", "workers", "threads"})
READ_CHUNK = 32  # images `read` loads and sends to the model at once


def say_left_out(problems: Sequence[str], shown: int = 5) -> None:
    """Name the first ``shown`` entries a verb left out, on stderr, and count the rest."""
    for problem in problems[:shown]:
        print(f"left out: {problem}", file=sys.stderr)
    if len(problems) > shown:
        print(f"left out: {len(problems) - shown} more unreadable entries", file=sys.stderr)


def run_synth(a: argparse.Namespace) -> int:
    """Render synthetic plates to a folder in the course layout."""
    from plateread.synth import write_dataset

    t = time.time()
    path = write_dataset(a.format, a.n, a.out, seed=a.seed, grid=a.grid)
    dt = time.time() - t
    print(f"wrote {a.n} plates to {path} in {dt:.1f} s ({a.n / max(dt, 1e-9):.0f} plates/s)")
    if a.grid:
        print(f"grid: {a.grid}")
    return 0


def run_train(a: argparse.Namespace) -> int:
    """Train (or resume) a reader from a config file and overrides."""
    from plateread.train.config import load_config
    from plateread.train.loop import train

    overrides: dict[str, Any] = {
        "data": a.data,
        "val_data": a.val_data,
        "format": a.format,
        "arch": a.arch,
        "epochs": a.epochs,
        "batch_size": a.batch_size,
        "lr": a.lr,
        "out": a.out,
        "resume": a.resume,
        "max_minutes": a.max_minutes,
        "workers": a.workers,
        "threads": a.threads,
        "seed": a.seed,
        "input_size": a.input_size,
        "backbone_weights": a.backbone_weights,
        "init": a.init,
        "ema": a.ema,
        "real_augment": a.real_augment,
        "augment": False if a.no_augment else None,
        "device": a.device,
    }
    if a.resume:  # the run's saved settings hold; say so rather than drop the others unread
        fixed = [k for k, v in overrides.items() if v is not None and k not in RESUME_TAKES]
        if fixed or a.config:
            from plateread.train.config import ConfigError

            flags = ["--config"] * bool(a.config) + [
                "--no-augment" if k == "augment" else "--" + k.replace("_", "-") for k in fixed
            ]
            raise ConfigError(
                f"--resume continues a run with its saved settings: it takes --epochs, "
                f"--max-minutes, --device, --workers and --threads, not {', '.join(flags)} "
                f"(for other settings start a new run from its weights: --init RUN/last.pt)"
            )
    cfg = load_config(a.config, overrides)
    run = train(cfg, epochs=a.epochs)
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 knows the run folder
        print(f"run folder: {run}\nbest checkpoint: {run / 'best.pt'}")
    return 0


def run_eval(a: argparse.Namespace) -> int:
    """Score a model on labelled data; optionally write the HTML report."""
    from plateread.data import DataSpecError, load_dataset
    from plateread.evaluate import evaluate
    from plateread.labels import format_mismatch
    from plateread.predict import load_predictor

    if a.report:  # before the work, not after it
        from plateread.report import check_report_dir

        check_report_dir(a.report)
    predictor = load_predictor(a.model, threads=a.threads)
    data = load_dataset(a.data, predictor.format, require_template=False)
    if not data.samples:  # a 0% score for nothing read would look like a result
        why = f"; is {predictor.format.name!r} their format?" if data.report.dropped else ""
        raise DataSpecError(f"no plates to evaluate in {', '.join(a.data)}: {data.summary()}{why}")
    # what the labels say is known before the work: said first, not after a long evaluation
    if data.report.dropped:
        print(f"labels: {data.report}", file=sys.stderr)
    mismatch = format_mismatch(predictor.format, [s.text for s in data.samples])
    if mismatch:
        print(f"warning: {mismatch}", file=sys.stderr)
    ev = evaluate(
        predictor, data, a.batch_size, a.decoder,
        two_row_below=a.two_row_below, tighter_below=a.tighter_below,
    )  # fmt: skip
    say_left_out(ev.unreadable)  # what "left out" counts, so it can be mended
    if not ev.samples:
        raise DataSpecError(
            f"no plates to evaluate in {', '.join(a.data)}: none of its "
            f"{len(data.samples)} images could be read"
        )
    if a.report:
        from plateread.report import write_report

        page = write_report(
            predictor, ev, a.report, title=f"{Path(a.model).name} on {', '.join(a.data)}"
        )
        print(f"report: {page}", file=sys.stderr)
    if a.json:
        print(json.dumps(ev.metrics, ensure_ascii=False))
        return 0
    m = ev.metrics
    print(
        f"{m['n']} plates: exact {m['exact']:.2%}  char acc {m['char_acc']:.2%}  CER {m['cer']:.3f}"
    )
    if m["unreadable"] or m["dropped_labels"]:
        print(
            f"left out: {m['unreadable']} unreadable or missing images, "
            f"{m['dropped_labels']} invalid labels"
        )
    for t, g in [*m["per_template"].items(), *m.get("per_rows", {}).items()]:
        print(f"  {t:<12} n={g['n']:<5} exact {g['exact']:.2%}  CER {g['cer']:.3f}")
    return 0


def run_export(a: argparse.Namespace) -> int:
    """Export a checkpoint to ONNX, check parity, optionally calibrate."""
    from plateread.export import export_onnx
    from plateread.train.checkpoint import resolve_checkpoint

    figures = export_onnx(resolve_checkpoint(a.model) or a.model, a.out)
    cal = None
    if a.calibrate:
        from plateread.calibrate import calibrate_onnx

        try:
            cal = calibrate_onnx(a.out, a.calibrate, report=sys.stderr)
        except BaseException:  # no uncalibrated file left behind to be taken for the result
            Path(a.out).unlink(missing_ok=True)
            raise
    print(
        f"wrote {a.out} ({figures['size_bytes'] / 1e6:.2f} MB); parity: max |diff| "
        f"{figures['max_abs_diff']:.1e} (logits), {figures['max_prob_diff']:.1e} (probabilities; "
        f"the median picture {figures['median_prob_diff']:.1e}), "
        f"same readings {figures['same_text']:.0%}"
    )
    if cal is not None:
        print(
            f"calibrated on {cal['n']:.0f} plates: expected calibration error "
            f"{cal['ece_before']:.3f} -> {cal['ece_after']:.3f} (in-sample)"
        )
    return 0


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


def run_data(a: argparse.Namespace) -> int:
    """Print a first look at a data set, optionally with a grid picture."""
    from plateread.data.inspect import inspect_data
    from plateread.formats import load_format

    info = inspect_data(a.spec, load_format(a.format), sample=a.sample)
    if not (info["samples"] or info["invalid_labels"] or info["read_problems"]):
        from plateread.data import DataSpecError  # an empty folder, a zip of other files

        raise DataSpecError(f"no labelled images found in {', '.join(a.spec)}")
    grid = info.pop("grid")
    if a.grid and grid:  # an empty picture would say nothing
        from plateread.synth.grid import save_grid

        save_grid([g[0] for g in grid], [g[1] for g in grid], a.grid)
    if a.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    print(
        f"{info['samples']} samples ({info['readable']} readable, "
        f"{info['unique_plates']} distinct plates), median size {info['median_size']} (h, w)"
    )
    for key in ("templates", "lengths", "provinces", "region_codes"):
        if key in info:
            print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in info[key].items()))
    print("characters: " + " ".join(f"{k}:{v}" for k, v in info["characters"].items()))
    for why, n in info["invalid_labels"].items():
        print(f"invalid labels, {why}: {n} (e.g. {info['invalid_examples'][why][:3]})")
    for problem in info["unreadable"] + info["read_problems"]:
        print(f"problem: {problem}")
    if a.grid:
        print(f"grid: {a.grid}" if grid else "grid: not written, no readable samples")
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
