"""The HTTP service, tested over real HTTP against `plateread serve` on loopback."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, chromium_page, plate_like, png_claiming, untrained_onnx
from plateread.formats import RU
from plateread.reader import PlateReader
from plateread.serve import start_server


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return untrained_onnx(tmp_path_factory.mktemp("serve"), "ru")


@pytest.fixture(scope="module")
def server(model_file: Path) -> Iterator[str]:
    args = [
        "--model",
        f"ru={model_file}",
        "--max-body-mb",
        "1",
        "--max-images",
        "8",
        "--threads",
        "1",
    ]
    proc, url = start_server(args)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _png(seed: int = 0) -> bytes:
    return cv2.imencode(".png", plate_like(40, 170, seed))[1].tobytes()


def _huge_png(w: int = 60000, h: int = 60000) -> bytes:
    """A tiny PNG file whose header claims huge dimensions (a decompression bomb)."""
    return png_claiming(w, h)


def _hdr(h: int, w: int) -> bytes:
    """A Radiance HDR picture (a format OpenCV decodes and Pillow cannot size)."""
    return cv2.imencode(".hdr", np.full((h, w, 3), 0.5, np.float32))[1].tobytes()


def test_read_one_file_like_curl(server: str) -> None:
    r = httpx.post(f"{server}/v1/read", files={"file": ("plate.png", _png(), "image/png")})
    assert r.status_code == 200, r.text
    res = r.json()["results"][0]
    assert {
        "name",
        "text",
        "confidence",
        "char_confidences",
        "valid",
        "template",
        "accepted",
    } <= set(res)
    assert res["name"] == "plate.png" and len(res["char_confidences"]) == len(res["text"])


def test_batch_and_base64(server: str) -> None:
    files = [("file", (f"p{i}.png", _png(i), "image/png")) for i in range(5)]
    r = httpx.post(f"{server}/v1/read", files=files, data={"min_confidence": "0.5"})
    assert r.status_code == 200 and len(r.json()["results"]) == 5
    body = {"images": [base64.b64encode(_png(i)).decode() for i in range(3)], "model": "ru"}
    r2 = httpx.post(f"{server}/v1/read", json=body)
    assert r2.status_code == 200 and [x["name"] for x in r2.json()["results"]] == [
        "image0",
        "image1",
        "image2",
    ]
    assert r2.json()["results"][0]["text"] == r.json()["results"][0]["text"]
    url = "data:image/png;base64," + body["images"][0]  # what a browser's FileReader gives
    r3 = httpx.post(f"{server}/v1/read", json={"images": [url]})
    assert (
        r3.status_code == 200 and r3.json()["results"][0]["text"] == r2.json()["results"][0]["text"]
    )
    # wrapped at 76 characters a line, as `base64 FILE` writes it
    wrapped = base64.encodebytes(_png(0)).decode()
    assert "\n" in wrapped.strip()
    r4 = httpx.post(f"{server}/v1/read", json={"images": [wrapped]})
    assert r4.status_code == 200 and r4.json()["results"] == r2.json()["results"][:1], r4.text


def test_a_bad_image_in_a_batch_loses_none_of_the_others(server: str) -> None:
    """A batch is read but for the images that cannot be, each of which gets an ``error``; only
    a request with nothing readable fails, with the first image's 4xx.
    """
    good = [("file", (f"p{i}.png", _png(i), "image/png")) for i in range(2)]
    bad = [
        ("file", ("t.png", _png()[:60], "image/png")),
        ("file", ("bomb.png", _huge_png(), "image/png")),
    ]
    alone = httpx.post(f"{server}/v1/read", files=good).json()["results"]
    r = httpx.post(f"{server}/v1/read", files=[good[0], *bad, good[1]])
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["name"] for x in results] == ["p0.png", "t.png", "bomb.png", "p1.png"]
    assert [results[0], results[3]] == alone
    assert "not a readable image" in results[1]["error"]
    assert results[2]["error"] == "bomb.png: exceeds the limit of 16777216 pixels"
    assert not results[1]["accepted"] and "text" not in results[2]
    r = httpx.post(f"{server}/v1/read", files=bad)
    assert r.status_code == 422 and "t.png" in r.json()["detail"]


def test_raw_image_body_and_query_options(server: str) -> None:
    """``curl --data-binary @plate.png -H 'Content-Type: image/png' URL?model=ru``: one image as
    the body, options in the query string (which multipart and JSON requests take too)."""
    form = httpx.post(f"{server}/v1/read", files={"file": ("p.png", _png(), "image/png")})
    raw = httpx.post(
        f"{server}/v1/read",
        content=_png(),
        headers={"content-type": "image/png"},
        params={"model": "ru", "min_confidence": "1"},
    )
    assert raw.status_code == 200, raw.text
    (res,) = raw.json()["results"]
    assert res["name"] == "image0" and res["text"] == form.json()["results"][0]["text"]
    assert res["accepted"] is False  # min_confidence 1 from the query
    upper = httpx.post(f"{server}/v1/read", content=_png(), headers={"content-type": "Image/PNG"})
    assert upper.status_code == 200 and upper.json()["results"][0]["text"] == res["text"]
    b64 = [base64.b64encode(_png()).decode()]
    file = {"file": ("p.png", _png(), "image/png")}
    # query alone, and query and body saying the same (1.0 and 1)
    for kwargs in (
        {"files": file},
        {"json": {"images": b64}},
        {"files": file, "data": {"min_confidence": "1"}},
        {"json": {"images": b64, "min_confidence": 1}},
    ):
        r = httpx.post(f"{server}/v1/read", params={"min_confidence": "1.0"}, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 200 and r.json()["results"][0]["accepted"] is False, r.text
        missing = httpx.post(f"{server}/v1/read", params={"model": "mars"}, **kwargs)  # type: ignore[arg-type]
        assert missing.status_code == 404 and "unknown model" in missing.json()["detail"]


def test_models_health_docs_and_page(server: str) -> None:
    m = httpx.get(f"{server}/v1/models").json()
    assert m["default"] == "ru" and m["models"][0]["alphabet"] == RU.alphabet
    assert m["models"][0]["input_size"] == [32, 128]
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    read_op = httpx.get(f"{server}/openapi.json").json()["paths"]["/v1/read"]["post"]
    assert set(read_op["requestBody"]["content"]) == {
        "multipart/form-data",
        "application/json",
        "image/*",
    }
    assert [q["name"] for q in read_op["parameters"]] == ["model", "min_confidence"]
    assert httpx.get(f"{server}/docs").status_code == 200
    assert "Drop" in httpx.get(f"{server}/").text


@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [
        ({"files": {"file": ("e.png", b"", "image/png")}}, 422, "empty"),
        ({"files": {"file": ("t.png", _png()[:60], "image/png")}}, 422, "not a readable image"),
        (
            {"files": {"file": ("x.txt", b"hello, not an image", "text/plain")}},
            422,
            "not a readable image",
        ),
        ({"files": {"file": ("bomb.png", _huge_png(), "image/png")}}, 413, "limit"),
        ({"files": {"file": ("long.png", _huge_png(9000, 9), "image/png")}}, 413, "8192 pixels a"),
        (  # a header Pillow cannot read: held to the service's limits once decoded
            {"files": {"file": ("long.hdr", _hdr(9, 9000), "application/octet-stream")}},
            413,
            "long.hdr: 9000x9 exceeds the limit of 8192 pixels a side",
        ),
        (  # streamed without a length (chunked): counted as it comes
            {
                "content": (b"\0" * 65536 for _ in range(32)),
                "headers": {"content-type": "image/png"},
            },
            413,
            "1048576 bytes",
        ),
        (
            {"files": {"file": ("big.png", b"\0" * (2 * 1024 * 1024), "image/png")}},
            413,
            "1048576 bytes",
        ),
        (
            {"files": [("file", (f"{i}.png", _png(), "image/png")) for i in range(9)]},
            413,
            "limit of 8",
        ),
        (  # more than the multipart parser is let take
            {"files": [("file", (f"{i}.png", _png(), "image/png")) for i in range(12)]},
            413,
            "limit of 8",
        ),
        (
            {"files": [("file", ("p.png", _png(), "image/png")), ("model", ("m", b"ru"))]},
            422,
            "plain form fields",
        ),
        (
            {
                "content": _png(),
                "headers": {"content-type": "image/png"},
                "params": [("model", "ru"), ("model", "x")],
            },
            422,
            "more than once: ['model']",
        ),
        ({"content": b"plain", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
        (
            {"files": {"file": ("p.png", _png(), "image/png")}, "data": {"model": "mars"}},
            404,
            "unknown model",
        ),
        (
            {"files": {"file": ("p.png", _png(), "image/png")}, "data": {"min_confidence": "x"}},
            422,
            "number",
        ),
        (
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
            "malformed JSON",
        ),
        ({"json": {"images": ["%%%not base64"]}}, 422, "base64"),
        ({"json": {"images": []}}, 422, "no images"),
        ({"content": b"", "headers": {"content-type": "image/png"}}, 422, "empty"),
        ({"content": b"GIF89a", "headers": {"content-type": "image/gif"}}, 422, "image0"),
        (
            {"files": {"file": ("p.png", _png(), "image/png")}, "params": {"modle": "ru"}},
            422,
            "unknown query parameters ['modle']",
        ),
        (
            {
                "files": {"file": ("p.png", _png(), "image/png")},
                "data": {"min_confidence": "0.5"},
                "params": {"min_confidence": "0.9"},
            },
            422,
            "differs between the query",
        ),
        (
            {
                "content": b"--x\r\nbroken",
                "headers": {"content-type": "multipart/form-data; boundary=x"},
            },
            422,
            "no images",
        ),
    ],
)
def test_bad_input_gets_4xx_and_server_survives(
    server: str, kwargs: dict, status: int, words: str
) -> None:
    r = httpx.post(f"{server}/v1/read", timeout=30, **kwargs)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert httpx.get(f"{server}/healthz").status_code == 200


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.binary(max_size=2048),
    ctype=st.sampled_from(["image/png", "application/octet-stream", "text/plain"]),
    jsonish=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: (
            st.lists(c, max_size=4)
            | st.dictionaries(
                st.sampled_from(["images", "model", "min_confidence", "x"]), c, max_size=4
            )
        ),
        max_leaves=8,
    ),
)
def test_fuzzed_requests_never_5xx(
    server: str, payload: bytes, ctype: str, jsonish: object
) -> None:
    r1 = httpx.post(f"{server}/v1/read", files={"file": ("f", payload, ctype)}, timeout=30)
    r2 = httpx.post(f"{server}/v1/read", json=jsonish, timeout=30)
    r3 = httpx.post(
        f"{server}/v1/read", content=payload, headers={"content-type": ctype}, timeout=30
    )
    assert max(r.status_code for r in (r1, r2, r3)) < 500, (r1.text, r2.text, r3.text)


def test_service_never_imports_torch(model_file: Path) -> None:
    model = model_file
    code = f"""
