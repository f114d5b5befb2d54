from __future__ import annotations

import dataclasses
import gc
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from plateread.models import REGISTRY
from plateread.train.checkpoint import read_checkpoint
from plateread.train.config import ConfigError, TrainConfig, load_config
from plateread.train.loop import train
from plateread.train.runs import (
    EpochSampler,
    data_workers,
    lr_factor,
    new_run_dir,
    open_log,
    plot_curves,
    read_log,
    resolve_device,
    training_threads,
)


def _cfg(tmp_path: Path, data: Path, **kw: object) -> TrainConfig:
    base = dict(
        data=[f"json:{data}"],
        format="ru",
        arch="crnn_small",
        epochs=1,
        batch_size=16,
        workers=0,
        out=str(tmp_path / "runs"),
        val_fraction=0.25,
    )
    base.update(kw)
    return TrainConfig.from_dict(base).validate()


def _log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_one_epoch_run_writes_everything(tmp_path: Path, synth_ru: Path) -> None:
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    run = train(_cfg(tmp_path, synth_ru))
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers  # restored
    assert run.name == "001-crnn_small"
    names = {p.name for p in run.iterdir()}
    assert names >= {"config.yaml", "log.jsonl", "best.pt", "last.pt", "curves.png"}
    entry = _log(run)[-1]
    assert entry["complete"] and entry["epoch"] == 1
    assert {"val_exact", "val_char_acc", "val_cer", "train_loss"} <= set(entry)
    state = read_checkpoint(run / "best.pt")  # loads with weights_only=True
    assert state["arch"] == "crnn_small" and state["format"]["name"] == "ru"
    assert state["input_size"] == [32, 128]
    # a second run gets a new folder, never overwriting
    assert new_run_dir(tmp_path / "runs", "crnn_small").name == "002-crnn_small"


def test_loss_goes_down_on_a_tiny_set(tmp_path: Path, synth_ru: Path) -> None:
    run = train(
        _cfg(
            tmp_path,
            synth_ru,
            arch="crnn_fast",
            epochs=6,
            lr=3e-3,
            augment=False,
            val_fraction=0.0,
            val_data=[f"json:{synth_ru}"],
        )
    )
    log = _log(run)
    assert log[-1]["train_loss"] < log[0]["train_loss"] * 0.8


def _train_in_a_process(
    tmp_path: Path, data: Path, settings: str, until: Callable[[Path], bool]
) -> subprocess.Popen[str]:
    """``plateread train`` (crnn_small on ``data``, plus YAML ``settings``) in its own process
    group, returned once ``until(run folder)`` holds (or after 120 s)."""
    cfg = tmp_path / "train.yaml"
    cfg.write_text(
        f"data: ['json:{data}']\nformat: ru\narch: crnn_small\nthreads: 1\n"
        f"out: {tmp_path / 'runs'}\n{settings}"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "plateread.cli", "train", "--config", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a service or a batch job has
    )
    run = tmp_path / "runs" / "001-crnn_small"
    deadline = time.time() + 120
    while not until(run) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    return proc


def test_resume_after_a_hard_kill(tmp_path: Path, synth_ru: Path) -> None:
    settings = "epochs: 3\nbatch_size: 8\nworkers: 0\ncheckpoint_minutes: 0\n"
    proc = _train_in_a_process(tmp_path, synth_ru, settings, lambda run: (run / "last.pt").exists())
    last = tmp_path / "runs" / "001-crnn_small" / "last.pt"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert last.exists(), "no checkpoint was written before the kill"
    killed_at = read_checkpoint(last)
    assert (killed_at["epoch"], killed_at["step_in_epoch"]) < (3, 0)
    run = train(TrainConfig(resume=str(last.parent)))
    assert run == last.parent
    final = read_checkpoint(last)
    assert final["epoch"] == 3 and final["step_in_epoch"] == 0
    epochs = [e["epoch"] for e in _log(run) if e["complete"]]
    assert epochs[-1] == 3 and len(epochs) <= 3  # continued, not restarted from scratch


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_to_the_whole_process_group_stops_cleanly(
    tmp_path: Path, synth_ru: Path, sig: signal.Signals
) -> None:
    """Ctrl-C, systemd, SLURM and ``kill -TERM -PGID`` signal the data-loading workers too."""

    def first_epoch_logged(run: Path) -> bool:  # the worker then serves the second epoch
        log = run / "log.jsonl"
        return log.exists() and bool(log.read_text())

    settings = "epochs: 50\nbatch_size: 4\nworkers: 1\n"
    proc = _train_in_a_process(tmp_path, synth_ru, settings, first_epoch_logged)
    log = tmp_path / "runs" / "001-crnn_small" / "log.jsonl"
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert "stopped; resume with" in err
    assert read_checkpoint(log.parent / "last.pt")["epoch"] < 50


