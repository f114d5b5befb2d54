"""Export a checkpoint to ONNX (uint8 NHWC in, logits out, metadata inside), always checking parity
with torch on ONNX Runtime.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from plateread.decoding import greedy_decode, softmax
from plateread.predict import OnnxPredictor
from plateread.train.checkpoint import load_model


class ExportError(RuntimeError):
    """The exported graph disagrees with the torch model."""


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    samples: np.ndarray | None = None,
    atol: float = 1e-3,
    opset: int = 17,
) -> dict[str, Any]:
    """Export ``checkpoint`` to ``out`` and verify it.

    Args:
        checkpoint: A plateread ``.pt`` checkpoint.
        out: Destination ``.onnx`` file.
        samples: ``uint8 [N, H, W, 3]`` images for the parity check (random pixels when None).
        atol: Largest allowed absolute difference between torch's and ONNX Runtime's per-step
            class probabilities (the softmax of the logits: what decoding and confidences use;
            logits alone would fail models with large logits or a learned sampler on float noise)
            for the median sample; any one sample may differ by up to ``10 * atol``.
        opset: ONNX opset.

    Returns:
        Parity figures: ``max_abs_diff`` (logits), ``max_prob_diff`` (probabilities, the worst
        sample), ``median_prob_diff`` (the median sample's largest), ``same_text`` (share of
        identical greedy readings), ``size_bytes``.

    Raises:
        ExportError: parity fails (the file is removed).
    """
    model, state = load_model(checkpoint)
    h, w = state["input_size"]
    out = Path(out)
    _write_graph(model, state, out, opset)
    if samples is None:
        samples = np.random.default_rng(0).integers(0, 256, (8, h, w, 3), dtype=np.uint8)
    figures = _parity(model, out, samples, state["format"]["alphabet"])
    prob_diff, median_diff = figures["max_prob_diff"], figures["median_prob_diff"]
    # within atol on every probability, a greedy reading can differ only where torch's two best
    # classes are within 2 * atol of each other (a tie), so readings are reported, not required.
    # A wrong graph moves every sample; a learned sampler's bilinear sampling jumps where float
    # noise moves a sampling point across a pixel edge, which can move one sample's probabilities
    # more (seen: 5.7e-4 on one of 8 random pictures, the other 7 under 5e-5), hence the two bounds.
    if median_diff > atol or prob_diff > 10 * atol:
        out.unlink(missing_ok=True)
        raise ExportError(
            f"ONNX parity failed: max |probability difference| {prob_diff:.2e} (limit "
            f"{10 * atol:g}), on the median sample {median_diff:.2e} (limit {atol:g}); logits "
            f"{figures['max_abs_diff']:.2e}; {figures['same_text']:.0%} of greedy readings the same"
        )
    return {**figures, "size_bytes": out.stat().st_size}


def _write_graph(model: torch.nn.Module, state: dict[str, Any], out: Path, opset: int) -> None:
    """Export ``model`` to ``out`` (uint8 images in, logits out, any batch size) with the
    checkpoint's description (architecture, format, input size) as the ``plateread`` metadata.
    """
    h, w = state["input_size"]
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, h, w, 3, dtype=torch.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            str(out),
            input_names=["images"],
            output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    proto = onnx.load(str(out))
    info = {
        k: state[k] for k in ("plateread_checkpoint", "arch", "arch_kwargs", "format", "input_size")
    }
    entry = proto.metadata_props.add()
    entry.key, entry.value = "plateread", json.dumps(info, ensure_ascii=False)
    onnx.save(proto, str(out))


def _parity(
    model: torch.nn.Module, out: Path, samples: np.ndarray, alphabet: str
) -> dict[str, float]:
    """How far ONNX Runtime's reading of ``samples`` with ``out`` is from torch's (the figures
    :func:`export_onnx` returns, but for the size).
    """
    with torch.no_grad():
        ref = model(torch.from_numpy(samples)).numpy()
    got = OnnxPredictor(out).logits(samples)
    per_sample = np.abs(softmax(ref) - softmax(got)).reshape(len(samples), -1).max(axis=1)
    pairs = zip(greedy_decode(ref, alphabet), greedy_decode(got, alphabet))
    return {
        "max_abs_diff": float(np.abs(ref - got).max()),
        "max_prob_diff": float(per_sample.max()),
        "median_prob_diff": float(np.median(per_sample)),
        "same_text": float(np.mean([a.text == b.text for a, b in pairs])),
    }
