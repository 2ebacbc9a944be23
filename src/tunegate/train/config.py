"""Training settings: one typed model shared by the CLI and the Python API, presets as YAML data.

A run's settings are resolved in layers, each overriding the one before: the preset
(`presets/<name>.yaml`, or a YAML file path), then `train:` in the task's tunegate.yaml, then
command-line options. Every layer is validated by the same model, so a mistyped key in any of
them gets the same one-line error with a suggestion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tunegate.errors import TunegateError, suggest

PRESETS_DIR = Path(__file__).parent / "presets"
PRESETS = ("quick", "balanced", "quality")
DEFAULT_PRESET = "balanced"
# Settings that change speed but not the result; a resumed run may differ in these.
RUNTIME_ONLY = ("threads", "cache_mb", "checkpoint_every")


class TrainConfig(BaseModel):
    """Everything one LoRA fine-tuning run needs besides the task and its data."""

    model_config = ConfigDict(extra="forbid")

    # LoRA -------------------------------------------------------------------------------
    rank: int = Field(default=16, gt=0, description="LoRA rank r: the size of the low-rank update.")
    alpha: int = Field(
        default=32, gt=0, description="LoRA alpha; the update is scaled by alpha / rank."
    )
    dropout: float = Field(
        default=0.0, ge=0, lt=1, description="Dropout on the LoRA branch's input."
    )
    target_modules: list[str] | Literal["all-linear"] = Field(
        default="all-linear",
        description="Linear layers that get LoRA, by name (q_proj, v_proj, ...), or all-linear.",
    )
    layers: int | list[int] | Literal["all"] = Field(
        default="all",
        description="Decoder layers that get LoRA: all, the top N (an integer), or a list of indices. "
        "Layers below the lowest adapted one run without gradients; their outputs are cached.",
    )
    # Optimization ------------------------------------------------------------------------
    lr: float = Field(default=2e-4, gt=0, description="Peak learning rate (AdamW).")
    schedule: Literal["cosine", "linear", "constant"] = Field(
        default="cosine", description="Learning-rate schedule after warm-up."
    )
    warmup: float = Field(
        default=0.03,
        ge=0,
        description="Warm-up: a fraction of all steps (< 1) or a number of steps (>= 1).",
    )
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float = Field(
        default=1.0, gt=0, description="Gradients are clipped to this norm."
    )
    epochs: float = Field(default=1.0, gt=0, description="Passes over the training examples.")
    steps: int | None = Field(
        default=None, gt=0, description="Optimizer steps to run; when set, it overrides epochs."
    )
    minutes: float | None = Field(
        default=None,
        gt=0,
        description="Time budget: the number of steps (at most `epochs`) is set so that training "
        "ends within about this many minutes, from the speed of a few steps timed at the start.",
    )
    batch_size: int = Field(default=8, gt=0, description="Examples per micro-batch (per process).")
    grad_accum: int = Field(
        default=1, gt=0, description="Micro-batches accumulated per optimizer step."
    )
    max_length: int = Field(
        default=256, gt=8, description="Longest example (prompt + answer) in tokens."
    )
    overlong: Literal["truncate", "drop"] = Field(
        default="truncate", description="Examples over max_length: cut at max_length, or leave out."
    )
    prompt: Literal["auto", "full", "compact"] = Field(
        default="full",
        description="The prompt the examples are trained on, recorded with the adapter (the "
        "fine-tuned rung sends the same): full, the task's system prompt and user template; "
        "compact, the user template under one line (the task's description, else the system "
        "prompt's first sentence), so the adapter learns the instructions and each request "
        "carries fewer input tokens; auto, whichever a short run of each (probe_steps) learns "
        "better on the dev split, the cheaper one when within 2%.",
    )
    probe_steps: int = Field(
        default=16,
        gt=0,
        description="prompt auto: optimizer steps each prompt form trains before the choice.",
    )
    seed: int = Field(
        default=0, description="Seed for the validation split, data order, LoRA init, dropout."
    )
    # Validation and checkpoints ------------------------------------------------------------
    val_fraction: float = Field(
        default=0.1,
        ge=0,
        lt=1,
        description="Share of train held out for eval loss (0: no validation).",
    )
    val_max: int = Field(default=200, gt=0, description="At most this many validation examples.")
    eval_every: int = Field(
        default=50, gt=0, description="Evaluate the validation loss every N steps."
    )
    patience: int = Field(
        default=3,
        ge=0,
        description="Stop after N evaluations without improvement (0: never stop early).",
    )
    checkpoint_every: int = Field(
        default=50, gt=0, description="Write a resumable checkpoint every N steps."
    )
    # Speed ---------------------------------------------------------------------------------
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="bf16 autocast, fp32, or auto: bf16 only where the hardware has bf16 math.",
    )
    attention: Literal["auto", "sdpa"] = Field(
        default="auto",
        description="auto: under bf16 autocast on CPU, rows up to 512 tokens use the model's plain "
        "matrix-product attention and frozen weights are stored in bf16 once, both faster there "
        "(train/bf16.py); sdpa: torch's fused attention, weights cast on every forward.",
    )
    batching: Literal["packed", "grouped", "padded"] = Field(
        default="packed",
        description="packed: a micro-batch's examples in one row, no cross-example attention, no padding; "
        "grouped: rows of similar length padded together; padded: random rows padded to the longest.",
    )
    share_prefix: bool = Field(
        default=True,
        description="packed: put the prompt prefix every example shares (system prompt) once per "
        "micro-batch; each example attends to it and itself. Same loss, fewer tokens computed.",
    )
    completion_logits: bool = Field(
        default=True,
        description="Compute vocabulary logits only where the loss needs them (the answer).",
    )
    cache_prefix: bool = Field(
        default=True,
        description="Cache the frozen lower layers' outputs so later epochs and evals skip them.",
    )
    cache_mb: int = Field(default=2048, ge=0, description="Memory budget of that cache, in MiB.")
    threads: int | None = Field(
        default=None,
        gt=0,
        description="CPU threads per process; default: the cores available per process.",
    )
    fraction: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Train on this nested, seeded share of the train split.",
    )

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if isinstance(self.layers, int) and self.layers <= 0:
            raise ValueError(
                "layers: expected a positive number of top layers, 'all' or a list of indices"
            )
        if isinstance(self.layers, list) and not self.layers:
            raise ValueError("layers: the list of layer indices is empty")
        if isinstance(self.target_modules, list) and not self.target_modules:
            raise ValueError("target_modules: the list is empty")
        return self


def _error(exc: ValidationError, source: str, prefix: str) -> TunegateError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    where = f"{prefix}{key}" if key else prefix.rstrip(".")
    if err["type"] == "extra_forbidden":
        hint = suggest(str(err["loc"][-1]), list(TrainConfig.model_fields))
        return TunegateError(f"unknown training setting {where!r}{hint}", source)
    msg = str(err["msg"]).removeprefix("Value error, ")
    return TunegateError(f"{where}: {msg}" if key else msg, source)


def load_preset(name: str | Path) -> dict[str, Any]:
    """The settings in a preset: a name from PRESETS or a path to a YAML file."""
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        if str(name) not in PRESETS:
            raise TunegateError(f"unknown preset {str(name)!r}{suggest(str(name), list(PRESETS))}; "
                                f"expected one of {', '.join(PRESETS)} or a .yaml file")  # fmt: skip
        path = PRESETS_DIR / f"{name}.yaml"
    if not path.exists():
        raise TunegateError("preset file not found", str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TunegateError(f"invalid YAML: {exc}", str(path)) from exc
    if not isinstance(data, dict):
        raise TunegateError("expected a mapping of training settings", str(path))
    return data


def resolve_config(
    preset: str | Path | None = None,
    task_overrides: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    task_source: str = "tunegate.yaml",
) -> TrainConfig:
    """The preset, then the task file's `train:` settings, then explicit overrides (CLI or API).

    `None` values in `overrides` mean "not given" and are skipped.
    """
    name = preset or DEFAULT_PRESET
    layers: list[tuple[dict[str, Any], str, str]] = [
        (
            load_preset(name),
            str(PRESETS_DIR / f"{name}.yaml") if str(name) in PRESETS else str(name),
            "",
        ),
        (task_overrides or {}, task_source, "train."),
        ({k: v for k, v in (overrides or {}).items() if v is not None}, "options", ""),
    ]
    merged: dict[str, Any] = {}
    for values, source, prefix in layers:
        try:
            TrainConfig.model_validate({**merged, **values})
        except ValidationError as exc:
            raise _error(exc, source, prefix) from exc
        merged.update(values)
    return TrainConfig.model_validate(merged)


def config_diff(
    saved: dict[str, Any], now: dict[str, Any], ignore: tuple[str, ...] = RUNTIME_ONLY
) -> list[str]:
    """Human-readable differences between two config dicts: `lr 0.0002 -> 0.001`."""
    out = []
    for key in sorted(set(saved) | set(now)):
        if key in ignore:
            continue
        a, b = saved.get(key), now.get(key)
        if a != b:
            out.append(f"{key} {a!r} -> {b!r}")
    return out


def parse_layers(text: str | None) -> int | list[int] | str | None:
    """CLI form of `layers`: `all`, a top-N count (`8`) or indices (`20,21,22`)."""
    if text is None or text == "all":
        return text
    try:
        if "," in text:
            return [int(x) for x in text.split(",") if x.strip()]
        return int(text)
    except ValueError as exc:
        raise TunegateError(
            f"--layers: expected all, a number of top layers, or indices like 20,21; got {text!r}"
        ) from exc


def parse_modules(text: str | None) -> list[str] | str | None:
    """CLI form of `target_modules`: `all-linear` or names like `q_proj,v_proj`."""
    if text is None or text == "all-linear":
        return text
    return [x.strip() for x in text.split(",") if x.strip()]
