"""Rung 5, fine-tuned: the base model with the newest adapter `tunegate train` recorded in the
store, on the task's prompt, decoding constrained when the output allows it (the design's
target configuration: fine-tuning fixes content, the constraint guarantees format)."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.data.examples import Example
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.prompts import query_messages, request, unconstrainable
from tunegate.models.base import GenRequest


def build(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    constrained = unconstrainable(ctx) is None
    return [
        request(ctx, query_messages(ctx, ex), constrained, adapter=ctx.adapter) for ex in examples
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
)
