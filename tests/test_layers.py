"""Reading plates must not import torch: runtime layers use numpy, OpenCV and ONNX Runtime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import untrained_onnx


def test_reading_with_onnx_never_imports_torch(tmp_path: Path, synth_ru: Path) -> None:
    model = untrained_onnx(tmp_path, "ru")
    code = f"""
import sys
from plateread.cli import main
from plateread.data import load_dataset
from plateread.evaluate import evaluate
from plateread.predict import load_predictor
p = load_predictor({str(model)!r})
ev = evaluate(p, load_dataset('json:{synth_ru}', p.format))
assert ev.metrics['n'] == 48, ev.metrics
main(['eval', '--model', {str(model)!r}, '--data', 'json:{synth_ru}', '--json'])
from plateread import PlateReader
samples = load_dataset('json:{synth_ru}', p.format).samples[:4]
assert len(PlateReader({str(model)!r}).read_batch([s.load() for s in samples])) == 4
main(['read', '{synth_ru}/images', '--model', {str(model)!r}])
main(['bench', '--model', {str(model)!r}, '--seconds', '0.1', '--batch-sizes', '2'])
bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))
assert not bad, bad[:5]
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_bottom_layer_imports_no_image_runtime_or_torch_library() -> None:
    code = """
import sys
import plateread.calibration, plateread.decoding, plateread.formats, plateread.labels
import plateread.errors, plateread.metrics, plateread.styles
heavy = ('cv2', 'PIL', 'albumentations', 'onnxruntime', 'torch', 'matplotlib')
bad = sorted(m for m in sys.modules if m.split('.')[0] in heavy)
assert not bad, bad[:5]
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
