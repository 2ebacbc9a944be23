"""`tunegate init`: write a commented starter task, or infer one from a data file.

Inference reads the file with the same loaders as every other command: the shape, the input
fields, which column is the output, and whether the output is free text, a label from a set, or
JSON (in which case a draft JSON Schema is drawn from the targets).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from tunegate import atomic
from tunegate.data.load import detect_shape, read_rows
from tunegate.data.schema_infer import infer_schema
from tunegate.errors import TunegateError
from tunegate.spec import TASK_FILE, parse_task

_OUTPUT_NAMES = (
    "output",
    "target",
    "label",
    "answer",
    "completion",
    "response",
    "category",
    "intent",
)
_MAX_ROWS = 100_000

STARTER = """\
# A tunegate task. Run: tunegate check {folder}   then: tunegate diagnose {folder}
name: {name}
description: {description}

# Base model: a local Hugging Face folder or .gguf file. Omit for the embedded SmolLM2-135M-Instruct.
# model: path/to/model

# Input fields of each example; the user template below uses them as {{field}}.
inputs: {inputs}
prompt:
  system: {system}
  user: {user}

# What the model must produce: text, label (one of a set) or json (with a JSON Schema).
output:
{output}
data:
  train: {train}
  # test: data/test.jsonl     # a held-out file; without it, test_fraction of train is held out
  test_fraction: 0.2
  seed: 0
  shape: {shape}              # auto | alpaca | sharegpt | openai | columns

# docs: docs                  # folder of .md/.txt documents for the retrieval rung
# style_refs: style.txt       # reference texts (one per line) for the style signal

# What "good enough" means. A rung meets a target when its confidence interval does.
targets:
  {primary_target}
  max_p95_latency_ms: 2000
  max_cost_per_month: 100

traffic:
  requests_per_day: 1000
prices:
  remote_input_per_1m: 0.15   # $ per 1M input tokens of a remote model
  remote_output_per_1m: 0.60
  self_hosted_per_hour: 0.10  # $ per hour of the machine serving the small model
# The training cycle you accept (check's estimate and the report's training gate use it):
# budget:
#   max_train_minutes: 30
#   max_train_cost: 5

