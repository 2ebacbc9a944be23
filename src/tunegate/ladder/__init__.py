"""The ladder: cheapest-first interventions (zero-shot, few-shot, constrained decoding,
retrieval, fine-tuned, remote) run on one held-out split, cached, timed and measured.

`diagnose(task_folder)` runs it; `load(store)` rebuilds a stored result; `RUNGS` lists the rungs.
Names are imported lazily, so `tunegate.ladder.options` can be read without loading the ladder.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DiagnoseResult": "result", "RungResult": "result", "load": "result",
    "RUNGS": "rungs", "parse_rungs": "rungs", "select": "rungs",
    "DiagnoseOptions": "options", "Generators": "generators", "diagnose": "runner",
}  # fmt: skip
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tunegate.ladder' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tunegate.ladder.{_EXPORTS[name]}"), name)
