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
        (what it adds: examples, documents, an adapter), and of each fine-tuned rung against the
        best prompt-only rung on the primary metric (the demo's punchline), as JSON records."""
        from tunegate import signals

        if not results:
            return []
        by_name = {r.rung: r for r in results}
        base = by_name.get(BASELINE, results[0])
        out: list[dict[str, Any]] = []
        best = best_prompt(results, self.primary)
        for r in results:
            parent = by_name.get(r.parent or "")
            against = [base] if parent is None or parent is base else [base, parent]
            if best is not None and is_tuned(r) and best not in against:
                against.append(best)
            for a in against:
                if a is r or a.scores is None or r.scores is None:
                    continue
                comps = signals.compare(self.ctx.task, a.scores, r.scores, schema=self.ctx.schema)
                out.extend(c.to_json() for c in comps)
        return out


def is_tuned(r: RungResult) -> bool:
    """A rung answered by a fine-tuned adapter (as the report classifies rungs)."""
    return r.rung.startswith(("finetuned", "distill")) and not r.outputs.remote


def best_prompt(results: Sequence[RungResult], primary: str) -> RungResult | None:
    """The prompt-only rung (local, no adapter) with the best primary figure."""
    scored = [
        (m.value, r)
        for r in results
        if not is_tuned(r) and not r.outputs.remote and (m := r.metric(primary)) is not None
    ]
    return max(scored, key=lambda t: t[0])[1] if scored else None
