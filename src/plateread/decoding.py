"""CTC decoding in numpy: logits ``[N, T, C]`` (class 0 = blank) to text with confidences."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from plateread.formats import PlateFormat


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


def _probs(logits: np.ndarray, alphabet: str) -> np.ndarray:
    """Step probabilities of logits ``[N, T, C]`` that fit ``alphabet`` (plus the blank)."""
    if logits.ndim != 3 or logits.shape[2] != len(alphabet) + 1:
        raise ValueError(
            f"logits of shape {logits.shape} do not fit an alphabet of {len(alphabet)}"
        )
    return softmax(logits.astype(np.float32))


def greedy_decode(logits: np.ndarray, alphabet: str) -> list[Decoded]:
    """Best-path decoding: argmax per step, collapse repeats, drop blanks.

    Args:
        logits: ``[N, T, C]`` scores, ``C == len(alphabet) + 1``.
        alphabet: Characters of classes ``1..C-1``.
    """
    return _greedy(_probs(logits, alphabet), alphabet)


def _greedy(probs: np.ndarray, alphabet: str) -> list[Decoded]:
    """:func:`greedy_decode` from step probabilities ``[N, T, C]``."""
    best = probs.argmax(-1)  # [N, T]
    return [_collapse(c, p, alphabet) for c, p in zip(best.tolist(), probs.max(-1).tolist())]


def _collapse(cls: list[int], p: list[float], alphabet: str) -> Decoded:
    """One plate's best path (class and its probability per step) to text and confidences."""
    chars: list[str] = []
    confs: list[float] = []
    prev = 0
    for k, pk in zip(cls, p):
        if k != 0 and k != prev:
            chars.append(alphabet[k - 1])
            confs.append(pk)
        elif k != 0 and pk > confs[-1]:
            confs[-1] = pk
        prev = k
    return Decoded("".join(chars), math.prod(confs) if confs else 0.0, tuple(confs))


def text_changing_mass(probs: np.ndarray) -> np.ndarray:
    """For each plate ``[N, T, C]``, the largest probability any step puts on a class that would
    change the greedy reading if it won that step.

    A step's best class may be swapped without changing the collapsed text for the blank when
    the same character also wins a neighbouring step, and for a neighbour's character when the
    step is a blank that does not separate a doubled character. Everything else counts.
    """
    best, best_p = probs.argmax(-1).tolist(), probs.max(-1).tolist()
    steps = range(probs.shape[1])
    return np.array([_plate_mass(p, c, q, steps) for p, c, q in zip(probs, best, best_p)])


def _plate_mass(p: np.ndarray, best: list[int], best_p: list[float], steps: Iterable[int]) -> float:
    """:func:`text_changing_mass` of one plate (``p``: ``[T, C]``, its best path ``best`` and
    their probabilities ``best_p``) over ``steps``. Plain Python: few steps are uncertain.
    """
    worst = 0.0
    last = len(best) - 1
    for t in steps:
        k, pk = best[t], best_p[t]
        if 1.0 - pk <= worst:  # the best class alone leaves no more than that
            continue
        prev = best[t - 1] if t > 0 else -1
        nxt = best[t + 1] if t < last else -1
        harmless = pk
        if k != 0:
            if prev == k or nxt == k:  # a repeat: the blank here changes nothing
                harmless += float(p[t, 0])
        elif not (prev == nxt and prev > 0):  # a blank that does not separate a doubled character
            harmless += (float(p[t, prev]) if prev > 0 else 0.0) + (
                float(p[t, nxt]) if nxt > 0 else 0.0
            )
        worst = max(worst, 1.0 - harmless)
    return worst


def beam_decode(
    logits: np.ndarray,
    alphabet: str,
    beam: int = 8,
    fmt: PlateFormat | None = None,
    prune: float = 1e-4,
    sure: float = 0.95,
) -> list[Decoded]:
    """CTC prefix beam search; with ``fmt``, only texts that match a template are kept.

    Args:
        logits: ``[N, T, C]`` scores.
        alphabet: Characters of classes ``1..C-1``.
        beam: Prefixes kept per step.
        fmt: Constrain readings to this format's templates (or length range). When no valid
            reading survives, the greedy reading is returned instead (check ``fmt.is_valid``).
        prune: Classes below this probability at a step are not expanded.
        sure: When no step puts more than ``1 - sure`` on a class that would change the greedy
            reading (:func:`text_changing_mass`) and that reading is acceptable, the search is
            skipped: it would return the same text.

    Returns:
        One reading per plate. Confidences are defined as for :func:`greedy_decode` (per
        character, the best probability on its aligned steps; the plate, their product), so
        they mean the same whichever decoder produced them.
    """
    probs = _probs(logits, alphabet)
    top = probs.max(-1)  # [N, T]
    best, best_p = probs.argmax(-1).tolist(), top.tolist()
    # only steps whose best class has less than `sure` can put more than 1 - sure elsewhere
    unsure: list[list[int]] = [[] for _ in best]
    for i, t in zip(*(idx.tolist() for idx in np.nonzero(top < sure))):
        unsure[i].append(t)
    out = []
    for p, cls, cls_p, steps in zip(probs, best, best_p, unsure):
        g = _collapse(cls, cls_p, alphabet)
        risky = bool(steps) and _plate_mass(p, cls, cls_p, steps) > 1.0 - sure
        if not risky and (fmt is None or fmt.is_valid(g.text)):
            out.append(g)
            continue
        text = _beam_one(p, alphabet, beam, fmt, prune)
        if text is None or text == g.text:
            out.append(g)
            continue
        chars = char_confidences(p, text, alphabet)
        out.append(Decoded(text, math.prod(chars) if chars else 0.0, chars))
    return out