def test_the_data_loading_workers_end_with_the_run(tmp_path: Path, synth_ru: Path) -> None:
    """Not left to the garbage collector: a worker alive at interpreter exit (they ignore SIGTERM)
    made a stopped run print its last lines and then never exit.
    """
    before = set(multiprocessing.active_children())
    gc.disable()  # what a run that ends before the next collection sees
    try:
        train(_cfg(tmp_path, synth_ru, workers=1))
        left = set(multiprocessing.active_children()) - before
        assert not left
    finally:
        gc.enable()
        for proc in set(multiprocessing.active_children()) - before:  # so a failure ends here
            proc.kill()
            proc.join()


def test_resume_can_extend_epochs(tmp_path: Path, synth_ru: Path) -> None:
    run = train(_cfg(tmp_path, synth_ru, device="cpu"))
    train(TrainConfig(resume=str(run)), epochs=2)  # the device given now (auto), not the saved
    assert [e["epoch"] for e in _log(run)] == [1, 2]
    weights = read_checkpoint(run / "last.pt")["state_dict"].values()
    assert all(t.device.type == "cpu" for t in weights)  # checkpoints load on any machine


def test_resume_takes_machine_settings_and_refuses_the_runs_own(
    tmp_path: Path, synth_ru: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plateread.cli import main

    run = train(_cfg(tmp_path, synth_ru, threads=1))
    capsys.readouterr()
    for flags in (["--lr", "0.5"], ["--data", "synth:ru", "--no-augment"]):
        assert main(["train", "--resume", str(run), *flags]) == 2  # not ignored without a word
        err = capsys.readouterr().err
        assert "--resume continues a run with its saved settings" in err
        assert f"not {', '.join(f for f in flags if f.startswith('--'))} (" in err
    assert [e["epoch"] for e in _log(run)] == [1]
    assert main(["train", "--resume", str(run), "--epochs", "2", "--threads", "2"]) == 0
    assert "0 data-loading worker(s), 2 torch thread(s)" in capsys.readouterr().err
    assert [e["epoch"] for e in _log(run)] == [1, 2]


def test_resuming_a_finished_run_trains_nothing(
    tmp_path: Path, synth_ru: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = train(_cfg(tmp_path, synth_ru, epochs=1))
    before = {f: (run / f).read_bytes() for f in ("best.pt", "last.pt", "log.jsonl")}
    assert train(TrainConfig(resume=str(run))) == run
    assert "nothing to resume, all 1 epochs are trained" in capsys.readouterr().err
    assert {f: (run / f).read_bytes() for f in before} == before  # best.pt untouched
    # a run that its time budget ended (here after its first step)
    timed = train(_cfg(tmp_path, synth_ru, epochs=5, max_minutes=1e-5))
    steps = len(_log(timed))
    train(TrainConfig(resume=str(timed)))
    assert "time budget of 1e-05 minutes is spent" in capsys.readouterr().err
    assert len(_log(timed)) == steps
    train(TrainConfig(resume=str(timed), max_minutes=1e-5))  # the same budget: still spent
    assert "time budget of 1e-05 minutes is spent" in capsys.readouterr().err
    train(TrainConfig(resume=str(timed), max_minutes=1))  # a longer budget goes on
    assert len(_log(timed)) > steps


def test_resume_refuses_to_shorten_a_run(tmp_path: Path, synth_ru: Path) -> None:
    run = train(_cfg(tmp_path, synth_ru, epochs=3, max_minutes=1e-5))
    timed_log = _log(run)
    with pytest.raises(ConfigError, match="can only lengthen it"):
        train(TrainConfig(resume=str(run)), epochs=2)  # used to be ignored without a word
    with pytest.raises(ConfigError, match="time budget of 1e-05 minutes: --max-minutes on"):
        train(TrainConfig(resume=str(run), max_minutes=1e-6))
    untimed = train(_cfg(tmp_path, synth_ru, epochs=1))
    with pytest.raises(ConfigError, match=r"has no time budget \(its schedule follows --epochs 1"):
        train(TrainConfig(resume=str(untimed), max_minutes=1))
    assert _log(run) == timed_log  # refused before any training


def test_device_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="torch sees no CUDA GPU here; use --device cpu"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("auto", local_rank=1, local_world=2) == torch.device("cuda", 1)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # torchrun, 2 processes, 1 GPU:
    for rank in (0, 1):  # all on the CPU (gloo), as NCCL cannot share one GPU
        assert resolve_device("auto", local_rank=rank, local_world=2) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda", local_rank=1) == torch.device("cuda", 1)
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="only 2 GPU"):
        resolve_device("cuda:2")
    with pytest.raises(ConfigError, match="device must be auto, cpu, cuda or cuda:N"):
        load_config(None, {"data": ["synth:ru"], "device": "gpu"})


def _indices(sampler: EpochSampler) -> list[int]:
    return [i for _, i in sampler]


def test_sampler_and_schedule() -> None:
    a = _indices(EpochSampler(10, seed=1, epoch=0))
    assert sorted(a) == list(range(10))
    assert _indices(EpochSampler(10, seed=1, epoch=0, start=4)) == a[4:]
    b = EpochSampler(10, 1, 1)
    assert _indices(b) != a and {e for e, _ in b} == {1}  # keys name their epoch
    b.set_epoch(0)
    assert _indices(b) == a and {e for e, _ in b} == {0}
    b.set_epoch(0, start=4)
    assert _indices(b) == a[4:]
    shards = [_indices(EpochSampler(10, 1, 0, rank=r, world=2)) for r in (0, 1)]
    assert sorted(shards[0] + shards[1]) == list(range(10))
    uneven = [_indices(EpochSampler(11, 1, 0, rank=r, world=2)) for r in (0, 1)]
    assert len(uneven[0]) == len(uneven[1]) == 6  # equal steps on every rank (no DDP hang)
    assert set(uneven[0] + uneven[1]) == set(range(11))
    assert lr_factor("onecycle", 0.0) < 0.1 and lr_factor("onecycle", 0.05) == pytest.approx(1.0)
    assert lr_factor("cosine", 1.0) == pytest.approx(0.01) and lr_factor("constant", 0.7) == 1.0


def test_training_threads_leave_cores_to_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2, 3}, raising=False)
    assert training_threads(3, workers=1) == 3  # explicit wins
    assert training_threads(0, workers=1) == 3
    assert training_threads(0, workers=2, world=2) == 1  # 2 cores per process, all to workers
    assert training_threads(0, workers=8) == 1
    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    assert data_workers(None, cpu) == 1  # the CPU's cores go to the network
    assert data_workers(None, gpu) == 2  # a GPU waits on data: the cores less two
    assert data_workers(None, gpu, world=2) == 1
    assert data_workers(0, gpu) == 0 and data_workers(3, cpu) == 3  # explicit wins
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(64)), raising=False)
    assert data_workers(None, gpu) == 16
    from plateread.train import runs

    monkeypatch.setattr(runs, "_shm_free", lambda: 64 << 20)  # a container's default /dev/shm
    batch = 64 * 64 * 256 * 3  # crnn_fast_stn's input, batch 64: 3.1 MB
    assert data_workers(None, gpu, batch_bytes=batch) == 5  # 5 x 2 batches in half of 64 MB
    assert data_workers(None, gpu, world=2, batch_bytes=batch) == 2
    assert data_workers(12, gpu, batch_bytes=batch) == 12  # explicit wins
    monkeypatch.setattr(runs, "_shm_free", lambda: None)
    assert data_workers(None, gpu, batch_bytes=batch) == 16


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown config keys"):
        TrainConfig.from_dict({"epochz": 3})
    with pytest.raises(ConfigError, match="no training data"):
        load_config(None, {})
    with pytest.raises(ConfigError, match="schedule"):
        load_config(None, {"data": ["synth:ru"], "schedule": "linear"})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "x.yaml", {})
    (tmp_path / "twice.yaml").write_text("data: [synth:ru]\nepochs: 3\nepochs: 30\n")
    with pytest.raises(ConfigError, match="key 'epochs' is given twice"):
        load_config(tmp_path / "twice.yaml", {})
    with pytest.raises(ConfigError, match="real_augment"):
        load_config(None, {"data": ["synth:ru"], "real_augment": -1})
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()  # every field type
    with pytest.raises(ConfigError, match="config epochs must be int, got True"):
        TrainConfig.from_dict({"epochs": True})
    for f in dataclasses.fields(TrainConfig):  # every field's type is checked: none takes anything
        with pytest.raises(ConfigError, match=f"config {f.name} must be "):
            TrainConfig.from_dict({f.name: object()})
    with pytest.raises(ConfigError, match=r"config workers must be int \| None, got 'two'"):
        TrainConfig.from_dict({"workers": "two"})  # was a TypeError in validate()
    assert TrainConfig.from_dict({"workers": None}).workers is None
    with pytest.raises(ConfigError, match="workers and threads"):
        load_config(None, {"data": ["synth:ru"], "workers": -1})
    with pytest.raises(ConfigError, match="unknown arch 'crnn_huge'; registered: "):
        load_config(None, {"data": ["synth:ru"], "arch": "crnn_huge"})
    for key, value, words in (
        ("lr", float("nan"), r"finite numbers, got \{'lr': nan\}"),
        ("max_minutes", float("inf"), "finite numbers"),
        ("clip_grad", -1.0, r"clip_grad \(0: off\) and checkpoint_minutes .* at least 0"),
        ("checkpoint_minutes", -1.0, "at least 0"),
        ("val_fraction", 1.0, "val_fraction .* must be between 0 and 1"),
        ("lr", 0.0, "lr must be above 0"),
        ("weight_decay", -1e-4, "weight_decay and max_minutes at least 0"),
        ("max_minutes", -1.0, "weight_decay and max_minutes at least 0"),
        ("threads", -1, "workers and threads must be at least 0"),
        ("epochs", 0, "epochs and batch_size must be at least 1"),
        ("batch_size", 0, "epochs and batch_size must be at least 1"),
        ("ema", 1.0, r"ema is a decay in \[0, 1\)"),
        ("real_turns", 1.5, "real_turns is a share from 0 to 1"),
        ("real_turns", -0.1, "real_turns is a share from 0 to 1"),
    ):
        with pytest.raises(ConfigError, match=words):
            load_config(None, {"data": ["synth:ru"], key: value})
    edges = {
        "weight_decay": 0.0,
        "max_minutes": 0.0,
        "clip_grad": 0.0,
        "checkpoint_minutes": 0.0,
        "workers": 0,
        "threads": 0,
        "epochs": 1,
        "batch_size": 1,
        "ema": 0.0,
        "real_augment": 0.0,
        "real_turns": 1.0,
        "device": "cuda:1",  # where the run finds no GPU, it says so
    }
    assert load_config(None, {"data": ["synth:ru"], **edges}).to_dict().items() >= edges.items()
    held_out = {"data": ["synth:ru"], "val_data": ["synth:ru?seed=1"], "val_fraction": 0.0}
    assert load_config(None, held_out).val_fraction == 0.0  # unused beside val_data
    (tmp_path / "flow.yaml").write_text("data: [synth:ru?n=5]\n")
    with pytest.raises(ConfigError, match=r"quote values in \[...\] lists"):
        load_config(tmp_path / "flow.yaml", {})
    # a config file may give the input size as --input-size does
    (tmp_path / "size.yaml").write_text("data: [synth:ru]\ninput_size: 32x160\n")
    assert load_config(tmp_path / "size.yaml", {}).input_size == [32, 160]
    for size in ([0, 128], "32x", [32]):
        with pytest.raises(ConfigError, match="input_size"):
            load_config(None, {"data": ["synth:ru"], "input_size": size})


