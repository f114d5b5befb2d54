"""``plateread data``: a first look at a data set."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import numpy as np

from plateread.data import Sample, load_dataset, load_readable
from plateread.data.colours import plate_colours
from plateread.data.readers import read_spec
from plateread.formats import GENERIC, PlateFormat, template_of
from plateread.formats.draft import Colour, Draft, draft_format
from plateread.styles import main_span

# what a copy's file name often ends in: "-1", " 2", " (2)"
_COPY_NUMBER = re.compile(r"(?:[-\s]+\d{1,3}|\s*\(\d{1,3}\))$")
# a draft's colours are measured in every crop, or past twice this many, in every n-th (n = the
# crops // this): at least this many, spread over the labels
COLOUR_CROPS = 400
# a template's crops are measured apart where it has at least this many, and their colours kept
# where a channel of the plate's or the characters' colour is this far from all crops' colours
TEMPLATE_CROPS = 20
COLOURS_APART = 60


def copy_numbers(samples: Sequence[Sample], fmt: PlateFormat) -> list[tuple[str, str, str]]:
    """Labels that took in what looks like a copy number at the end of their file name, where
    the name without it is a plate too: ``A123BC77-1.png`` labelled ``A123BC771``, not
    ``A123BC77`` (``dir:`` and ``zip:`` labels end at a ``_`` unless ``?sep=`` says more).

    Returns:
        ``(file name, label, the label without the number)`` of each.
    """
    out = []
    for s in samples:
        name = PurePath(s.id).name
        match = _COPY_NUMBER.search(PurePath(name).stem)
        if not match:
            continue
        cut = fmt.normalize(PurePath(name).stem[: match.start()])
        if s.text != cut and s.text.startswith(cut) and fmt.match_template(cut):
            out.append((name, s.text, cut))
    return out


def draft_from_specs(specs: Sequence[str], name: str) -> Draft:
    """Draft a format from the labels of ``specs`` as written (no format filters them), with
    the plates' colours measured in their crops (every n-th past ``2 * COLOUR_CROPS``).

    Raises:
        DataSpecError: a spec is malformed or points at nothing.
        ValueError: the specs hold no label.
    """
    samples = [s for spec in specs for s in read_spec(spec).samples]
    if not samples:
        raise ValueError(f"no labels in {', '.join(specs)} to draft a format from")
    draft = draft_format([s.text for s in samples], name)
    step = max(1, len(samples) // COLOUR_CROPS)
    colours = plate_colours(img for _, img in load_readable(samples[::step])[0])
    if colours:
        draft.colours = (colours.background, colours.foreground, colours.images)
        draft.template_colours = _template_colours(draft, samples)
    return draft


def _template_colours(
    draft: Draft, samples: Sequence[Sample]
) -> dict[str, tuple[Colour, Colour, int]]:
    """The colours of each template's crops where they differ from all crops' (a green plate
    of eight characters beside blue ones of seven), measured in ``TEMPLATE_CROPS`` or more.
    """
    if len(draft.templates) < 2 or draft.colours is None:
        return {}
    templates = tuple(t for t, _ in draft.templates)
    fmt = PlateFormat(draft.name, draft.alphabet, draft.classes, templates)
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        template = fmt.match_template(GENERIC.normalize(s.text))
        if template is not None:
            groups.setdefault(template, []).append(s)
    out: dict[str, tuple[Colour, Colour, int]] = {}
    for template, group in groups.items():
        if len(group) < TEMPLATE_CROPS:
            continue
        step = max(1, len(group) // COLOUR_CROPS)
        own = plate_colours(img for _, img in load_readable(group[::step])[0])
        if own is None or own.images < TEMPLATE_CROPS:
            continue
        apart = max(
            abs(a - b)
            for mine, all_ in zip((own.background, own.foreground), draft.colours[:2])
            for a, b in zip(mine, all_)
        )
        if apart >= COLOURS_APART:
            out[template] = (own.background, own.foreground, own.images)
    return out


def inspect_data(
    specs: list[str],
    fmt: PlateFormat,
    sample: int = 24,
    seed: int = 0,
    augment: float | None = None,
    turns: float = 0.0,
) -> dict[str, Any]:
    """Counts, templates, lengths, character and province frequencies, unreadable images and
    invalid labels of a data set. Every image is decoded once (to find the unreadable ones).

    Args:
        specs: Data specs.
        fmt: The format the labels should follow.
        sample: How many random samples the grid shows.
        seed: Seed of the draw (and of the augmentation).
        augment: Show the grid's real crops as training augments them at this strength (the
            ``real_augment`` setting; needs the ``train`` extra); synthetic plates are drawn
            augmented anyway.
        turns: With ``augment``, the share of real crops turned far (the ``real_turns``
            setting).

    Returns:
        Plain data; ``"grid"`` holds up to ``sample`` random ``(image, label)`` pairs (not JSON).
    """
    data = load_dataset(specs, fmt, require_template=False)
    readable, unreadable = load_readable(data.samples)
    sizes = [img.shape[:2] for _, img in readable]
    texts = [s.text for s, _ in readable]
    chars = Counter("".join(texts))
    heights = sorted(h for h, _ in sizes)
    widths = sorted(w for _, w in sizes)
    rng = random.Random(seed)
    picks = rng.sample(readable, min(sample, len(readable)))
    copies = copy_numbers(data.samples, fmt)
    info: dict[str, Any] = {
        "specs": specs,
        "format": fmt.name,
        "samples": len(data.samples),
        "readable": len(readable),
        "unreadable": unreadable[:50],
        "read_problems": data.problems[:50],
        "invalid_labels": dict(data.report.dropped),
        "invalid_examples": {k: v[:5] for k, v in data.report.examples.items()},
        "unique_plates": len(set(texts)),
        "templates": dict(Counter(template_of(t, fmt) for t in texts).most_common()),
        "lengths": dict(sorted(Counter(len(t) for t in texts).items())),
        "characters": dict(chars.most_common()),
        "median_size": [heights[len(heights) // 2], widths[len(widths) // 2]] if sizes else None,
        "copy_numbers": {"count": len(copies), "examples": copies[:5]},
        "grid": [(img, s.text) for s, img in picks],
    }
    if augment is not None:
        from plateread.synth.augment import augment_real  # albumentations: the train extra

        draw = np.random.default_rng(seed)
        info["grid"] = [
            (img if hasattr(s.image, "seed") else augment_real(img, draw, augment, turns), s.text)
            for s, img in picks
        ]
    colours = plate_colours(img for _, img in readable)
    if colours:
        info["colours"] = {
            "plate": list(colours.background),
            "characters": list(colours.foreground),
            "crops": colours.images,
        }
    if "P" in fmt.classes:
        info["provinces"] = dict(Counter(t[0] for t in texts).most_common())
    if fmt.style.get("region_chars"):  # the counts a format's weighted ``region_codes`` can follow
        spans = ((t, main_span(fmt, t)) for t in texts)
        codes = (t[:first] + t[last:] for t, (first, last) in spans)
        info["region_codes"] = dict(Counter(codes).most_common())
    return info
