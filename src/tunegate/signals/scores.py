"""Per-item scores, the layer between outputs and figures.

Each signal scores every item (pass/fail or a number); a figure is the mean of those scores
with its interval, and two rungs are compared item by item on the same scores. Figures that
are not a mean of per-item scores (macro-F1, p95, AUC) are built directly as `Metric`s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tunegate.outputs import ItemOutput, Metric
from tunegate.signals.stats import bootstrap_ci, wilson


@dataclass(frozen=True)
class ItemScores:
    """One per-item score of one rung: item key -> value (0/1 when `binary`)."""

    name: str
    values: dict[str, float]
    binary: bool
    higher_is_better: bool = True
    unit: str = ""

    def metric(self) -> Metric | None:
        """The mean score with its 95% interval (Wilson for pass/fail); None without items."""
        vals = list(self.values.values())
        if not vals:
            return None
        if self.binary:
            v, lo, hi = wilson(int(round(sum(vals))), len(vals))
        else:
            v, lo, hi = bootstrap_ci(vals)
        return Metric(self.name, v, lo, hi, len(vals), self.higher_is_better, self.unit)


@dataclass
class SignalResult:
    """What one signal module returns: its figures and the per-item scores behind them."""

    metrics: list[Metric] = field(default_factory=list)
    scores: list[ItemScores] = field(default_factory=list)

    def add(self, scores: ItemScores) -> None:
        """Keep the per-item scores and their figure (when there is at least one item)."""
        self.scores.append(scores)
        m = scores.metric()
        if m is not None:
            self.metrics.append(m)

    def extend(self, other: SignalResult) -> None:
        self.metrics.extend(other.metrics)
        self.scores.extend(other.scores)


def item_keys(items: Sequence[ItemOutput]) -> list[str]:
    """Stable per-item keys for pairing rungs: the example id, suffixed for repeated ids."""
    seen: Counter[str] = Counter()
    keys = []
    for it in items:
        k = seen[it.example_id]
        seen[it.example_id] += 1
        keys.append(it.example_id if k == 0 else f"{it.example_id}#{k}")
    return keys


def scored(
    name: str,
    keys: Sequence[str],
    values: Sequence[float | bool],
    *,
    binary: bool,
    higher_is_better: bool = True,
    unit: str = "",
) -> ItemScores:
    """Build `ItemScores` from parallel keys and values."""
    vals = {k: float(v) for k, v in zip(keys, values, strict=True)}
    return ItemScores(name, vals, binary, higher_is_better, unit)


def metric_of(
    name: str,
    ci: tuple[float, float, float],
    n: int,
    *,
    higher_is_better: bool = True,
    unit: str = "",
) -> Metric:
    """A `Metric` from a (value, lo, hi) triple."""
    v, lo, hi = ci
    return Metric(name, float(v), float(lo), float(hi), n, higher_is_better, unit)


def safe_name(key: str, limit: int = 40) -> str:
    """A key name fit for a dotted metric name: no dots or spaces, bounded length."""
    out = "".join(c if c.isalnum() or c in "_-" else "_" for c in key.strip())
    return (out or "_")[:limit]


def as_array(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, dtype=float)
