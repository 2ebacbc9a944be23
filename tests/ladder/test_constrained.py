"""Constrained rungs: the same prompts as zero-shot / few-shot, plus the output's constraint."""

from __future__ import annotations

from pathlib import Path

from ladder_fakes import SCHEMA, BagOfWords, context, make_task
from tunegate.ladder import constrained, few_shot, zero_shot
from tunegate.ladder.rungs import RUNGS
from tunegate.models.base import Constraint


def test_schema_constraint_on_the_zero_shot_prompt(json_task: Path) -> None:
    ctx = context(json_task)
    plain = zero_shot.build(ctx, ctx.dataset.test)
    reqs = constrained.build(ctx, ctx.dataset.test)
    assert [r.messages for r in reqs] == [r.messages for r in plain]
    assert all(r.constraint == Constraint(json_schema=SCHEMA) for r in reqs)


def test_label_constraint_on_retrieved_few_shot(label_task: Path, bow: BagOfWords) -> None:
    ctx = context(label_task, bow)
    reqs = constrained.build_few_shot(ctx, ctx.dataset.test)
    free = few_shot.build_retrieved(ctx, ctx.dataset.test)
    assert [r.messages for r in reqs] == [r.messages for r in free]
    assert reqs[0].constraint == Constraint(labels=("billing", "login", "shipping"))


def test_free_text_cannot_be_constrained(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "text", docs=False)
    ctx = context(folder)
    reason = "free-text output has no schema or label set to constrain decoding to"
    assert RUNGS["constrained"].skip(ctx) == reason
    assert RUNGS["few_shot_constrained"].skip(ctx) == reason
