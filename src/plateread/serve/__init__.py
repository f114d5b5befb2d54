"""HTTP service for reading plates (FastAPI on uvicorn; ONNX Runtime, never torch)."""
