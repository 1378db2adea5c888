"""Serving a saved model over HTTP (the ``serve`` extra: FastAPI and uvicorn)."""
from .app import build_app

__all__ = ["build_app"]
