"""The service's limits: request size, image count and size (which decoding checks from the
header, before decoding), and the ASGI middleware that refuses bodies over the size limit with
413 before parsing them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass(frozen=True)
class Limits:
    """Configurable request limits.

    Attributes:
        max_body_bytes: Largest request body (413 beyond).
        max_images: Most images in one request.
        max_pixels: Largest image (width x height), checked before decoding (decompression bombs).
        max_side: Longest image side.
        reads_at_once: Requests read at the same time, each in a worker thread (more would only
            hold more decoded batches in memory: the model already uses the cores).
    """

    max_body_bytes: int = 16 * 1024 * 1024
    max_images: int = 64
    max_pixels: int = 4096 * 4096
    max_side: int = 8192
    reads_at_once: int = 2


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Answer 413, naming the limit, when a body (declared or streamed) exceeds ``max_bytes``."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Any) -> None:
        body = json.dumps(
            {"detail": f"request body exceeds the limit of {self.max_bytes} bytes"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Check Content-Length, then count streamed bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._reject(send)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message: Message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message  # type: ignore[no-any-return]

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)
