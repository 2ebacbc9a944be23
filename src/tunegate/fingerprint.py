"""A task's fingerprint: what a measurement depends on, hashed part by part.

Every stored rung result carries the fingerprint of the task it was measured under, so a later
report can tell whether the prompt, the output contract, the data, the split or the model has
changed since (and say which), and leave such a stale result out of the decision. Targets,
traffic and prices are not part of it: decide applies the current ones to the stored figures.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tunegate.spec import Task, output_schema

PARTS = ("prompt", "output", "data", "split", "model")


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def file_digest(path: Path) -> str:
    """The content hash of a file ("missing" when it does not exist)."""
    if not path.is_file():
        return "missing"
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def task_fingerprint(task: Task, folder: Path) -> dict[str, str]:
    """One short hash per part of the task a measurement depends on (see `PARTS`)."""
    schema = output_schema(task, folder) if task.output.type == "json" else None
    files = [task.data.train, task.data.test]
    return {
        "prompt": _digest([task.prompt.model_dump(), task.inputs]),
        "output": _digest([task.output.model_dump(exclude={"schema_file"}), schema]),
        "data": _digest([file_digest(folder / f) if f else None for f in files]),
        "split": _digest(task.data.model_dump(exclude={"train", "test"})),
        "model": _digest(task.model),
    }


def changed(stored: dict[str, str], current: dict[str, str]) -> list[str]:
    """The parts whose hash differs (an empty list: the stored result is current)."""
    return [p for p in PARTS if stored.get(p) != current.get(p)]


def item_set(ids: list[str]) -> str:
    """An order-free hash of a set of held-out item ids."""
    return _digest(sorted(ids))
