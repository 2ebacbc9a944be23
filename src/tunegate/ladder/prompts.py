"""How rungs write requests: the task's system prompt (plus the label set for label tasks),
few-shot turns, and the constraint that matches the task's output."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.data.examples import Example, to_messages
from tunegate.ladder.context import Context
from tunegate.models.base import Constraint, GenRequest

LABELS_PLACEHOLDER = "{labels}"
LABELS_HINT = "Answer with exactly one of these labels and nothing else: {labels}"

Messages = list[dict[str, str]]


def system_prompt(ctx: Context) -> str:
    """The task's system prompt; a label task also gets its label set (a model cannot guess it).

    A system prompt that contains `{labels}` gets the list there instead of at the end.
    """
    system = ctx.task.prompt.system
    if ctx.labels is None:
        return system
    labels = ", ".join(ctx.labels)
    if LABELS_PLACEHOLDER in system:
        return system.replace(LABELS_PLACEHOLDER, labels)
    hint = LABELS_HINT.format(labels=labels)
    return f"{system}\n\n{hint}" if system else hint


def query_messages(ctx: Context, ex: Example, extra_system: str = "") -> Messages:
    """One example as chat messages under the rung's system prompt (+ `extra_system`)."""
    system = system_prompt(ctx)
    if extra_system:
        system = f"{system}\n\n{extra_system}" if system else extra_system
    # A row with its own system turn keeps it; ours is prepended only when it adds something.
    return to_messages(ctx.task, ex, None if system == ctx.task.prompt.system else system)


def shot_turns(ctx: Context, shot: Example) -> Messages:
    """A training example as a solved exchange: its user turn(s), then its target."""
    turns = [m for m in to_messages(ctx.task, shot, "") if m["role"] != "system"]
    return [*turns, {"role": "assistant", "content": shot.target}]


def with_shots(ctx: Context, ex: Example, shots: Sequence[Example]) -> Messages:
    """System prompt, then each shot as a user/assistant exchange, then the example itself."""
    query = query_messages(ctx, ex)
    head = [m for m in query if m["role"] == "system"]
    tail = [m for m in query if m["role"] != "system"]
    return [*head, *(t for s in shots for t in shot_turns(ctx, s)), *tail]


def constraint(ctx: Context) -> Constraint | None:
    """The decoding constraint the output allows: its JSON Schema, its label set, or none."""
    if ctx.schema is not None:
        return Constraint(json_schema=ctx.schema)
    if ctx.labels:
        return Constraint(labels=ctx.labels)
    return None


def unconstrainable(ctx: Context) -> str | None:
    """Why decoding cannot be constrained for this task (None when it can)."""
    if ctx.task.output.type == "text":
        return "free-text output has no schema or label set to constrain decoding to"
    if constraint(ctx) is None:
        return "no labels found (set output.labels or give labelled training data)"
    return None


def request(
    ctx: Context, messages: Messages, constrained: bool = False, adapter: str | None = None
) -> GenRequest:
    """A greedy request for `messages`, constrained to the task's output when asked and possible."""
    return GenRequest(
        messages=messages,
        max_tokens=ctx.task.output.max_tokens,
        constraint=constraint(ctx) if constrained else None,
        adapter=adapter,
    )
