"""plateread: read the text on vehicle licence plates.

``from plateread import PlateReader`` is the runtime's entry point; it is imported on first use,
so that importing the numpy-only modules does not load OpenCV or ONNX Runtime.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["PlateReader", "PlateResult", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("PlateReader", "PlateResult"):
        from plateread import reader

        return getattr(reader, name)
    raise AttributeError(f"module 'plateread' has no attribute {name!r}")
