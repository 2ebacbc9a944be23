"""The signals applied to the ladder: each rung measured as it finishes, then every rung
tested against the baseline (zero-shot, else the first rung run) on the same items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunegate.data.examples import Example, input_text
from tunegate.ladder.context import Context
from tunegate.ladder.result import RungResult

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
        res.metrics = list(scores.metrics)
        res.not_measured = dict(scores.not_measured)
        res.targets = dict(signals.targets_met(self.ctx.task, scores.metrics))

    def compare(self, results: Sequence[RungResult]) -> list[dict[str, Any]]:
        """Paired tests of every rung against the baseline rung and against its parent rung
        (what it adds: examples, documents, an adapter), as JSON records."""
        from tunegate import signals

        if not results:
            return []
        by_name = {r.rung: r for r in results}
        base = by_name.get(BASELINE, results[0])
        out: list[dict[str, Any]] = []
        for r in results:
            parent = by_name.get(r.parent or "")
            against = [base] if parent is None or parent is base else [base, parent]
            for a in against:
                if a is r or a.scores is None or r.scores is None:
                    continue
                comps = signals.compare(self.ctx.task, a.scores, r.scores, schema=self.ctx.schema)
                out.extend(c.to_json() for c in comps)
        return out
