"""Extraction metrics for JSON outputs: partial credit over (path, value) pairs.

Slot filling, entity extraction and ticket triage are scored the way their users score them:
each object is flattened into (path, value) pairs (`slots.date = "today"`,
`items[0].sku = "A1"`), values normalized as field accuracy does them (case, whitespace and
punctuation aside; numbers as floats); a null value or an empty object or array adds no pair.
An array is scored as a set (`intents[] = "pin"`, order and position free) when the schema says
`uniqueItems` there or the task lists its path in `output.set_fields`; otherwise each element
keeps its index (a set's repeated element counts once). Against the expected pairs:

- `knowledge.pair_f1` per item (F1 of its pairs; 1.0 when both sides are empty, 0.0 when the
  answer holds no JSON object), the per-item score behind paired tests and a primary metric a
  task may name; `knowledge.pair_f1.<field>` per top-level field (items whose expected object
  holds it);
- `knowledge.micro_precision`, `knowledge.micro_recall`, `knowledge.micro_f1` pooled over all
  items (and `knowledge.micro_f1.<field>`), with item-bootstrap intervals.

The exact line beside it is `knowledge.field_exact.<field>` (signals.knowledge).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunegate.outputs import Metric
from tunegate.signals.parse import normalize_text
from tunegate.signals.scores import SignalResult, metric_of, safe_name, scored
from tunegate.signals.stats import bootstrap_weighted_ci

Pair = tuple[str, Any]


def set_paths(schema: dict[str, Any] | None, extra: Collection[str] = ()) -> set[str]:
    """The dotted paths whose arrays are sets: `uniqueItems` in the schema, plus `extra`."""
    out = {p.removesuffix("[]") for p in extra}

    def walk(sub: Any, path: str) -> None:
        if not isinstance(sub, dict):
            return
        if sub.get("uniqueItems") is True:
            out.add(path)
        for k, v in (sub.get("properties") or {}).items():
            walk(v, f"{path}.{k}" if path else k)
        if isinstance(sub.get("items"), dict):
            walk(sub["items"], f"{path}[]")
        for key in ("anyOf", "oneOf", "allOf"):
            for alt in sub.get(key) or []:
                walk(alt, path)

    walk(schema, "")
    return out


def _scalar(v: Any) -> Any:
    if isinstance(v, str):
        return normalize_text(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return float(v)
    return v


def flatten(value: Any, sets: Collection[str] = (), path: str = "") -> Counter[Pair]:
    """The (path, normalized value) pairs of a JSON value, as a multiset.

    `path` is dotted (`slots.date`); array elements are `path[i]`, or `path[]` when `path` is
    in `sets` (then an element that is itself an object or array is compared whole).
    """
    out: Counter[Pair] = Counter()
    if value is None:
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out += flatten(v, sets, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        schema_path = _schema_path(path)
        if schema_path in sets:  # a set: a repeated element counts once
            out.update({(f"{path}[]", _whole(v)) for v in value})
        else:
            for i, v in enumerate(value):
                out += flatten(v, sets, f"{path}[{i}]")
    else:
        out[(path, _scalar(value))] += 1
    return out


def _whole(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((str(k), _whole(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_whole(x) for x in v)
    return _scalar(v)


def _schema_path(path: str) -> str:
    """`items[3].tags` -> `items[].tags`: an instance path in the schema's terms."""
    out, i = [], 0
    while i < len(path):
        if path[i] == "[":
            j = path.index("]", i)
            out.append("[]")
            i = j + 1
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class PairCounts:
    """True positives, false positives and false negatives of one item's pairs."""

    tp: int
    fp: int
    fn: int
    answered: bool = True  # False: the answer held no JSON object

    @property
    def f1(self) -> float:
        """F1 of the pairs; 1.0 when nothing was expected and an object with nothing was
        produced, 0.0 for an answer with no JSON object."""
        denom = 2 * self.tp + self.fp + self.fn
        if not self.answered:
            return 0.0
        return 1.0 if denom == 0 else 2 * self.tp / denom


