"""LoRA fine-tuning: fast on CPU, resumable, the same code under `accelerate launch`.

Names are imported lazily, so `tunegate.train.config` can be used without loading torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "train": "api", "TrainResult": "api", "latest_adapter": "api",
    "TrainConfig": "config", "resolve_config": "config",
    "Estimate": "timing", "estimate": "timing",
    "export": "merge",
    "StepInfo": "loop", "TrainInterrupted": "loop",
}  # fmt: skip
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tunegate.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tunegate.train.{_EXPORTS[name]}"), name)