def test_a_log_line_a_killed_run_cut_short_neither_stops_nor_swallows_the_next(
    tmp_path: Path,
) -> None:
    """Killed mid-write, a run leaves ``log.jsonl`` ending in half a line: resuming must neither
    fail on it when the curves are drawn (it did, after an epoch, with a bare JSON error) nor
    write the next entry onto it."""
    first = {"epoch": 1, "train_loss": 2.0, "val_exact": 0.5}
    (tmp_path / "log.jsonl").write_text(json.dumps(first) + '\n{"epoch": 2, "tra')
    with open_log(tmp_path) as log:
        log.write(json.dumps({"epoch": 2, "train_loss": 1.0}) + "\n")
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert lines[1] == '{"epoch": 2, "tra' and json.loads(lines[2])["train_loss"] == 1.0
    (tmp_path / "log.jsonl").write_text("\n".join([*lines, "[1, 2]", "{}", "not json"]) + "\n")
    assert read_log(tmp_path) == [first, {"epoch": 2, "train_loss": 1.0}]
    plot_curves(tmp_path)
    assert (tmp_path / "curves.png").stat().st_size > 0
    before = (tmp_path / "log.jsonl").read_text()
    with open_log(tmp_path):  # a log that ends its last line gets no blank line
        pass
    assert (tmp_path / "log.jsonl").read_text() == before
    (tmp_path / "new").mkdir()
    with open_log(tmp_path / "new"):
        pass
    assert (tmp_path / "new" / "log.jsonl").read_text() == ""