import sys
from fastapi.testclient import TestClient
from plateread.serve.app import create_app
client = TestClient(create_app({{'ru': {str(model)!r}}}))
assert client.get('/healthz').status_code == 200
assert not [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_page_in_chromium(server: str, tmp_path: Path) -> None:
    img = tmp_path / "plate.png"
    img.write_bytes(_png(3))
    with chromium_page() as page:
        page.goto(server + "/")
        page.wait_for_selector("#model option", state="attached")
        page.set_input_files("#files", str(img))
        page.wait_for_selector(".row .meta", timeout=20000)
        meta = page.inner_text(".row .meta")
        spans = page.eval_on_selector_all(".row .text span", "els => els.map(e => e.style.color)")
    expected = httpx.post(
        f"{server}/v1/read", files={"file": ("plate.png", _png(3), "image/png")}
    ).json()["results"][0]
    assert meta.startswith(f"confidence {expected['confidence']:.3f}")
    assert len(spans) == len(expected["text"]) and all(c.startswith("rgb") for c in spans)


def test_page_reads_a_drop_beyond_the_limits_and_names_a_corrupt_file(
    server: str, tmp_path: Path
) -> None:
    """The server takes 8 images a request; a drop of 11 with one corrupt file showed only that
    file's error on all 11 (a request is read whole or not at all)."""
    files = []
    for i in range(10):
        files.append(tmp_path / f"plate{i}.png")
        files[-1].write_bytes(_png(i))
    files.insert(4, tmp_path / "broken.png")
    files[4].write_bytes(b"not an image")
    with chromium_page() as page:
        page.goto(server + "/")
        page.wait_for_selector("#model option", state="attached")
        page.set_input_files("#files", [str(f) for f in files])
        page.wait_for_function("document.querySelectorAll('.row .pending').length === 0")
        rows = page.eval_on_selector_all(
            ".row", "els => els.map(e => [e.querySelector('img').alt, e.innerText])"
        )
    assert [name for name, _ in rows] == [f.name for f in files]  # in the order dropped
    assert all("confidence" in text for name, text in rows if name != "broken.png")
    assert "broken.png" in rows[4][1] and "not a readable image" in rows[4][1]


def test_models_name_the_codes_a_plate_starts_and_ends_with(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from plateread.formats import PlateFormat
    from plateread.serve.app import create_app

    fmt = PlateFormat.from_dict({**RU.to_dict(), "name": "msk", "suffixes": ["77", "177"]})
    coded = PlateFormat.from_dict({**fmt.to_dict(), "name": "a", "prefixes": ["A"]})
    app = create_app(
        {"msk": str(untrained_onnx(tmp_path, fmt)), "a": str(untrained_onnx(tmp_path, coded))}
    )
    models = TestClient(app).get("/v1/models").json()["models"]
    assert models[0]["suffixes"] == ["77", "177"] and "prefixes" not in models[0]
    assert models[1]["prefixes"] == ["A"] and models[1]["templates"] == list(RU.templates)


def test_default_models_read_example_plates(monkeypatch: pytest.MonkeyPatch) -> None:
    """`plateread serve` with no --model serves every shipped reader."""
    import uvicorn
    from fastapi.testclient import TestClient

    from plateread.cli import main
    from plateread.predict import shipped_models

    apps: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append(app))
    assert main(["serve"]) == 0 and len(apps) == 1
    examples = ROOT / "examples" / "plates"
    client = TestClient(apps[0])  # type: ignore[arg-type]
    names = [m["name"] for m in client.get("/v1/models").json()["models"]]
    assert names == shipped_models() and {"ru", "ru_all", "cn"} <= set(names)
    for name in names:
        files = sorted((examples / name).glob("*.png"))[:3]
        r = client.post(
            "/v1/read",
            files=[("file", (f.name, f.read_bytes(), "image/png")) for f in files],
            data={"model": name},
        )
        assert r.status_code == 200
        texts = [x["text"] for x in r.json()["results"]]
        assert texts == [x.text for x in PlateReader(name).read_batch(files)]  # the library's
        assert sum(t == f.stem for t, f in zip(texts, files)) >= 2, texts


def test_a_long_read_does_not_hold_up_other_requests(
    model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading ran on the event loop: while one request's batch was in the model, the server
    answered nothing else, not even /healthz (a load balancer's probe would mark it dead)."""
    import socket
    import threading

    import uvicorn

    from plateread.serve import wait_until_healthy
    from plateread.serve.app import create_app

    started, release = threading.Event(), threading.Event()
    read_batch = PlateReader.read_batch

    def slow(self: PlateReader, images: list[np.ndarray]) -> list[object]:
        started.set()
        release.wait(30)
        return read_batch(self, images)  # type: ignore[return-value]

    monkeypatch.setattr(PlateReader, "read_batch", slow)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app({"ru": str(model_file)}), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_healthy(url, 30)
        result: list[httpx.Response] = []
        reading = threading.Thread(
            target=lambda: result.append(
                httpx.post(f"{url}/v1/read", files={"file": ("p.png", _png(), "image/png")})
            )
        )
        reading.start()
        assert started.wait(10)
        try:
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        finally:
            release.set()
            reading.join(30)
        assert result[0].status_code == 200 and len(result[0].json()["results"]) == 1
    finally:
        release.set()
        server.should_exit = True
        thread.join(10)
