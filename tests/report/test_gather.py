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
from tunegate.ladder.result import legacy_kind
from tunegate.report.gather import gather
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
    assert ev.runs == [ids["diagnose"]] and len(ev.item_ids) == 40 and not ev.excluded
    assert [r.rung for r in ev.rungs] == RUNGS
    kinds = {r.rung: r.kind for r in ev.rungs}
    assert kinds["finetuned"] == "finetuned" and kinds["remote"] == "remote"
    assert kinds["zero_shot"] == kinds["rag"] == "prompt"
    tuned = next(r for r in ev.rungs if r.rung == "finetuned")
    assert tuned.metric("knowledge.field_accuracy") is not None
    assert (
        tuned.metric("cost.per_request") is not None and tuned.metric("latency.p95_ms") is not None
    )
    # the paired tests against zero_shot and the prompt ceiling, Holm-adjusted
    tests = [
        c for c in ev.comparisons if c.name == "knowledge.field_accuracy" and c.b == "finetuned"
    ]
    assert {c.a for c in tests} >= {"zero_shot", "rag"} and all(c.p_adjusted for c in tests)
    # readiness from the real check run
    assert g.check is not None and g.check.run_id == ids["check"]
    assert ev.readiness is not None and ev.readiness.n_train == 1000
    assert ev.readiness.verdict == g.check.verdict
    # the adapter behind the fine-tuned rung: the last curve run (fraction 1.0)
    assert tuned.run_id == ids["diagnose"]
    assert g.train is not None and g.train.run_id == ids["train"]
    assert ev.training is not None and ev.training.seconds == pytest.approx(270.0)
    assert len(g.train.loss) == 60 and [s for s, _ in g.train.eval_loss] == list(range(10, 61, 10))
    # the learning curve: 3 runs, each measured by the diagnose that followed it
    assert g.curve_tag == "curve-test"
    assert [c.n_train for c in g.curve] == [200, 400, 800]
    assert [c.run_id for c in g.curve] == ids["curve"]
    assert all(c.point is not None and c.best_eval_loss is not None for c in g.curve)
    assert g.curve[-1].diagnose_run == ids["diagnose"]
    assert g.curve[-1].point.value == tuned.metric("knowledge.field_accuracy").value  # type: ignore[union-attr]
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
    with pytest.raises(TunegateError, match="run `tunegate diagnose .*` first"):
        _gather(folder)


def test_an_unfinished_diagnose_is_not_read(tmp_path: Path) -> None:
    folder = demo_task_folder(tmp_path)
    store = Store(folder)
    run = store.start_run("diagnose", {"rungs": ["zero_shot"]})
    store.close()
    with pytest.raises(TunegateError, match="run `tunegate diagnose .*` first"):
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
    store.close()
    assert _gather(folder).train.run_id == ids["train"]
    task, _ = load_task(folder)
    examples = load_dataset(task, folder).test
    tuned = rung_outputs("finetuned", examples, TUNED[0.5], seed=7)
    store = Store(folder)
    run = write_diagnose(store, task, output_schema(task, folder), [tuned], minilm)
    store.close()
    g = _gather(folder)
    assert g.evidence.rung("finetuned").run_id == run  # the newest result of the rung
    assert g.train.run_id == later != partial
    store = Store(folder)
    write_diagnose(
        store, task, output_schema(task, folder), [tuned], minilm, adapter_run=ids["curve"][0]
    )
    store.close()
    assert _gather(folder).train.run_id == ids["curve"][0]


def test_legacy_kind() -> None:
    from tunegate.outputs import RungOutputs

    assert legacy_kind("finetuned", RungOutputs("finetuned", "m", [])) == "finetuned"
    assert legacy_kind("remote", RungOutputs("remote", "m", [], remote=True)) == "remote"
    assert legacy_kind("few_shot", RungOutputs("few_shot", "m", [])) == "prompt"


def test_a_rung_on_other_items_is_named_and_never_paired(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path, minilm: Any
) -> None:
    """A rung measured with another --limit is left out of the decision, with the command that
    measures it on the shared items, and never paired; a rung's newer result on other items does
    not displace its result on the shared ones."""
    src, _ = demo_store
    folder = Path(shutil.copytree(src, tmp_path / "copy"))
    task, _ = load_task(folder)
    schema = output_schema(task, folder)
    examples = load_dataset(task, folder).test[:20]
    fixed = rung_outputs("few_shot", examples, None, seed=3)
    fixed.rung = "few_shot_fixed"
    store = Store(folder)
    write_diagnose(store, task, schema, [fixed, rung_outputs("rag", examples, None, seed=4)],
                   minilm, limit=20)  # fmt: skip
    store.close()
    g = _gather(folder)
    ev = g.evidence
    assert [r.rung for r in ev.rungs] == RUNGS and len(ev.rung("rag").item_ids) == 40
    (left,) = ev.excluded
    assert left.rung == "few_shot_fixed" and left.reason == "other items"
    assert "20 other items" in left.detail and "--limit 20" in left.detail
    assert left.command.endswith(f"diagnose {folder} --limit 40 --rungs few_shot_fixed")
    assert all("few_shot_fixed" not in (c.a, c.b) for c in ev.comparisons)
    d = decide(g.task, ev)
    assert [s.rung for s in d.rungs] == RUNGS
    assert any(r.startswith("left out: few_shot_fixed") for r in d.reasons)


def test_a_stale_result_is_left_out_with_a_note(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Editing the prompt makes every stored result stale: one line says how to re-measure."""
    import yaml

    src, _ = demo_store
    folder = Path(shutil.copytree(src, tmp_path / "copy"))
    task_file = folder / "tunegate.yaml"
    spec = yaml.safe_load(task_file.read_text())
    spec["prompt"]["system"] = "Be brief. " + spec["prompt"].get("system", "")
    task_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(TunegateError, match="stale: the task's prompt changed since run"):
        _gather(folder)


def test_a_store_written_before_record_version_2_still_reports(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Rung records without kind, items, fingerprint or per-item scores (as tunegate wrote them
    before version 2): `tunegate report` still works, rescoring them, and names them."""
    import json

    from report_store import run_cli

    src, _ = demo_store
    folder = Path(shutil.copytree(src, tmp_path / "old"))
    new_fields = {"kind", "run_id", "created", "item_ids", "limit", "fingerprint", "model",
                  "adapter", "adapter_run", "decoding", "item_scores", "version"}  # fmt: skip
    with Store(folder) as store:
        for run in store.runs("diagnose"):
            for name, payload in store.results(run.id).items():
                if name.startswith("rung."):
                    old = {k: v for k, v in payload.items() if k not in new_fields}
                    store.put_result(run.id, name, old)
    out = tmp_path / "r.json"
    proc = run_cli("report", str(folder), "--out", str(tmp_path / "r.html"), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(out.read_text())
    assert len(payload["decision"]["rungs"]) >= 2
    notes = " ".join(payload["evidence"]["notes"])
    assert "stored by an older tunegate" in notes and "re-measures" in notes
