"""A rung: a name, why it might not apply, and how it turns test examples into requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tunegate.data.examples import Example
from tunegate.ladder.context import Context
from tunegate.models.base import GenRequest

Backend = Literal["local", "remote"]
Kind = Literal["prompt", "finetuned", "remote"]


@dataclass(frozen=True)
class Rung:
    """One step of the ladder.

    `skip(ctx)` returns a one-line reason when the rung cannot apply to this task (else None);
    `build(ctx, examples)` returns one request per example, in order; `backend` says which
    generator answers them; `parent` names the rung this one adds something to (it is tested
    against it, as well as against zero-shot, when both ran). `prepare(ctx, generators,
    console)`, when set, runs before the ladder starts (the optimized rung's search) and returns
    what to record in the diagnose run's config. `optional` is the reason a rung runs only when
    named (in --rungs or ladder.rungs), or None when it runs by default. `kind` says what
    answers: the prompt alone, a fine-tuned adapter, or a remote model (decide and the report
    read it from the stored result; only prompt rungs compete for the prompt ceiling).
    """

    name: str
    summary: str
    skip: Callable[[Context], str | None]
    build: Callable[[Context, Sequence[Example]], list[GenRequest]]
    backend: Backend = "local"
    parent: str | None = None
    prepare: Callable[[Context, Any, Any], dict[str, Any]] | None = None
    optional: str | None = None
    kind: Kind = "prompt"
