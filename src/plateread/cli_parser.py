"""The ``plateread`` argument parser: a function per verb, each verb a thin call into
:mod:`plateread.commands`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from plateread import __version__, commands
from plateread.cli_args import (
    DATA_HELP,
    DECODER_HELP,
    THREADS_HELP,
    TIGHTER_HELP,
    TURNED_HELP,
    TWO_ROW_HELP,
    batch_sizes,
    count,
    fraction,
    input_size,
    onnx_path,
    picture_path,
    port,
    positive,
    seconds,
    strength,
    yaml_path,
)
from plateread.decoding import DECODERS
from plateread.labels import CHECK_LABEL_ABOVE
from plateread.tighter import TIGHTER_BELOW, TURNED_BELOW
from plateread.tworow import REREAD_BELOW

if TYPE_CHECKING:
    Verbs = argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    """The ``plateread`` argument parser."""
    p = argparse.ArgumentParser(prog="plateread", description="Read the text on licence plates.")
    p.add_argument("--version", action="version", version=f"plateread {__version__}")
    sub = p.add_subparsers(dest="verb", required=True)
    _synth(sub)
    _train(sub)
    _eval(sub)
    _export(sub)
    _read(sub)
    _serve(sub)
    _data(sub)
    _bench(sub)
    return p


def _synth(sub: Verbs) -> None:
    """The ``synth`` verb's options."""
    s = sub.add_parser(
        "synth",
        help="render synthetic plates",
        description="Render synthetic plates "
        "to DIR/images + DIR/config.json (deterministic for a seed). A set written here before "
        "is replaced; a folder holding another data set is refused.",
    )
    s.add_argument(
        "--format", default="ru", help="ru, ru_all, cn, generic or a format .yaml (default ru)"
    )
    s.add_argument("-n", type=positive, default=1000, help="number of plates (default 1000)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--seed", type=count, default=0, help="random seed, 0 or more (default 0)")
    s.add_argument(
        "--grid", type=picture_path, help="also save a PNG grid of samples with their text"
    )
    s.set_defaults(func=commands.run_synth)


def _train(sub: Verbs) -> None:
    """The ``train`` verb's options."""
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
    t.add_argument("--format", help="plate format: ru, ru_all, cn, generic or a .yaml file")
    t.add_argument(
        "--arch",
        help="architecture: crnn_fast (the shipped readers'), crnn_fast_stn (crnn_fast behind a "
        "learned zoom, 64x256, for loose crops), crnn_small (the default; with --init, the "
        "checkpoint's own), crnn_province or crnn_resnet18 (the course model, 64x320)",
    )
    t.add_argument(
        "--epochs", type=int, help="epochs to train (default 10; with --resume: only more)"
    )
    t.add_argument("--batch-size", type=int, help="plates per optimiser step (default 64)")
    t.add_argument("--lr", type=float, help="peak learning rate of the schedule (default 0.001)")
    t.add_argument("--input-size", type=input_size, help="HxW, e.g. 32x128")
    t.add_argument("--out", help="folder for run folders (default runs)")
    t.add_argument("--resume", help="run folder or last.pt to continue")
    t.add_argument(
        "--max-minutes",
        type=float,
        help="time budget; the schedule anneals to it (with --resume: only a longer one)",
    )
    t.add_argument(
        "--workers",
        type=count,
        help="data-loading processes (default: 1 on the CPU, on a GPU the cores less 2, up to 16)",
    )
    t.add_argument(
        "--threads",
        type=count,
        help="torch threads (default: cores left after the workers)",
    )
    t.add_argument(
        "--device",
        help="auto (default: a CUDA GPU when torch sees one, else the CPU), cpu, cuda or cuda:N; "
        "a resumed run uses the device given now",
    )
    t.add_argument(
        "--seed", type=int, help="seed of the shuffle, augmentation and weights (default 0)"
    )
    t.add_argument("--backbone-weights", help="torchvision resnet18 weights (crnn_resnet18)")
    t.add_argument(
        "--init",
        help="start from a checkpoint or shipped reader (ru, ru_all, cn); layers that "
        "do not fit (a new alphabet's output) are re-initialised",
    )
    t.add_argument(
        "--ema",
        type=float,
        help="validate and save a moving average of the weights with this decay (e.g. 0.999)",
    )
    t.add_argument("--no-augment", action="store_true", help="turn augmentation off")
    t.add_argument(
        "--real-augment",
        type=float,
        help="strength of the real crops' augmentation (default 1; 2 doubles tilt and effects)",
    )
    t.add_argument(
        "--real-turns",
        type=fraction,
        metavar="SHARE",
        help="share of real crops also turned by 8-30 degrees either way (default 0), for "
        "plates turned far in their crops",
    )
    t.set_defaults(func=commands.run_train)


def _eval(sub: Verbs) -> None:
    """The ``eval`` verb's options."""
    e = sub.add_parser(
        "eval",
        help="evaluate a model on labelled data",
        description="Exact match, character accuracy and CER of a model. Misread plates "
        "whose label is worth a second look (read as another plate of the format with "
        f"confidence >= {CHECK_LABEL_ABOVE}, or labelled as no plate of it) are named on stderr.",
    )
    e.add_argument("--model", required=True, help="checkpoint (.pt) or exported model (.onnx)")
    e.add_argument("--data", action="append", required=True, help=DATA_HELP)
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument(
        "--report",
        metavar="DIR",
        help="write report.html, summary.json, errors.csv and figures into DIR (new or empty, "
        "or an earlier report's, which is replaced)",
    )
    e.add_argument("--batch-size", type=positive, default=64, help="plates per batch (default 64)")
    e.add_argument("--threads", type=count, default=None, help=THREADS_HELP)
    _decoding(e)
    e.set_defaults(func=commands.run_eval)


