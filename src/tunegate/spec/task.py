"""The task file, `tunegate.yaml`, as one validated pydantic model, and its loading.

Every field carries its help text; cross-field rules live in `Task`'s validators. `load_task`
turns any problem into one `TunegateError` line that names the file and the field.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from tunegate.errors import TunegateError, suggest
from tunegate.spec.sections import (
    PRIMARY_METRICS,
    TASK_FILE,
    Budget,
    DataSpec,
    LadderSpec,
    OutputSpec,
    Prices,
    PromptSpec,
    RemoteSpec,
    Targets,
    Traffic,
    _Strict,
)


class Task(_Strict):
    """A task: what the model reads, what it must write, on which data, judged by which targets."""

    name: str = Field(description="Short name of the task.")
    description: str = Field(default="", description="What the task is, in a sentence.")
    model: str | None = Field(
        default=None,
        description="Base model: a local HF folder or .gguf file. Omitted: embedded SmolLM2-135M.",
    )
    engine: Literal["llamacpp", "torch", "openai"] | None = Field(
        default=None,
        description=(
            "What runs the local model: llamacpp (llama.cpp in-process, the engine deployed on "
            "CPU), torch (the reference loop) or openai (the `remote` endpoint answers the local "
            "rungs). Omitted: llamacpp when it is installed and the model is a .gguf, else torch."
        ),
    )
    inputs: list[str] = Field(
        default_factory=lambda: ["input"], description="Input fields of each example."
    )
    prompt: PromptSpec = Field(
        default_factory=PromptSpec, description="How an example becomes a request."
    )
    output: OutputSpec = Field(
        default_factory=OutputSpec, description="What the model must produce."
    )
    data: DataSpec = Field(description="Where the examples are and how they are split.")
    docs: str | None = Field(
        default=None, description="Folder of .md/.txt documents for the retrieval rung."
    )
    style_refs: str | None = Field(
        default=None,
        description="File (.txt, one per line, or .jsonl with `text`) of reference texts for style.",
    )
    targets: Targets = Field(
        default_factory=Targets, description="What 'good enough' means, as numbers."
    )
    traffic: Traffic = Field(
        default_factory=Traffic, description="Expected load, for cost per month."
    )
    prices: Prices = Field(
        default_factory=Prices, description="Prices for cost per month and training."
    )
    budget: Budget = Field(
        default_factory=Budget, description="The training time and cost the team accepts."
    )
    remote: RemoteSpec | None = Field(
        default=None, description="A remote model as a rung and teacher."
    )
    ladder: LadderSpec = Field(
        default_factory=LadderSpec, description="Which rungs diagnose runs, and how."
    )
    train: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the training preset (any `tunegate train` setting).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Task:
        fields = {f for _, f, _, _ in string.Formatter().parse(self.prompt.user) if f}
        unknown = fields - set(self.inputs)
        if unknown and self.data.shape not in ("sharegpt", "openai"):
            raise ValueError(
                f"prompt.user uses {{{sorted(unknown)[0]}}}, which is not in inputs {self.inputs}"
            )
        if (
            self.output.type == "json"
            and self.output.json_schema is None
            and self.output.schema_file is None
        ):
            raise ValueError("output.type is json: give output.schema or output.schema_file")
        if self.output.json_schema is not None and self.output.schema_file is not None:
            raise ValueError("give only one of output.schema and output.schema_file")
        known = PRIMARY_METRICS[self.output.type]
        if self.output.primary_metric is not None and self.output.primary_metric not in known:
            raise ValueError(
                f"output.primary_metric {self.output.primary_metric!r} is not a "
                f"{self.output.type} figure{suggest(self.output.primary_metric, known)}; "
                f"expected one of {', '.join(known)}"
            )
        return self


def _model_for(loc: tuple[Any, ...]) -> type[BaseModel]:
    """Walk `loc` through Task's fields to the model that owns the last key."""
    cls: type[BaseModel] = Task
    for key in loc[:-1]:
        field = cls.model_fields.get(str(key))
        ann = getattr(field, "annotation", None)
        for candidate in (ann, *getattr(ann, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                cls = candidate
                break
        else:
            return cls
    return cls


def _describe(err: Any) -> str:
    loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        owner = _model_for(loc)
        names = [f.alias or n for n, f in owner.model_fields.items()]
        return f"unknown key {where!r}{suggest(str(loc[-1]), names)}"
    if err["type"] == "missing":
        return f"missing required key {where!r}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" if loc else msg


def parse_task(raw: Any, source: str = TASK_FILE) -> Task:
    """Validate a parsed YAML mapping; raise one TunegateError line naming the field."""
    if not isinstance(raw, dict):
        raise TunegateError("expected a mapping of task settings at the top level", source)
    try:
        return Task.model_validate(raw)
    except ValidationError as exc:
        raise TunegateError(_describe(exc.errors()[0]), source) from exc


def task_path(path: str | Path) -> Path:
    """Accept a task folder or its tunegate.yaml; return the YAML file's path."""
    p = Path(path)
    if p.is_dir():
        p = p / TASK_FILE
    if not p.exists():
        raise TunegateError(
            f"no task file found (expected {TASK_FILE}; create one with `tunegate init`)", str(p)
        )
    return p


def load_task(path: str | Path = ".") -> tuple[Task, Path]:
    """Load and validate a task; return it with the task folder (paths in it are relative to that)."""
    p = task_path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise TunegateError(f"not UTF-8 text (byte {exc.start})", str(p)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise TunegateError(f"invalid YAML: {getattr(exc, 'problem', exc)}", f"{p}{line}") from exc
    task = parse_task(raw, str(p))
    folder = p.parent
    schema = output_schema(task, folder)
    if schema is not None:
        check_schema(schema, f"{p}: output.schema")
    return task, folder


def output_schema(task: Task, folder: Path) -> dict[str, Any] | None:
    """The task's JSON Schema, read from `schema_file` when given there."""
    if task.output.json_schema is not None:
        return task.output.json_schema
    if task.output.schema_file is None:
        return None
    f = folder / task.output.schema_file
    try:
        schema = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TunegateError("schema file not found", str(f)) from exc
    except json.JSONDecodeError as exc:
        raise TunegateError(f"invalid JSON at line {exc.lineno}: {exc.msg}", str(f)) from exc
    if not isinstance(schema, dict):
        raise TunegateError("expected a JSON Schema object", str(f))
    return schema


def check_schema(schema: dict[str, Any], where: str) -> None:
    """Raise a one-line error when `schema` is not a valid JSON Schema (Draft 2020-12)."""
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise TunegateError(f"not a valid JSON Schema at {path}: {exc.message}", where) from exc


def dump_task(task: Task) -> str:
    """The task as YAML (defaults omitted), for `init --from` and the UI's editor."""
    data = task.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data.setdefault("data", {})["train"] = task.data.train
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
