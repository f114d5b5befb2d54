from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

if TYPE_CHECKING:
    from plateread.formats import PlateFormat

ROOT = Path(__file__).resolve().parents[1]  # the repository
SHARED = ROOT.parent / "shared" / "data"


def write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    path.write_bytes(buf.tobytes())


def path_logits(text: str, alphabet: str, steps: int = 32, noise: float = 0.0) -> np.ndarray:
    """Logits ``[1, steps, C]`` whose best path spells ``text`` (a blank between characters)."""
    path = [0]
    for c in text:
        path += [alphabet.index(c) + 1, 0]
    path += [0] * (steps - len(path))
    out = np.full((1, steps, len(alphabet) + 1), -4.0, np.float32)
    out[0, np.arange(steps), path] = 4.0
    out += np.random.default_rng(0).normal(0, noise, out.shape).astype(np.float32)
    return out


def plate_like(h: int = 40, w: int = 160, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def synth_ru(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small rendered RU data set in the course layout."""
    from plateread.synth import write_dataset

    out = tmp_path_factory.mktemp("synth_ru")
    write_dataset("ru", 48, out, seed=3)
    return out


@pytest.fixture
def json_dataset(tmp_path: Path) -> Path:
    items = []
    for i, text in enumerate(["A123BC77", "x999xx199", "Ж123ЖЖ77", "A12", ""]):
        write_png(tmp_path / "images" / f"{i}.png", plate_like(seed=i))
        items.append({"file": f"{i}.png", "text": text})
    (tmp_path / "config.json").write_text(json.dumps(items, ensure_ascii=False))
    return tmp_path


@contextlib.contextmanager
def chromium_page() -> Iterator[Any]:
    """A Playwright page in Debian's headless chromium (never a downloaded browser); skips where
    chromium is missing, except in CI, where its absence is a failure."""
    chromium = shutil.which("chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian chromium (.ci/run installs it)")
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def untrained_onnx(
    folder: Path, fmt_name: str | PlateFormat = "ru", arch: str = "crnn_small"
) -> Path:
    """An untrained model of ``arch`` for a format (a built-in name or a ``PlateFormat``), saved
    as a checkpoint and exported to ONNX.
    """
    from plateread.export import export_onnx
    from plateread.formats import load_format
    from plateread.models import REGISTRY, build_model
    from plateread.train.checkpoint import model_meta, save_checkpoint

    fmt = load_format(fmt_name)
    meta = model_meta(arch, fmt, REGISTRY[arch].input_size, {})
    ckpt = save_checkpoint(folder / f"{fmt.name}.pt", build_model(arch, fmt), meta)
    export_onnx(ckpt, folder / f"{fmt.name}_test.onnx")
    return folder / f"{fmt.name}_test.onnx"


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"shared data {path} not present")
    return path


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body and checksum."""
    import struct
    import zlib

    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_png_chunk(png: bytes, kind: bytes, body: bytes) -> bytes:
    """``png`` with one more chunk right after its header chunk (IHDR: bytes 8-33)."""
    return png[:33] + png_chunk(kind, body) + png[33:]


def png_claiming(width: int, height: int) -> bytes:
    """A 69-byte PNG whose header claims ``width`` x ``height`` pixels (its data far fewer)."""
    import struct
    import zlib

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    body = (
        png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(100)))
        + png_chunk(b"IEND", b"")
    )
    return b"\x89PNG\r\n\x1a\n" + body
