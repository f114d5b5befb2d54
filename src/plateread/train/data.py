"""Torch datasets over plate samples: load, augment, resize (the one ``prepare``), encode."""

from __future__ import annotations

import logging
import signal
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from plateread.data import Sample
from plateread.formats import PlateFormat
from plateread.imaging import ImageError, image_problem, prepare, split_rows
from plateread.tworow import shown_text

log = logging.getLogger(__name__)


class PlateTorchDataset(Dataset[dict[str, Any] | None]):
    """Items ``{"image": uint8 [H, W, 3], "target": int64 [L], "text": str}``, or None for an
    unreadable image (dropped by :func:`collate`; reported through the log, never fatal).
    Two-row samples (``rows == 2``) come through the two-row view, their text as shown.

    Args:
        samples: Labelled samples (labels already normalised and valid for ``fmt``).
        fmt: Plate format (for encoding).
        input_size: Model input (height, width).
        augment: Apply training augmentation (real crops) and re-render synthetic plates each epoch.
        seed: Base seed; items are deterministic for (seed, epoch, index).
        real_strength: Strength of the real crops' augmentation (see ``augment_real``).
        real_turns: Share of real crops turned far (see ``augment_real``).
    """

    def __init__(
        self,
        samples: list[Sample],
        fmt: PlateFormat,
        input_size: tuple[int, int],
        augment: bool = False,
        seed: int = 0,
        real_strength: float = 1.0,
        real_turns: float = 0.0,
    ) -> None:
        self.samples = samples
        self.fmt = fmt
        self.input_size = input_size
        self.augment = augment
        self.seed = seed
        self.real_strength = real_strength
        self.real_turns = real_turns
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self.samples)

    def warm_up(self) -> None:
        """Load one item of each kind (rendered, real) here, so that data-loading workers forked
        from this process start with the augmentation library imported and the fonts read
        (importing albumentations alone takes seconds).
        """
        kinds: dict[bool, int] = {}
        for i, s in enumerate(self.samples):
            kinds.setdefault(hasattr(s.image, "seed"), i)
            if len(kinds) == 2:
                break
        for i in kinds.values():
            self[i]

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any] | None:
        """Item ``key`` as drawn in the first epoch, or, for a key ``(epoch, i)`` (what
        :class:`~plateread.train.runs.EpochSampler` yields), item ``i`` as drawn in ``epoch``.
        """
        epoch, i = key if isinstance(key, tuple) else (0, key)
        s = self.samples[i]
        source = s.image
        if self.augment and hasattr(source, "seed") and epoch:
            source = replace(source, seed=source.seed + 1_000_003 * epoch)
        try:
            img = source.load()
        except ImageError as e:
            if s.id not in self._warned:  # once per file (and process), not at every repeat
                self._warned.add(s.id)
                log.warning("skipping %s", image_problem(s.id, e))
            return None
        if self.augment and not hasattr(source, "seed"):
            from plateread.synth.augment import augment_real

            rng = np.random.default_rng([self.seed, epoch, i])
            img = augment_real(img, rng, self.real_strength, self.real_turns)
        text = s.text
        if s.rows == 2:  # a two-row plate: the model reads it through the two-row view
            img, text = split_rows(img), shown_text(s.text, self.fmt)
        return {
            "image": torch.from_numpy(prepare(img, self.input_size)),
            "target": torch.tensor(self.fmt.encode(text), dtype=torch.long),
            "text": text,
        }


def worker_init(_: int) -> None:
    """``worker_init_fn`` of the training loaders: a worker ignores SIGTERM and SIGINT and leaves
    them to the training process, which stops cleanly (a checkpoint) and then ends its workers.
    Otherwise a stop sent to the whole process group (Ctrl-C, systemd, SLURM, ``kill -TERM
    -PGID``) ended the workers at once and crashed the run.
    """
    for name in ("SIGTERM", "SIGINT"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def shutdown_workers(loader: DataLoader[Any]) -> None:
    """End a loader's persistent worker processes now.

    They ignore SIGTERM (:func:`worker_init`), so they must be told to stop. Left to the
    loader's garbage collection (its iterator sits in a reference cycle; a worker even outlived
    the collection here), a worker still running at interpreter exit made ``multiprocessing``
    terminate it (SIGTERM, ignored) and wait for it forever: a stopped run printed its last
    lines and never exited.
    """
    it = getattr(loader, "_iterator", None)  # torch keeps the persistent workers' iterator here
    if it is not None and hasattr(it, "_shutdown_workers"):
        it._shutdown_workers()
    loader._iterator = None


def collate(items: list[dict[str, Any] | None]) -> dict[str, Any]:
    """Batch items: images ``[N, H, W, 3]``, concatenated targets, their lengths, texts, and
    ``drawn``: how many items the sampler drew, unreadable ones (None, left out) included.
    """
    good = [it for it in items if it is not None]
    if not good:
        return {"images": None, "targets": None, "lengths": None, "texts": [], "drawn": len(items)}
    return {
        "drawn": len(items),
        "images": torch.stack([it["image"] for it in good]),
        "targets": torch.cat([it["target"] for it in good]),
        "lengths": torch.tensor([len(it["target"]) for it in good], dtype=torch.long),
        "texts": [it["text"] for it in good],
    }
