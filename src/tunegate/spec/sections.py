"""The sections of the task file (`tunegate.yaml`): data, prompt, output, targets, traffic,
prices, budget, remote models and the ladder, each a strict pydantic model whose fields carry
their help text. `tunegate.spec.task` puts them together as `Task`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tunegate.errors import suggest

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
                    f"unknown rung {r!r}{suggest(r, RUNG_NAMES)}; expected one of {', '.join(RUNG_NAMES)}"
                )
        return self
