"""The verbs that make data and models: ``synth``, ``train``, ``eval``, ``export``, ``data``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from plateread.commands.common import say_left_out

if TYPE_CHECKING:
    from plateread.evaluate import Evaluation
    from plateread.formats import PlateFormat

RESUME_TAKES = frozenset({"resume", "epochs", "max_minutes", "device", "workers", "threads"})


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
        "real_turns": a.real_turns,
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
        turned_below=a.turned_below,
    )  # fmt: skip
    say_left_out(ev.unreadable)  # what "left out" counts, so it can be mended
    if not ev.samples:
        raise DataSpecError(
            f"no plates to evaluate in {', '.join(a.data)}: none of its "
            f"{len(data.samples)} images could be read"
        )
    _say_labels_to_check(ev, predictor.format, a.report)
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


def _say_labels_to_check(ev: Evaluation, fmt: PlateFormat, report: str | None) -> None:
    """Name (on stderr) the misread plates whose label is worth a second look."""
    from plateread.labels import CHECK_LABEL_ABOVE
    from plateread.report.analysis import labels_to_check

    checks = labels_to_check(ev, fmt)
    if not checks:
        return
    print(
        f"labels to check: {len(checks)} plate(s) read as another plate of the format with "
        f"confidence >= {CHECK_LABEL_ABOVE}, or labelled as no plate of it:",
        file=sys.stderr,
    )
    for i, why in checks[:5]:
        r = ev.readings[i]
        print(
            f"  {ev.samples[i].id}  {ev.targets[i]} -> {r.text} ({r.confidence:.2f}, {why})",
            file=sys.stderr,
        )
    more = f"{len(checks) - 5} more; " if len(checks) > 5 else ""
    where = f"all of them, with pictures, in {report}" if report else "--report DIR shows them all"
    print(f"  ({more}{where})", file=sys.stderr)


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


def run_data(a: argparse.Namespace) -> int:
    """Print a first look at a data set, optionally with a grid picture."""
    from plateread.data.inspect import inspect_data
    from plateread.formats import load_format

    if not a.grid and (a.sample or a.augment is not None):  # they only shape the grid
        raise ValueError("--sample and --augment say how to draw the grid: give --grid FILE.png")
    if a.real_turns is not None and a.augment is None:
        raise ValueError("--real-turns says how --augment draws the real crops: give --augment")
    fmt = a.format or "ru"
    if a.draft_format:
        if a.format:
            raise ValueError("--draft-format drafts the format from the labels: leave out --format")
        fmt = _write_draft(a.spec, a.draft_format, sys.stderr if a.json else sys.stdout)
    shown = {"sample": a.sample} if a.sample else {}  # else inspect_data's own number
    plate_format = load_format(fmt)
    info = inspect_data(a.spec, plate_format, augment=a.augment, turns=a.real_turns or 0.0, **shown)
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
    own = set(plate_format.templates)
    foreign = [t for t in info["templates"] if own and t not in own]  # layouts, no templates
    name = plate_format.name
    marked = {
        (f"{t} (no template of {name})" if t in foreign else t): n
        for t, n in info["templates"].items()
    }
    for key in ("templates", "lengths", "provinces", "region_codes"):
        if key in info:
            counts = marked if key == "templates" else info[key]
            print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print("characters: " + " ".join(f"{k}:{v}" for k, v in info["characters"].items()))
    if "colours" in info:
        c = info["colours"]
        print(
            f"colours, the median of {c['crops']} crops' centres: plate {c['plate']}, "
            f"characters {c['characters']}"
        )
    for why, n in info["invalid_labels"].items():
        print(f"invalid labels, {why}: {n} (e.g. {info['invalid_examples'][why][:3]})")
    if not a.format and not a.draft_format and (foreign or info["invalid_labels"]):
        print(
            "the labels were checked against ru, the default format: for plates of another "
            "region give --format FILE.yaml, or draft one with --draft-format FILE.yaml"
        )
    for problem in info["unreadable"] + info["read_problems"]:
        print(f"problem: {problem}")
    if info["copy_numbers"]["count"]:
        copies = info["copy_numbers"]
        name, label, cut = copies["examples"][0]
        print(
            f"{copies['count']} labels take in what may be a copy number of their file name "
            f"({name} labelled {label}, not {cut}): if so, add ?sep=_- (or the characters that "
            "end a label in your names) to the spec"
        )
    if a.grid:
        print(f"grid: {a.grid}" if grid else "grid: not written, no readable samples")
    return 0


def _write_draft(specs: list[str], path: str, say: TextIO) -> str:
    """Write the format drafted from the labels of ``specs`` to a new file ``path``; tell ``say``
    (standard error beside ``--json``, whose output is one JSON object).
    """
    from plateread.data.inspect import draft_from_specs
    from plateread.formats.draft import draft_yaml

    if Path(path).exists():  # checked before the labels are read
        raise FileExistsError(f"{path} exists: --draft-format writes a new file, give another name")
    draft = draft_from_specs(specs, Path(path).stem)
    with open(path, "x", encoding="utf-8") as f:  # never over an existing file
        f.write(draft_yaml(draft))
    templates = ", ".join(f"{t} {n}" for t, n in draft.templates)
    left = sum(n for _, n in draft.rare)
    rare = f"; left out {left} label{'s' * (left > 1)} of rarer layouts" if left else ""
    print(f"drafted {path} from {draft.labels} labels: templates {templates}{rare}", file=say)
    return path
