"""check's training-time item: a few real training steps timed on this machine.

`tunegate.train.estimate` builds the very model, LoRA, batches and step `tunegate train` would
run with the task's settings (its preset plus the task file's `train:` section), times a few
steps and scales them by the epoch's real token count. The item gives seconds per epoch, the
run's time and its cost at `prices.train_per_hour` (else `self_hosted_per_hour`), and warns when
the run would exceed the task's `budget`. Both prompt forms (`prompt: full | compact`) are timed:
tokens per training example, steps in the run (or its time budget) and input tokens per request
of each; the configured one decides the verdict (compact's for `prompt: auto`, whose probes —
a few steps of each form before the dev split picks one — are timed in the reason). Without torch
or the model it is skipped with a note.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from tunegate.check.rules import CheckItem
from tunegate.data.examples import Example
from tunegate.errors import TunegateError
from tunegate.signals.cost import budget_notes, train_price_per_hour, training_cost
from tunegate.spec import Task
from tunegate.train.config import DEFAULT_PRESET, TrainConfig, resolve_config

NAME = "train.time"
TITLE = "training time (estimate)"


def train_config(task: Task, source: str = "tunegate.yaml") -> TrainConfig:
    """The settings `tunegate train` uses for this task with no options: the default preset and
    the task file's `train:` section (so check's max_length is training's)."""
    return resolve_config(None, task.train, task_source=source)


def skipped(reason: str) -> CheckItem:
    return CheckItem(NAME, TITLE, "ok", 0, f"not measured: {reason}")


def _prompt_line(est: Any, cfg: TrainConfig) -> str:
    """`compact prompt: 60 tokens per example, 20 input tokens per request, 120 steps ...`."""
    budget = f" in the {cfg.minutes:g}-min budget" if cfg.minutes and not cfg.steps else ""
    chosen = " (set)" if est.prompt == cfg.prompt else ""
    return (
        f"{est.prompt} prompt{chosen}: {est.tokens_per_example:.0f} tokens per example, "
        f"{est.input_tokens:.0f} input tokens per request, {est.total_steps} steps{budget}"
    )


def time_item(
    task: Task, folder: Path, train: list[Example], cfg: TrainConfig
) -> tuple[CheckItem, dict[str, Any] | None]:
    """Measure, price and judge one training run; (item, the estimate as a dict) or a skip."""
    try:
        from tunegate.train.timing import estimate

        first = "full" if cfg.prompt == "full" else "compact"  # auto: compact's time leads
        est = estimate(task, folder, train, cfg.model_copy(update={"prompt": first}))
        other = "compact" if first == "full" else "full"
        alt = estimate(task, folder, train, cfg.model_copy(update={"prompt": other}))
    except ImportError as exc:
        return skipped(f"training backend unavailable ({exc.name or exc})"), None
    except (OSError, TunegateError) as exc:
        return skipped(str(exc).splitlines()[0] if str(exc) else type(exc).__name__), None
    price = train_price_per_hour(task)
    dollars = training_cost(est.seconds_total, price)
    minutes = est.seconds_total / 60
    preset = DEFAULT_PRESET if not task.train else f"{DEFAULT_PRESET} + train:"
    reason = (
        f"{est.seconds_per_epoch / 60:.1f} min per epoch here ({est.tokens_per_s:,.0f} tokens/s "
        f"over {est.steps_measured} measured steps); a {preset} run of {est.total_steps} steps "
        f"takes about {minutes:.1f} min, ${dollars:.2f} at ${price:.2f}/h"
    )
    ok, note = budget_notes(task, est.seconds_total, dollars)
    if note:
        reason += f"; {note}" + ("" if ok else " (fewer epochs, a faster preset or machine)")
    forms = {e.prompt: e for e in (est, alt)}
    reason += "; " + "; ".join(_prompt_line(e, cfg) for _, e in sorted(forms.items()))
    if cfg.prompt == "auto":  # both forms train probe_steps steps first, then the dev split picks
        probe = sum(e.seconds_per_epoch / e.steps_per_epoch for e in forms.values())
        reason += (f"; prompt auto: {cfg.probe_steps} steps of each form first (about "
                   f"{cfg.probe_steps * probe:.0f} s), then the lower dev-split loss picks one")  # fmt: skip
    details = {**asdict(est), "cost": dollars, "price_per_hour": price, "minutes": minutes,
               "prompts": {name: asdict(e) for name, e in sorted(forms.items())}}  # fmt: skip
    item = CheckItem(NAME, TITLE, "ok" if ok else "warn", est.seconds_per_epoch, reason,
                     details=details)  # fmt: skip
    return item, details
