"""Would int8 make a reader faster? Static int8 quantisation of an ONNX reader's convolutions
(ONNX Runtime's QDQ, per channel, calibrated on labelled crops) against the float model: the
network's time per plate at batch 1 and 32, and exact match through `PlateReader`.

Usage:
    python benchmarks/int8_check.py --model ru --data json:../shared/data/ru_dev
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from plateread import PlateReader
from plateread.data import load_dataset
from plateread.imaging import prepare
from plateread.predict import OnnxPredictor, load_predictor, resolve_model


class _Crops(CalibrationDataReader):
    """Feeds the prepared crops one at a time to the quantiser's calibration."""

    def __init__(self, name: str, batch: np.ndarray) -> None:
        self._it = iter([{name: x[None]} for x in batch])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def quantise(src: Path, out: Path, name: str, batch: np.ndarray) -> None:
    """Write ``src`` (input ``name``) with int8 convolutions to ``out``, keeping its metadata."""
    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    quantize_static(
        str(pre),
        str(out),
        _Crops(name, batch),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        op_types_to_quantize=["Conv"],
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    model, meta = onnx.load(str(out)), onnx.load(str(src)).metadata_props
    del model.metadata_props[:]
    model.metadata_props.extend(meta)
    onnx.save(model, str(out))


def network_ms(path: Path, batch: np.ndarray, threads: int, runs: int) -> float:
    """Median milliseconds per plate of the network alone on ``batch``."""
    pred = load_predictor(path, threads=threads)
    for _ in range(10):
        pred.logits(batch)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        pred.logits(batch)
        times.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(times)) / len(batch)


def main() -> None:
    """Print the float and int8 models' network time and exact match."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="a shipped reader's name or an .onnx file")
    ap.add_argument("--data", required=True, help="labelled data spec (calibration and accuracy)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    src = resolve_model(a.model)
    float_model = OnnxPredictor(src)
    samples = load_dataset([a.data], float_model.format, require_template=False).samples
    images = [s.image.load() for s in samples]
    batch = np.stack([prepare(im, float_model.input_size) for im in images])
    with tempfile.TemporaryDirectory() as tmp:
        q8 = Path(tmp) / "int8.onnx"
        quantise(src, q8, float_model.session.get_inputs()[0].name, batch)
        for label, path in (("float", src), ("int8", q8)):
            b1 = network_ms(path, batch[:1], a.threads, 200)
            b32 = network_ms(path, batch[:32], a.threads, 30)
            readings = PlateReader(path).read_batch(images)
            right = sum(r.text == s.text for r, s in zip(readings, samples))
            print(
                f"{label:5s} network ms per plate: batch 1 {b1:.3f}, batch 32 {b32:.3f}; "
                f"exact {right}/{len(samples)}"
            )


if __name__ == "__main__":
    main()
