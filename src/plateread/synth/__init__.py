"""Synthetic plates: random valid texts, renderings and augmentation, deterministic per seed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from plateread.constraint import codes_written
from plateread.data.readers import Sample, hidden
from plateread.errors import FormatError
from plateread.formats import CN_LETTERS, PlateFormat, load_format
from plateread.styles import region_at_end
from plateread.synth.augment import add_frame, augment_synthetic
from plateread.synth.canvas import weighted_choice
from plateread.synth.fonts import check_drawable
from plateread.synth.render import (
    FIXED_FONT_KINDS,
    ONE_ROW_MM,
    TWO_ROW_MM,
    latin_fonts,
    render_plate,
)
from plateread.synth.russian import RU_SERIES, ru_drawable

# Russian region codes: 01-99, then the three-digit codes in use (1xx, 7xx and a few others).
_RU_REGIONS = [f"{i:02d}" for i in range(1, 100)] + [
    str(i) for i in (*range(102, 200), 702, 716, 725, 750, 761, 763, 777, 790, 797, 799)
]

# the classes the drawing of each built-in format's texts reads
_OWN_CLASSES = {"ru": "LD", "ru_all": "LD", "cn": "PA"}
# how often ru_all draws each type's series (synth.russian.RU_SERIES): civil, taxi, trailer,
# police, military
_RU_ALL_SERIES = {"LDDDLL": 0.4, "LLDDD": 0.15, "LLDDDD": 0.15, "LDDDD": 0.15, "DDDDLL": 0.15}
# how often a DDDD LL series gets a three-digit region code (then its plate is a two-row one)
_RU_TWO_ROW_THREE_DIGITS = 0.3


def random_text(fmt: PlateFormat, rng: np.random.Generator) -> str:
    """A random valid plate text of ``fmt`` (with realistic regions and provinces), starting and
    ending as its ``prefixes`` and ``suffixes`` say.
    """
    text = _drawn_text(fmt, rng)
    if fmt.templates and fmt.match_template(text) is None:  # a built-in narrowed by a file
        text = _template_text(fmt, rng)
    if (fmt.prefixes or fmt.suffixes) and not fmt.is_valid(text):  # start and end as it says
        heads = [str(p) for p in rng.permutation(list(fmt.prefixes))] or [""]
        tails = [str(s) for s in rng.permutation(list(fmt.suffixes))] if fmt.suffixes else [""]
        coded = _with_codes(fmt, text, heads, tails)
        if coded is None and not fmt.templates:  # a length the codes fit, for lengths only
            for n in rng.permutation(range(fmt.min_length, fmt.max_length + 1)).tolist():
                extra = "".join(rng.choice(list(fmt.alphabet), max(0, n - len(text))))
                coded = _with_codes(fmt, (text + extra)[:n], heads, tails)
                if coded is not None:
                    break
        return coded or text
    return text


def _with_codes(fmt: PlateFormat, text: str, heads: list[str], tails: list[str]) -> str | None:
    """``text`` with the first of ``heads`` and ``tails`` that make it a valid plate written
    over its first and last characters (the two may overlap on a short plate), or None.
    """
    for tail in tails:
        for head in heads:
            written = codes_written(len(text), head, tail)
            if written is None:
                continue
            coded = "".join(c or t for c, t in zip(written, text, strict=True))
            if fmt.is_valid(coded):
                return coded
    return None


def _drawn_text(fmt: PlateFormat, rng: np.random.Generator) -> str:
    """A text of ``fmt``, with the regions and provinces of ``ru``, ``ru_all`` and ``cn`` drawn
    as on real plates (for a file that ``extends`` one of them, perhaps no template's).
    """
    if fmt.name in _OWN_CLASSES and not set(_OWN_CLASSES[fmt.name]) <= set(fmt.classes):
        return _template_text(fmt, rng)  # classes renamed by a file: its own templates
    if fmt.name == "ru":
        c = fmt.classes
        letters = "".join(rng.choice(list(c["L"]), 3))
        digits = "".join(rng.choice(list(c["D"]), 3))
        region = str(rng.choice(_RU_REGIONS[:99] if rng.random() < 0.6 else _RU_REGIONS))
        return letters[0] + digits + letters[1:] + region
    if fmt.name == "ru_all":
        series = weighted_choice(_RU_ALL_SERIES, rng)
        drawn = "".join(str(rng.choice(list(fmt.classes[k]))) for k in series)
        regions = RU_SERIES[series][1]
        # a motorcycle's or tractor's three-digit code, drawn on two rows only (a format from
        # before the two-row layouts, such as an older model's, has no such template)
        if series + "DDD" in fmt.two_row and rng.random() < _RU_TWO_ROW_THREE_DIGITS:
            regions = (3,)
        two_digits = regions == (2,) or (regions != (3,) and rng.random() < 0.6)
        return drawn + str(rng.choice(_RU_REGIONS[:99] if two_digits else _RU_REGIONS))
    if fmt.name == "cn":
        province = "皖" if rng.random() < 0.3 else str(rng.choice(list(fmt.classes["P"])))
        letter = "A" if rng.random() < 0.3 else str(rng.choice(list(CN_LETTERS)))
        n = 6 if rng.random() < 0.15 else 5
        alnum = fmt.classes["A"]
        # real serials are mostly digits; keep letters at about a third
        chars = [
            str(rng.choice(list(alnum[:10] if rng.random() < 0.65 else alnum))) for _ in range(n)
        ]
        return province + letter + "".join(chars)
    return _template_text(fmt, rng)


def _template_text(fmt: PlateFormat, rng: np.random.Generator) -> str:
    """A text of one of ``fmt``'s templates (with a region code where the style lists them), or
    of its alphabet and lengths.
    """
    if fmt.templates:
        template = _template(fmt, rng)
        text = "".join(str(rng.choice(list(fmt.classes[k]))) for k in template)
        codes = fmt.style.get("region_codes")  # real region codes, when the style lists them
        if codes:
            code = _region_code(codes, rng)
            coded = at_region(fmt, text, code)
            if fmt.is_valid(coded):
                text = coded
    else:
        n = int(rng.integers(fmt.min_length, fmt.max_length + 1))
        text = "".join(rng.choice(list(fmt.alphabet), n))
    return text


def at_region(fmt: PlateFormat, text: str, code: str) -> str:
    """``text`` with ``code`` written where the style puts the region: over its first
    characters, or its last with ``region_at: end``.
    """
    if region_at_end(fmt):
        return text[: max(0, len(text) - len(code))] + code
    return code + text[len(code) :]


def _template(fmt: PlateFormat, rng: np.random.Generator) -> str:
    """A template of ``fmt``, drawn evenly or as often as the style's ``template_weights`` say."""
    weights = fmt.style.get("template_weights")
    if not weights:
        return str(rng.choice(list(fmt.templates)))
    # the format checked the weights when it loaded
    return weighted_choice({t: weights.get(t, 0.0) for t in fmt.templates}, rng)


def _region_code(codes: Any, rng: np.random.Generator) -> str:
    """A region code from a list (uniform) or a ``{code: weight}`` mapping (as often as in the
    real data: a reader unsure of a tiny code should guess the common ones).
    """
    if isinstance(codes, dict):
        return weighted_choice(codes, rng)
    return str(rng.choice([str(c) for c in codes]))


@dataclass(frozen=True)
class SynthImage:
    """A synthetic plate image, rendered on demand (cheap to pickle to data-loader workers)."""

    format: str | PlateFormat  # a name or YAML path (what data-loader workers get) or the format
    text: str
    seed: int
    augment: bool = True
    rows: int = 1

    def load(self) -> np.ndarray:
        """Render (and augment) the plate; the same seed gives the same pixels."""
        rng = np.random.default_rng(self.seed)
        fmt = load_format(self.format).drawn(self.text)  # the style of the text's template
        plate = render_plate(fmt, self.text, rng, self.rows)
        if not self.augment:
            return plate
        scene = fmt.scene
        if scene.frame and rng.random() < 0.8:
            plate = add_frame(plate, rng, scene.frame)
        return augment_synthetic(
            plate,
            rng,
            loose=float(fmt.style.get("loose_crops", 0.3)),
            binarized=float(fmt.style.get("binarized", 0.0)),
            tilt=float(fmt.style.get("tilt", 1.0)),
            height_scale=_height_scale(fmt) if self.rows == 2 else 1.0,
            # a small plate's detector box is wide for its size: the real two-row crops show
            # 30-45% of the plate's width of scene on each side
            side_margin=3.0 if self.rows == 2 else 1.0,
            margins=scene.margins,
            scene=scene.background,
        )


def _height_scale(fmt: PlateFormat) -> float:
    """How much taller a two-row plate of ``fmt`` is than a one-row one (so its crop gets that
    many more pixels: both are photographed from about the same distance).
    """
    one = float(fmt.style.get("size_mm", ONE_ROW_MM)[1])
    two = float(fmt.style.get("two_row_size_mm", TWO_ROW_MM)[1])
    return two / one


def synth_samples(
    fmt: str | PlateFormat, n: int, seed: int = 0, augment: bool = True
) -> list[Sample]:
    """``n`` synthetic samples of format ``fmt`` (a name, a YAML path or a loaded format, such as
    an exported model's), deterministic per seed.

    With ``two_row`` layouts in the format, a share of the plates (style ``two_row_share``, 0.05)
    whose template has a layout is drawn on two rows, and every plate of a template the style's
    ``two_row_only`` lists.
    """
    pf = load_format(fmt)
    # a character no font draws would be its .notdef box: refused here, before any training
    kind = str(pf.style.get("kind", ""))
    fixed = kind if kind in FIXED_FONT_KINDS else ""
    check_drawable(pf.alphabet, latin_fonts(pf), str(pf.style.get("flag_text", "")), fixed)
    rng = np.random.default_rng(seed)
    share = float(pf.style.get("two_row_share", 0.05))
    only = set(pf.style.get("two_row_only", []))
    out = []
    for i in range(n):
        text = random_text(pf, rng)
        sub = int(rng.integers(2**62))
        rows = 1
        if pf.two_row:  # the share is drawn for every plate of such a format, as it always was
            template = pf.match_template(text)
            if (rng.random() < share or template in only) and template in pf.two_row:
                rows = 2
        if kind == "ru_all" and not ru_drawable(text, rows):  # refused before any training
            raise FormatError(
                f"format {pf.name!r}: style kind ru_all draws Russian plates only, not "
                f"{text!r} (template {pf.match_template(text)}"
                f"{', two rows' if rows == 2 else ''}); drop kind from the style"
            )
        image = SynthImage(fmt, text, sub, augment, rows)
        out.append(Sample(f"synth:{pf.name}:{seed}:{i}", text, image, rows))
    return out


def write_dataset(
    fmt: str, n: int, out: str | Path, seed: int = 0, grid: str | Path | None = None
) -> Path:
    """Render ``n`` plates to ``out/images`` and ``out/config.json`` (the course layout).

    A set this function wrote before (marked by ``out/synth.json``) is replaced, its images
    removed first; any other ``config.json`` in ``out`` is left alone.

    Returns:
        The path of ``config.json``.

    Raises:
        FileExistsError: ``out`` holds a data set (a ``config.json`` or files in ``images/``)
            that is not a synthetic one written here.
        ValueError: ``n`` under 1 or ``seed`` under 0 (before anything is written).
    """
    if n < 1 or seed < 0:
        raise ValueError(f"n must be at least 1 and seed at least 0, got n={n}, seed={seed}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file: give a folder for the data set")
    marker = out / "synth.json"
    # a Finder's .DS_Store in images/ is no data set
    files = [f for f in (out / "images").glob("*") if not hidden(Path(f.name))]
    theirs = (out / "config.json").exists() or bool(files)
    if theirs and not marker.exists():  # images/000000.png would be written over
        raise FileExistsError(
            f"{out} holds a data set that plateread synth did not write: choose another --out"
        )
    if (out / "config.json").exists():
        try:
            old = [str(e["file"]) for e in json.loads((out / "config.json").read_text("utf-8"))]
        except (ValueError, TypeError, KeyError):
            old = []  # an unreadable old list: its images stay, the new list replaces it
        for file in old:  # only the images the old set lists in images/, which are ours
            if Path(file).parent == Path("images"):
                (out / file).unlink(missing_ok=True)
    (out / "images").mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"format": str(fmt), "n": n, "seed": seed}), encoding="utf-8")
    samples = synth_samples(fmt, n, seed)
    config: list[dict[str, Any]] = []
    images: list[np.ndarray] = []
    for i, s in enumerate(samples):
        img = s.load()
        name = f"{i:06d}.png"
        cv2.imwrite(str(out / "images" / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        config.append(
            {"file": f"images/{name}", "text": s.text, **({"rows": 2} if s.rows == 2 else {})}
        )
        if grid is not None and len(images) < 40:
            images.append(img)
    path = out / "config.json"
    path.write_text(json.dumps(config, ensure_ascii=False, indent=1), encoding="utf-8")
    if grid is not None:
        from plateread.synth.grid import save_grid

        save_grid(images, [str(c["text"]) for c in config[: len(images)]], grid)
    return path
