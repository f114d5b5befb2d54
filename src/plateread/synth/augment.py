"""Plate-specific augmentation: placement in a scene (tight or loose crop, perspective, rotation),
then camera effects through albumentations (blur, noise, light, glare, dirt, JPEG, low resolution).

Used for synthetic plates (``scene`` + ``camera``) and for real training crops (``camera`` and a
milder geometric jitter).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from plateread.styles import LOOSE_MARGINS
from plateread.tighter import turned_view

TURN_DEGREES = (8.0, 30.0)  # how far a real crop is turned, either way, when it is (real_turns)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random scene-like background: a blurred noise texture over a colour gradient."""
    base = rng.uniform(20, 200, 3)
    other = rng.uniform(20, 200, 3)
    ramp = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    bg = (1 - ramp) * base + ramp * other
    small = rng.uniform(-60, 60, (max(2, h // 8), max(2, w // 8), 1)).astype(np.float32)
    texture = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    return np.clip(bg + texture, 0, 255).astype(np.uint8)


# car paints, roughly by how often they are seen: white, silver, grey, black, then a few colours
_PAINTS = np.array(
    [[232, 232, 230], [185, 188, 192], [120, 122, 126], [30, 30, 34], [40, 60, 110], [120, 30, 30]],
    np.float32,
)
_PAINT_P = np.array([0.3, 0.2, 0.15, 0.2, 0.08, 0.07])


def _car_background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """The back of a car: a mostly grey-scale paint shaded top to bottom, sometimes a dark bumper
    band above or below the plate and red tail lights at the sides (drawn at a quarter of the
    size, then enlarged: the enlarging blurs it like an out-of-focus background).
    """
    sh, sw = max(2, h // 4), max(2, w // 4)
    paint = _PAINTS[rng.choice(len(_PAINTS), p=_PAINT_P)] + rng.normal(0, 12, 3)
    shade = np.linspace(rng.uniform(0.7, 1.2), rng.uniform(0.5, 1.1), sh, dtype=np.float32)
    bg = paint[None, None, :] * shade[:, None, None] * np.ones((1, sw, 1), np.float32)
    if rng.random() < 0.5:  # a dark gap or bumper edge running across
        y = int(rng.integers(0, sh))
        bg[y : y + max(1, int(sh * rng.uniform(0.05, 0.2)))] *= rng.uniform(0.2, 0.6)
    if rng.random() < 0.3:  # a tail light at one side
        x = 0 if rng.random() < 0.5 else int(sw * rng.uniform(0.85, 0.95))
        y = int(sh * rng.uniform(0, 0.5))
        bg[y : y + max(1, int(sh * rng.uniform(0.2, 0.5))), x : x + max(1, sw // 8)] = rng.uniform(
            [150, 10, 10], [230, 60, 50]
        )
    bg += rng.normal(0, 6, (sh, sw, 1)).astype(np.float32)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(bg, 0, 255).astype(np.uint8)


def add_frame(plate: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Surround a plate with a dark plate-holder frame ``share`` of its height thick (jittered)."""
    h = plate.shape[0]
    t = max(1, round(share * h * rng.uniform(0.6, 1.4)))
    color = [float(v) for v in rng.uniform(10, 60) + rng.normal(0, 4, 3)]
    return cv2.copyMakeBorder(plate, t, t, t, t, cv2.BORDER_CONSTANT, value=color)


def place_in_scene(
    plate: np.ndarray,
    rng: np.random.Generator,
    loose: float = 0.5,
    tilt: float = 1.0,
    side_margin: float = 1.0,
    margins: tuple[tuple[float, float], tuple[float, float]] = LOOSE_MARGINS,
    scene: str = "noise",
) -> np.ndarray:
    """Warp a clean plate into a background and crop around it like a detector would.

    Args:
        plate: Clean RGB rendering.
        rng: Random generator.
        loose: Probability of a loose crop (wide margins, showing background).
        tilt: Scale of rotation and perspective (0 turns them off).
        side_margin: Scales a loose crop's left and right margins.
        margins: A loose crop's margin on each side, drawn from ``(low, high)`` as a share of
            the plate's width (left and right) and height (top and bottom).
        scene: ``noise`` (coloured textures) or ``car`` (grey-scale paint, bumpers, lights).
    """
    h, w = plate.shape[:2]
    if rng.random() < loose:
        (x_lo, x_hi), (y_lo, y_hi) = margins
        mx, my = rng.uniform(x_lo, x_hi) * side_margin * w, rng.uniform(y_lo, y_hi) * h
    else:
        mx, my = rng.uniform(-0.02, 0.03) * w, rng.uniform(-0.04, 0.06) * h
    out_w, out_h = int(w + 2 * abs(mx)), int(h + 2 * abs(my))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    angle = np.deg2rad(rng.normal(0, 3.0 * tilt))
    shear = rng.normal(0, 0.06 * tilt)
    cx, cy = w / 2, h / 2
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = (src - [cx, cy]) @ np.array([[1, 0], [shear, 1]]).T @ rot.T
    pts += rng.normal(0, 0.015 * tilt, (4, 2)) * [w, h]  # perspective: move corners apart
    pts += [out_w / 2 + rng.normal(0, 0.01 * w), out_h / 2 + rng.normal(0, 0.03 * h)]
    m = cv2.getPerspectiveTransform(src, pts.astype(np.float32))
    bg = (_car_background if scene == "car" else _background)(rng, out_h, out_w)
    warped = cv2.warpPerspective(plate, m, (out_w, out_h), flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(np.ones((h, w), np.float32), m, (out_w, out_h))[..., None]
    return (bg * (1 - cover) + warped * cover).astype(np.uint8)


def add_dirt(image: np.ndarray, rng: np.random.Generator, n: int = 4) -> np.ndarray:
    """Soft dark blotches and streaks (mud, shadows of frames)."""
    h, w = image.shape[:2]
    layer = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, n + 1))):
        center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(2, max(3, w // 6))), int(rng.integers(2, max(3, h // 3))))
        cv2.ellipse(layer, center, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    k = max(3, (min(h, w) // 6) | 1)
    layer = cv2.GaussianBlur(layer, (k, k), 0)[..., None] * rng.uniform(0.2, 0.6)
    dirt = np.asarray(rng.uniform(40, 110, 3), np.float32)
    return (image * (1 - layer) + dirt * layer).astype(np.uint8)


def binarize(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A rectified-and-thresholded look, like some real data sets' crops."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    block = int(rng.choice([15, 21, 31]))
    bw = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 5)
    return cv2.cvtColor(bw, cv2.COLOR_GRAY2RGB)


@lru_cache(maxsize=4)
def camera(strength: float = 1.0) -> Any:
    """An albumentations pipeline of camera effects; ``strength`` scales probabilities."""
    # albumentations asks PyPI for a newer version on import unless told not to (we stay offline)
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A

    p = min(1.0, strength)
    return A.Compose(
        [
            A.OneOf(
                [
                    A.MotionBlur(blur_limit=(3, 7)),
                    A.GaussianBlur(blur_limit=(3, 5)),
                    A.Defocus(radius=(1, 3), alias_blur=(0.1, 0.3)),
                ],
                p=0.5 * p,
            ),
            A.RandomBrightnessContrast(brightness_limit=0.35, contrast_limit=0.4, p=0.8 * p),
            A.RandomGamma(gamma_limit=(60, 150), p=0.3 * p),
            A.HueSaturationValue(10, 25, 20, p=0.4 * p),
            A.PlanckianJitter(p=0.2 * p),
            A.RandomShadow(shadow_roi=(0, 0, 1, 1), shadow_intensity_range=(0.2, 0.6), p=0.25 * p),
            A.RandomSunFlare(
                flare_roi=(0, 0, 1, 1), src_radius=40, num_flare_circles_range=(1, 3), p=0.08 * p
            ),
            A.OneOf(
                [A.GaussNoise(std_range=(0.02, 0.1)), A.ISONoise(intensity=(0.1, 0.4))],
                p=0.4 * p,
            ),
            A.Downscale(scale_range=(0.5, 0.9), p=0.2 * p),
            A.ImageCompression(quality_range=(25, 95), p=0.5 * p),
            A.ToGray(p=0.05 * p),
        ]
    )


def apply_camera(image: np.ndarray, seed: int, strength: float = 1.0) -> np.ndarray:
    """Apply :func:`camera` deterministically for ``seed``."""
    pipeline = camera(strength)
    pipeline.set_random_seed(seed)
    return pipeline(image=image)["image"]  # type: ignore[no-any-return]


def augment_synthetic(
    plate: np.ndarray,
    rng: np.random.Generator,
    loose: float = 0.3,
    binarized: float = 0.0,
    tilt: float = 1.0,
    height_scale: float = 1.0,
    side_margin: float = 1.0,
    margins: tuple[tuple[float, float], tuple[float, float]] = LOOSE_MARGINS,
    scene: str = "noise",
) -> np.ndarray:
    """Everything a clean rendering goes through to look photographed.

    Args:
        plate: Clean RGB rendering.
        rng: Random generator.
        loose: Share of loose crops (wide margins with background), as the data's detector gives.
        binarized: Share of thresholded black-and-white crops (some Russian data sets have them).
        tilt: Scale of rotation, shear and perspective (1: rotations of about 3 degrees).
        height_scale: Scales the crop heights drawn (24-80 px): a plate that is taller than a
            one-row plate at the same distance (a two-row plate) gets more pixels.
        side_margin: Scales loose crops' left and right margins (see :func:`place_in_scene`).
        margins: Loose crops' margins (see :func:`place_in_scene`).
        scene: The background behind the plate (see :func:`place_in_scene`).
    """
    img = place_in_scene(plate, rng, loose, tilt, side_margin, margins, scene)
    if rng.random() < 0.3:
        img = add_dirt(img, rng)
    height = int(rng.choice([24, 32, 40, 48, 64, 80], p=[0.2, 0.2, 0.2, 0.15, 0.15, 0.1]))
    height = round(height * height_scale)
    width = max(8, round(img.shape[1] * height / img.shape[0] * rng.uniform(0.9, 1.1)))
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    img = apply_camera(img, int(rng.integers(2**31)))
    if rng.random() < binarized:
        img = binarize(img, rng)
    return img


def augment_real(
    image: np.ndarray, rng: np.random.Generator, strength: float = 1.0, turns: float = 0.0
) -> np.ndarray:
    """Milder augmentation for real training crops: small geometric jitter, camera effects.

    Args:
        image: A real RGB crop.
        rng: Random generator.
        strength: Scales the rotation and perspective (0.4 of the synthetic plates' at 1) and
            the camera effects' probabilities (0.6 of theirs at 1).
        turns: Share of crops first turned by :data:`TURN_DEGREES` either way, on a canvas that
            keeps the whole crop in view (:func:`~plateread.tighter.turned_view`): plates
            turned far in their crops, which the jitter alone never shows (0: none; the random
            draws are then those of a run without the option).
    """
    if turns > 0 and rng.random() < turns:
        angle = rng.uniform(*TURN_DEGREES) * rng.choice([-1.0, 1.0])
        image = turned_view(image, float(angle))
    img = place_in_scene(image, rng, loose=0.2, tilt=0.4 * strength)
    return apply_camera(img, int(rng.integers(2**31)), strength=0.6 * strength)
