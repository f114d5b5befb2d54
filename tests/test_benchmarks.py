"""The benchmark scripts start, and the accuracy checks run end to end on tiny inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_benchmark_documents_itself(script: Path) -> None:
    out = run(str(script), "--help")
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


def test_model_checks_run_on_two_checkpoints(tmp_path: Path, synth_ru: Path) -> None:
    from plateread.formats import RU
    from plateread.models import REGISTRY, build_model
    from plateread.train.checkpoint import model_meta, save_checkpoint

    meta = model_meta("crnn_fast", RU, REGISTRY["crnn_fast"].input_size, {})
    paths = [
        str(save_checkpoint(tmp_path / f"m{i}.pt", build_model("crnn_fast", RU), meta))
        for i in range(2)
    ]
    data = f"json:{synth_ru}"
    out = run("benchmarks/ensemble_check.py", *paths, "--data", data, "--threads", "1")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].endswith("/48") and lines[2].startswith("models 0 + 1: ")
    # untrained models read nothing right, so every plate is misread by both
    assert "misread by every model: 48" in out.stdout
    out = run("benchmarks/tta_check.py", "--model", paths[0], "--data", data, "--threads", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("/48") == 8


def test_sampler_check_prints_the_affine_maps(tmp_path: Path, synth_ru: Path) -> None:
    from plateread.formats import RU
    from plateread.models import build_model
    from plateread.train.checkpoint import model_meta, save_checkpoint

    meta = model_meta("crnn_fast_stn", RU, (64, 256), {})
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("crnn_fast_stn", RU), meta)
    picture = tmp_path / "views.png"
    args = ("--model", str(ckpt), "--data", f"json:{synth_ru}", "--limit", "10")
    out = run("benchmarks/sampler_check.py", *args, "--picture", str(picture), "--threads", "1")
    assert out.returncode == 0, out.stderr
    # a fresh sampler is the identity: scales 1, shears and shifts 0
    assert "10 crops" in out.stdout and "x scale  min +1.000  mean +1.000" in out.stdout
    assert "y shift  min +0.000" in out.stdout and picture.stat().st_size > 0


def test_robustness_check_reads_every_perturbed_crop(synth_ru: Path) -> None:
    import json

    out = run("benchmarks/robustness.py", "--model", "ru", "--data", f"json:{synth_ru}", "--json")
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert figures["plates"] == 48
    assert {"as is", "pad 12%", "rotate -4", "JPEG 30", "mean of changed"} <= set(figures)
    # the shipped reader reads synthetic plates (about 70%: it was trained on plates drawn in
    # Barlow Condensed only, the generator now also draws Barlow and Saira Condensed)
    assert figures["as is"] > 0.5
    assert all(0.0 <= v <= 1.0 for k, v in figures.items() if k != "plates")
    args = ("--model", "ru", "--data", f"json:{synth_ru}", "--json", "--swap-channels")
    swapped = run("benchmarks/robustness.py", *args)
    assert swapped.returncode == 0, swapped.stderr
    assert json.loads(swapped.stdout)["plates"] == 48


def test_calibration_check_scores_each_fit_on_held_halves(synth_ru: Path) -> None:
    data = f"json:{synth_ru}"
    out = run("benchmarks/calibration_check.py", "--model", "ru", "--data", data, "--halvings", "3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ru: 48 real plates")
    rows = {ln.strip().split("  ")[0]: ln.split()[-4:] for ln in out.stdout.splitlines()[2:]}
    assert set(rows) == {"raw", "real", "real, plain"}
    for ece, brier, ranking, certain in rows.values():  # each a figure in [0, 1] (or nan)
        assert 0 <= float(ece) <= 1 and 0 <= float(brier) <= 1 and certain.endswith("%")
        assert ranking == "nan" or 0 <= float(ranking) <= 1
