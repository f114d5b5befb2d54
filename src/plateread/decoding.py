"""CTC decoding in numpy: logits ``[N, T, C]`` (class 0 = blank) to text with confidences."""

from __future__ import annotations

from dataclasses import dataclass

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


def _prefix_allowed(fmt: PlateFormat, prefix: str) -> bool:
    """Can ``prefix`` still grow into a valid plate of ``fmt``?"""
    if fmt.prefixes and not any(prefix[: len(p)] == p[: len(prefix)] for p in fmt.prefixes):
        return False
    if not fmt.templates:
        return len(prefix) <= fmt.max_length
    n = len(prefix)
    return any(
        len(t) >= n and all(c in fmt.classes[k] for k, c in zip(t, prefix)) for t in fmt.templates
    )


def text_changing_mass(probs: np.ndarray) -> np.ndarray:
    """For each plate ``[N, T, C]``, the largest probability any step puts on a class that would
    change the greedy reading if it won that step.

    A step's best class may be swapped without changing the collapsed text for the blank when
    the same character also wins a neighbouring step, and for a neighbour's character when the
    step is a blank that does not separate a doubled character. Everything else counts.
    """
    n, t, _ = probs.shape
    top = probs.argmax(-1)  # [N, T]
    prev = np.concatenate([np.full((n, 1), -1), top[:, :-1]], axis=1)
    nxt = np.concatenate([top[:, 1:], np.full((n, 1), -1)], axis=1)
    rows, cols = np.arange(n)[:, None], np.arange(t)[None, :]
    harmless = probs[rows, cols, top].copy()
    is_char = top != 0
    repeated = is_char & ((prev == top) | (nxt == top))
    harmless += np.where(repeated, probs[..., 0], 0.0)
    blank = ~is_char
    separates = blank & (prev == nxt) & (prev > 0)
    # equal character neighbours make the blank ``separates``, so the two added here always differ
    for nb in (prev, nxt):
        ok = blank & ~separates & (nb > 0)
        harmless += np.where(ok, probs[rows, cols, np.maximum(nb, 0)], 0.0)
    return (1.0 - harmless).max(-1)  # type: ignore[no-any-return]


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
    probs = softmax(logits.astype(np.float32))
    greedy = greedy_decode(logits, alphabet)
    risky = text_changing_mass(probs) > 1.0 - sure
    out = []
    for i, p in enumerate(probs):
        g = greedy[i]
        if not risky[i] and (fmt is None or fmt.is_valid(g.text)):
            out.append(g)
            continue
        text = _beam_one(p, alphabet, beam, fmt, prune)
        if text is None or text == g.text:
            out.append(g)
            continue
        chars = char_confidences(p, text, alphabet)
        out.append(Decoded(text, float(np.prod(chars)) if chars else 0.0, chars))
    return out


def _beam_one(
    p: np.ndarray, alphabet: str, beam: int, fmt: PlateFormat | None, prune: float
) -> str | None:
    # each prefix keeps (probability ending in blank, probability ending in its last character)
    beams: dict[str, tuple[float, float]] = {"": (1.0, 0.0)}
    allowed: dict[str, bool] = {}
    for t in range(p.shape[0]):
        pt = p[t]
        cand = np.nonzero(pt[1:] >= prune)[0] + 1
        nxt: dict[str, list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = pb + pnb
            e = nxt.setdefault(prefix, [0.0, 0.0])
            e[0] += total * pt[0]
            last = alphabet.index(prefix[-1]) + 1 if prefix else -1
            for k in cand.tolist():
                pk = float(pt[k])
                if k == last:
                    e[1] += pnb * pk  # repeat collapses into the same prefix
                    grow = pb * pk  # a blank separated the repeat: a new character
                else:
                    grow = total * pk
                new = prefix + alphabet[k - 1]
                if fmt is not None:
                    ok = allowed.get(new)
                    if ok is None:
                        ok = allowed[new] = _prefix_allowed(fmt, new)
                    if not ok:
                        continue
                ne = nxt.setdefault(new, [0.0, 0.0])
                ne[1] += grow
        ranked = sorted(nxt.items(), key=lambda kv: kv[1][0] + kv[1][1], reverse=True)[:beam]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    final = sorted(beams.items(), key=lambda kv: kv[1][0] + kv[1][1], reverse=True)
    for text, _ in final:
        if fmt is None or fmt.is_valid(text):
            return text
    return None


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
