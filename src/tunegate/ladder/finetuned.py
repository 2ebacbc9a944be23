"""Rung 5, fine-tuned: the base model with the newest adapter `tunegate train` recorded in the
store, decoding constrained when the output allows it (the design's target configuration:
fine-tuning fixes content, the constraint guarantees format).

The prompt is the one the adapter was trained on, read from its folder (`tunegate_prompt.json`,
tunegate.train.prompt): the task's full prompt or the compact one; an adapter without that record
gets the task's full prompt, as adapters were trained before prompts were recorded. Never the
prompt-only rungs' prompt: for a label task those append the whole label set, which the adapter
never saw (on banking77, one adapter, 300 items: 0.297 with the labels listed, 0.410 with its
training prompt, McNemar p < 1e-5; docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.data.examples import Example
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.prompts import request, unconstrainable
from tunegate.models.base import GenRequest


def build(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    constrained = unconstrainable(ctx) is None
    prompt = ctx.adapter_prompt
    assert prompt is not None  # skip() leaves the rung out when there is no adapter
    return [
        request(ctx, prompt.messages(ctx.task, ex), constrained, adapter=ctx.adapter)
        for ex in examples
    ]


def skip(ctx: Context) -> str | None:
    if ctx.adapter is None:
        return "no trained adapter in the store yet (run `tunegate train` first)"
    return None


RUNG = Rung(
    name="finetuned",
    summary="base model + the latest trained adapter, constrained when the output allows",
    skip=skip,
    build=build,
    parent="constrained",
    kind="finetuned",
)
