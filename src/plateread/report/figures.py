"""Report figures (matplotlib, Agg backend); each function writes one PNG and returns its path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def use_cjk_font() -> None:
    """Let figures show Chinese province characters (Noto Sans CJK, when installed)."""
    import logging

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # variable-font weights
    try:
        from matplotlib import font_manager

        from plateread.synth.fonts import cjk_font

        font_manager.fontManager.addfont(cjk_font())
        plt.rcParams["font.family"] = ["DejaVu Sans", "Noto Sans CJK SC"]
    except Exception:  # fonts are optional: Latin labels still render
        pass


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bar_chart(groups: dict[str, dict[str, float]], title: str, path: Path) -> Path:
    """Exact match per group, with counts on the bars."""
    names = list(groups)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * len(names) + 2), 3))
    vals = [groups[n]["exact"] for n in names]
    bars = ax.bar(range(len(names)), vals, color="#3b7dd8")
    for b, n in zip(bars, names):
        ax.text(
            b.get_x() + b.get_width() / 2,
            b.get_height() + 0.01,
            f"n={int(groups[n]['n'])}",
            ha="center",
            fontsize=7,
        )
    ax.set_xticks(range(len(names)), names, rotation=30 if len(names) > 6 else 0)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("exact match")
    ax.set_title(title)
    return _save(fig, path)


def confusion_chart(pairs: list[dict[str, Any]], title: str, path: Path) -> Path:
    """Horizontal bars of the most frequent target -> prediction substitutions."""
    pairs = pairs[:15] or [{"target": "-", "prediction": "-", "count": 0}]
    fig, ax = plt.subplots(figsize=(5, 0.3 * len(pairs) + 1.2))
    labels = [f"{p['target']} → {p['prediction']}" for p in pairs][::-1]
    ax.barh(range(len(pairs)), [p["count"] for p in pairs][::-1], color="#d8613b")
    ax.set_yticks(range(len(pairs)), labels)
    ax.set_xlabel("count")
    ax.set_title(title)
    return _save(fig, path)


def histogram(hist: dict[int, int], path: Path) -> Path:
    """Plates by number of wrong characters (edit distance)."""
    fig, ax = plt.subplots(figsize=(4.5, 3))
    keys = sorted(hist)
    ax.bar(keys, [hist[k] for k in keys], color="#6a9f3b")
    ax.set_xlabel("wrong characters per plate")
    ax.set_ylabel("plates")
    ax.set_xticks(keys)
    return _save(fig, path)


def coverage_and_reliability(
    coverage: list[dict[str, float]], rel: Sequence[tuple[float, float, int]], path: Path
) -> Path:
    """Accuracy versus coverage when rejecting by confidence, and the reliability diagram."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.3))
    a.plot([c["coverage"] for c in coverage], [c["accuracy"] for c in coverage], "o-")
    for c in coverage[::2]:
        a.annotate(f"{c['threshold']:.2f}", (c["coverage"], c["accuracy"]), fontsize=6)
    a.set_xlabel("coverage (share of plates kept)")
    a.set_ylabel("exact match of kept plates")
    a.set_title("reject by confidence")
    b.plot([0, 1], [0, 1], "--", color="grey")
    b.plot([r[0] for r in rel], [r[1] for r in rel], "o-")
    for r in rel:
        b.annotate(str(r[2]), (r[0], r[1]), fontsize=6)
    b.set_xlabel("confidence")
    b.set_ylabel("accuracy")
    b.set_title("reliability")
    return _save(fig, path)


def heatmap(image: np.ndarray, probs: np.ndarray, alphabet: str, title: str, path: Path) -> Path:
    """The crop beside its per-step class probabilities (classes x steps; row 0 is the blank)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 2]})
    a.imshow(image)
    a.axis("off")
    a.set_title(title, fontsize=9)
    b.imshow(probs.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    labels = ["–", *alphabet]
    step = 1 if len(labels) <= 40 else 2
    b.set_yticks(range(0, len(labels), step), labels[::step], fontsize=6)
    b.set_xlabel("time step")
    return _save(fig, path)


def training_curves(log: list[dict[str, Any]], path: Path) -> Path:
    """Training loss and validation exact match / CER per epoch."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3))
    ep = [e["epoch"] for e in log]
    a.plot(ep, [e.get("train_loss") or np.nan for e in log], "o-")
    a.set_xlabel("epoch")
    a.set_ylabel("train loss")
    b.plot(ep, [e.get("val_exact", np.nan) for e in log], "o-", label="exact")
    b.plot(ep, [e.get("val_cer", np.nan) for e in log], "s-", label="CER")
    b.set_xlabel("epoch")
    b.set_ylim(0, 1)
    b.legend()
    return _save(fig, path)
