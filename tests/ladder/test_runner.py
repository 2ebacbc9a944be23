"""The runner: outputs cached by request, generated in stored chunks (an interrupted diagnose
resumes where it stopped), latency timed one request at a time, everything in the store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from ladder_fakes import TEST, BagOfWords, ScriptedGenerator, make_task
from tunegate.ladder import DiagnoseOptions, DiagnoseResult, Generators, diagnose, load
from tunegate.models.base import Generation, GenRequest, Progress
from tunegate.store import Store


def _run(folder: Path, gen: ScriptedGenerator, rungs: list[str], **kw: object) -> DiagnoseResult:
    opts = DiagnoseOptions(rungs=rungs, **kw)  # type: ignore[arg-type]
    return diagnose(folder, opts, generators=Generators(local=lambda: gen), embedder=BagOfWords(),
                    measure=False)  # fmt: skip


def _users(reqs: list[GenRequest]) -> list[str]:
    return [r.messages[-1]["content"] for r in reqs]


def _big_task(tmp_path: Path, n: int = 12) -> Path:
    folder = make_task(tmp_path, "label", docs=False)
    rows = "".join(f'{{"message": "question number {i}", "ticket": "billing"}}\n' for i in range(n))
    (folder / "test.jsonl").write_text(rows)
    return folder


def test_second_run_is_served_from_the_cache(json_task: Path) -> None:
    first = ScriptedGenerator(lambda r: f"answer {r.messages[-1]['content']}")
    res1 = _run(json_task, first, ["zero_shot", "constrained"])
    assert len(first.generated) + len(first.timed) == 10
    again = ScriptedGenerator(lambda r: "never used")
    res2 = _run(json_task, again, ["zero_shot", "constrained"])
    assert again.batches == [] and again.timed == []
    texts = [[it.text for it in r.outputs.items] for r in res2.rungs]
    assert texts == [[it.text for it in r.outputs.items] for r in res1.rungs]
    assert res2.rungs[0].outputs.latencies_ms == [12.0]


def test_interrupted_run_resumes_with_only_the_missing_items(tmp_path: Path) -> None:
    folder = _big_task(tmp_path)  # 12 items, batch 2 x 4 batches per chunk = chunks of 8
    crash = ScriptedGenerator(fail_on_call=2)
    with pytest.raises(RuntimeError, match="injected crash"):
        _run(folder, crash, ["zero_shot"], chunk_batches=1)  # chunks of 2: one stored, then crash
    stored = _users(crash.generated)
    assert len(stored) == 2
    store = Store(folder)
    assert store.runs("diagnose")[0].status == "interrupted"
    store.close()
    resumed = ScriptedGenerator()
    res = _run(folder, resumed, ["zero_shot"], chunk_batches=1)
    asked = _users(resumed.generated) + _users(resumed.timed)
    everything = [f"Message: question number {i}" for i in range(12)]
    assert sorted(asked) == sorted(set(everything) - set(stored))
    assert len(res.rungs[0].outputs.items) == 12


def test_keyboard_interrupt_keeps_finished_chunks(tmp_path: Path) -> None:
    folder = _big_task(tmp_path)
    crash = ScriptedGenerator(fail_on_call=3, exc=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        _run(folder, crash, ["zero_shot"], chunk_batches=1)
    resumed = ScriptedGenerator()
    _run(folder, resumed, ["zero_shot"], chunk_batches=1)
    assert len(resumed.generated) + len(resumed.timed) == 12 - 4


def test_latency_is_timed_one_request_at_a_time_after_warm_batches(json_task: Path) -> None:
    gen = ScriptedGenerator(lambda r: "two words")
    res = _run(json_task, gen, ["zero_shot"])
    out = res.rungs[0].outputs
    assert len(gen.timed) == 1  # latency_samples=1, no warm-up call: batches ran first
    assert _users(gen.timed) == ["Message: charged twice, need a refund on invoice"]
    assert len(gen.generated) == 4  # the timed item is not generated twice
    assert out.latencies_ms == [12.0] and out.ttft_ms == [3.0]
    assert out.throughput_tok_s is not None and out.throughput_tok_s > 0
    assert out.requests_per_s is not None and out.requests_per_s > 0
    assert [it.output_tokens for it in out.items] == [2] * 5


def test_local_timing_warms_up_when_nothing_was_batched(json_task: Path) -> None:
    _run(json_task, ScriptedGenerator(), ["zero_shot"], limit=None)
    store = Store(json_task)
    store._db.execute("DELETE FROM outputs WHERE key LIKE 'tim%'")  # noqa: SLF001
    store.close()
    gen = ScriptedGenerator()
    _run(json_task, gen, ["zero_shot"])
    assert gen.batches == [] and len(gen.timed) == 2  # one warm-up, one measured


def test_timing_stops_at_its_budget_and_the_rest_is_batched(tmp_path: Path) -> None:
    folder = _big_task(tmp_path)  # 12 items
    task_file = folder / "tunegate.yaml"
    task_file.write_text(
        task_file.read_text().replace(
            "latency_samples: 1", "latency_samples: 5\n  latency_budget_s: 0.001"
        )
    )
    gen = ScriptedGenerator(time_one_s=0.01)
    res = _run(folder, gen, ["zero_shot"], chunk_batches=4)  # chunks of 8
    out = res.rungs[0].outputs
    assert len(gen.timed) == 1 and len(out.latencies_ms) == 1  # at least one, then the budget
    assert sorted(_users(gen.generated) + _users(gen.timed)) == sorted(
        f"Message: question number {i}" for i in range(12)
    )
    assert _users(gen.batches[-1]) == [f"Message: question number {i}" for i in range(1, 5)]
    again = ScriptedGenerator()
    res2 = _run(folder, again, ["zero_shot"])  # the sample is marked done: nothing is re-timed
    assert again.batches == [] and again.timed == []
    assert res2.rungs[0].outputs.latencies_ms == out.latencies_ms


class _Flaky(ScriptedGenerator):
    """Fails one item per batch the first time round (as a remote endpoint might)."""

    def generate(
        self, requests: Sequence[GenRequest], progress: Progress | None = None
    ) -> list[Generation]:
        out = super().generate(requests, progress)
        out[-1] = Generation(text="", error="HTTP 500 after 4 attempt(s)")
        return out


def test_failed_items_are_recorded_not_cached_and_retried(json_task: Path) -> None:
    flaky = _Flaky()
    res = _run(json_task, flaky, ["zero_shot"], chunk_batches=1)  # 4 items in chunks of 2
    items = res.rungs[0].outputs.items
    assert [it.error for it in items].count("HTTP 500 after 4 attempt(s)") == 2
    again = ScriptedGenerator()
    res2 = _run(json_task, again, ["zero_shot"])
    assert len(again.generated) == 2
    assert all(it.error is None for it in res2.rungs[0].outputs.items)


def test_a_changed_prompt_or_limit_only_generates_what_is_new(json_task: Path) -> None:
    _run(json_task, ScriptedGenerator(), ["zero_shot"], limit=3)
    gen = ScriptedGenerator()
    _run(json_task, gen, ["zero_shot"])
    assert len(gen.generated) + len(gen.timed) == 2
    task_file = json_task / "tunegate.yaml"
    task_file.write_text(task_file.read_text().replace("Triage the", "Please triage the"))
    gen = ScriptedGenerator()
    _run(json_task, gen, ["zero_shot"])
    assert len(gen.generated) + len(gen.timed) == 5


def test_results_are_stored_and_rebuilt_without_a_model(json_task: Path) -> None:
    res = _run(json_task, ScriptedGenerator(lambda r: "x"), ["zero_shot", "rag"], limit=4)
    store = Store(json_task)
    run = store.run(res.run_id)
    assert run.kind == "diagnose" and run.status == "done"
    assert run.config["rungs"] == ["zero_shot", "rag"] and run.config["items"] == 4
    back = load(store)
    store.close()
    assert back.run_id == res.run_id
    assert [r.rung for r in back.rungs] == ["zero_shot", "rag"]
    assert back.rungs[1].outputs.to_json() == res.rungs[1].outputs.to_json()
    assert back.rungs[1].prompt[0]["content"].startswith("Triage the support message.\n\nRelevant")
    assert back.skipped == {}


def test_skipped_rungs_are_reported_with_reasons(json_task: Path) -> None:
    gen = ScriptedGenerator()
    res = _run(json_task, gen, ["zero_shot", "finetuned", "remote"])
    assert [r.rung for r in res.rungs] == ["zero_shot"]
    assert res.skipped == {
        "finetuned": "no trained adapter in the store yet (run `tunegate train` first)",
        "remote": "no remote endpoint in the task (set `remote:`)",
    }


def test_signals_measured_compared_with_the_baseline_and_stored(tmp_path: Path) -> None:
    """Scripted answers with known quality: zero-shot invents keys, constrained is right."""
    folder = make_task(tmp_path, "json", extra={"targets": {"min_schema_valid_rate": 0.5}})
    truth = {f"Message: {m}": {"category": c, "urgency": u} for m, c, u in TEST}

    def answer(req: GenRequest) -> str:
        if req.constraint is None:
            return '{"type": "question", "priority": "high"}'
        return json.dumps(truth[req.messages[-1]["content"]])

    rungs = ["zero_shot", "constrained", "few_shot_constrained"]
    res = diagnose(folder, DiagnoseOptions(rungs=rungs),
                   generators=Generators(local=lambda: ScriptedGenerator(answer)),
                   embedder=BagOfWords())  # fmt: skip
    zero, con, shots = res.rungs
    assert shots.parent == "constrained"
    assert zero.metric("format.schema_valid").value == 0.0  # type: ignore[union-attr]
    assert con.metric("format.schema_valid").value == 1.0  # type: ignore[union-attr]
    assert con.metric("knowledge.field_accuracy").value == 1.0  # type: ignore[union-attr]
    assert zero.targets == {"min_schema_valid_rate": "fails"}
    assert con.targets["min_schema_valid_rate"] in ("meets", "may meet")
    assert res.primary == "knowledge.field_accuracy"
    by_name = {c["name"]: c for c in res.comparisons if c["b"] == "constrained"}
    assert (
        by_name["format.schema_valid"]["diff"] == 1.0
        and by_name["format.schema_valid"]["a"] == "zero_shot"
    )
    pairs = {(c["a"], c["b"]) for c in res.comparisons}
    assert pairs == {("zero_shot", "constrained"), ("zero_shot", "few_shot_constrained"),
                     ("constrained", "few_shot_constrained")}  # fmt: skip
    table = res.summary_json()["table"]
    assert table["best"]["format"] == ["constrained", "few_shot_constrained"]
    row = table["rows"][2]
    assert row["parent"] == "constrained"
    assert [(c["a"], c["name"]) for c in row["vs_parent"]] == [
        ("constrained", "knowledge.field_accuracy")
    ]
    store = Store(folder)
    back = load(store)
    store.close()
    assert back.comparisons == res.comparisons
    assert [m.to_json() for m in back.rungs[1].metrics] == [m.to_json() for m in con.metrics]
