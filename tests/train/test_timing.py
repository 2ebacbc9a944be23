"""`estimate` times real training steps and scales them to an epoch, without touching the store."""

from __future__ import annotations

import time
from pathlib import Path

from tunegate.data.split import load_dataset
from tunegate.spec import load_task
from tunegate.store import Store
from tunegate.train import estimate, resolve_config


def test_estimate_measures_real_steps_and_scales_to_the_epoch(kinds_task: Path) -> None:
    task, folder = load_task(kinds_task)
    examples = load_dataset(task, folder).train
    cfg = resolve_config("quick", None, {"batch_size": 4, "layers": 1, "epochs": 3, "threads": 1})
    t0 = time.perf_counter()
    est = estimate(task, folder, examples, cfg)
    assert time.perf_counter() - t0 < 60
    assert est.steps_measured >= 2 and est.tokens_per_s > 0
    assert est.train_examples == 42  # 48 minus the stratified 10% validation split (2 per label)
    assert est.steps_per_epoch == 11 and est.total_steps == 33
    assert est.seconds_per_epoch == est.epoch_tokens / est.tokens_per_s
    assert est.cached_tokens_per_s is not None  # epochs 2-3 reuse the frozen layer's outputs
    assert est.seconds_total < 3 * est.seconds_per_epoch * 1.5
    assert Store(folder).runs() == []


def test_estimate_defaults_to_the_task_settings(kinds_task: Path) -> None:
    task, folder = load_task(kinds_task)
    est = estimate(task, folder, load_dataset(task, folder).train[:12], max_steps=1)
    assert est.steps_measured == 1 and est.train_examples == 12  # too few per label to hold any out
