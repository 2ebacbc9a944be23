"""The distilled task: a task folder (default `<task>/distilled/`) whose train file holds the
teacher's labels and whose test split is the original task's held-out split, unchanged.

The user's files are never written: the folder gets its own `train.jsonl` (and `test.jsonl`
only when the original task holds its test split out of its train file), and a `tunegate.yaml`
copied from the task with its paths re-pointed, the label set pinned, the teacher as `remote:`
and the ladder set to the two rungs distillation compares (`finetuned`, `remote`). So
`tunegate check|train|diagnose|report <task>/distilled` work on it like on any task; its run
store is its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tunegate import atomic
from tunegate.data.examples import Example
from tunegate.errors import TunegateError
from tunegate.spec import TASK_FILE, RemoteSpec, Task

DEFAULT_DIR = "distilled"
MARKER = "# Written by `tunegate distill`"
TRAIN_FILE = "train.jsonl"
TEST_FILE = "test.jsonl"


def check_target(task: Task, folder: Path, out: Path) -> None:
    """Refuse a folder that is the task's own, holds one of its data files, or holds a task
    file that `tunegate distill` did not write."""
    out_r, folder_r = out.resolve(), folder.resolve()
    if out_r == folder_r:
        raise TunegateError("the distilled task needs its own folder, not the task's", "--out")
    mine = {out_r / TRAIN_FILE, out_r / TEST_FILE, out_r / TASK_FILE}
    for rel in (task.data.train, task.data.test):
        if rel and (folder / rel).resolve() in mine:
            raise TunegateError(
                f"{out / Path(rel).name} is the task's own data; choose another folder", "--out"
            )
    existing = out / TASK_FILE
    if existing.exists() and not existing.read_text(encoding="utf-8").startswith(MARKER):
        raise TunegateError(
            f"{existing} exists and was not written by `tunegate distill`; choose another --out",
            str(existing),
        )


def row(task: Task, ex: Example) -> dict[str, Any]:
    """One example as a row of the task's own shape (JSON targets as objects)."""
    target: Any = ex.target
    if task.output.type == "json":
        target = json.loads(ex.target)
    if ex.messages:
        text = ex.target if isinstance(target, str) else json.dumps(target, ensure_ascii=False)
        return {"messages": [*ex.messages, {"role": "assistant", "content": text}]}
    cols = task.data.columns
    out: dict[str, Any] = {cols.get(name, name): ex.inputs.get(name, "") for name in task.inputs}
    if task.data.shape == "alpaca":
        out.setdefault("instruction", "")
        out["output"] = ex.target
    else:
        out[cols.get(task.output.field, task.output.field)] = target
    return out


def jsonl(task: Task, examples: Sequence[Example]) -> str:
    return "".join(json.dumps(row(task, ex), ensure_ascii=False) + "\n" for ex in examples)


def _rel(folder: Path, out: Path, path: str) -> str:
    p = Path(path).expanduser()
    return str(p) if p.is_absolute() else os.path.relpath(folder / p, out)


def derived_spec(
    task: Task,
    folder: Path,
    out: Path,
    teacher: RemoteSpec,
    labels: Sequence[str] | None,
    test_file: str,
) -> dict[str, Any]:
    """The distilled task's settings: the task's own, paths re-pointed from `out`."""
    d = task.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    d["name"] = f"{task.name}-distilled"
    d["description"] = (
        f"{task.description} Distilled: the student trained on labels from "
        f"{teacher.model} at {teacher.base_url}."
    ).strip()
    data = d.setdefault("data", {})
    data.update(train=TRAIN_FILE, test=test_file)
    data.pop("test_fraction", None)
    output = d.setdefault("output", {})
    if task.output.schema_file:
        output["schema_file"] = _rel(folder, out, task.output.schema_file)
    if labels:
        output["labels"] = list(labels)
    for key in ("docs", "style_refs"):
        if d.get(key):
            d[key] = _rel(folder, out, d[key])
    if task.model and (folder / Path(task.model).expanduser()).exists():
        d["model"] = _rel(folder, out, task.model)
    d["remote"] = teacher.model_dump(mode="json")
    d.setdefault("ladder", {})["rungs"] = ["finetuned", "remote"]
    return d


def write(
    task: Task,
    folder: Path,
    out: Path,
    train: Sequence[Example],
    held_out: Sequence[Example],
    teacher: RemoteSpec,
    labels: Sequence[str] | None,
    source: str,
) -> Path:
    """Write the distilled task (train file first, the task file last, each atomically); return
    the task file's path."""
    check_target(task, folder, out)
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / TRAIN_FILE, jsonl(task, train))
    if task.data.test:
        test_file = _rel(folder, out, task.data.test)
    else:  # the original split, held out of the task's train file: written as it was
        test_file = TEST_FILE
        atomic.write_text(out / TEST_FILE, jsonl(task, held_out))
    spec = derived_spec(task, folder, out, teacher, labels, test_file)
    if any(ex.messages for ex in train):
        spec["data"]["shape"] = "auto"
    header = (
        f"{MARKER} from {os.path.relpath(folder / TASK_FILE, out)} and {source};\n"
        "# re-running it rewrites this folder. Its test split is the original task's.\n"
        f"# tunegate report {out}\n"
    )
    text = header + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)
    atomic.write_text(out / TASK_FILE, text)
    return out / TASK_FILE
