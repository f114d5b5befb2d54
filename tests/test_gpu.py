"""Training and inference on a CUDA GPU: skipped where torch sees none (CI, laptops)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from plateread.formats import CN, RU
from plateread.models import REGISTRY, build_model
from plateread.train.checkpoint import read_checkpoint
from plateread.train.config import TrainConfig
from plateread.train.loop import train
from plateread.train.losses import ctc

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU")


def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in _tensors(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in _tensors(v)]
    return []


def _on_gpu(tmp_path: Path, data: Path, fmt: str, arch: str, **kw: object) -> TrainConfig:
    """One epoch of ``arch`` on ``data`` (a course-layout folder), on the GPU."""
    base = {"data": [f"json:{data}"], "format": fmt, "arch": arch, "epochs": 1, "batch_size": 8}
    base.update(device="cuda", out=str(tmp_path / "runs"), val_fraction=0.25, **kw)
    return TrainConfig.from_dict(base).validate()


def _epochs(run: Path) -> list[int]:
    lines = (run / "log.jsonl").read_text().splitlines()
    return [json.loads(line)["epoch"] for line in lines if json.loads(line)["complete"]]


def test_train_on_the_gpu_then_resume_on_the_cpu(tmp_path: Path, synth_ru: Path) -> None:
    run = train(_on_gpu(tmp_path, synth_ru, "ru", "crnn_fast_stn", workers=2, ema=0.99))
    for name in ("last.pt", "best.pt"):
        # raw torch.load, no map_location: the file must load on a machine without a GPU
        state = torch.load(run / name, weights_only=True)
        tensors = _tensors(state)
        assert tensors and all(t.device.type == "cpu" for t in tensors), name
    assert read_checkpoint(run / "last.pt")["ema"]["updates"] > 0
    train(TrainConfig(resume=str(run), device="cpu"), epochs=2)
    assert _epochs(run) == [1, 2]


def test_province_head_trains_on_the_gpu(tmp_path: Path) -> None:
    from plateread.synth import write_dataset

    data = tmp_path / "cn"
    write_dataset("cn", 32, data, seed=5)
    run = train(_on_gpu(tmp_path, data, "cn", "crnn_province", workers=0))
    assert _epochs(run) == [1]
    lines = (run / "log.jsonl").read_text().splitlines()
    assert torch.isfinite(torch.tensor(json.loads(lines[-1])["train_loss"]))


@pytest.mark.parametrize("arch", sorted(REGISTRY))
def test_gpu_logits_match_the_cpu(arch: str) -> None:
    fmt = CN if arch == "crnn_province" else RU
    torch.manual_seed(0)
    model = build_model(arch, fmt).eval()
    h, w = REGISTRY[arch].input_size
    images = torch.rand(3, 3, h, w)
    with torch.no_grad():
        on_cpu = model(images)
    torch.backends.cudnn.allow_tf32 = False  # exact float32 convolutions, to compare
    try:
        gpu = model.cuda()
        with torch.no_grad():
            on_gpu = gpu(images.cuda()).cpu()
        assert on_gpu.shape == on_cpu.shape
        assert torch.allclose(on_gpu, on_cpu, atol=1e-4, rtol=1e-4)
        gpu.train()
        logits = gpu(images.cuda())
        targets = torch.randint(1, fmt.num_classes, (3, 8), device="cuda")
        loss = ctc(logits, targets, torch.full((3,), 8, device="cuda"))
        loss.backward()
        assert torch.isfinite(loss)
        assert all(torch.isfinite(p.grad).all() for p in gpu.parameters() if p.grad is not None)
    finally:
        torch.backends.cudnn.allow_tf32 = True
