"""Bounded load on `plateread serve` over loopback: requests/s, plates/s, p50/p99 latency,
failures, and the server's memory over the run.

Usage: python benchmarks/serve_load.py --model ru [--requests 2000] [--concurrency 16] [--batch 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import cv2
import httpx
import numpy as np

from plateread.serve import start_server
from plateread.synth import synth_samples


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_phase(
    url: str, files: list[bytes], n: int, concurrency: int, batch: int, pid: int
) -> dict[str, object]:
    """``n`` requests of ``batch`` images each, ``concurrency`` at a time."""
    latencies: list[float] = []
    failures = 0
    memory: list[float] = []
    queue = iter(range(n))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for i in queue:
            parts = [
                ("file", (f"{i}_{k}.png", files[(i + k) % len(files)], "image/png"))
                for k in range(batch)
            ]
            t = time.perf_counter()
            try:
                r = await client.post(f"{url}/v1/read", files=parts)
                ok = r.status_code == 200 and len(r.json()["results"]) == batch
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t)
            failures += not ok
            if i % max(1, n // 10) == 0:
                memory.append(round(rss_mb(pid), 1))

    start = time.perf_counter()
    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    total = time.perf_counter() - start
    ms = np.asarray(latencies) * 1000
    return {
        "requests": n,
        "batch": batch,
        "concurrency": concurrency,
        "failed": failures,
        "requests_per_s": round(n / total, 1),
        "plates_per_s": round(n * batch / total, 1),
        "latency_ms_p50": round(float(np.percentile(ms, 50)), 1),
        "latency_ms_p99": round(float(np.percentile(ms, 99)), 1),
        "server_rss_mb": memory,
    }


def main() -> None:
    """Start the server, load it, print one JSON object per phase."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="ru")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--batch-requests", type=int, default=200)
    p.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads in the server")
    a = p.parse_args()
    fmt = "cn" if Path(a.model).stem.startswith("cn") else "ru"
    files = [
        cv2.imencode(".png", cv2.cvtColor(s.load(), cv2.COLOR_RGB2BGR))[1].tobytes()
        for s in synth_samples(fmt, 64, seed=9)
    ]
    server, url = start_server(["--model", a.model, "--threads", str(a.threads)])
    try:
        print(
            json.dumps(
                {
                    "phase": "single",
                    **asyncio.run(run_phase(url, files, a.requests, a.concurrency, 1, server.pid)),
                }
            )
        )
        print(
            json.dumps(
                {
                    "phase": "batch",
                    **asyncio.run(
                        run_phase(url, files, a.batch_requests, a.concurrency, a.batch, server.pid)
                    ),
                }
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