def _export(sub: Verbs) -> None:
    """The ``export`` verb's options."""
    x = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX (with a parity check)",
        description="Export to ONNX with metadata inside; fails if ONNX Runtime "
        "and torch disagree.",
    )
    x.add_argument(
        "--model", required=True, help="checkpoint (.pt), or a shipped reader's name for its .pt"
    )
    x.add_argument("--out", required=True, type=onnx_path, help="output .onnx file")
    x.add_argument(
        "--calibrate",
        action="append",
        help="data spec of held-out labelled plates to calibrate confidences on",
    )
    x.set_defaults(func=commands.run_export)


def _read(sub: Verbs) -> None:
    """The ``read`` verb's options."""
    r = sub.add_parser(
        "read",
        help="read plate crops (files or folders)",
        description="Read plates with a shipped reader or an exported model; one "
        "tab-separated line per image (path, text, confidence; a tab or line break in a "
        "path is written \\t, \\n) or JSON lines.",
    )
    r.add_argument(
        "paths", nargs="+", help="image files or folders; - reads one image from standard input"
    )
    r.add_argument("--model", default="ru", help="ru, ru_all, cn or an .onnx file (default ru)")
    r.add_argument("--json", action="store_true", help="print JSON lines")
    r.add_argument(
        "--min-confidence",
        type=fraction,
        default=0.0,
        help="mark readings below this calibrated confidence as rejected",
    )
    r.add_argument(
        "--threads", type=count, default=None, help="ONNX Runtime threads (default: its own)"
    )
    _decoding(r)
    r.set_defaults(func=commands.run_read)


def _serve(sub: Verbs) -> None:
    """The ``serve`` verb's options."""
    v = sub.add_parser(
        "serve",
        help="HTTP service and web page for reading plates",
        description="Serve POST /v1/read, GET /v1/models, /healthz, OpenAPI docs at "
        "/docs and a drop-an-image page at /.",
    )
    v.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: all)"
    )
    v.add_argument("--port", type=port, default=8000, help="TCP port (default 8000)")
    v.add_argument(
        "--model",
        action="append",
        help="ru, ru_all, cn, FILE.onnx or NAME=FILE.onnx (repeatable; default: all shipped)",
    )
    v.add_argument("--threads", type=count, default=None, help="ONNX Runtime threads per model")
    v.add_argument("--max-body-mb", type=positive, default=16, help="largest request body (MB)")
    v.add_argument("--max-images", type=positive, default=64, help="most images per request")
    v.set_defaults(func=commands.run_serve)


def _data(sub: Verbs) -> None:
    """The ``data`` verb's options."""
    d = sub.add_parser(
        "data",
        help="a first look at a data set",
        description="Counts, templates, lengths, character and province "
        "frequencies, unreadable images, invalid labels, the plates' colours as photographed "
        "(to compare real crops with synthetic ones), and a grid of samples; "
        "with --draft-format, first a format file drafted from the labels.",
    )
    d.add_argument("spec", nargs="+", help=DATA_HELP)
    d.add_argument("--format", help="plate format the labels should follow (default ru)")
    d.add_argument(
        "--draft-format",
        type=yaml_path,
        metavar="FILE",
        help="write a new format file (.yaml) drafted from the labels as written: their "
        "alphabet, character classes and templates, the plates' colours as the crops show "
        "them (a template's own where its crops differ; and, in comments, a region code "
        "where the first characters, or the last digits, take few values); then look at the "
        "data in that format",
    )
    d.add_argument(
        "--grid",
        type=picture_path,
        help="save a PNG grid of random samples with their labels",
    )
    d.add_argument("--sample", type=positive, help="samples in the grid (default 24)")
    d.add_argument(
        "--augment",
        type=strength,
        metavar="STRENGTH",
        help="draw the grid's real crops as training augments them at this --real-augment "
        "strength (1: the default; synthetic plates are drawn augmented anyway)",
    )
    d.add_argument(
        "--real-turns",
        type=fraction,
        metavar="SHARE",
        help="with --augment: turn this share of them far, as --real-turns does in training",
    )
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=commands.run_data)


def _bench(sub: Verbs) -> None:
    """The ``bench`` verb's options."""
    b = sub.add_parser(
        "bench",
        help="measure reading speed and memory",
        description="Plates/s per batch size, ms per plate (p50/p99), peak memory "
        "and model size, on ONNX Runtime.",
    )
    b.add_argument("--model", default="ru", help="ru, ru_all, cn or an .onnx file")
    b.add_argument(
        "--batch-sizes",
        type=batch_sizes,
        default=(1, 32),
        help="comma-separated batch sizes to time (default 1,32)",
    )
    b.add_argument(
        "--data",
        action="append",
        help="data spec for the images (default: 64 synthetic plates of the model's format; "
        "real plates give the figures to quote)",
    )
    b.add_argument("--threads", type=count, default=2, help="ONNX Runtime threads (default 2)")
    b.add_argument("--seconds", type=seconds, default=3.0, help="time per batch size (default 3)")
    b.add_argument("--decoder", default="auto", choices=DECODERS, help=DECODER_HELP)
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.set_defaults(func=commands.run_bench)


def _decoding(p: argparse.ArgumentParser) -> None:
    """How ``eval`` and ``read`` decode: the decoder, and when to read a plate a second time."""
    p.add_argument("--decoder", default="auto", choices=DECODERS, help=DECODER_HELP)
    p.add_argument("--two-row-below", type=fraction, default=REREAD_BELOW, help=TWO_ROW_HELP)
    p.add_argument("--tighter-below", type=fraction, default=TIGHTER_BELOW, help=TIGHTER_HELP)
    p.add_argument("--turned-below", type=fraction, default=TURNED_BELOW, help=TURNED_HELP)
