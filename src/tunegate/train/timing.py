"""How long would training take here? Measured with a few real steps of the real training step.

`tunegate check` calls `estimate` to print the training time and cost before anyone trains.
It builds the same model, LoRA, batches and forward as `train`, runs one warm-up step and a few
timed ones (plus, for multi-epoch runs, steps whose frozen prefix is cached, as in epochs 2+),
and scales by the epoch's real token count. Nothing is written to the run store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tunegate.data.examples import Example
from tunegate.data.split import sample
from tunegate.models.resolve import resolve_model
from tunegate.spec import Task
from tunegate.train.config import TrainConfig, resolve_config
from tunegate.train.loop import train_step
from tunegate.train.session import build, carve, make_accelerator

MAX_ENCODED = 2000  # longer train splits are measured on a seeded sample and scaled


@dataclass(frozen=True)
class Estimate:
    """Measured training speed on this machine and what it means for the task."""

    seconds_per_epoch: float  # first epoch (nothing cached yet)
    seconds_total: float  # all epochs (later ones reuse the cached prefix when it fits)
    tokens_per_s: float  # real (non-padding) tokens per second in the first epoch
    cached_tokens_per_s: float | None  # same, once the frozen prefix is cached (epochs 2+)
    steps_measured: int
    steps_per_epoch: int
    total_steps: int
    epoch_tokens: int
    train_examples: int


def estimate(
    task: Task,
    folder: Path,
    examples: Sequence[Example],
    config: TrainConfig | None = None,
    max_steps: int = 3,
    max_seconds: float = 4.0,
) -> Estimate:
    """Time `max_steps` real training steps (or `max_seconds`, after one warm-up) and extrapolate."""
    cfg = config or resolve_config(None, task.train)
    data = carve(task, examples, cfg)
    scale = 1.0
    if len(data.train) > MAX_ENCODED:
        scale = len(data.train) / MAX_ENCODED
        data = type(data)(sample(data.train, MAX_ENCODED, cfg.seed), data.val[:0], data.fingerprint)
    else:
        data = type(data)(data.train, data.val[:0], data.fingerprint)
    built = build(
        task, resolve_model(task.model, folder), data, cfg, make_accelerator(), str(folder)
    )
    loop = built.loop
    epoch_tokens = int(sum(len(e.ids) for e in loop.train) * scale)
    steps_epoch = math.ceil(loop.steps_per_epoch * scale)
    total = cfg.steps or max(1, math.ceil(cfg.epochs * steps_epoch))
    train_step(loop, 0)  # warm-up: first-call allocations, lazy inits
    tokens, seconds, steps = 0, 0.0, 0
    while steps < max_steps and (steps == 0 or seconds < max_seconds):
        t0 = time.perf_counter()
        tokens += train_step(loop, 1 + steps)[1]
        seconds += time.perf_counter() - t0
        steps += 1
    tps = tokens / seconds
    cached_tps = None
    if (
        cfg.cache_prefix
        and loop.core.layout == "split"
        and loop.core.split > 0
        and total > steps_epoch
    ):
        c_tokens, c_seconds = 0, 0.0
        for s in range(1, 1 + min(steps, 2)):  # these batches' prefixes are cached now
            t0 = time.perf_counter()
            c_tokens += train_step(loop, s)[1]
            c_seconds += time.perf_counter() - t0
            steps += 1
        cached_tps = c_tokens / c_seconds
    per_epoch = epoch_tokens / tps
    epochs = total / steps_epoch
    later = max(0.0, epochs - 1) * epoch_tokens / (cached_tps or tps)
    return Estimate(
        seconds_per_epoch=per_epoch,
        seconds_total=min(epochs, 1.0) * per_epoch + later,
        tokens_per_s=tps,
        cached_tokens_per_s=cached_tps,
        steps_measured=steps,
        steps_per_epoch=steps_epoch,
        total_steps=total,
        epoch_tokens=epoch_tokens,
        train_examples=int(len(loop.train) * scale),
    )
