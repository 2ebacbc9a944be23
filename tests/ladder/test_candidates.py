"""Prompt candidates: ids, spelled-out labels / schema, shot selection and order."""

from __future__ import annotations

import json
from pathlib import Path

from ladder_fakes import SCHEMA, BagOfWords, context, make_label_task, make_task
from tunegate.ladder import candidates
from tunegate.ladder.candidates import Candidate
from tunegate.ladder.prompts import system_prompt


def test_ids_normalize_k0_and_round_trip() -> None:
    a = Candidate("task", True, 0, "diverse", True, True)
    assert a.id == "task/spelled/k0/constrained" == Candidate("task", True, 0, constrained=True).id
    b = Candidate("expert", False, 4, "stratified", True)
    assert b.id == "expert/plain/k4/stratified/reversed/free"
    assert Candidate.from_json(b.to_json()) == b


def test_spelled_labels_match_the_hand_set_prompt_and_schema_is_spelled(tmp_path: Path) -> None:
    ctx = context(make_label_task(tmp_path))
    text = ctx.task.prompt.system
    assert candidates.system_text(ctx, text, True) == system_prompt(ctx)
    assert candidates.system_text(ctx, text, False) == text
    jctx = context(make_task(tmp_path / "j", "json"))
    spelled = candidates.system_text(jctx, "Triage.", True)
    assert spelled.startswith("Triage.\n\nAnswer with one JSON object")
    assert json.loads(spelled.split("JSON Schema: ", 1)[1]) == SCHEMA


def test_instructions_are_the_task_own_and_builtin_rewrites(tmp_path: Path) -> None:
    ctx = context(make_label_task(tmp_path))
    found = candidates.instructions(ctx.task)
    assert found["task"] == "Triage the support message."
    assert set(found) == {"task", "expert", "direct", "described"}
    assert found["described"].startswith("Route a support message to its team.")


def test_selection_and_order(tmp_path: Path) -> None:
    ctx = context(make_label_task(tmp_path), BagOfWords())
    ex = ctx.dataset.test[0]
    sim = candidates.build(ctx, Candidate("task", False, 2), "Sys", [ex])[0]
    rev = candidates.build(ctx, Candidate("task", False, 2, reverse=True), "Sys", [ex])[0]
    users = [m["content"] for m in sim.messages if m["role"] == "user"]
    assert users[:-1] == [m["content"] for m in rev.messages if m["role"] == "user"][:-1][::-1]
    assert sim.messages[0] == {"role": "system", "content": "Sys"} and sim.constraint is None
    strat = candidates.fixed_set(ctx, Candidate("task", False, 3, "stratified"))
    assert sorted(s.target for s in strat) == ["billing", "login", "shipping"]
    diverse = candidates.diverse_shots(ctx, 4)
    assert len({s.id for s in diverse}) == 4 and diverse == candidates.diverse_shots(ctx, 4)
    con = candidates.build(ctx, Candidate("task", True, 0, constrained=True), "Sys", [ex])[0]
    assert con.constraint is not None and con.constraint.labels == ctx.labels
