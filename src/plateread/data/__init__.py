"""Labelled plate data: readers by spec, label normalisation and filtering, deterministic splits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from plateread.data.readers import (
    DataSpecError,
    ReadResult,
    Sample,
    iter_images,
    load_readable,
    parse_spec,
    read_spec,
    text_bucket,
)
from plateread.formats import PlateFormat
from plateread.labels import FilterReport, filter_labels

__all__ = [
    "DataSpecError",
    "Dataset",
    "Sample",
    "iter_images",
    "load_dataset",
    "load_readable",
    "parse_spec",
    "read_spec",
    "split_by_text",
]


@dataclass
class Dataset:
    """Samples with normalised, format-checked labels, and an account of what was dropped."""

    samples: list[Sample]
    report: FilterReport = field(default_factory=FilterReport)
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)

    def summary(self) -> str:
        """One paragraph: how many samples, what was dropped and why, unreadable entries."""
        lines = [
            f"{len(self.samples)} samples" + (f" ({self.report})" if self.report.total else "")
        ]
        if self.problems:
            n = len(self.problems)
            lines.append(
                f"{n} unreadable entr{'y' if n == 1 else 'ies'}: " + "; ".join(self.problems[:3])
            )
        return "\n".join(lines)


def load_dataset(
    specs: str | Iterable[str], fmt: PlateFormat, require_template: bool = True
) -> Dataset:
    """Read one or more specs, normalise labels with ``fmt`` and drop invalid ones.

    Args:
        specs: A spec (see :mod:`plateread.data.readers`) or several.
        fmt: The plate format the labels must follow.
        require_template: Also drop labels that match none of the format's templates.

    Raises:
        DataSpecError: a spec is malformed or points at nothing.
    """
    result = ReadResult()
    for spec in [specs] if isinstance(specs, str) else list(specs):
        part = read_spec(spec)
        result.samples.extend(part.samples)
        result.problems.extend(part.problems)
    normalised = [replace(s, text=fmt.normalize(s.text)) for s in result.samples]
    kept, report = filter_labels(normalised, fmt, require_template=require_template)
    return Dataset(kept, report, result.problems)


def split_by_text(
    samples: Sequence[Sample], val_fraction: float, seed: int = 0
) -> tuple[list[Sample], list[Sample]]:
    """Split deterministically by plate text: every photo of one plate lands on the same side.

    Returns:
        ``(train, val)``.
    """
    train: list[Sample] = []
    val: list[Sample] = []
    for s in samples:
        (val if text_bucket(s.text, seed) < val_fraction else train).append(s)
    return train, val
