"""Gathering the evidence from a filled run store, and deciding on it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from report_store import TUNED, demo_task_folder, rung_outputs, write_diagnose, write_train
from tunegate.data.split import load_dataset
from tunegate.decide import decide
from tunegate.errors import TunegateError
from tunegate.report.gather import gather, load_diagnose, rung_kind
from tunegate.spec import load_task, output_schema
from tunegate.store import Store

RUNGS = [
    "zero_shot",
    "few_shot",
    "constrained",
    "few_shot_constrained",
    "rag",
    "finetuned",
    "remote",
]


def _gather(folder: Path, run: str | None = None) -> Any:
    task, folder = load_task(folder)
    store = Store(folder)
    try:
        return gather(task, folder, store, run)
    finally:
        store.close()


def test_gather_builds_the_evidence_from_every_stage(
    demo_store: tuple[Path, dict[str, Any]],
) -> None:
    folder, ids = demo_store
    g = _gather(folder)
    ev = g.evidence
    assert g.diagnose.run_id == ids["diagnose"] and g.diagnose.items == 40
    assert [r.rung for r in ev.rungs] == RUNGS
    kinds = {r.rung: r.kind for r in ev.rungs}
    assert kinds["finetuned"] == "finetuned" and kinds["remote"] == "remote"
    assert kinds["zero_shot"] == kinds["rag"] == "prompt"
    tuned = next(r for r in ev.rungs if r.rung == "finetuned")
    assert tuned.get("knowledge.field_accuracy") is not None
    assert tuned.get("cost.per_request") is not None and tuned.get("latency.p95_ms") is not None
    # the paired tests against zero_shot, as the ladder stores them
    assert any(c.name == "knowledge.field_accuracy" and c.b == "finetuned" for c in ev.comparisons)
    # readiness from the real check run
    assert g.check is not None and g.check.run_id == ids["check"]
    assert ev.readiness is not None and ev.readiness.n_train == 1000
    assert ev.readiness.verdict == g.check.verdict
    # the adapter behind the fine-tuned rung: the last curve run (fraction 1.0)
    assert g.diagnose.adapter_run == ids["train"]
    assert g.train is not None and g.train.run_id == ids["train"]
    assert ev.training is not None and ev.training.seconds == pytest.approx(270.0)
    assert len(g.train.loss) == 60 and [s for s, _ in g.train.eval_loss] == list(range(10, 61, 10))
    # the learning curve: 3 runs, each measured by the diagnose that followed it
    assert g.curve_tag == "curve-test"
    assert [c.n_train for c in g.curve] == [200, 400, 800]
    assert [c.run_id for c in g.curve] == ids["curve"]
    assert all(c.point is not None and c.best_eval_loss is not None for c in g.curve)
    assert g.curve[-1].diagnose_run == ids["diagnose"]
    assert g.curve[-1].point.value == tuned.get("knowledge.field_accuracy").value  # type: ignore[union-attr]
    assert [p.n_train for p in ev.training.curve] == [200, 400, 800]
    # inputs beside the failures come from the task's data
    assert len(g.inputs) == 40 and any("<script>" in t for t in g.inputs.values())


def test_decide_on_the_gathered_evidence(demo_store: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = demo_store
    g = _gather(folder)
    d = decide(g.task, g.evidence)
    # prompt rungs miss the 0.85 field accuracy; the adapter reaches it
    assert d.verdict == "fine-tune" and d.chosen == "finetuned"
    assert d.curve_slope is not None
    assert any(gate.name == "data" and gate.ok for gate in d.gates)
    assert any(gate.name == "training cycle" and "4.5 min" in gate.detail for gate in d.gates)
    assert "remote" in d.break_even


def test_no_diagnose_is_a_one_line_error(tmp_path: Path) -> None:
    folder = demo_task_folder(tmp_path)
    with pytest.raises(TunegateError, match="run `tunegate diagnose` first"):
        _gather(folder)


def test_an_unfinished_diagnose_is_not_read(tmp_path: Path) -> None:
    folder = demo_task_folder(tmp_path)
    store = Store(folder)
    run = store.start_run("diagnose", {"rungs": ["zero_shot"]})
    store.close()
    with pytest.raises(TunegateError, match="run `tunegate diagnose` first"):
        _gather(folder)
    with pytest.raises(TunegateError, match="did not finish"):
        _gather(folder, run)


def test_adapter_attribution_follows_what_had_finished(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path, minilm: Any
) -> None:
    """A training run that finishes after a diagnose is not the one it measured; among those that
    had finished, a whole-split run wins over a newer partial one (`pick_adapter`'s rule); a
    recorded `adapter_run` wins over both."""
    src, ids = demo_store
    folder = tmp_path / "copy"
    shutil.copytree(src, folder)
    store = Store(folder)
    partial = write_train(store, folder, 0.5, None, steps=3)
    later = write_train(store, folder, 1.0, None, steps=3)
    assert load_diagnose(store).adapter_run == ids["train"]
    task, _ = load_task(folder)
    examples = load_dataset(task, folder).test
    tuned = rung_outputs("finetuned", examples, TUNED[0.5], seed=7)
    run = write_diagnose(store, task, output_schema(task, folder), [tuned], minilm)
    assert load_diagnose(store, run).adapter_run == later != partial
    recorded = store.start_run("diagnose", {"adapter_run": ids["curve"][0]})
    store.put_result(recorded, "summary", {"rungs": [], "items": 0})
    store.set_status(recorded, "done")
    assert load_diagnose(store, recorded).adapter_run == ids["curve"][0]
    store.close()


def test_rung_kind() -> None:
    from tunegate.outputs import RungOutputs

    assert rung_kind("finetuned", RungOutputs("finetuned", "m", [])) == "finetuned"
    assert rung_kind("remote", RungOutputs("remote", "m", [], remote=True)) == "remote"
    assert rung_kind("few_shot", RungOutputs("few_shot", "m", [])) == "prompt"
