"""The task file, `tunegate.yaml`, as one validated pydantic model.

Every field carries its help text; cross-field rules live in `Task`'s validators. `load_task`
turns any problem into one `TunegateError` line that names the file and the field.
"""

from __future__ import annotations

import difflib
import json
import string
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunegate.errors import TunegateError

TASK_FILE = "tunegate.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSpec(_Strict):
    train: str = Field(
        description="Training data file (JSONL, JSON or CSV), relative to the task folder."
    )
    test: str | None = Field(
        default=None,
        description="Held-out test file. Without it, `test_fraction` of train is held out.",
    )
    test_fraction: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="Share of train held out as test when no test file is given.",
    )
    test_limit: int | None = Field(
        default=None,
        gt=0,
        description="Evaluate on at most this many test rows (a fixed, seeded subset).",
    )
    seed: int = Field(
        default=0, description="Seed for every split and sample: same seed, same split."
    )
    shape: Literal["auto", "alpaca", "sharegpt", "openai", "columns"] = Field(
        default="auto", description="Row shape; `auto` detects it from the first row."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="For shape `columns`: task field name -> column name in the file, when they differ.",
    )


class PromptSpec(_Strict):
    system: str = Field(default="", description="System message sent before every request.")
    user: str = Field(
        default="{input}",
        description="User message template; `{field}` is replaced by that input field of the example.",
    )


class OutputSpec(_Strict):
    type: Literal["text", "label", "json"] = Field(
        default="text",
        description="Free text, one label from a set, or a JSON object with a schema.",
    )
    field: str = Field(
        default="output", description="The data column that holds the expected output."
    )
    labels: list[str] | None = Field(
        default=None,
        description="For `label`: the allowed labels. Omitted: taken from the training data.",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None,
        alias="schema",
        description="For `json`: the JSON Schema every output must satisfy.",
    )
    schema_file: str | None = Field(
        default=None, description="For `json`: a file holding the JSON Schema, instead of `schema`."
    )
    stratify: str | None = Field(
        default=None,
        description="For `json`: a field whose value stratifies the split (e.g. category).",
    )
    max_tokens: int = Field(default=128, gt=0, description="Longest output to generate, in tokens.")
    set_fields: list[str] = Field(
        default_factory=list,
        description="For `json`: dotted paths (e.g. `intents`, `order.tags`) whose arrays are "
        "scored as sets, order free; the schema's `uniqueItems` arrays always are.",
    )
    primary_metric: str | None = Field(
        default=None,
        description="The figure that ranks rungs (and leads the paired tests), one of "
        "PRIMARY_METRICS for the output type, e.g. `knowledge.pair_f1` for extraction. Omitted: "
        "knowledge.accuracy (label), knowledge.field_accuracy (json), knowledge.similarity (text).",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# Figures a task may rank rungs by: each is a mean of per-item scores, so it has paired tests.
PRIMARY_METRICS = {
    "label": ("knowledge.accuracy", "knowledge.accuracy_strict"),
    "json": (
        "knowledge.field_accuracy",
        "knowledge.field_exact",
        "knowledge.all_fields",
        "knowledge.pair_f1",
    ),
    "text": ("knowledge.similarity", "knowledge.token_f1", "knowledge.exact_match"),
}


class Targets(_Strict):
    min_accuracy: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Minimum accuracy (label) or mean field accuracy (json).",
    )
    min_schema_valid_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Minimum share of outputs that parse and satisfy the schema.",
    )
    min_similarity: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Minimum mean embedding similarity to the expected text.",
    )
    min_style_similarity: float | None = Field(
        default=None,
        ge=-1,
        le=1,
        description="Minimum similarity to the style references' centroid.",
    )
    max_p95_latency_ms: float | None = Field(
        default=None,
        gt=0,
        description="Largest acceptable 95th-percentile latency per request (ms).",
    )
    max_cost_per_month: float | None = Field(
        default=None,
        ge=0,
        description="Largest acceptable serving cost per month at `traffic` ($).",
    )


class Traffic(_Strict):
    requests_per_day: float = Field(default=1000, ge=0, description="Expected requests per day.")
    months: int = Field(
        default=12, gt=0, description="Months over which a training cost is amortized."
    )


