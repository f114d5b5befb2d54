"""What a ``POST /v1/read`` request asks: its images and options, from any of its three forms."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from plateread.serve.limits import Limits

# a request's images: (name, file bytes) each
Images = list[tuple[str, bytes]]
_OPTIONS = ("model", "min_confidence")  # a request's options, besides its images


class Base64Request(BaseModel):
    """JSON form of ``POST /v1/read``."""

    images: list[str] = Field(
        description="base64-encoded image files (PNG, JPEG, …), or data: URLs of them"
    )
    model: str | None = Field(default=None, description="reader name; the first loaded by default")
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="0 when none")


# what /docs shows for POST /v1/read, which parses its body itself (three content types)
READ_OPENAPI: dict[str, Any] = {
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


def _payload(b64: str) -> str:
    """The base64 text of a data URL (``data:image/png;base64,...``, what a browser's
    ``FileReader.readAsDataURL`` gives), or the text itself; without the line breaks and spaces
    of wrapped base64 (what ``base64 FILE`` and MIME encoders write: 76 characters a line).
    """
    head, comma, rest = b64.partition(",")
    text = rest if comma and head.startswith("data:") and head.endswith(";base64") else b64
    return "".join(text.split())


def _same(body: Any, query: str) -> bool:
    """Whether a body value and a query value say the same (``0.5`` and ``"0.50"`` do)."""
    try:
        return float(body) == float(query)
    except (TypeError, ValueError):
        return str(body) == query


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
    repeated = sorted(k for k in set(query) if len(query.getlist(k)) > 1)
    if repeated:
        raise HTTPException(422, f"query parameters given more than once: {repeated}")
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


async def read_request(request: Request, limits: Limits) -> tuple[Images, str | None, float]:
    """A request's images, model and min_confidence: from ``multipart/form-data`` ``file``
    fields, JSON ``{"images": [base64, ...]}`` or one image as the body (4xx for a malformed
    body or another content type).
    """
    ctype = request.headers.get("content-type", "").lower()  # media types ignore case
    if ctype.startswith(("image/", "application/octet-stream")):
        return [("image0", await request.body())], *options(request, None, None)
    if ctype.startswith("multipart/form-data"):
        try:
            # one file over the limit, so that read() can say how many came
            form = await request.form(max_files=limits.max_images + 1)
        except Exception as e:  # malformed multipart bodies
            if "Too many files" in str(e):
                raise HTTPException(
                    413,
                    f"more than {limits.max_images + 1} images exceed the limit of "
                    f"{limits.max_images} per request",
                ) from None
            raise HTTPException(400, f"malformed multipart body: {e}") from None
        fields = [form.get(key) for key in _OPTIONS]
        sent_as_files = [
            k for k, v in zip(_OPTIONS, fields, strict=True) if isinstance(v, UploadFile)
        ]
        if sent_as_files:
            raise HTTPException(422, f"{sent_as_files} must be plain form fields, not files")
        files = [
            (v.filename or k, await v.read())
            for k, v in form.multi_items()
            if isinstance(v, UploadFile)
        ]
        return files, *options(request, *fields)
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
        return decoded, *options(request, body.model, body.min_confidence)
    raise HTTPException(
        415,
        "send multipart/form-data files, application/json with base64 images, "
        "or one image (image/*)",
    )
