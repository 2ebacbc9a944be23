"""What an upload was understood as, before the task is written: the detected file shape, the
inferred output (type, labels or draft JSON Schema, editable), and the first rows rendered as the
model will see them (the zero-shot rung's messages, then the expected answer).

The upload is inferred into a staging folder (`<workspace>/.staging/<task>`) by the same code as
`tunegate init --from`; Create task validates the edited output with the whole task file and then
moves the folder into the workspace. Cancel deletes it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, cast

import yaml

from tunegate.errors import TunegateError
from tunegate.spec import TASK_FILE, check_schema, load_task, output_schema, parse_task
from tunegate.store import Store

SHOWN_ROWS = 3


def output_yaml(folder: Path) -> str:
    """The task file's `output:` block as YAML; a label task's inferred labels written out, so
    they can be edited (the same set the ladder would take from the training data)."""
    raw = yaml.safe_load((folder / TASK_FILE).read_text(encoding="utf-8")) or {}
    output = dict(raw.get("output") or {})
    task, _ = load_task(folder)
    if task.output.type == "label" and not output.get("labels"):
        output["labels"] = list(_label_counts(folder))
    return yaml.safe_dump(output, sort_keys=False, allow_unicode=True, width=100)


def _label_counts(folder: Path) -> dict[str, int]:
    from tunegate.data.split import load_dataset

    task, folder = load_task(folder)
    counts = Counter(ex.target.strip() for ex in load_dataset(task, folder).train)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def preview(folder: Path) -> dict[str, Any]:
    """The shape, the inferred output and the first rows as the model sees them."""
    from tunegate.data.split import load_dataset
    from tunegate.ladder.context import Context
    from tunegate.ladder.prompts import query_messages

    task, folder = load_task(folder)
    data = load_dataset(task, folder)
    ctx = Context(task, folder, data, cast(Store, None))  # building a prompt needs no store
    root = str(folder.resolve()) + "/"
    first = sorted(data.train, key=lambda ex: _line(ex.source))[:SHOWN_ROWS]  # in file order
    rows = [
        {"messages": query_messages(ctx, ex), "target": ex.target,
         "source": ex.source.replace(root, "")}
        for ex in first
    ]  # fmt: skip
    schema = output_schema(task, folder) if task.output.type == "json" else None
    return {
        "shape": task.data.shape if task.data.shape != "auto" else "auto",
        "description": task.description,
        "train": len(data.train),
        "test": len(data.test),
        "inputs": task.inputs,
        "type": task.output.type,
        "field": task.output.field,
        "labels": _label_counts(folder) if task.output.type == "label" else {},
        "schema_fields": list((schema or {}).get("properties", {})),
        "rows": rows,
        "output": output_yaml(folder),
    }


def _line(source: str) -> int:
    tail = source.rpartition(":")[2]
    return int(tail) if tail.isdigit() else 0


def apply_output(folder: Path, text: str) -> None:
    """Replace the task file's `output:` with the edited YAML, validated with the whole task;
    raise the first problem (nothing written then)."""
    path = folder / TASK_FILE
    try:
        output = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise TunegateError(f"invalid YAML: {getattr(exc, 'problem', exc)}", "output") from exc
    if not isinstance(output, dict):
        raise TunegateError("expected a mapping (type, field, labels or schema)", "output")
    if output == yaml.safe_load(output_yaml(folder)):
        return  # as inferred: the commented starter file stays as it is
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    raw["output"] = output
    task = parse_task(raw, TASK_FILE)
    schema = output_schema(task, folder)
    if schema is not None:
        check_schema(schema, f"{TASK_FILE}: output.schema")
    from tunegate import atomic

    atomic.write_text(path, yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100))