class Prices(_Strict):
    remote_input_per_1m: float = Field(
        default=0.15, ge=0, description="Remote model: $ per 1M input tokens."
    )
    remote_output_per_1m: float = Field(
        default=0.60, ge=0, description="Remote model: $ per 1M output tokens."
    )
    self_hosted_per_hour: float = Field(
        default=0.10,
        ge=0,
        description="Self-hosted machine: $ per hour (for the local and fine-tuned rungs).",
    )
    train_per_hour: float | None = Field(
        default=None,
        ge=0,
        description="Training machine: $ per hour. Omitted: `self_hosted_per_hour`.",
    )


class Budget(_Strict):
    """The training cycle the team accepts: `tunegate check`'s estimate and the report's
    training gate are measured against it."""

    max_train_minutes: float | None = Field(
        default=None, gt=0, description="Longest acceptable training run, in minutes."
    )
    max_train_cost: float | None = Field(
        default=None, ge=0, description="Most $ a training run may cost (at prices.train_per_hour)."
    )


class RemoteSpec(_Strict):
    base_url: str = Field(description="OpenAI-compatible endpoint, e.g. https://api.openai.com/v1.")
    model: str = Field(description="The model name sent to the endpoint.")
    api_key_env: str | None = Field(
        default="OPENAI_API_KEY",
        description="Environment variable holding the API key (never the key itself).",
    )
    concurrency: int = Field(default=4, gt=0, description="Requests in flight at once.")
    timeout_s: float = Field(default=60, gt=0, description="Per-request timeout in seconds.")
    retries: int = Field(
        default=3, ge=0, description="Retries on timeouts, 429 and 5xx, with backoff."
    )


# The ladder's rungs, cheapest first (tunegate.ladder.rungs defines each one).
RUNG_NAMES = (
    "zero_shot",
    "few_shot_fixed",
    "few_shot",
    "constrained",
    "few_shot_constrained",
    "rag",
    "optimized",
    "finetuned",
    "remote",
)


class OptimizeSpec(_Strict):
    """The optimized rung's search budget; the defaults finish in about 10 minutes on the demo
    task with the embedded model on a 2-core laptop (see docs/diagnose.md)."""

    max_candidates: int = Field(
        default=12, ge=1, description="Most prompt candidates tried (each scored on dev items)."
    )
    max_dev_items: int = Field(
        default=40,
        ge=2,
        description="Size of the dev split carved from train (stratified); the search's ground.",
    )
    dev_fraction: float = Field(
        default=0.25,
        gt=0,
        lt=1,
        description="At most this share of train goes to the dev split (the rest gives shots).",
    )
    max_minutes: float = Field(
        default=6,
        gt=0,
        description="Most minutes of generation the search spends (counted from stored answers,"
        " so a resumed search spends the same).",
    )
    seed: int | None = Field(default=None, description="Seed of the dev split. Omitted: data.seed.")


class LadderSpec(_Strict):
    rungs: list[str] | None = Field(
        default=None, description=f"Rungs to run; default all that apply. Any of {RUNG_NAMES}."
    )
    few_shot_k: int = Field(
        default=4, ge=1, description="Examples retrieved from train for few-shot rungs."
    )
    rag_k: int = Field(
        default=3, ge=1, description="Document chunks placed in the prompt for the rag rung."
    )
    batch_size: int = Field(
        default=64,
        gt=0,
        description="Prompts generated together on the local model (a decode step reads every "
        "weight once for the whole batch: on 2 cores, 48 rows make ~1.7x the tokens/s of 16).",
    )
    latency_samples: int = Field(
        default=20, ge=0, description="Requests timed one at a time per rung for latency."
    )
    latency_budget_s: float = Field(
        default=60,
        gt=0,
        description="Most seconds spent timing single requests per rung (at least one is timed).",
    )
    optimize: OptimizeSpec = Field(
        default_factory=OptimizeSpec,
        description="The optimized rung: a prompt search on a dev split carved from train.",
    )

    @model_validator(mode="after")
    def _known_rungs(self) -> LadderSpec:
        for r in self.rungs or []:
            if r not in RUNG_NAMES:
                raise ValueError(
                    f"unknown rung {r!r}{_suggest(r, RUNG_NAMES)}; expected one of {', '.join(RUNG_NAMES)}"
                )
        return self


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
                f"{self.output.type} figure{_suggest(self.output.primary_metric, known)}; "
                f"expected one of {', '.join(known)}"
            )
        return self


def _suggest(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
        return f"unknown key {where!r}{_suggest(str(loc[-1]), names)}"
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
