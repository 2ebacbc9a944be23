"""The prompt search: dev carved from train only, the dev-best candidate wins, test items are never
read during the search, an interrupted search resumes from its cached answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from ladder_fakes import (
    ANSWERS,
    TEST_ROWS,
    BagOfWords,
    ScriptedGenerator,
    context,
    k_of,
    make_label_task,
    optimize_answer,
    query,
)
from tunegate.errors import TunegateError
from tunegate.ladder import DiagnoseOptions, Generators, candidates, dev, diagnose, optimize
from tunegate.ladder.candidates import Candidate
from tunegate.models.base import GenRequest
from tunegate.spec import load_task
from tunegate.store import Store


def test_search_picks_the_dev_best_and_never_reads_test_items(tmp_path: Path) -> None:
    ctx = context(make_label_task(tmp_path), BagOfWords())
    gen = ScriptedGenerator(optimize_answer)
    res = optimize.search(ctx, Generators(local=lambda: gen))
    assert res.winner.instruction == "expert" and res.winner.k == 2
    assert res.dev_score == 1.0 and res.dev_items == 12
    seen = [query(r) for r in gen.generated]
    test_texts = {m for m, _ in TEST_ROWS}
    assert seen and not test_texts & set(seen)
    assert not any(t in m["content"] for r in gen.generated for m in r.messages for t in test_texts)
    dev_ids = set(res.dev_ids)
    shot_ids = {ex.id for ex in res.shots}
    assert not dev_ids & shot_ids  # shots come from the pool, never from dev
    # Every candidate tried is stored with its dev score; the best scored on all dev items.
    store = Store(ctx.folder)
    stored = store.result(res.run_id, "summary")
    assert stored["winner_id"] == res.winner.id
    by_id = {c["id"]: c for c in stored["candidates"]}
    assert by_id[res.winner.id]["dev_score"] == 1.0
    assert all(c["dev_score"] <= 1.0 and c["dev_items"] >= 8 for c in stored["candidates"])
    seeds = [c.id for c in candidates.seeds(ctx)]
    assert all(s in by_id for s in seeds)  # the hand-set rungs' settings are always scored


def test_the_winner_answers_the_test_split_in_diagnose(tmp_path: Path) -> None:
    folder = make_label_task(tmp_path)
    gen = ScriptedGenerator(optimize_answer)
    result = diagnose(
        folder,
        DiagnoseOptions(rungs=["zero_shot", "optimized"]),
        generators=Generators(local=lambda: gen),
        embedder=BagOfWords(),
    )
    opt = result.rung("optimized")
    assert opt is not None
    acc = opt.metric("knowledge.accuracy")
    assert acc is not None and acc.value == 1.0 and acc.n == len(TEST_ROWS)
    assert opt.parent == "zero_shot"  # tested against the best hand-set prompt rung
    assert any(c["a"] == "zero_shot" and c["b"] == "optimized" for c in result.comparisons)
    run = Store(folder).latest("diagnose")
    assert run is not None and run.config["optimized"].startswith("expert/")


def test_an_interrupted_search_resumes_from_its_cached_answers(tmp_path: Path) -> None:
    whole = ScriptedGenerator(optimize_answer)
    ref = optimize.search(
        context(make_label_task(tmp_path / "a"), BagOfWords()), Generators(local=lambda: whole)
    )
    folder = make_label_task(tmp_path / "b")
    crash = ScriptedGenerator(optimize_answer, fail_on_call=6, exc=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        optimize.search(context(folder, BagOfWords()), Generators(local=lambda: crash))
    assert Store(folder).runs("optimize")[0].status == "interrupted"
    again = ScriptedGenerator(optimize_answer)
    res = optimize.search(context(folder, BagOfWords()), Generators(local=lambda: again))
    assert res.winner == ref.winner
    drop = [{k: v for k, v in c.items() if k != "seconds"} for c in res.candidates]
    assert drop == [{k: v for k, v in c.items() if k != "seconds"} for c in ref.candidates]
    assert len(crash.generated) + len(again.generated) == len(whole.generated)
    assert len(crash.generated) > 0


def test_budget_max_candidates_and_minutes(tmp_path: Path) -> None:
    ctx = context(make_label_task(tmp_path, {"max_candidates": 2}), BagOfWords())
    res = optimize.search(ctx, Generators(local=lambda: ScriptedGenerator(optimize_answer)))
    assert len(res.candidates) == 2
    assert res.winner in [Candidate(**c["candidate"]) for c in res.candidates]
    ctx = context(make_label_task(tmp_path / "m", {"max_minutes": 1e-9}), BagOfWords())
    res = optimize.search(ctx, Generators(local=lambda: ScriptedGenerator(optimize_answer)))
    assert len(res.candidates) == 1 and "max_minutes" in res.stopped


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"max_candidates": 0}, "ladder.optimize.max_candidates"),
        ({"max_minutes": -1}, "ladder.optimize.max_minutes"),
        ({"dev_fraction": 1.5}, "ladder.optimize.dev_fraction"),
        ({"max_dev_item": 5}, "did you mean 'max_dev_items'"),
    ],
)
def test_bad_budget_fields_are_one_line_errors(tmp_path: Path, spec: dict, needle: str) -> None:
    folder = make_label_task(tmp_path, spec)
    with pytest.raises(TunegateError) as err:
        load_task(folder)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_optimized_runs_only_when_named(tmp_path: Path) -> None:
    folder = make_label_task(tmp_path)
    result = diagnose(
        folder,
        generators=Generators(local=lambda: ScriptedGenerator(optimize_answer)),
        embedder=BagOfWords(),
        measure=False,
    )
    assert result.rung("optimized") is None
    assert "runs only when named" in result.skipped["optimized"]


def test_halving_keeps_the_best_at_each_level_not_at_the_screen(tmp_path: Path) -> None:
    """A: right on the 8 screen items only; B: wrong on the first 2, right after. A leads the
    screen, B leads at 16 items: B must be the one that goes on to all 18 and wins."""
    spec = {"max_candidates": 4, "max_dev_items": 18, "dev_fraction": 0.9}
    ctx = context(make_label_task(tmp_path, spec), BagOfWords())
    _, held = dev.carve_dev(ctx.task, ctx.train, 18, 0.9, seed=0)
    position = {ex.inputs["message"]: i for i, ex in enumerate(held)}
    assert dev.levels(len(held)) == [8, 16, 18]

    def answer(req: GenRequest) -> str:
        q, pos = query(req), position[query(req)]
        if req.constraint is not None and k_of(req) == 4:
            return ANSWERS[q] if pos < 8 else "wrong"
        if req.constraint is not None and k_of(req) == 0:
            return ANSWERS[q] if pos >= 2 else "wrong"
        return "wrong"

    res = optimize.search(ctx, Generators(local=lambda: ScriptedGenerator(answer)))
    assert res.winner.k == 0 and res.winner.constrained
    assert res.dev_items == 18 and res.dev_score == 16 / 18
