"""Does the JavaScript recipe (examples/onnx/read_plate.mjs) read plates as plateread does?
Texts and plate confidences of the same crops read by it (in Node with sharp, or in a headless
Chromium from a canvas) and by ``PlateReader(decoder="greedy", tighter_below=0, turned_below=0,
two_row_below=0)``, the reading docs/onnx-model.md describes.

Needs Node and the example's packages (and, for ``--browser``, esbuild and Debian's chromium):

    cd examples/onnx && npm install && npm install --no-save esbuild && cd ../..
    python benchmarks/js_parity.py --model ru --data dir:examples/plates/ru \
        --data json:../shared/data/ru_dev
    python benchmarks/js_parity.py --model cn --data dir:../shared/data/cn_dev --browser
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from plateread.data import read_spec
from plateread.predict import resolve_model
from plateread.reader import PlateReader

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "onnx"
ENTRY = """import * as ort from "onnxruntime-web";
import { loadReader, readPlate, pixelsFromImage } from "./read_plate.mjs";
ort.env.wasm.wasmPaths = "/ort/";
ort.env.wasm.numThreads = 1;  // a page that is not cross-origin isolated gets one
window.run = async (modelUrl, urls) => {
  const reader = await loadReader(new Uint8Array(await (await fetch(modelUrl)).arrayBuffer()));
  const out = [];
  for (const url of urls) {
    const img = new Image();
    img.src = url;
    await img.decode();
    const [text, confidence] = await readPlate(reader, pixelsFromImage(reader, img));
    out.push({ text, confidence });
  }
  return out;
};
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    """Serves the page's files with the types browsers insist on, and logs nothing."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def in_node(model: Path, paths: list[str]) -> list[dict[str, Any]]:
    """Readings of ``paths`` by the example's command line (sharp's resize)."""
    out = subprocess.run(
        ["node", str(EXAMPLE / "read_plate.mjs"), str(model), *paths],
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def in_browser(model: Path, paths: list[str]) -> list[dict[str, Any]]:
    """Readings of ``paths`` in headless Chromium: the example bundled by esbuild, the crops
    decoded by the browser and resized on a canvas.
    """
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        esbuild = EXAMPLE / "node_modules" / ".bin" / "esbuild"
        subprocess.run(  # the entry on stdin, resolved from the example's folder
            [str(esbuild), "--bundle", "--format=esm", "--external:sharp", "--external:node:fs"]
            + [f"--outfile={site / 'bundle.js'}"],
            input=ENTRY,
            text=True,
            cwd=EXAMPLE,
            check=True,
            capture_output=True,
        )
        (site / "ort").mkdir()
        for wasm in (EXAMPLE / "node_modules" / "onnxruntime-web" / "dist").glob("ort-wasm*"):
            shutil.copy(wasm, site / "ort")
        shutil.copy(model, site / "model.onnx")
        (site / "crops").mkdir()
        for i, path in enumerate(paths):  # plain names: no URL quoting of CJK file names
            shutil.copy(path, site / "crops" / f"{i}{Path(path).suffix}")
        (site / "index.html").write_text('<script type="module" src="/bundle.js"></script>')
        handler = functools.partial(_Quiet, directory=tmp)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=shutil.which("chromium"), args=["--no-sandbox"]
                )
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
                page.wait_for_function("typeof window.run === 'function'")
                urls = [f"/crops/{i}{Path(path).suffix}" for i, path in enumerate(paths)]
                readings = page.evaluate("([m, u]) => run(m, u)", ["/model.onnx", urls])
                browser.close()
        finally:
            server.shutdown()
    return list(readings)


def main() -> None:
    """Compare and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="ru", help="shipped name or .onnx file")
    ap.add_argument("--data", action="append", required=True, help="data spec (repeatable)")
    ap.add_argument("--browser", action="store_true", help="read in headless Chromium")
    a = ap.parse_args()
    samples = [s for spec in a.data for s in read_spec(spec).samples]
    if not all(Path(s.id).is_file() for s in samples):
        ap.error("every sample must be an image file (dir:, json: or csv: specs)")
    paths = [s.id for s in samples]
    model = resolve_model(a.model)
    reader = PlateReader(
        str(model), decoder="greedy", tighter_below=0, turned_below=0, two_row_below=0
    )
    ours = reader.read_batch(paths)
    theirs = (in_browser if a.browser else in_node)(model, paths)
    same = sum(r.text == t["text"] for r, t in zip(ours, theirs))
    right = [(r.text == s.text, t["text"] == s.text) for r, t, s in zip(ours, theirs, samples)]
    gap = max(abs(r.confidence - t["confidence"]) for r, t in zip(ours, theirs))
    where = "Chromium" if a.browser else "Node"
    print(
        f"{len(samples)} crops: {same} read alike in {where} and by PlateReader; right "
        f"{sum(j for _, j in right)} in {where}, {sum(p for p, _ in right)} by PlateReader "
        f"(against the labels); plate confidences at most {gap:.4f} apart"
    )


if __name__ == "__main__":
    main()