def pair_counts(
    expected: Any, produced: Any, sets: Collection[str] = (), answered: bool = True
) -> PairCounts:
    """Matched, invented and missed pairs of one answer (multiset intersection)."""
    gold, pred = flatten(expected, sets), flatten(produced, sets)
    tp = sum((gold & pred).values())
    return PairCounts(tp, sum(pred.values()) - tp, sum(gold.values()) - tp, answered)


def group_of(path: str, depth: int = 2) -> str:
    """A pair's path in schema terms cut to `depth` keys: `slots.date`, `items[].sku`."""
    parts = _schema_path(path).split(".")
    return ".".join(parts[:depth])


def grouped_counts(
    expected: Any, produced: Any, sets: Collection[str] = (), depth: int = 2
) -> dict[str, PairCounts]:
    """`pair_counts` per group of paths (`group_of`): which keys an answer gets right."""
    gold, pred = flatten(expected, sets), flatten(produced, sets)
    groups: dict[str, list[int]] = {}
    for pairs, side in ((gold, 0), (pred, 1)):
        for (path, v), n in pairs.items():
            g = groups.setdefault(group_of(path, depth), [0, 0, 0])
            both = min(n, gold.get((path, v), 0), pred.get((path, v), 0))
            if side == 0:
                g[0] += both
                g[2] += n - both
            else:
                g[1] += n - both
    return {k: PairCounts(tp, fp, fn) for k, (tp, fp, fn) in groups.items()}


def micro(counts: Sequence[PairCounts], w: np.ndarray) -> dict[str, np.ndarray]:
    """Pooled precision, recall and F1 under (B, n) item weights -> (B,) values each.

    An empty pool (nothing expected, nothing produced) is NaN: a bootstrap resample that draws
    none of a rare key's items drops out of its interval instead of counting as perfect.
    Otherwise precision with nothing produced, or recall with nothing expected, is 0.0
    (sklearn's zero_division=0).
    """
    tp = w @ np.array([c.tp for c in counts], dtype=float)
    fp = w @ np.array([c.fp for c in counts], dtype=float)
    fn = w @ np.array([c.fn for c in counts], dtype=float)
    fill = np.where((tp + fp + fn) == 0, np.nan, 0.0)

    def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        return np.divide(num, den, out=fill.copy(), where=den > 0)

    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
    }


def _micro_metric(name: str, counts: list[PairCounts], part: str) -> Metric | None:
    """A pooled figure with its bootstrap interval; None when the pool is empty."""
    if not any(c.tp + c.fp + c.fn for c in counts):
        return None
    ci = bootstrap_weighted_ci(len(counts), lambda w: micro(counts, w)[part])
    return metric_of(name, ci, len(counts))


def measure(
    keys: Sequence[str],
    gold: Sequence[dict[str, Any]],
    outs: Sequence[dict[str, Any] | None],
    fields: Sequence[str],
    sets: Collection[str] = (),
) -> SignalResult:
    """Pair F1 per item and per top-level field, and the pooled micro figures.

    `gold`/`outs`: each item's expected and produced object (None when the answer held none:
    its F1 is 0 even when nothing was expected); `fields`: the top-level fields to break down
    (each over the items whose expected object holds it).
    """
    res = SignalResult()
    if not keys:
        return res
    counts = [pair_counts(g, o, sets, o is not None) for g, o in zip(gold, outs, strict=True)]
    res.add(scored("knowledge.pair_f1", keys, [c.f1 for c in counts], binary=False))
    for part in ("precision", "recall", "f1"):
        m = _micro_metric(f"knowledge.micro_{part}", counts, part)
        if m is not None:
            res.metrics.append(m)
    for f in fields:
        rows = [i for i, g in enumerate(gold) if f in g]
        if not rows:
            continue
        fc = [
            pair_counts({f: gold[i][f]}, {f: (outs[i] or {}).get(f)}, sets, outs[i] is not None)
            for i in rows
        ]
        name = safe_name(f)
        res.add(
            scored(
                f"knowledge.pair_f1.{name}",
                [keys[i] for i in rows],
                [c.f1 for c in fc],
                binary=False,
            )
        )
        m = _micro_metric(f"knowledge.micro_f1.{name}", fc, "f1")
        if m is not None:
            res.metrics.append(m)
    return res
