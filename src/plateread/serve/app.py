"""The HTTP service: FastAPI app reading plates with readers loaded once at start (no torch)."""

from __future__ import annotations

import base64
import binascii
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from plateread.imaging import ImageError, decode_image
from plateread.reader import PlateReader
from plateread.serve.limits import BodyLimit, Limits, check_header


def _payload(b64: str) -> str:
    """The base64 text of a data URL (``data:image/png;base64,...``, what a browser's
    ``FileReader.readAsDataURL`` gives), or the text itself.
    """
    head, comma, rest = b64.partition(",")
    return rest if comma and head.startswith("data:") and head.endswith(";base64") else b64


class Base64Request(BaseModel):
    """JSON form of ``POST /v1/read``."""

    images: list[str] = Field(
        description="base64-encoded image files (PNG, JPEG, …), or data: URLs of them"
    )
    model: str | None = Field(default=None, description="reader name; the first loaded by default")
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="0 when none")


# what /docs shows for POST /v1/read, which parses its body itself (three content types)
_READ_OPENAPI: dict[str, Any] = {
    "parameters": [
        {"name": "model", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "min_confidence",
            "in": "query",
            "required": False,
            "schema": {"type": "number", "minimum": 0, "maximum": 1},
        },
    ],
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "model": {"type": "string"},
                        "min_confidence": {"type": "number"},
                    },
                    "required": ["file"],
                }
            },
            "application/json": {"schema": Base64Request.model_json_schema()},
            "image/*": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


def _same(body: Any, query: str) -> bool:
    """Whether a body value and a query value say the same (``0.5`` and ``"0.50"`` do)."""
    try:
        return float(body) == float(query)
    except (TypeError, ValueError):
        return str(body) == query


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
    readers = {name: PlateReader(path, threads=threads) for name, path in models.items()}
    default = next(iter(readers))
    app = FastAPI(
        title="plateread",
        version="1",
        description="Read the text on licence plate crops.",
    )
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)

    @app.exception_handler(ImageError)
    async def _image_error(_: Request, exc: ImageError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    def reader_for(name: str | None) -> PlateReader:
        """The loaded reader of that name, the default one for none (404 for an unknown name)."""
        if name in (None, ""):
            return readers[default]
        if name not in readers:
            raise HTTPException(404, f"unknown model {name!r}; loaded: {sorted(readers)}")
        return readers[name]  # type: ignore[index]

    def read(
        images: list[tuple[str, bytes]], model: str | None, min_confidence: float
    ) -> dict[str, Any]:
        """Read a request's images as one batch (4xx for too many or unreadable ones).

        Called in a worker thread: while the model runs (ONNX Runtime lets go of the GIL), the
        event loop goes on answering other requests, ``/healthz`` among them.
        """
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
        reader = reader_for(model)
        arrays = []
        for name, data in images:
            check_header(data, name, limits)
            arrays.append(decode_image(data, name))
        results = reader.read_batch(arrays)
        return {
            "model": model or default,
            "results": [
                {"name": name, **r.to_dict(), "accepted": r.confidence >= min_confidence}
                for (name, _), r in zip(images, results)
            ],
        }

    limiters: list[anyio.CapacityLimiter] = []  # made on the first request, in the event loop

    async def in_worker(
        images: list[tuple[str, bytes]], model: str | None, min_confidence: float
    ) -> dict[str, Any]:
        """``read`` in a worker thread, ``limits.reads_at_once`` at a time."""
        if not limiters:
            limiters.append(anyio.CapacityLimiter(limits.reads_at_once))
        return await anyio.to_thread.run_sync(
            lambda: read(images, model, min_confidence), limiter=limiters[0]
        )

    def options(request: Request, model: Any, min_conf: Any) -> tuple[str | None, float]:
        """The model and min_confidence, from the body or the query string (422 when the query
        names another option, or the two disagree).
        """
        query = request.query_params
        unknown = sorted(set(query) - {"model", "min_confidence"})
        if unknown:
            raise HTTPException(
                422, f"unknown query parameters {unknown}; known: ['min_confidence', 'model']"
            )
        chosen: list[Any] = []
        for key, body in (("model", model), ("min_confidence", min_conf)):
            value = query.get(key)
            if value is not None and body not in (None, "") and not _same(body, value):
                raise HTTPException(422, f"{key} differs between the query ({value}) and the body")
            chosen.append(body if body not in (None, "") else value)
        try:
            min_confidence = float(chosen[1] or 0.0)
        except (TypeError, ValueError):
            raise HTTPException(422, "min_confidence must be a number") from None
        return (str(chosen[0]) if chosen[0] else None), min_confidence

    @app.post(
        "/v1/read",
        summary="Read plates from multipart files, base64 JSON or a raw image",
        openapi_extra=_READ_OPENAPI,
    )
    async def read_plates(request: Request) -> dict[str, Any]:
        """``multipart/form-data`` with ``file`` fields, JSON ``{"images": [base64, ...]}``, or
        one image as the body (``image/*``, ``application/octet-stream``); ``model`` and
        ``min_confidence`` as form fields, JSON keys or query parameters.
        """
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("image/", "application/octet-stream")):
            image = [("image0", await request.body())]
            return await in_worker(image, *options(request, None, None))
        if ctype.startswith("multipart/form-data"):
            try:
                form = await request.form(max_files=limits.max_images + 1)
            except Exception as e:  # malformed multipart bodies
                raise HTTPException(400, f"malformed multipart body: {e}") from None
            files = [
                (v.filename or k, await v.read())
                for k, v in form.multi_items()
                if isinstance(v, UploadFile)
            ]
            opts = options(request, form.get("model"), form.get("min_confidence"))
            return await in_worker(files, *opts)
        if ctype.startswith("application/json"):
            try:
                body = Base64Request.model_validate_json(await request.body())
            except ValueError as e:
                raise HTTPException(422, f"malformed JSON request: {e}") from None
            decoded = []
            for i, b64 in enumerate(body.images):
                try:
                    decoded.append((f"image{i}", base64.b64decode(_payload(b64), validate=True)))
                except (binascii.Error, ValueError):
                    raise HTTPException(422, f"image{i}: not valid base64") from None
            opts = options(request, body.model, body.min_confidence)
            return await in_worker(decoded, *opts)
        raise HTTPException(
            415,
            "send multipart/form-data files, application/json with base64 images, "
            "or one image (image/*)",
        )

    @app.get("/v1/models", summary="Loaded readers")
    def list_models() -> dict[str, Any]:
        """The loaded readers (format, alphabet, templates, input size, decoder) and limits."""
        return {
            "default": default,
            "models": [
                {
                    "name": name,
                    "format": r.format.name,
                    "alphabet": r.format.alphabet,
                    "templates": list(r.format.templates),
                    "input_size": list(r.input_size),
                    "decoder": r.decoder,
                }
                for name, r in readers.items()
            ],
            "limits": limits.__dict__,
        }

    @app.get("/healthz", summary="Liveness")
    def healthz() -> dict[str, str]:
        """Liveness: ok once the models are loaded."""
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        """A page to drop plate images on and see the readings."""
        return (resources.files("plateread.serve") / "page.html").read_text(encoding="utf-8")

    return app