# A remote model (any OpenAI-compatible endpoint), as a rung and a teacher:
# remote:
#   base_url: https://api.openai.com/v1
#   model: gpt-4o-mini
#   api_key_env: OPENAI_API_KEY
"""


def _q(value: Any) -> str:
    """A YAML scalar/flow value on one line."""
    return json.dumps(value, ensure_ascii=False)


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _output_block(targets: list[Any], lines: list[int], field: str) -> tuple[str, str]:
    """The `output:` block and the primary target line, inferred from the targets seen.

    Targets that are JSON objects get a draft schema (`tunegate.data.schema_infer`); when some
    are objects and others not, no schema can be drawn and the error names the rows.
    """
    parsed = [_as_json(t) for t in targets]
    if any(isinstance(p, dict) for p in parsed):
        schema = infer_schema([(f"line {n}", p) for n, p in zip(lines, parsed, strict=True)])
        dumped = yaml.safe_dump({"schema": schema}, sort_keys=False, allow_unicode=True, width=100)
        block = f"  type: json\n  field: {field}\n"
        enums = [k for k, p in schema["properties"].items() if "enum" in p]
        if enums:
            block += f"  stratify: {enums[0]}         # the split keeps this field's balance\n"
        block += "  # A draft drawn from the data (every target satisfies it): review it.\n"
        block += "".join(f"  {line}\n" for line in dumped.splitlines())
        return block, "min_accuracy: 0.8           # mean field accuracy"
    texts = [str(t) for t in targets]
    distinct = set(texts)
    if (
        1 < len(distinct) <= 200
        and len(distinct) * 5 <= len(texts)
        and max(map(len, distinct)) <= 60
    ):
        block = f"  type: label\n  field: {field}\n  # labels: omitted, taken from the training data ({len(distinct)} seen)\n"
        return block, "min_accuracy: 0.8"
    block = f"  type: text\n  field: {field}\n  max_tokens: 256\n"
    return block, "min_similarity: 0.8         # embedding similarity to the expected text"


def infer_task(data: Path, folder: Path) -> str:
    """A starter task file's text drawn from a data file."""
    rows, lines = [], []
    for line, row in read_rows(data):
        rows.append(row)
        lines.append(line)
        if len(rows) >= _MAX_ROWS:
            break
    if not rows:
        raise TunegateError("no examples in file (empty data set)", str(data))
    shape = detect_shape(rows[0])
    try:
        train = os.path.relpath(data.resolve(), folder.resolve())
    except ValueError:
        train = str(data.resolve())
    name = folder.resolve().name
    if shape in ("openai", "sharegpt"):
        key, role, text, answer = (
            ("messages", "role", "content", "assistant")
            if shape == "openai"
            else ("conversations", "from", "value", "gpt")
        )
        found = [
            (n, t[text])
            for n, r in zip(lines, rows, strict=True)
            for t in r.get(key, [])[-1:]
            if str(t.get(role)) == answer
        ]
        inputs, user, field = ["input"], "{input}", "output"
    elif shape == "alpaca":
        found = [(n, r.get("output")) for n, r in zip(lines, rows, strict=True)]
        inputs, user, field = ["instruction", "input"], "{instruction}\n\n{input}", "output"
    else:
        columns = list(rows[0])
        field = next((c for c in columns if c.lower() in _OUTPUT_NAMES), columns[-1])
        nested = [c for c in columns if c != field and isinstance(rows[0][c], dict)]
        if not nested and any(isinstance(rows[0][c], dict) for c in columns):
            field = next(c for c in columns if isinstance(rows[0][c], dict))
        inputs = [c for c in columns if c != field]
        if not inputs:
            raise TunegateError(
                f"only one column ({field!r}); need input and output columns", str(data)
            )
        found = [(n, r.get(field)) for n, r in zip(lines, rows, strict=True)]
        user = "\n".join(f"{c}: {{{c}}}" for c in inputs) if len(inputs) > 1 else f"{{{inputs[0]}}}"
    try:
        output, primary = _output_block([t for _, t in found], [n for n, _ in found], field)
    except TunegateError as exc:
        raise TunegateError(exc.message, str(data)) from exc
    return STARTER.format(
        folder=folder,
        name=_q(name),
        description=_q(f"Inferred from {data.name} ({len(rows)} rows read, {shape} shape)."),
        inputs=_q(inputs),
        system=_q("You are a helpful assistant. Answer with the output only."),
        user=_q(user),
        output=output,
        train=_q(train),
        shape=shape,
        primary_target=primary,
    )


def starter_task(folder: Path) -> str:
    """A commented starter for a column-shaped text task."""
    return STARTER.format(
        folder=folder,
        name=_q(folder.resolve().name),
        description=_q("What the task is, in a sentence."),
        inputs=_q(["input"]),
        system=_q("You are a helpful assistant. Answer with the output only."),
        user=_q("{input}"),
        output="  type: text\n  field: output\n",
        train=_q("data/train.jsonl"),
        shape="auto",
        primary_target="min_similarity: 0.8         # embedding similarity to the expected text",
    )


def init_task(folder: Path, from_data: Path | None = None, force: bool = False) -> Path:
    """Create `folder/tunegate.yaml`; refuse to overwrite unless `force`. Returns its path."""
    path = folder / TASK_FILE
    if path.exists() and not force:
        raise TunegateError("already exists; pass --force to overwrite it", str(path))
    text = infer_task(from_data, folder) if from_data is not None else starter_task(folder)
    parse_task(yaml.safe_load(text), str(path))  # what we write must load
    folder.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, text)
    return path
