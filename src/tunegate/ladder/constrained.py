"""Rung 3, constrained decoding: the output can only follow the task's JSON Schema or be one of
its labels. `constrained` builds on zero-shot, `few_shot_constrained` on retrieved few-shot."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.data.examples import Example
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.few_shot import build_retrieved, no_train
from tunegate.ladder.prompts import query_messages, request, unconstrainable
from tunegate.models.base import GenRequest


def build(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    return [request(ctx, query_messages(ctx, ex), constrained=True) for ex in examples]


def build_few_shot(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    return build_retrieved(ctx, examples, constrained=True)


RUNG = Rung(
    name="constrained",
    summary="the task's prompt, decoding constrained to the schema / label set",
    skip=unconstrainable,
    build=build,
    parent="zero_shot",
)

FEW_SHOT = Rung(
    name="few_shot_constrained",
    summary="retrieved few-shot examples, decoding constrained to the schema / label set",
    skip=lambda ctx: unconstrainable(ctx) or no_train(ctx),
    build=build_few_shot,
    parent="constrained",
)
