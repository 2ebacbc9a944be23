"""The signals applied to the ladder: each rung measured as it finishes (its per-item scores
kept with its result), then rungs paired on the same items and tested, Holm-adjusted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunegate.data.examples import Example, input_text
from tunegate.ladder.context import Context
from tunegate.ladder.result import RungResult, prompt_ceiling
from tunegate.signals.stats import Comparison, holm
from tunegate.spec import Task

BASELINE = "zero_shot"


class Evaluator:
    """Holds what every rung's measurement shares: one cached encoder, the inputs, the docs."""

    def __init__(self, ctx: Context, examples: Sequence[Example]) -> None:
        from tunegate import signals

        self.ctx = ctx
        self.primary = signals.primary_metric(ctx.task)
        self._encoder = ctx.embedder  # memoizing; loads MiniLM only if a signal needs it
        self._inputs = {ex.id: input_text(ex) for ex in examples}

    def _kw(self) -> dict[str, Any]:
        return {
            "docs_text": self.ctx.docs_text,
            "style_refs": self.ctx.style_refs,
            "embedder": self._encoder,
            "labels": self.ctx.labels,
            "inputs": self._inputs,
        }

    def measure(self, res: RungResult) -> None:
        """Fill the rung's metrics, target statuses and not-measured reasons."""
        from tunegate import signals

        scores = signals.score(self.ctx.task, self.ctx.schema, res.outputs, **self._kw())
        res.scores = scores
        res.item_scores = dict(scores.scores)
        res.metrics = list(scores.metrics)
        res.not_measured = dict(scores.not_measured)
        res.targets = dict(signals.targets_met(self.ctx.task, scores.metrics))

    def compare(self, results: Sequence[RungResult]) -> list[dict[str, Any]]:
        """The run's paired tests (see `compare_rungs`), as JSON records."""
        comps = compare_rungs(self.ctx.task, self.ctx.schema, results, self.primary)
        return [c.to_json() for c in comps]


def pairs(results: Sequence[RungResult], primary: str) -> list[tuple[RungResult, RungResult, bool]]:
    """Which rungs are tested against which: (a, b, every metric or the primary only).

    Every rung against the baseline (zero-shot, else the first rung) and against its parent
    (what it adds: examples, documents, an adapter) on every metric; every fine-tuned or remote
    rung against the prompt ceiling on every metric and against each other prompt rung on the
    primary metric (so the cheapest rung that meets can always be set beside it).
    """
    if not results:
        return []
    by_name = {r.rung: r for r in results}
    base = by_name.get(BASELINE, results[0])
    ceiling = prompt_ceiling(results, primary)
    out: list[tuple[RungResult, RungResult, bool]] = []
    seen: set[tuple[str, str]] = set()

    def add(a: RungResult | None, b: RungResult, full: bool) -> None:
        if a is None or a is b or (a.rung, b.rung) in seen or (b.rung, a.rung) in seen:
            return
        seen.add((a.rung, b.rung))
        out.append((a, b, full))

    for r in results:
        add(base, r, True)
        add(by_name.get(r.parent or ""), r, True)
        if r.kind != "prompt":
            add(ceiling, r, True)
            for p in results:
                if p.kind == "prompt":
                    add(p, r, False)
    return out


def compare_rungs(
    task: Task, schema: dict[str, Any] | None, results: Sequence[RungResult], primary: str
) -> list[Comparison]:
    """Paired tests on the stored per-item scores of rungs measured on the same items (see
    `pairs`), Holm-adjusted within each metric's family of comparisons."""
    from tunegate import signals

    out: list[Comparison] = []
    for a, b, full in pairs(results, primary):
        if not a.item_scores or not b.item_scores:
            continue
        sa = signals.RungScores(a.outputs, a.metrics, a.item_scores)
        sb = signals.RungScores(b.outputs, b.metrics, b.item_scores)
        comps = signals.compare(task, sa, sb, schema=schema, only=None if full else {primary})
        out.extend(comps)
    return holm(out)
