"""CTC decoding in numpy: logits ``[N, T, C]`` (class 0 = blank) to text with confidences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Decoded:
    """One decoded plate.

    Attributes:
        text: The characters read.
        confidence: Plate confidence: the product of the character confidences.
        char_confidences: For each character, the highest probability among the steps that emit it.
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax."""
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)  # type: ignore[no-any-return]


def greedy_decode(logits: np.ndarray, alphabet: str) -> list[Decoded]:
    """Best-path decoding: argmax per step, collapse repeats, drop blanks.

    Args:
        logits: ``[N, T, C]`` scores, ``C == len(alphabet) + 1``.
        alphabet: Characters of classes ``1..C-1``.
    """
    if logits.ndim != 3 or logits.shape[2] != len(alphabet) + 1:
        raise ValueError(
            f"logits of shape {logits.shape} do not fit an alphabet of {len(alphabet)}"
        )
    probs = softmax(logits.astype(np.float32))
    best = probs.argmax(-1)  # [N, T]
    best_p = probs.max(-1)
    out = []
    for cls, p in zip(best, best_p):
        chars: list[str] = []
        confs: list[float] = []
        prev = 0
        for k, pk in zip(cls.tolist(), p.tolist()):
            if k != 0 and k != prev:
                chars.append(alphabet[k - 1])
                confs.append(pk)
            elif k != 0 and k == prev:
                confs[-1] = max(confs[-1], pk)
            prev = k
        conf = float(np.prod(confs)) if confs else 0.0
        out.append(Decoded("".join(chars), conf, tuple(confs)))
    return out
