"""How long does training take here? Measured with a few real steps of the real training step.

`measure` times steps of a built loop (gradients computed, then dropped): first with nothing
cached, then the same batches again with their frozen prefix cached, as in epochs 2+.
`estimate` (what `tunegate check` calls) builds the same model, LoRA, batches and forward as
`train`, measures, and scales by the epoch's real token count; nothing is written to the run
store. `fit_steps` turns a time budget (`minutes`) into a number of steps.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tunegate.data.examples import Example
from tunegate.data.split import sample
from tunegate.models.resolve import resolve_model
from tunegate.spec import Task
from tunegate.train.config import TrainConfig, resolve_config
from tunegate.train.loop import Loop, train_step
from tunegate.train.session import RunData, build, carve, make_accelerator

MAX_ENCODED = 2000  # longer train splits are measured on a seeded sample and scaled
RESERVE = 0.15  # share of a time budget kept for evaluations, checkpoints and noise


@dataclass(frozen=True)
class Speed:
    """Seconds and real tokens per second of one optimizer step, before and after caching."""

    step_s: float
    tokens_per_s: float
    cached_step_s: float | None
    cached_tokens_per_s: float | None
    steps: int


def _time(loop: Loop, steps: range) -> tuple[list[float], int]:
    seconds, tokens = [], 0
    for s in steps:
        t0 = time.perf_counter()
        tokens += train_step(loop, s, update=False)[1]
        seconds.append(time.perf_counter() - t0)
    return seconds, tokens


def measure(loop: Loop, max_steps: int = 3, max_seconds: float = 4.0) -> Speed:
    """Time one warm-up step, then up to `max_steps` steps (or `max_seconds`), then, when the
    frozen prefix can be cached, up to two of the same steps again. The weights do not change."""
    train_step(loop, 0, update=False)  # warm-up: first-call allocations, lazy inits
    seconds: list[float] = []
    tokens = 0
    while len(seconds) < max_steps and (not seconds or sum(seconds) < max_seconds):
        dt, tk = _time(loop, range(1 + len(seconds), 2 + len(seconds)))
        seconds, tokens = seconds + dt, tokens + tk
    n = len(seconds)
    cached_s = cached_tps = None
    again = min(n, 2)
    if loop.cfg.cache_prefix and loop.core.layout == "split" and loop.core.split > 0:
        c_seconds, c_tokens = _time(loop, range(1, 1 + again))  # their prefixes are cached now
        cached_s, cached_tps = statistics.median(c_seconds), c_tokens / sum(c_seconds)
    else:
        again = 0
    # the median resists a step slowed by another process on a shared machine
    return Speed(statistics.median(seconds), tokens / sum(seconds), cached_s, cached_tps, n + again)


def fit_steps(speed: Speed, steps_per_epoch: int, max_steps: int, seconds: float) -> int:
    """The most steps (at most `max_steps`) whose measured cost fits in `seconds` minus a reserve."""
    budget = seconds * (1 - RESERVE)
    first = min(max_steps, steps_per_epoch, int(budget / speed.step_s))
    if first < steps_per_epoch or first == max_steps:
        return max(1, first)
    later = speed.cached_step_s or speed.step_s
    return min(max_steps, first + int((budget - first * speed.step_s) / later))


@dataclass(frozen=True)
class Estimate:
    """Measured training speed on this machine and what it means for the task."""

    seconds_per_epoch: float  # first epoch (nothing cached yet)
    seconds_total: float  # the whole run (later epochs reuse the cached prefix when it fits)
    tokens_per_s: float  # real (non-padding) tokens per second in the first epoch
    cached_tokens_per_s: float | None  # same, once the frozen prefix is cached (epochs 2+)
    steps_measured: int
    steps_per_epoch: int
    total_steps: int
    epoch_tokens: int
    train_examples: int
    prompt: str = "full"  # the prompt form the examples were encoded in (train/prompt.py)
    tokens_per_example: float = 0.0  # mean real tokens of one training example (prompt + answer)
    input_tokens: float = 0.0  # mean prompt tokens: what the adapter reads per request


def estimate(
    task: Task,
    folder: Path,
    examples: Sequence[Example],
    config: TrainConfig | None = None,
    max_steps: int = 3,
    max_seconds: float = 4.0,
) -> Estimate:
    """Time a few real training steps of `config` (default: the task's preset) and extrapolate."""
    cfg = config or resolve_config(None, task.train)
    if cfg.prompt == "auto":  # timed as compact; check's estimate times both forms (train_time.py)
        cfg = cfg.model_copy(update={"prompt": "compact"})
    data = carve(task, examples, cfg)
    scale = 1.0
    train = data.train
    if len(train) > MAX_ENCODED:
        scale = len(train) / MAX_ENCODED
        train = sample(train, MAX_ENCODED, cfg.seed)
    run = RunData(train, [], data.fingerprint)
    loop = build(
        task, resolve_model(task.model, folder), run, cfg, make_accelerator(), str(folder)
    ).loop
    speed = measure(loop, max_steps, max_seconds)
    epoch_tokens = int(sum(len(e.ids) for e in loop.train) * scale)
    steps_epoch = math.ceil(loop.steps_per_epoch * scale)
    total = cfg.steps or max(1, math.ceil(cfg.epochs * steps_epoch))
    if cfg.minutes and not cfg.steps:
        total = fit_steps(speed, steps_epoch, total, cfg.minutes * 60)
    per_epoch = epoch_tokens / speed.tokens_per_s
    epochs = total / steps_epoch
    later = max(0.0, epochs - 1) * epoch_tokens / (speed.cached_tokens_per_s or speed.tokens_per_s)
    return Estimate(
        seconds_per_epoch=per_epoch,
        seconds_total=min(epochs, 1.0) * per_epoch + later,
        tokens_per_s=speed.tokens_per_s,
        cached_tokens_per_s=speed.cached_tokens_per_s,
        steps_measured=speed.steps,
        steps_per_epoch=steps_epoch,
        total_steps=total,
        epoch_tokens=epoch_tokens,
        train_examples=int(len(loop.train) * scale),
        prompt=cfg.prompt,
        tokens_per_example=sum(len(e.ids) for e in loop.train) / max(1, len(loop.train)),
        input_tokens=sum(e.prompt_len for e in loop.train) / max(1, len(loop.train)),
    )
