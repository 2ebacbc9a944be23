"""The remote rung end to end: diagnose against a real OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import kill_when_stored
from ladder_fakes import SCHEMA, context, make_task
from openai_stub import Script, serve
from tunegate.ladder import DiagnoseOptions, diagnose
from tunegate.ladder.rungs import RUNGS


def _ticket(prompt: str, body: dict) -> str:
    category = "login" if "login" in prompt else "billing"
    return json.dumps({"category": category, "urgency": "high"})


def _task(tmp_path: Path, url: str, **remote: object) -> Path:
    spec = {"base_url": url, "model": "big-model", "api_key_env": "STUB_KEY", "retries": 2,
            "timeout_s": 0.5, "concurrency": 2, **remote}  # fmt: skip
    return make_task(tmp_path, "json", docs=False, extra={"remote": spec})


def test_remote_rung_asks_for_the_schema_and_survives_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_KEY", "sk-stub")
    faults = {
        "Message: where is my parcel": ["429", "500"],  # retried, then answered
        "Message: invoice shows wrong amount": ["nonjson"] * 5,  # still failing: an item error
    }
    script = Script(answer=_ticket, faults=faults, timeout_sleep_s=1.0)
    with serve(script) as url:
        folder = _task(tmp_path, url)
        res = diagnose(folder, DiagnoseOptions(rungs=["remote"]), measure=False)
    (rung,) = res.rungs
    out = rung.outputs
    assert out.remote and out.model == f"remote:{url}:big-model"
    errors = {it.example_id: it.error for it in out.items if it.error}
    assert list(errors.values()) == [
        "bad response body: not JSON: '<html>bad gateway</html>' after 3 attempt(s)"
    ]
    assert [json.loads(it.text)["category"] for it in out.items if not it.error] == [
        "billing", "login", "billing", "login",
    ]  # fmt: skip
    (first,) = [s for s in script.seen if "refund on invoice" in s["messages"][-1]["content"]]
    assert first["messages"] == [
        {"role": "system", "content": "Triage the support message."},
        {"role": "user", "content": "Message: charged twice, need a refund on invoice"},
    ]
    assert first["response_format"]["json_schema"]["schema"] == SCHEMA
    assert first["stream"] is True  # item 0 is the timed request (latency_samples=1)
    assert len(out.latencies_ms) == 1 and len(out.ttft_ms) == 1
    assert out.throughput_tok_s and out.throughput_tok_s > 0


def test_remote_rung_reuses_the_cache_for_the_same_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_KEY", "sk-stub")
    script = Script(answer=_ticket, faults={"Message: where is my parcel": ["500"]})
    with serve(script) as url:
        folder = _task(tmp_path, url, retries=0)
        diagnose(folder, DiagnoseOptions(rungs=["remote"]), measure=False)
        assert len(script.seen) == 5
        script.seen.clear()
        res = diagnose(folder, DiagnoseOptions(rungs=["remote"]), measure=False)
    assert [s["messages"][-1]["content"] for s in script.seen] == ["Message: where is my parcel"]
    assert all(it.error is None for it in res.rungs[0].outputs.items)


def test_remote_rung_skips_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUB_KEY", raising=False)
    ctx = context(_task(tmp_path, "http://127.0.0.1:9/v1"))
    assert RUNGS["remote"].skip(ctx) == (
        "environment variable STUB_KEY is not set; it must hold the key for http://127.0.0.1:9/v1 "
        "(or set remote.api_key_env: null for an endpoint without a key)"
    )


def test_killed_diagnose_process_resumes_from_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL a real `tunegate diagnose` midway; the next run asks only for what was not stored."""
    monkeypatch.setenv("STUB_KEY", "sk-stub")
    script = Script(answer=_ticket, delay_s=0.15)
    with serve(script) as url:
        folder = _task(tmp_path, url, concurrency=1)
        rows = "".join(json.dumps({"message": f"login question {i}", "ticket": {"category": "login",
                       "urgency": "high"}}) + "\n" for i in range(16))  # fmt: skip
        (folder / "test.jsonl").write_text(rows)
        task_file = folder / "tunegate.yaml"
        task_file.write_text(task_file.read_text().replace("batch_size: 2", "batch_size: 1")
                             .replace("latency_samples: 1", "latency_samples: 0"))  # fmt: skip
        db = folder / ".tunegate" / "runs.sqlite"
        args = ["diagnose", str(folder), "--rungs", "remote"]
        kept = kill_when_stored(args, db, 4)  # answers are stored as each one-item chunk completes
        assert len(kept) < 16
        script.seen.clear()
        res = diagnose(folder, DiagnoseOptions(rungs=["remote"]), measure=False)
    asked = {s["messages"][-1]["content"] for s in script.seen}
    ids = {it.example_id: it for it in res.rungs[0].outputs.items}
    assert len(ids) == 16 and all(it.error is None for it in ids.values())
    missing = {f"Message: {ex.inputs['message']}" for ex in context(folder).dataset.test
               if ex.id not in kept}  # fmt: skip
    assert asked == missing and len(script.seen) == len(missing)
