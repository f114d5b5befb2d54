"""``plateread`` command line: each verb is a thin call into the library."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plateread.data import DataSpecError
from plateread.decoding import DECODERS
from plateread.formats import FormatError
from plateread.imaging import ImageError
from plateread.predict import ModelFileError

DATA_HELP = (
    "data spec, repeatable: json:DIR_OR_CONFIG, csv:FILE, dir:DIR, ccpd:DIR[?rectify=1], "
    "zip:FILE, synth:FORMAT?n=N&seed=S"
)
USER_ERRORS: tuple[type[Exception], ...] = (
    FormatError,
    DataSpecError,
    ModelFileError,
    ImageError,
    FileNotFoundError,
)


def _synth(a: argparse.Namespace) -> int:
    from plateread.synth import write_dataset

    t = time.time()
    path = write_dataset(a.format, a.n, a.out, seed=a.seed, grid=a.grid)
    dt = time.time() - t
    print(f"wrote {a.n} plates to {path} in {dt:.1f} s ({a.n / max(dt, 1e-9):.0f} plates/s)")
    if a.grid:
        print(f"grid: {a.grid}")
    return 0


def _train(a: argparse.Namespace) -> int:
    from plateread.train.config import load_config
    from plateread.train.loop import train

    size = [int(v) for v in a.input_size.lower().split("x")] if a.input_size else None
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
        "input_size": size,
        "backbone_weights": a.backbone_weights,
        "init": a.init,
        "augment": False if a.no_augment else None,
    }
    cfg = load_config(a.config, overrides)
    run = train(cfg, epochs=a.epochs)
    print(f"run folder: {run}\nbest checkpoint: {run / 'best.pt'}")
    return 0


def _eval(a: argparse.Namespace) -> int:
    from plateread.data import load_dataset
    from plateread.evaluate import evaluate
    from plateread.predict import load_predictor

    predictor = load_predictor(a.model, threads=a.threads)
    data = load_dataset(a.data, predictor.format, require_template=False)
    ev = evaluate(predictor, data, batch_size=a.batch_size, decoder=a.decoder)
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
            f"left out: {m['unreadable']} unreadable images, {m['dropped_labels']} invalid labels"
        )
    for t, g in m["per_template"].items():
        print(f"  {t:<12} n={g['n']:<5} exact {g['exact']:.2%}  CER {g['cer']:.3f}")
    return 0


def _export(a: argparse.Namespace) -> int:
    from plateread.export import export_onnx

    figures = export_onnx(a.model, a.out)
    print(
        f"wrote {a.out} ({figures['size_bytes'] / 1e6:.2f} MB); parity: max |diff| "
        f"{figures['max_abs_diff']:.1e}, same readings {figures['same_text']:.0%}"
    )
    return 0


def _image_paths(paths: Sequence[str]) -> list[Path]:
    from plateread.data.readers import IMAGE_SUFFIXES

    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out


def _read(a: argparse.Namespace) -> int:
    from plateread.reader import PlateReader

    reader = PlateReader(a.model, decoder=a.decoder, threads=a.threads)
    failed = 0
    for path in _image_paths(a.paths):
        try:
            res = reader.read(path)
        except ImageError as e:
            failed += 1
            print(f"{path}: error: {e}", file=sys.stderr)
            continue
        accepted = res.confidence >= a.min_confidence
        if a.json:
            print(
                json.dumps(
                    {"file": str(path), **res.to_dict(), "accepted": accepted}, ensure_ascii=False
                )
            )
        else:
            text = res.text if accepted else f"({res.text}: rejected)"
            flag = "" if res.valid else "  [no template]"
            print(f"{path}\t{text}\t{res.confidence:.3f}{flag}")
    return 1 if failed else 0


def _bench(a: argparse.Namespace) -> int:
    from plateread.bench import bench_reader
    from plateread.reader import PlateReader

    reader = PlateReader(a.model, decoder=a.decoder, threads=a.threads)
    if a.data:
        from plateread.data import load_dataset

        data = load_dataset(a.data, reader.format, require_template=False)
        images = [s.load() for s in data.samples[:256]]
    else:
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 256, (48, 200, 3), dtype=np.uint8) for _ in range(64)]
    sizes = tuple(int(b) for b in a.batch_sizes.split(","))
    figures = bench_reader(reader, images, sizes, seconds=a.seconds)
    figures["threads"] = a.threads
    if a.json:
        print(json.dumps(figures))
        return 0
    print(
        f"{figures['model']} ({figures['size_mb']} MB, {figures['decoder']} decoding, "
        f"{a.threads or 'default'} threads), peak memory {figures['peak_rss_mb']} MB"
    )
    for bs, f in figures["batches"].items():
        print(
            f"  batch {bs:>3}: {f['plates_per_s']:>8.1f} plates/s  "
            f"p50 {f['ms_per_plate_p50']:.3f} ms  p99 {f['ms_per_plate_p99']:.3f} ms per plate"
        )
    return 0


def _data(a: argparse.Namespace) -> int:
    from plateread.data.inspect import inspect_data
    from plateread.formats import load_format

    info = inspect_data(a.spec, load_format(a.format), sample=a.sample)
    grid = info.pop("grid")
    if a.grid:
        from plateread.synth.grid import save_grid

        save_grid([g[0] for g in grid], [g[1] for g in grid], a.grid)
    if a.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    print(
        f"{info['samples']} samples ({info['readable']} readable, "
        f"{info['unique_plates']} distinct plates), median size {info['median_size']} (h, w)"
    )
    for key in ("templates", "lengths", "provinces"):
        if key in info:
            print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in info[key].items()))
    print("characters: " + " ".join(f"{k}:{v}" for k, v in info["characters"].items()))
    for why, n in info["invalid_labels"].items():
        print(f"invalid labels, {why}: {n} (e.g. {info['invalid_examples'][why][:3]})")
    for problem in info["unreadable"] + info["read_problems"]:
        print(f"problem: {problem}")
    if a.grid:
        print(f"grid: {a.grid}")
    return 0


def _serve(a: argparse.Namespace) -> int:
    import uvicorn

    from plateread.serve.app import Limits, create_app

    models: dict[str, str] = {}
    for spec in a.model or ["ru", "cn"]:
        name, _, path = spec.partition("=")
        models[name if path else Path(spec).stem] = path or spec
    limits = Limits(max_body_bytes=a.max_body_mb * 1024 * 1024, max_images=a.max_images)
    app = create_app(models, limits, threads=a.threads)
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``plateread`` argument parser."""
    p = argparse.ArgumentParser(prog="plateread", description="Read the text on licence plates.")
    sub = p.add_subparsers(dest="verb", required=True)

    s = sub.add_parser(
        "synth",
        help="render synthetic plates",
        description="Render synthetic plates "
        "to DIR/images + DIR/config.json (deterministic for a seed).",
    )
    s.add_argument("--format", default="ru", help="ru, cn, generic or a format .yaml (default ru)")
    s.add_argument("-n", type=int, default=1000, help="number of plates (default 1000)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--grid", help="also save a PNG grid of samples with their text")
    s.set_defaults(func=_synth)

    t = sub.add_parser(
        "train",
        help="train a reader",
        description="Train a CRNN-CTC reader. Each run "
        "goes to a new numbered folder under --out with config.yaml, log.jsonl, "
        "best.pt and last.pt. Interrupted runs continue with --resume RUN_DIR.",
    )
    t.add_argument("--config", help="YAML training config (options below override it)")
    t.add_argument("--data", action="append", help=DATA_HELP)
    t.add_argument(
        "--val-data",
        action="append",
        help="validation data spec (repeatable); default: 10%% of --data held out by plate text",
    )
    t.add_argument("--format", help="plate format: ru, cn, generic or a .yaml file")
    t.add_argument("--arch", help="crnn_small, crnn_resnet18 or crnn_province")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--input-size", help="HxW, e.g. 32x128")
    t.add_argument("--out", help="folder for run folders (default runs)")
    t.add_argument("--resume", help="run folder or last.pt to continue")
    t.add_argument("--max-minutes", type=float, help="time budget; the schedule anneals to it")
    t.add_argument("--workers", type=int, help="data-loading processes (default 1)")
    t.add_argument("--threads", type=int, help="torch threads")
    t.add_argument("--seed", type=int)
    t.add_argument("--backbone-weights", help="torchvision resnet18 weights (crnn_resnet18)")
    t.add_argument(
        "--init",
        help="start from a checkpoint or shipped reader (ru, cn); layers that "
        "do not fit (a new alphabet's output) are re-initialised",
    )
    t.add_argument("--no-augment", action="store_true", help="turn augmentation off")
    t.set_defaults(func=_train)

    e = sub.add_parser(
        "eval",
        help="evaluate a model on labelled data",
        description="Exact match, character accuracy and CER of a model.",
    )
    e.add_argument("--model", required=True, help="checkpoint (.pt) or exported model (.onnx)")
    e.add_argument("--data", action="append", required=True, help=DATA_HELP)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument(
        "--report",
        metavar="DIR",
        help="write report.html, summary.json, errors.csv and figures into DIR",
    )
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--threads", type=int, default=None)
    e.add_argument(
        "--decoder",
        default="auto",
        choices=DECODERS,
        help="auto: format-constrained beam search when the format has templates",
    )
    e.set_defaults(func=_eval)

    x = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX (with a parity check)",
        description="Export to ONNX with metadata inside; fails if ONNX Runtime "
        "and torch disagree.",
    )
    x.add_argument("--model", required=True, help="checkpoint (.pt)")
    x.add_argument("--out", required=True, help="output .onnx file")
    x.add_argument(
        "--calibrate",
        action="append",
        help="data spec of held-out labelled plates to calibrate confidences on",
    )
    x.set_defaults(func=_export)

    r = sub.add_parser(
        "read",
        help="read plate crops (files or folders)",
        description="Read plates with a shipped reader or an exported model; one "
        "line per image (path, text, confidence) or JSON lines.",
    )
    r.add_argument("paths", nargs="+", help="image files or folders")
    r.add_argument("--model", default="ru", help="ru, cn or an .onnx file (default ru)")
    r.add_argument("--json", action="store_true", help="print JSON lines")
    r.add_argument(
        "--min-confidence",
        type=float,
        default=0.0,
        help="mark readings below this calibrated confidence as rejected",
    )
    r.add_argument("--decoder", default="auto", choices=DECODERS)
    r.add_argument("--threads", type=int, default=None)
    r.set_defaults(func=_read)

    v = sub.add_parser(
        "serve",
        help="HTTP service and web page for reading plates",
        description="Serve POST /v1/read, GET /v1/models, /healthz, OpenAPI docs at "
        "/docs and a drop-an-image page at /.",
    )
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8000)
    v.add_argument(
        "--model",
        action="append",
        help="ru, cn, FILE.onnx or NAME=FILE.onnx (repeatable; default: ru and cn)",
    )
    v.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads per model")
    v.add_argument("--max-body-mb", type=int, default=16, help="largest request body (MB)")
    v.add_argument("--max-images", type=int, default=64, help="most images per request")
    v.set_defaults(func=_serve)

    d = sub.add_parser(
        "data",
        help="a first look at a data set",
        description="Counts, templates, lengths, character and province "
        "frequencies, unreadable images, invalid labels, and a grid of samples.",
    )
    d.add_argument("spec", nargs="+", help=DATA_HELP)
    d.add_argument(
        "--format", default="ru", help="plate format the labels should follow (default ru)"
    )
    d.add_argument("--grid", help="save a PNG grid of random samples with their labels")
    d.add_argument("--sample", type=int, default=24, help="samples in the grid")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_data)

    b = sub.add_parser(
        "bench",
        help="measure reading speed and memory",
        description="Plates/s per batch size, ms per plate (p50/p99), peak memory "
        "and model size, on ONNX Runtime.",
    )
    b.add_argument("--model", default="ru", help="ru, cn or an .onnx file")
    b.add_argument("--batch-sizes", default="1,32")
    b.add_argument(
        "--data", action="append", help="data spec for the images (default: random crops)"
    )
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--seconds", type=float, default=3.0, help="time per batch size")
    b.add_argument("--decoder", default="auto", choices=DECODERS)
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``plateread`` command."""
    args = build_parser().parse_args(argv)
    if hasattr(signal, "SIGPIPE"):  # `plateread read ... | head` ends quietly
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        return int(args.func(args))
    except USER_ERRORS as err:
        print(f"plateread {args.verb}: error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # config errors, bad checkpoints
        print(f"plateread {args.verb}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
