"""The HTTP service: FastAPI app reading plates with readers loaded once at start (no torch)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from plateread.imaging import ImageError, ImageTooLarge, decode_image
from plateread.reader import PlateReader
from plateread.serve.limits import BodyLimit, Limits
from plateread.serve.requests import READ_OPENAPI, Images, read_request


def model_specs(specs: list[str]) -> dict[str, str]:
    """Reader names mapped to models, from ``--model`` values (``ru``, ``F.onnx``, ``NAME=F``).

    A value that names an existing file, or whose part before ``=`` is a folder path, is a path
    (``runs/lr=3e-4/model.onnx``); a bare name or file is named after its stem.

    Raises:
        ValueError: a ``NAME=FILE`` without a name or a file, or two readers of the same name.
    """
    models: dict[str, str] = {}
    for spec in specs:
        name, eq, path = spec.partition("=")
        if not eq or Path(spec).is_file() or "/" in name or "\\" in name:
            name, path = Path(spec).stem, spec
        elif not name or not path:
            raise ValueError(f"--model {spec!r}: NAME=FILE needs both a name and a model")
        if name in models:
            raise ValueError(
                f"two models named {name!r} ({models[name]} and {path}); "
                "name them apart with NAME=FILE"
            )
        models[name] = path
    return models


_CODES = ("prefixes", "suffixes")  # what a plate must start and end with, in /v1/models


class _Service:
    """The loaded readers and the request limits: what the routes read plates with."""

    def __init__(self, models: dict[str, str], limits: Limits, threads: int | None) -> None:
        self.readers = {name: PlateReader(path, threads=threads) for name, path in models.items()}
        self.default = next(iter(self.readers))
        self.limits = limits
        # made in the event loop, when first used
        self._limiter: anyio.CapacityLimiter | None = None

    def reader_for(self, name: str | None) -> PlateReader:
        """The loaded reader of that name, the default one for none (404 for an unknown name)."""
        if name in (None, ""):
            return self.readers[self.default]
        if name not in self.readers:
            raise HTTPException(404, f"unknown model {name!r}; loaded: {sorted(self.readers)}")
        return self.readers[name]  # type: ignore[index]

    def read(self, images: Images, model: str | None, min_confidence: float) -> dict[str, Any]:
        """Read a request's images as one batch (4xx for too many images, or when none can be
        read; an image that cannot be, among others that can, gets an ``error`` for its result).

        Called in a worker thread: while the model runs (ONNX Runtime lets go of the GIL), the
        event loop goes on answering other requests, ``/healthz`` among them.
        """
        limits = self.limits
        if not images:
            raise HTTPException(
                422, "no images: send multipart 'file' fields or JSON {'images': [...]}"
            )
        if len(images) > limits.max_images:
            raise HTTPException(
                413, f"{len(images)} images exceed the limit of {limits.max_images} per request"
            )
        if not 0.0 <= min_confidence <= 1.0:
            raise HTTPException(422, "min_confidence must lie in [0, 1]")
        reader = self.reader_for(model)
        arrays: list[np.ndarray] = []
        errors: dict[int, HTTPException | ImageError] = {}
        for i, (name, data) in enumerate(images):
            try:  # sized from the header, refused before decoding where Pillow can read it
                arrays.append(
                    decode_image(data, name, max_pixels=limits.max_pixels, max_side=limits.max_side)
                )
            except ImageTooLarge as e:
                errors[i] = HTTPException(413, str(e))
            except ImageError as e:
                errors[i] = e
        if len(errors) == len(images):  # nothing to read: the first image's 4xx
            raise errors[0]
        readings = iter(reader.read_batch(arrays))
        results = []
        for i, (name, _) in enumerate(images):
            if i in errors:
                error = errors[i]
                detail = error.detail if isinstance(error, HTTPException) else str(error)
                results.append({"name": name, "error": detail, "accepted": False})
            else:
                r = next(readings)
                results.append(
                    {"name": name, **r.to_dict(), "accepted": r.confidence >= min_confidence}
                )
        return {"model": model or self.default, "results": results}

    async def in_worker(
        self, images: Images, model: str | None, min_confidence: float
    ) -> dict[str, Any]:
        """:meth:`read` in a worker thread, ``limits.reads_at_once`` at a time."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.limits.reads_at_once)
        return await anyio.to_thread.run_sync(
            lambda: self.read(images, model, min_confidence), limiter=self._limiter
        )

    def describe(self) -> dict[str, Any]:
        """The loaded readers (format, alphabet, templates and the prefixes and suffixes a plate
        must start and end with, where there are any; input size, decoder) and limits.
        """
        return {
            "default": self.default,
            "models": [
                {
                    "name": name,
                    "format": r.format.name,
                    "alphabet": r.format.alphabet,
                    "templates": list(r.format.templates),
                    # as the format's own plain form writes them: only where there are any
                    **{k: v for k, v in r.format.to_dict().items() if k in _CODES},
                    "input_size": list(r.input_size),
                    "decoder": r.decoder,
                }
                for name, r in self.readers.items()
            ],
            "limits": self.limits.__dict__,
        }


def create_app(
    models: dict[str, str], limits: Limits | None = None, threads: int | None = None
) -> FastAPI:
    """Build the app.

    Args:
        models: Reader names mapped to shipped names or ``.onnx`` paths; the first is the default.
        limits: Request limits.
        threads: ONNX Runtime threads per reader.
    """
    limits = limits or Limits()
    if not models:
        raise ValueError("give at least one model")
    service = _Service(models, limits, threads)
    app = FastAPI(
        title="plateread",
        version="1",
        description="Read the text on licence plate crops.",
    )
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(ImageError)
    async def _image_error(_: Request, exc: ImageError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.post(
        "/v1/read",
        summary="Read plates from multipart files, base64 JSON or a raw image",
        openapi_extra=READ_OPENAPI,
    )
    async def read_plates(request: Request) -> dict[str, Any]:
        """``multipart/form-data`` with ``file`` fields, JSON ``{"images": [base64, ...]}``, or
        one image as the body (``image/*``, ``application/octet-stream``); ``model`` and
        ``min_confidence`` as form fields, JSON keys or query parameters. An image that cannot be
        read, among others that can, gets ``{"name", "error", "accepted": false}`` as its result.
        """
        return await service.in_worker(*await read_request(request, limits))

    @app.get("/v1/models", summary="Loaded readers")
    def list_models() -> dict[str, Any]:
        """The loaded readers (format, alphabet, templates, the prefixes and suffixes a plate must
        start and end with where there are any, input size, decoder) and limits.
        """
        return service.describe()

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        """Liveness: ok once the models are loaded."""
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        """A page to drop plate images on and see the readings."""
        return (resources.files("plateread.serve") / "page.html").read_text(encoding="utf-8")

    return app
