"""`tunegate serve`: the chosen model and its LoRA adapters behind an OpenAI-compatible API,
with JSON enforced by constrained decoding (valid unless cut at max_tokens). See docs/serve.md.

Names are imported lazily: `tunegate.serve.config` can be used without loading torch or FastAPI.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ServeConfig": "config", "API_KEY_ENV": "config", "is_loopback": "config",
    "ModelTable": "table", "task_table": "table", "parse_adapter": "table",
    "Loaded": "server", "load": "server", "running": "server", "serve": "server",
    "build_app": "app", "Engine": "engine", "ServeGenerator": "generator",
}  # fmt: skip
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tunegate.serve' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tunegate.serve.{_EXPORTS[name]}"), name)
