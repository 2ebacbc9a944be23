"""Rung 6, remote: the task's prompt sent to an OpenAI-compatible endpoint (`remote:` in the
task), asking for the schema / label set as a structured-output format when the output has one.
The "big model validates" rung."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.data.examples import Example
from tunegate.errors import TunegateError
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.prompts import query_messages, request, unconstrainable
from tunegate.models.base import GenRequest


def build(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    constrained = unconstrainable(ctx) is None
    return [request(ctx, query_messages(ctx, ex), constrained) for ex in examples]


def skip(ctx: Context) -> str | None:
    if ctx.task.remote is None:
        return "no remote endpoint in the task (set `remote:`)"
    from tunegate.models.remote import api_key

    try:
        api_key(ctx.task.remote)
    except TunegateError as exc:
        return exc.message
    return None


RUNG = Rung(
    name="remote",
    summary="an OpenAI-compatible endpoint, structured output when the output allows",
    skip=skip,
    build=build,
    backend="remote",
    parent="constrained",
    kind="remote",
)
