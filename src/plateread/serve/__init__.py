"""HTTP service for reading plates (FastAPI on uvicorn; ONNX Runtime, never torch)."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
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


def start_server(args: list[str], timeout: float = 60.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``plateread serve ARGS`` on a free loopback port and wait until it is healthy.

    Returns:
        The server process (its output goes to a temporary file, so it never blocks on a full
        pipe) and its base URL.

    Raises:
        RuntimeError: the server did not become healthy (its output is in the message).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [sys.executable, "-m", "plateread.cli", "serve", "--port", str(port), *args]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not wait_until_healthy(url, timeout):
        proc.kill()
        proc.wait()
        log.seek(0)
        raise RuntimeError(f"server did not start: {log.read().decode(errors='replace')[-2000:]}")
    return proc, url
