"""The report's per-field view of a JSON task: which keys each rung gets right, and where they
differ.

From the stored answers alone (no model): each answer is flattened into (path, value) pairs
(`signals.extraction`) and grouped by key, two levels deep (`slots.date`, `intents[]`); per
group and rung, micro-F1 over the pooled pairs with an item-bootstrap interval. The groups where
the rungs differ most come with a paired permutation test between the best and the worst rung
(per-item F1 on the items where the group is expected or produced by either). For the worst
groups, a few items with the expected and produced values side by side across rungs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunegate.outputs import RungOutputs
from tunegate.signals import extraction
from tunegate.signals.parse import expected_object, lenient_json
from tunegate.signals.scores import item_keys
from tunegate.signals.stats import bootstrap_weighted_ci, compare_continuous
from tunegate.spec import Task

MAX_GROUPS = 40  # rows of the F1 table (the most expected groups first)
DIFFER_SHOWN = 5
WORST_SHOWN = 3  # groups in the error view
ITEMS_SHOWN = 4  # items per group there
VALUE_LIMIT = 160
OTHER = "(keys never expected)"


@dataclass
class RungFields:
    """One rung's answers by item key: expected and produced objects, counts per group."""

    rung: str
    gold: dict[str, dict[str, Any]]
    pred: dict[str, dict[str, Any] | None]
    counts: dict[str, dict[str, extraction.PairCounts]]  # item -> group -> counts


def rung_fields(outputs: RungOutputs, sets: set[str]) -> RungFields:
    """Flatten one rung's answers (failed generations left out, as the signals do)."""
    ok = [it for it in outputs.items if it.error is None]
    keys = item_keys(ok)
    gold = {k: expected_object(it.expected) for k, it in zip(keys, ok, strict=True)}
    pred = {k: lenient_json(it.text) for k, it in zip(keys, ok, strict=True)}
    counts = {k: extraction.grouped_counts(gold[k], pred[k] or {}, sets) for k in keys}
    return RungFields(outputs.rung, gold, pred, counts)


def _expected_groups(rungs: Sequence[RungFields]) -> list[str]:
    """The keys the expected answers hold, the most pairs first (at most MAX_GROUPS)."""
    seen: dict[str, int] = {}
    for r in rungs:
        for per in r.counts.values():
            for g, c in per.items():
                if c.tp + c.fn:
                    seen[g] = seen.get(g, 0) + c.tp + c.fn
    return sorted(seen, key=lambda g: (-seen[g], g))[:MAX_GROUPS]


def _group_counts(r: RungFields, group: str, known: set[str]) -> list[extraction.PairCounts]:
    """Per item, the counts of one group (OTHER pools the groups never expected)."""
    out = []
    for per in r.counts.values():
        if group == OTHER:
            cs = [c for g, c in per.items() if g not in known]
            out.append(extraction.PairCounts(0, sum(c.fp for c in cs), 0))
        else:
            out.append(per.get(group, extraction.PairCounts(0, 0, 0)))
    return out


def _f1(counts: list[extraction.PairCounts]) -> tuple[float, float, float] | None:
    if not counts or not any(c.tp + c.fp + c.fn for c in counts):
        return None
    return bootstrap_weighted_ci(len(counts), lambda w: extraction.micro(counts, w)["f1"])


def _item_f1(r: RungFields, group: str, keys: Sequence[str]) -> list[float]:
    return [r.counts[k].get(group, extraction.PairCounts(0, 0, 0)).f1 for k in keys]


@dataclass
class Spread:
    group: str
    best: str
    worst: str
    diff: float
    p_value: float
    real: bool
    n: int


def spreads(rungs: Sequence[RungFields], table: dict[str, dict[str, float]]) -> list[Spread]:
    """Per group, the best against the worst rung (micro-F1), with a paired test on the items
    where either rung or the expected answer has the group; largest differences first."""
    out = []
    for group, by_rung in table.items():
        if len(by_rung) < 2 or group == OTHER:
            continue
        best = max(by_rung, key=by_rung.__getitem__)
        worst = min(by_rung, key=by_rung.__getitem__)
        a = next(r for r in rungs if r.rung == worst)
        b = next(r for r in rungs if r.rung == best)
        keys = [
            k for k in a.counts if k in b.counts and (group in a.counts[k] or group in b.counts[k])
        ]
        if len(keys) < 2:
            continue
        c = compare_continuous(
            f"pair_f1.{group}",
            worst,
            best,
            _item_f1(a, group, keys),
            _item_f1(b, group, keys),
            higher_is_better=True,
        )
        out.append(
            Spread(group, best, worst, by_rung[best] - by_rung[worst], c.p_value, c.real, len(keys))
        )
    return sorted(out, key=lambda s: -s.diff)