def _beam_one(
    p: np.ndarray, alphabet: str, beam: int, fmt: PlateFormat | None, prune: float
) -> str | None:
    auto = fmt.automaton if fmt is not None else None
    steps = p.tolist()  # Python floats: the loops below run on plain lists
    cands = [np.nonzero(row >= prune)[0].tolist() for row in p[:, 1:]]
    # prefix -> [probability ending in blank, ending in its last character, last class, state]
    beams: dict[str, list[Any]] = {"": [1.0, 0.0, -1, auto.start if auto else None]}
    for pt, cand in zip(steps, cands):
        blank = pt[0]
        nxt: dict[str, list[Any]] = {}
        for prefix, (pb, pnb, last, state) in beams.items():
            total = pb + pnb
            e = nxt.get(prefix)
            if e is None:
                e = nxt[prefix] = [0.0, 0.0, last, state]
            e[0] += total * blank
            for k0 in cand:
                k = k0 + 1
                pk = pt[k]
                if k == last:
                    e[1] += pnb * pk  # repeat collapses into the same prefix
                    grow = pb * pk  # a blank separated the repeat: a new character
                else:
                    grow = total * pk
                new_state = None
                if auto is not None:
                    new_state = auto.step(state, k)
                    if new_state is None:
                        continue
                new = prefix + alphabet[k0]
                ne = nxt.get(new)
                if ne is None:
                    nxt[new] = [0.0, grow, k, new_state]
                else:
                    ne[1] += grow
        # the same order as sorted(..., reverse=True)[:beam]: ties keep their order
        beams = dict(heapq.nlargest(beam, nxt.items(), key=_mass))
    for text, (_, _, _, state) in sorted(beams.items(), key=_mass, reverse=True):
        if auto is None or auto.accepts(state):
            return text
    return None


def _mass(item: tuple[str, list[Any]]) -> float:
    return item[1][0] + item[1][1]  # type: ignore[no-any-return]


def char_confidences(probs: np.ndarray, text: str, alphabet: str) -> tuple[float, ...]:
    """Per-character confidence of ``text``: the best CTC alignment (Viterbi) of the text to the
    step probabilities ``[T, C]``, then for each character the highest probability it gets on
    the steps aligned to it.
    """
    if not text:
        return ()
    labels = [alphabet.index(c) + 1 for c in text]
    ext = [0]
    for k in labels:
        ext += [k, 0]  # blank, c1, blank, c2, ..., blank
    s_n, t_n = len(ext), probs.shape[0]
    e = np.asarray(ext)
    logp = np.log(np.maximum(probs[:, e], 1e-30))  # [T, S]
    skip_ok = np.zeros(s_n, dtype=bool)  # may jump over a blank from s-2
    skip_ok[2:] = (e[2:] != 0) & (e[2:] != e[:-2])
    score = np.full((t_n, s_n), -np.inf)
    back = np.zeros((t_n, s_n), dtype=np.int64)
    score[0, : min(2, s_n)] = logp[0, : min(2, s_n)]
    for t in range(1, t_n):
        prev = score[t - 1]
        opts = np.full((3, s_n), -np.inf)
        opts[0] = prev
        opts[1, 1:] = prev[:-1]
        opts[2, 2:] = np.where(skip_ok[2:], prev[:-2], -np.inf)
        j = opts.argmax(0)
        score[t] = opts[j, np.arange(s_n)] + logp[t]
        back[t] = np.arange(s_n) - j
    ends = [s_n - 1, s_n - 2] if s_n > 1 else [0]
    s = max(ends, key=lambda e: score[-1, e])
    if not np.isfinite(score[-1, s]):  # text longer than the steps allow
        return tuple(0.0 for _ in text)
    conf = [0.0] * len(text)
    for t in range(t_n - 1, -1, -1):
        if ext[s] != 0:
            i = (s - 1) // 2
            conf[i] = max(conf[i], float(probs[t, ext[s]]))
        s = back[t, s]
    return tuple(conf)


DECODERS = ("auto", "greedy", "beam", "constrained")


def resolve_decoder(decoder: str, fmt: PlateFormat) -> str:
    """The concrete decoder ``auto`` stands for with ``fmt``; rejects unknown names."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
    if decoder == "auto":
        return "constrained" if fmt.templates else "beam"
    return decoder


def decode_logits(
    logits: np.ndarray, fmt: PlateFormat, decoder: str = "auto", beam: int = 8
) -> list[Decoded]:
    """Decode with a named decoder: ``greedy``, ``beam``, ``constrained`` (format-constrained
    beam search), or ``auto`` (constrained when the format has templates, else beam).
    """
    decoder = resolve_decoder(decoder, fmt)
    if decoder == "greedy":
        return greedy_decode(logits, fmt.alphabet)
    return beam_decode(
        logits, fmt.alphabet, beam=beam, fmt=fmt if decoder == "constrained" else None
    )
