"""Read JSONL, JSON and CSV files in alpaca, sharegpt, OpenAI-chat or column shape into Examples.

Structural problems (a missing file, bytes that are not UTF-8, a line that is not JSON, a
file whose rows are of another shape, a column the task names but the file lacks) raise one
`TunegateError` naming file:line. Row content problems (an empty target, a missing value)
are kept for `tunegate check` to count.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunegate.data.examples import Example, content_id
from tunegate.errors import TunegateError
from tunegate.spec import Task

SHAPES = ("alpaca", "sharegpt", "openai", "columns")
_ROLE = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
         "model": "assistant", "system": "system", "bot": "assistant"}  # fmt: skip


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, row) from a .jsonl, .json or .csv file; line numbers are 1-based."""
    if not path.exists():
        raise TunegateError("data file not found", str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise TunegateError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})", f"{path}:{line}"
        ) from exc
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_rows(text, path)
    elif suffix == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TunegateError(f"invalid JSON: {exc.msg}", f"{path}:{exc.lineno}") from exc
        for i, item in enumerate(rows, 1):
            if not isinstance(item, dict):
                raise TunegateError(
                    f"item {i}: expected a JSON object, got {type(item).__name__}", str(path)
                )
            yield i, item
    elif suffix in (".jsonl", ".json", ".ndjson"):
        for n, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise TunegateError(
                    f"invalid JSON: {exc.msg} (column {exc.colno})", f"{path}:{n}"
                ) from exc
            if not isinstance(row, dict):
                raise TunegateError(
                    f"expected a JSON object, got {type(row).__name__}", f"{path}:{n}"
                )
            yield n, row
    else:
        raise TunegateError("unknown file type; expected .jsonl, .json or .csv", str(path))


def _csv_rows(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        return
    try:
        for row in reader:
            if None in row:
                raise TunegateError(
                    f"{len(reader.fieldnames) + len(row[None])} cells, header has {len(reader.fieldnames)}",
                    f"{path}:{reader.line_num}",
                )
            yield reader.line_num, dict(row)
    except csv.Error as exc:
        raise TunegateError(f"malformed CSV: {exc}", f"{path}:{reader.line_num}") from exc


def detect_shape(row: dict[str, Any]) -> str:
    """Name a row's shape from its keys."""
    if isinstance(row.get("messages"), list):
        return "openai"
    if isinstance(row.get("conversations"), list):
        return "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    return "columns"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _chat(turns: Any, where: str, shape: str) -> tuple[list[dict[str, str]], str]:
    role_key, text_key = ("role", "content") if shape == "openai" else ("from", "value")
    if not isinstance(turns, list) or not turns:
        key = "messages" if shape == "openai" else "conversations"
        raise TunegateError(f"expected a non-empty list under {key!r}", where)
    msgs = []
    for i, t in enumerate(turns):
        if not isinstance(t, dict) or role_key not in t:
            raise TunegateError(
                f"turn {i + 1}: expected an object with {role_key!r} and {text_key!r}", where
            )
        role = _ROLE.get(str(t[role_key]).lower())
        if role is None:
            raise TunegateError(f"turn {i + 1}: unknown role {t[role_key]!r}", where)
        msgs.append({"role": role, "content": _text(t.get(text_key))})
    if msgs[-1]["role"] != "assistant":
        return msgs, ""
    return msgs[:-1], msgs[-1]["content"]


def _shape_error(shape: str, row: dict[str, Any], where: str) -> TunegateError:
    found = detect_shape(row)
    keys = ", ".join(repr(k) for k in list(row)[:6])
    need = {
        "alpaca": "'instruction' and 'output'",
        "sharegpt": "'conversations'",
        "openai": "'messages'",
    }
    hint = f" (looks like {found}; set data.shape: {found})" if found != shape else ""
    return TunegateError(f"expected {shape} keys {need.get(shape, '')}, found {keys}{hint}", where)


def to_example(task: Task, shape: str, row: dict[str, Any], where: str) -> Example:
    """Normalize one row of the given shape."""
    inputs: dict[str, str] = {}
    messages: list[dict[str, str]] = []
    missing: list[str] = []
    if shape in ("openai", "sharegpt"):
        key = "messages" if shape == "openai" else "conversations"
        if key not in row:
            raise _shape_error(shape, row, where)
        messages, target = _chat(row[key], where, shape)
        if shape == "sharegpt" and row.get("system") and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": str(row["system"])})
    elif shape == "alpaca":
        if "instruction" not in row or "output" not in row:
            raise _shape_error(shape, row, where)
        for name in task.inputs:
            inputs[name] = _text(row.get(name))
        target = _text(row["output"])
    else:
        for name in task.inputs:
            col = task.data.columns.get(name, name)
            if col not in row:
                missing.append(name)
            inputs[name] = _text(row.get(col))
        target = _text(row.get(task.data.columns.get(task.output.field, task.output.field)))
    return Example(
        id=content_id(inputs, messages, target),
        inputs=inputs,
        messages=tuple(messages),
        target=target,
        source=where,
        missing=tuple(missing),
    )


def load_file(task: Task, path: Path) -> list[Example]:
    """All examples in one data file, checking the shape and the columns against the task."""
    shape: str = task.data.shape
    examples: list[Example] = []
    for n, row in read_rows(path):
        where = f"{path}:{n}"
        if shape == "auto":
            shape = detect_shape(row)
        if not examples and shape == "columns":
            _check_columns(task, row, where)
        examples.append(to_example(task, shape, row, where))
    if not examples:
        raise TunegateError("no examples in file (empty data set)", str(path))
    return examples


def _check_columns(task: Task, row: dict[str, Any], where: str) -> None:
    wanted = [task.data.columns.get(n, n) for n in task.inputs]
    wanted.append(task.data.columns.get(task.output.field, task.output.field))
    for col in wanted:
        if col not in row:
            have = ", ".join(repr(k) for k in row)
            raise TunegateError(
                f"the task names field {col!r}, which the data lacks (it has {have}); "
                "fix `inputs`/`output.field` or map it under data.columns",
                where,
            )
