"""The learning curve: train on nested fractions of the train split, then measure each adapter
with diagnose's fine-tuned rung on the same held-out items, so the report can draw it."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError
from tunegate.ladder import DiagnoseOptions, diagnose
from tunegate.runs import newest
from tunegate.spec import load_task
from tunegate.store import Store
from tunegate.train.api import TrainResult, train

__all__ = ["evaluate_curve", "parse_fractions", "train_curve"]


def parse_fractions(text: str) -> list[float]:
    """`0.25,0.5,1.0` -> [0.25, 0.5, 1.0] (sorted, each in (0, 1])."""
    try:
        values = sorted({float(x) for x in text.split(",") if x.strip()})
    except ValueError as exc:
        raise TunegateError(f"--curve: expected fractions like 0.25,0.5,1.0, got {text!r}") from exc
    if not values or any(not 0 < v <= 1 or not math.isfinite(v) for v in values):
        raise TunegateError(f"--curve: each fraction must be in (0, 1], got {text!r}")
    return values


def train_curve(
    task: str | Path,
    fractions: Sequence[float],
    preset: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    evaluate: bool = True,
    limit: int | None = None,
    console: Any = None,
    **kwargs: Any,
) -> list[TrainResult]:
    """One run per nested fraction of the train split (smallest first), tagged with a shared curve
    id; then (`evaluate`) each adapter through diagnose's fine-tuned rung on the same held-out
    items (`limit`, default: as the latest diagnose), so the report can draw the learning curve."""
    tag = f"curve-{time.strftime('%Y%m%d-%H%M%S')}"
    results = []
    for f in sorted(fractions):
        results.append(
            train(task, preset, {**(overrides or {}), "fraction": f}, curve=tag, **kwargs)
        )
    if evaluate and all(r.main_process for r in results):
        evaluate_curve(task, tag, [r.run_id for r in results], limit, console)
    return results


def evaluate_curve(
    task: str | Path, tag: str, run_ids: Sequence[str], limit: int | None, console: Any = None
) -> list[str]:
    """Diagnose's fine-tuned rung with each run's adapter, on the items of the latest diagnose
    (or `limit`); each diagnose records the curve tag and its adapter run. Returns their ids."""
    if limit is None:
        _, folder = load_task(task)
        with Store(folder) as store:
            main = newest(store, "diagnose", curve=False)
        limit = main.config.get("limit") if main else None
    out = []
    for rid in run_ids:
        options = DiagnoseOptions(rungs=["finetuned"], limit=limit, adapter=rid, curve=tag)
        out.append(diagnose(task, options, console=console).run_id)
    return out
