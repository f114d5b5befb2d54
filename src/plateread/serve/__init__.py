"""HTTP service for reading plates (FastAPI on uvicorn; ONNX Runtime, never torch)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request


def wait_until_healthy(url: str, timeout: float = 60.0) -> bool:
    """Poll ``url/healthz`` until it answers 200 or ``timeout`` seconds pass."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return False
