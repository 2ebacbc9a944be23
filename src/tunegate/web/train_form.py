"""The training form, generated from the typed training config (`train.config.TrainConfig`): each
field with its type, default, range or choices and help text, so the CLI, the task file and this
form share one source. A preset (plus the task's `train:` section) fills it; the values that
differ become the run's overrides, checked by the same validation as `tunegate train`, each error
shown by its field. The equivalent command line and a time and cost estimate (from the speed the
latest check measured on this machine) are computed from the same values.
"""

from __future__ import annotations

import json
import math
import shlex
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from tunegate.errors import TunegateError
from tunegate.train.config import (
    PRESETS,
    TrainConfig,
    parse_layers,
    parse_modules,
    resolve_config,
)

FULL = "_form"  # sent by the page's form: an unticked box is then false, not "not given"
SET = "--set"  # the generic KEY=VALUE option of `tunegate train`, when it has one


@dataclass(frozen=True)
class FormField:
    name: str
    kind: Literal["int", "float", "bool", "choice", "text"]
    help: str
    default: Any
    choices: tuple[str, ...] = ()
    low: str = ""  # "> 0", ">= 0"
    high: str = ""
    optional: bool = False
    step: str = "any"


@dataclass
class FormState:
    """The form's values (as text), the preset under them, and the errors by field."""

    preset: str
    values: dict[str, str]
    base: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)


def _bounds(meta: list[Any]) -> tuple[str, str]:
    low = high = ""
    for m in meta:
        for attr, op in (("gt", ">"), ("ge", "≥")):
            if getattr(m, attr, None) is not None:
                low = f"{op} {getattr(m, attr)}"
        for attr, op in (("lt", "<"), ("le", "≤")):
            if getattr(m, attr, None) is not None:
                high = f"{op} {getattr(m, attr)}"
    return low, high


def fields() -> list[FormField]:
    """Every setting of `TrainConfig`, in its declared order."""
    out = []
    for name, info in TrainConfig.model_fields.items():
        ann = info.annotation
        args = typing.get_args(ann)
        optional = type(None) in args
        plain = [a for a in args if a is not type(None)] if args else [ann]
        low, high = _bounds(list(info.metadata))
        kind: Literal["int", "float", "bool", "choice", "text"] = "text"
        choices: tuple[str, ...] = ()
        if typing.get_origin(ann) is Literal:
            kind, choices = "choice", tuple(str(c) for c in typing.get_args(ann))
        elif plain == [bool]:
            kind = "bool"
        elif plain == [int]:
            kind = "int"
        elif plain == [float]:
            kind = "float"
        step = "1" if kind == "int" else "any"
        if kind == "text":  # a union: its literal words (all, all-linear) are its choices
            choices = tuple(str(c) for a in args if typing.get_origin(a) is Literal
                            for c in typing.get_args(a))  # fmt: skip
        out.append(FormField(name, kind, info.description or "", info.default, choices, low,
                             high, optional, step))  # fmt: skip
    return out


def show(value: Any) -> str:
    """A setting's value as the form's text (lists as comma-separated, None as empty)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def base_values(preset: str, task_train: dict[str, Any] | None) -> dict[str, Any]:
    """What `tunegate train --preset P` runs with no options: the preset, then `train:`."""
    return resolve_config(preset, task_train).model_dump()


def _parse(f: FormField, text: str) -> Any:
    text = text.strip()
    if text == "":
        return None
    if f.kind == "int":
        return int(text)
    if f.kind == "float":
        return float(text)
    if f.kind == "bool":
        return text.lower() in ("true", "on", "1", "yes")
    if f.name == "layers":
        return parse_layers(text)
    if f.name == "target_modules":
        return parse_modules(text)
    return text


def read_form(form: dict[str, str], task_train: dict[str, Any] | None) -> FormState:
    """The submitted form as overrides on its preset; errors by field (nothing raised). A field
    left empty or not sent keeps the preset's value."""
    preset = form.get("preset") or "quick"
    if preset not in PRESETS:
        return FormState(preset, form, {}, {"preset": f"unknown preset {preset!r}"})
    base = base_values(preset, task_train)
    state = FormState(preset, {}, base)
    values: dict[str, Any] = {}
    complete = FULL in form  # the page's form sends every field; a script may send a few
    for f in fields():
        text = form.get(f.name, "")
        if f.kind == "bool":
            on = text if f.name in form or complete else show(base[f.name])
            text = "true" if on and on != "false" else "false"
        state.values[f.name] = text
        try:
            value = _parse(f, text)
        except TunegateError as exc:
            state.errors[f.name] = str(exc).split(": ", 1)[-1]
            continue
        except ValueError:
            state.errors[f.name] = f"expected {'a whole number' if f.kind == 'int' else 'a number'}"
            continue
        values[f.name] = base[f.name] if value is None else value  # empty: the preset's value
    try:
        TrainConfig.model_validate({**base, **values})
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "form"
            msg = str(err["msg"]).removeprefix("Value error, ")
            state.errors.setdefault(key, msg)
    state.overrides = {k: v for k, v in values.items() if v != base.get(k)}
    return state


def initial(preset: str, task_train: dict[str, Any] | None) -> FormState:
    base = base_values(preset, task_train)
    return FormState(preset, {k: show(v) for k, v in base.items()}, base)


def command(slug: str, preset: str, overrides: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The `tunegate train` line that runs the same settings: each changed setting as
    `--set KEY=VALUE`, which reaches every training setting (the web layer does not read the
    CLI's own flags: it sits beside the CLI, not above it). The second value is always empty;
    it stays for callers that list what the command cannot say."""
    words = ["tunegate", "train", slug, "--preset", preset]
    for key, value in overrides.items():
        if value is not None:
            words += [SET, f"{key}={json.dumps(value) if not isinstance(value, str) else value}"]
    return shlex.join(words), {}


def estimate(check: dict[str, Any] | None, cfg: dict[str, Any]) -> dict[str, Any] | None:
    """Seconds and dollars of a run with `cfg`, from the tokens/s and tokens per example the
    latest check measured for the same prompt form (None before a check measured them)."""
    details = next((it.get("details") for it in (check or {}).get("items", [])
                    if it.get("name") == "train.time" and it.get("details")), None)  # fmt: skip
    if not details:
        return None
    form = (details.get("prompts") or {}).get(cfg["prompt"]) or details
    tps, per_example = form.get("tokens_per_s"), form.get("tokens_per_example")
    examples = form.get("train_examples") or details.get("train_examples")
    if not tps or not per_example or not examples:
        return None
    per_step = cfg["batch_size"] * cfg["grad_accum"]
    steps = cfg["steps"] or math.ceil(cfg["epochs"] * examples * cfg["fraction"] / per_step)
    seconds = steps * per_step * per_example / tps
    if cfg["minutes"] and not cfg["steps"]:
        seconds = min(seconds, cfg["minutes"] * 60)
        steps = min(steps, max(1, int(cfg["minutes"] * 60 * tps / (per_step * per_example))))
    price = float(details.get("price_per_hour") or 0.0)
    return {"steps": steps, "seconds": seconds, "minutes": seconds / 60,
            "cost": seconds / 3600 * price, "price": price, "tps": tps,
            "measured": check.get("run_id") if check else None}  # fmt: skip
