"""Rung 1, zero-shot: the task's own prompt, free decoding; the baseline of every comparison."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.data.examples import Example
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.prompts import query_messages, request
from tunegate.models.base import GenRequest


def build(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    return [request(ctx, query_messages(ctx, ex)) for ex in examples]


RUNG = Rung(
    name="zero_shot",
    summary="the task's prompt, free decoding",
    skip=lambda ctx: None,
    build=build,
)