def test_arch_options_the_model_refuses_are_config_errors(tmp_path: Path) -> None:
    """An option the architecture lacks, or a value it refuses: named before the run starts
    (it was a TypeError traceback), and no run folder is made."""
    from plateread.formats import RU
    from plateread.train.setup import build_run_model

    for arch, kwargs, size, words in (
        ("crnn_small", {"x": 1}, (32, 128), r"arch_kwargs \{'x': 1\} .*unexpected keyword"),
        ("crnn_small", {"hidden": 0}, (32, 128), "hidden_size must be greater than zero"),
        ("crnn_resnet18", {}, (40, 100), r"input size \[40, 100\] .*divisible by 32"),
    ):
        cfg = load_config(None, {"data": ["synth:ru"], "arch": arch, "arch_kwargs": kwargs})
        with pytest.raises(ConfigError, match=f"{arch} cannot be built with .*{words}"):
            build_run_model(cfg, RU, size, rank=0, fresh=True)
    out = tmp_path / "runs"
    cfg = load_config(None, {"data": ["synth:ru?n=8"], "arch_kwargs": {"x": 1}, "out": str(out)})
    with pytest.raises(ConfigError, match="unexpected keyword argument 'x'"):
        train(cfg)
    assert not out.exists()


def test_real_crops_are_augmented_with_the_configured_strength(
    synth_ru: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import plateread.synth.augment as augment
    from plateread.data import load_dataset
    from plateread.formats import RU
    from plateread.train.data import PlateTorchDataset

    seen: list[tuple[float, float]] = []

    def spy(image, rng, strength=1.0, turns=0.0):  # type: ignore[no-untyped-def]
        seen.append((strength, turns))
        return image

    monkeypatch.setattr(augment, "augment_real", spy)
    samples = load_dataset(f"json:{synth_ru}", RU).samples[:2]
    PlateTorchDataset(samples, RU, (32, 128), augment=True, real_strength=2.5, real_turns=0.25)[0]
    PlateTorchDataset(samples, RU, (32, 128), augment=False, real_strength=2.5)[1]
    assert seen == [(2.5, 0.25)]


def test_warm_up_loads_one_item_of_each_kind(
    synth_ru: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plateread.data import load_dataset
    from plateread.formats import RU
    from plateread.train.data import PlateTorchDataset

    real = load_dataset(f"json:{synth_ru}", RU).samples[:3]
    rendered = load_dataset("synth:ru?n=3&seed=1", RU).samples
    seen: list[int] = []
    original = PlateTorchDataset.__getitem__

    def spy(self, i):  # type: ignore[no-untyped-def]
        seen.append(i)
        return original(self, i)

    monkeypatch.setattr(PlateTorchDataset, "__getitem__", spy)
    PlateTorchDataset(real + rendered, RU, (32, 128), augment=True).warm_up()
    PlateTorchDataset(rendered + real, RU, (32, 128), augment=True).warm_up()
    PlateTorchDataset(real, RU, (32, 128), augment=True).warm_up()
    assert seen == [0, 3, 0, 3, 0]


def test_persistent_workers_follow_the_epochs() -> None:
    """One worker serves two epochs: each epoch's synthetic plates are that epoch's draw."""
    from torch.utils.data import DataLoader

    from plateread.data import load_dataset
    from plateread.formats import RU
    from plateread.train.data import PlateTorchDataset, collate

    ds = PlateTorchDataset(load_dataset("synth:ru?n=4&seed=1", RU).samples, RU, (32, 128), True)
    sampler = EpochSampler(4, seed=0)
    loader = DataLoader(
        ds, batch_size=4, sampler=sampler, collate_fn=collate, num_workers=1,
        persistent_workers=True,
    )  # fmt: skip
    first, second = ds[(0, 0)], ds[(1, 0)]
    assert first is not None and second is not None
    assert not torch.equal(first["image"], second["image"])  # each epoch draws plates anew
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        (batch,) = list(loader)  # the same worker process both times
        expected = [ds[(epoch, i)] for i in sampler.order]
        assert torch.equal(batch["images"], torch.stack([e["image"] for e in expected if e]))


def _with_an_unreadable_image(synth: Path, readable: int, out: Path) -> Path:
    """A label list of ``readable`` plates of ``synth`` and, last, one unreadable image."""
    items = json.loads((synth / "config.json").read_text())[:readable]
    for item in items:
        item["file"] = str(synth / "images" / Path(item["file"]).name)
    (out / "bad.png").write_bytes(b"\x89PNG cut short")
    path = out / "data.json"
    path.write_text(json.dumps([*items, {"file": str(out / "bad.png"), "text": "A111AA11"}]))
    return path


def _torchrun(
    data: str, batch_size: int, out: Path, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """``plateread train`` in two processes on the CPU (gloo), one epoch of crnn_small."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun not installed")
    argv = ["--data", data, "--format", "ru", "--epochs", "1", "--batch-size", str(batch_size)]
    return subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "plateread.cli", "train"]
        + [*argv, "--workers", "0", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


def test_ddp_two_processes(tmp_path: Path, synth_ru: Path) -> None:
    out = _torchrun(f"json:{synth_ru}", 8, tmp_path / "runs")
    assert out.returncode == 0, out.stderr[-2000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1  # only rank 0 writes
    assert out.stdout.count("run folder:") == 1 and f"run folder: {runs[0]}" in out.stdout
    assert _log(runs[0])[-1]["complete"]
    assert torch.load(runs[0] / "best.pt", weights_only=True)["arch"] == "crnn_small"


def test_ddp_goes_on_past_a_batch_that_one_process_cannot_read(
    tmp_path: Path, synth_ru: Path
) -> None:
    """A process whose whole batch was unreadable skipped the step alone, and the other waited
    for it in backward for ever: now every process skips that step."""
    data = _with_an_unreadable_image(synth_ru, 6, tmp_path)
    try:
        out = _torchrun(f"json:{data}", 1, tmp_path / "runs", timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("the processes waited for each other for ever")
    assert out.returncode == 0, out.stderr[-2000:]
    (run,) = (tmp_path / "runs").iterdir()
    assert [e["complete"] for e in _log(run)] == [True]


def test_init_keeps_what_fits_and_reinitialises_the_output(tmp_path: Path, synth_ru: Path) -> None:
    from plateread.formats import CN, RU, PlateFormat
    from plateread.models import build_model
    from plateread.train.checkpoint import init_from, model_meta, save_checkpoint

    src = build_model("crnn_small", RU)
    ckpt = save_checkpoint(tmp_path / "ru.pt", src, model_meta("crnn_small", RU, (32, 128), {}))
    dst = build_model("crnn_small", CN)
    moved = init_from(dst, ckpt)  # no alphabet given: another alphabet's output starts fresh
    assert moved["reinitialised"] == ["fc.bias", "fc.weight"]
    assert torch.equal(dst.cnn[0][0].weight, src.cnn[0][0].weight)
    dst = build_model("crnn_small", CN)
    fresh = dst.fc.weight.detach().clone()
    moved = init_from(dst, ckpt, CN.alphabet)
    assert moved["mapped"] == ["fc.bias", "fc.weight"] and moved["reinitialised"] == []
    assert "7" in moved["shared"] and "K" in moved["shared"] and "皖" not in moved["shared"]
    for c in "07BK":  # shared characters keep their trained rows, blank too
        assert torch.equal(
            dst.fc.weight[CN.alphabet.index(c) + 1], src.fc.weight[RU.alphabet.index(c) + 1]
        )
    assert torch.equal(dst.fc.bias[0], src.fc.bias[0])
    p = CN.alphabet.index("皖") + 1
    assert torch.equal(dst.fc.weight[p], fresh[p])  # a new character starts fresh
    # an alphabet of the same size but other characters must not inherit rows by position
    other = PlateFormat("other", "".join(chr(0x3041 + i) for i in range(len(RU.alphabet))))
    dst = build_model("crnn_small", other)
    moved = init_from(dst, ckpt, other.alphabet)
    assert moved["shared"] == [] and not torch.equal(dst.fc.weight[1:], src.fc.weight[1:])
    with pytest.raises(FileNotFoundError):
        init_from(dst, "no-such-reader")
    run = train(_cfg(tmp_path, synth_ru, init=str(ckpt)))
    assert (run / "best.pt").is_file()


def test_init_without_an_arch_takes_the_checkpoints(tmp_path: Path) -> None:
    """With the default architecture, ``--init ru`` kept 7 of the reader's 40-odd tensors."""
    from plateread.formats import RU
    from plateread.models import build_model
    from plateread.train.checkpoint import model_meta, save_checkpoint

    data = {"data": ["synth:ru?n=8"]}
    cfg = load_config(None, {**data, "init": "ru"})
    shipped = read_checkpoint(Path(__file__).parents[1] / "src/plateread/weights/ru.pt")
    assert (cfg.arch, cfg.input_size) == (shipped["arch"], shipped["input_size"])
    assert load_config(None, {**data, "init": "ru", "arch": "crnn_small"}).arch == "crnn_small"
    kw = {"hidden": 48}
    meta = model_meta("crnn_small", RU, (32, 160), kw)
    ckpt = save_checkpoint(tmp_path / "m.pt", build_model("crnn_small", RU, (32, 160), **kw), meta)
    cfg = load_config(None, {**data, "init": str(ckpt)})
    assert (cfg.arch, cfg.arch_kwargs, cfg.input_size) == ("crnn_small", kw, [32, 160])
    cfg = load_config(None, {**data, "init": str(ckpt), "input_size": [32, 128]})
    assert cfg.input_size == [32, 128]  # what is given stays
    (tmp_path / "c.yaml").write_text("arch: crnn_fast\n")
    assert load_config(tmp_path / "c.yaml", {**data, "init": str(ckpt)}).arch == "crnn_fast"


def test_a_checkpoint_is_on_disk_before_it_replaces_the_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written whole to a temporary file, flushed to disk, then renamed over the old one: a
    crash or a power cut at any point leaves one whole checkpoint to resume from."""
    from plateread.formats import RU
    from plateread.models import build_model
    from plateread.train import checkpoint

    calls: list[str] = []
    real_fsync, real_replace = checkpoint.os.fsync, checkpoint.os.replace

    def fsync(fd: int) -> None:
        calls.append(f"fsync {os.fstat(fd).st_size > 0}")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        calls.append(f"replace {Path(src).name} {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "fsync", fsync)
    monkeypatch.setattr(checkpoint.os, "replace", replace)
    meta = checkpoint.model_meta("crnn_small", RU, (32, 128), {})
    path = checkpoint.save_checkpoint(tmp_path / "last.pt", build_model("crnn_small", RU), meta)
    assert calls == ["fsync True", "replace last.pt.tmp last.pt"]
    assert read_checkpoint(path)["arch"] == "crnn_small" and not list(tmp_path.glob("*.tmp"))


def test_weight_average_follows_the_weights_and_copies_counters() -> None:
    from plateread.train.ema import WeightAverage

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = WeightAverage(model, 0.9)
    w0 = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model[1].num_batches_tracked += 5
    ema.update(model)  # first update: decay ramps from 2/11, not 0.9
    d = 2 / 11
    assert torch.allclose(ema.model[0].weight, d * w0 + (1 - d) * (w0 + 1))
    assert int(ema.model[1].num_batches_tracked) == 5
    for _ in range(200):
        ema.update(model)
    assert torch.allclose(ema.model[0].weight, model[0].weight, atol=1e-6)
    assert not any(p.requires_grad for p in ema.model.parameters())
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(model, 1.0)


def test_ema_is_validated_saved_and_resumed(tmp_path: Path, synth_ru: Path) -> None:
    run = train(_cfg(tmp_path, synth_ru, arch="crnn_fast", ema=0.99))
    last, best = read_checkpoint(run / "last.pt"), read_checkpoint(run / "best.pt")
    steps = last["ema"]["updates"]  # one update per optimiser step
    assert steps >= 1
    for name, value in best["state_dict"].items():  # best.pt holds the average, not the raw weights
        assert torch.equal(value, last["ema"]["state_dict"][name])
    raw = last["state_dict"]["fc.weight"]
    assert not torch.equal(raw, best["state_dict"]["fc.weight"])
    train(TrainConfig(resume=str(run)), epochs=2)
    assert read_checkpoint(run / "last.pt")["ema"]["updates"] == 2 * steps
    with pytest.raises(ConfigError, match="ema"):
        _cfg(tmp_path, synth_ru, ema=1.5)


def test_validation_plates_are_prepared_once(
    tmp_path: Path, synth_ru: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plateread.train import loop

    calls: list[bool] = []

    class Counting(loop.PlateTorchDataset):
        def __getitem__(self, i: int):  # type: ignore[no-untyped-def]
            calls.append(self.augment)
            return super().__getitem__(i)

    monkeypatch.setattr(loop, "PlateTorchDataset", Counting)
    run = train(_cfg(tmp_path, synth_ru, epochs=3))
    entries = _log(run)
    assert len(entries) == 3 and all("val_exact" in e for e in entries)
    n_val = entries[-1]["val_n"]
    assert n_val > 0 and calls.count(False) == n_val  # read once, validated three times


def test_init_message_groups_reinitialised_tensors_by_module() -> None:
    from plateread.train.setup import _modules

    names = ["stn.loc.1.0.weight", "stn.loc.8.bias", "fc.weight", "fc.bias", "rnn.weight_ih_l0"]
    assert _modules(names) == "stn.loc (2 tensors), fc (2 tensors), rnn"
    assert _modules([]) == ""


def test_unreadable_training_image_is_skipped_and_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import numpy as np
    from PIL import Image

    from plateread.data import Sample
    from plateread.data.sources import FileImage
    from plateread.formats import RU
    from plateread.train.data import PlateTorchDataset, collate

    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    Image.fromarray(np.full((30, 120, 3), 200, np.uint8)).save(good)
    bad.write_bytes(b"\x89PNG truncated")
    samples = [Sample(str(p), "A123BC77", FileImage(str(p))) for p in (good, bad)] * 5
    ds = PlateTorchDataset(samples, RU, (32, 128), augment=True)
    with caplog.at_level("WARNING", logger="plateread.train.data"):
        batch = collate([ds[i] for i in range(len(ds))])
    assert batch["images"].shape == (5, 32, 128, 3) and batch["texts"] == ["A123BC77"] * 5
    assert batch["drawn"] == 10  # the epoch's place counts the unreadable ones too
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and warnings[0].count("bad.png") == 1  # not once per repeat


def test_an_unreadable_training_image_neither_repeats_an_epoch_nor_loops(
    tmp_path: Path, synth_ru: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An epoch counted only the readable plates: with one unreadable image it never seemed
    finished and ran again from where it stopped (two log lines per epoch), and with only
    unreadable ones left, for ever. Now each epoch ends once; nothing readable is an error."""
    from plateread.train.steps import TrainingRun

    mixed = _with_an_unreadable_image(synth_ru, 11, tmp_path)
    only_bad = tmp_path / "bad.json"
    only_bad.write_text(json.dumps(json.loads(mixed.read_text())[-1:]))
    ended = 0
    real_end = TrainingRun.end_epoch

    def end_epoch(self: TrainingRun, *args: Any) -> None:
        nonlocal ended
        ended += 1
        assert ended <= 6, "an epoch that never ends"
        real_end(self, *args)

    monkeypatch.setattr(TrainingRun, "end_epoch", end_epoch)
    cfg = _cfg(tmp_path, mixed, batch_size=4, epochs=2)
    run = train(TrainConfig.from_dict({**cfg.to_dict(), "val_data": cfg.data}))
    assert [(e["epoch"], e["complete"]) for e in _log(run)] == [(1, True), (2, True)]
    ended = 0
    bad = TrainConfig.from_dict({**cfg.to_dict(), "data": [f"json:{only_bad}"]})
    with pytest.raises(ValueError, match="none of the 1 training images drawn in epoch 1 could"):
        train(bad)


def test_validation_plates_that_training_sees_are_warned_about(tmp_path: Path) -> None:
    from conftest import plate_like, write_png
    from plateread.data import load_dataset
    from plateread.formats import RU
    from plateread.train.setup import shared_plates

    for folder, texts in (("a", ["A123BC77", "B456CE99"]), ("b", ["A123BC77", "K789MH50"])):
        for i, text in enumerate(texts):
            write_png(tmp_path / folder / f"{text}.png", plate_like(seed=i))

    def data(*specs: str) -> Any:
        return load_dataset(list(specs), RU)

    real_a, real_b = f"dir:{tmp_path / 'a'}", f"dir:{tmp_path / 'b'}"
    (same,) = shared_plates(data(real_a, "synth:ru?n=20"), data(f"dir:{tmp_path}/./a"))
    assert same.startswith("2 of the 2 validation plates are training images too")
    (text,) = shared_plates(data(real_a), data(real_b))  # another picture of A123BC77
    assert text.startswith("1 of the 2 validation plates show plate texts")
    (drawn,) = shared_plates(data("synth:ru?n=20"), data("synth:ru?n=5"))  # the same seed
    assert drawn.startswith("5 of the 5")
    assert shared_plates(data("synth:ru?n=20"), data("synth:ru?n=5&seed=7")) == []
    spec = f"dir:{tmp_path / 'a'}?holdout=0.5"
    assert shared_plates(data(spec + "&split=train"), data(spec + "&split=val")) == []


def test_a_set_too_small_to_hold_out_warns_and_logs_its_one_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = TrainConfig.from_dict(
        {**_cfg(tmp_path, tmp_path).to_dict(), "data": ["synth:ru?n=5"], "val_fraction": 0.1}
    )
    run = train(cfg.validate())
    assert "warning: no validation plates (5 samples" in capsys.readouterr().err
    assert _log(run)[-1]["step"] == 1  # one (partial) batch of 5 was a step, logged as step 0


@pytest.mark.parametrize("arch", sorted(REGISTRY))
def test_labels_longer_than_the_output_steps_are_named(
    arch: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from plateread.data import Dataset, Sample
    from plateread.formats import CN
    from plateread.labels import ctc_steps_needed
    from plateread.models import build_model, default_input_size
    from plateread.train.setup import check_steps

    assert [ctc_steps_needed(t) for t in ("", "A1B", "77", "A777")] == [0, 3, 3, 6]
    size = default_input_size(arch)
    model = build_model(arch, CN, size).train()
    steps = model.eval()(torch.zeros(1, 3, *size)).shape[1]
    fits, spelt_long = "皖" + "A1" * ((steps - 1) // 2), "皖" + "1" * (steps // 2 + 1)

    def data(*texts: str) -> Dataset:
        return Dataset([Sample(f"{i}.png", t, None) for i, t in enumerate(texts)])

    model.train()
    check_steps(model, size, data(fits), data(fits), 0)
    assert capsys.readouterr().err == "" and model.training
    check_steps(model, size, data(fits, spelt_long), data(spelt_long), 0)
    assert f"1 training and 1 validation labels (e.g. '{spelt_long}') need more than the " in (
        capsys.readouterr().err
    )
    with pytest.raises(ConfigError, match=f"every training label needs more than .* {steps} "):
        check_steps(model, size, data(spelt_long), data(fits), 0)