def _value_at(obj: dict[str, Any] | None, group: str) -> str:
    """The value(s) one group names in an object, as compact JSON ("—" when absent)."""
    if obj is None:
        return "(no JSON object)"
    node: Any = obj
    for part in group.split("."):
        key, is_list = part.removesuffix("[]"), part.endswith("[]")
        if isinstance(node, list):
            node = [x.get(key) for x in node if isinstance(x, dict)]
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            node = None
        if node is None:
            return "—"
        if is_list and not isinstance(node, list):
            return "—"
    text = json.dumps(node, ensure_ascii=False)
    return text if len(text) <= VALUE_LIMIT else text[: VALUE_LIMIT - 1] + "…"


def _error_view(rungs: Sequence[RungFields], worst: list[str]) -> list[dict[str, Any]]:
    """For each of the worst groups, the items the rungs get most wrong: expected beside each
    rung's value and F1."""
    out = []
    for group in worst:
        common = [k for k in rungs[0].counts if all(k in r.counts for r in rungs)]
        scored = [(float(np.mean(_item_f1_all(rungs, group, k))), k) for k in common]
        wrong = sorted((s, k) for s, k in scored if s < 1.0)
        if not wrong:
            continue
        items = []
        for _, k in wrong[:ITEMS_SHOWN]:
            answers = [
                (_value_at(r.pred[k], group),
                 r.counts[k].get(group, extraction.PairCounts(0, 0, 0)).f1)
                for r in rungs
            ]  # fmt: skip
            items.append({"key": k, "expected": _value_at(rungs[0].gold[k], group),
                          "answers": answers})  # fmt: skip
        out.append({"group": group, "items": items})
    return out


def _item_f1_all(rungs: Sequence[RungFields], group: str, key: str) -> list[float]:
    return [r.counts[key].get(group, extraction.PairCounts(0, 0, 0)).f1 for r in rungs]


def view(
    task: Task, schema: dict[str, Any] | None, outputs: Sequence[RungOutputs]
) -> dict[str, Any] | None:
    """The per-field section as data for `partials/fields.html` (None for tasks that are not
    JSON or have no answers): F1 per group and rung, where they differ most, the worst errors."""
    if task.output.type != "json":
        return None
    sets = extraction.set_paths(schema, task.output.set_fields)
    rungs = [rung_fields(o, sets) for o in outputs if not o.skipped and o.items]
    rungs = [r for r in rungs if r.counts]
    if not rungs:
        return None
    groups = _expected_groups(rungs)
    known = set(groups)
    table: dict[str, dict[str, float]] = {}
    rows = []
    for group in [*groups, OTHER]:
        cells: list[dict[str, Any]] = []
        for r in rungs:
            counts = _group_counts(r, group, known)
            if group == OTHER:
                cells.append({"invented": sum(c.fp for c in counts)})
                continue
            ci = _f1(counts)
            if ci is not None:
                table.setdefault(group, {})[r.rung] = ci[0]
            cells.append({"ci": ci, "n": sum(1 for c in counts if c.tp + c.fp + c.fn)})
        rows.append({"group": group, "cells": cells})
    mean_f1 = {g: float(np.mean(list(v.values()))) for g, v in table.items()}
    worst = sorted(mean_f1, key=lambda g: (mean_f1[g], g))[:WORST_SHOWN]
    return {
        "rungs": [r.rung for r in rungs],
        "rows": rows,
        "spread": spreads(rungs, table)[:DIFFER_SHOWN],
        "errors": _error_view(rungs, worst),
    }


def section(task: Task, schema: dict[str, Any] | None, outputs: Sequence[RungOutputs]) -> str:
    """The per-field HTML section alone ("" for tasks that are not JSON or have no answers)."""
    from tunegate.report.html import render_partial

    return render_partial("partials/fields.html", fields=view(task, schema, outputs))
