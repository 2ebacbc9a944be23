"""`tunegate distill` end to end through the CLI, on a slice of examples/support-tickets: a
teacher on 127.0.0.1 labels the inputs, the tiny Llama trains on them for a few steps, and the
report compares student and teacher on the held-out split. Resumes after a kill; bad input is
one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cli_helpers import cli, kill_when_stored
from conftest import copy_example
from openai_stub import Script, serve
from tunegate.store import Store

N_INPUTS = 24
TRAIN = {"steps": 2, "batch_size": 4, "layers": 1, "lr": 0.01, "val_fraction": 0.2,
         "eval_every": 2, "checkpoint_every": 2, "warmup": 0, "threads": 1}  # fmt: skip


def one_line_error(code: int, err: str) -> str:
    """The error line (progress notes may come before it; no traceback, nothing after it)."""
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in err, err
    return errors[0]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture
def tickets(tmp_path: Path, tiny_llama: Path) -> Path:
    """support-tickets on the tiny Llama: 6 held-out items, one timed request per rung."""
    folder = copy_example("support-tickets", tmp_path)
    spec = yaml.safe_load((folder / "tunegate.yaml").read_text(encoding="utf-8"))
    spec["model"] = str(tiny_llama)
    spec["data"]["test_limit"] = 6
    spec["output"]["max_tokens"] = 48
    spec["ladder"] = {"latency_samples": 1, "batch_size": 8}
    spec["train"] = TRAIN
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return folder


def gold(folder: Path) -> dict[str, dict]:
    """message -> ticket over the example's own files (the stub teacher answers with these)."""
    rows = _rows(folder / "data" / "train.jsonl") + _rows(folder / "data" / "test.jsonl")
    return {r["message"]: r["ticket"] for r in rows}


def write_inputs(folder: Path, n: int = N_INPUTS, keep_ticket: bool = False) -> Path:
    """The first n training messages, without their tickets: the unlabeled inputs."""
    rows = _rows(folder / "data" / "train.jsonl")[:n]
    path = folder.parent / "unlabeled.jsonl"
    keep = ("message", "ticket") if keep_ticket else ("message",)
    path.write_text("".join(json.dumps({k: r[k] for k in keep}) + "\n" for r in rows))
    return path


def teacher(answers: dict[str, dict], **kw: object) -> Script:
    return Script(answer=lambda prompt, body: json.dumps(answers[prompt]), **kw)  # type: ignore[arg-type]


def test_distill_resumes_labelling_then_trains_compares_and_reports(
    tickets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real `tunegate distill` killed while the teacher labels; the re-run asks the teacher
    only for the inputs it had not answered, trains the student, measures both on the same
    held-out items and writes the comparison to the store and the report."""
    inputs = write_inputs(tickets)
    before = {p: p.read_bytes() for p in (tickets / "data").iterdir()}
    script = teacher(gold(tickets), delay_s=0.1)
    out_dir = tickets / "distilled"
    with serve(script) as url:
        args = ["distill", str(tickets), "--teacher", url, "--inputs", str(inputs),
                "--model", "big", "--limit", "3", "--no-progress"]  # fmt: skip
        kept = kill_when_stored(args, out_dir / ".tunegate" / "runs.sqlite", 8, timeout_s=90)
        assert len(kept) < N_INPUTS
        first = script.seen[0]
        script.seen.clear()
        script.delay_s = 0.0
        code, out, err = cli(monkeypatch, capsys, *args)
        assert code == 0, err
        asked = [s["messages"][-1]["content"] for s in script.seen]
    # the teacher was asked with the task's prompt and its schema as response_format
    assert first["response_format"]["type"] == "json_schema"
    assert first["messages"][0]["role"] == "system"
    messages = {r["message"] for r in _rows(inputs)}
    assert len([m for m in asked if m in messages]) == N_INPUTS - len(kept)  # only the rest
    # the user's files are untouched; the labels are a new train file in the distilled task
    assert {p: p.read_bytes() for p in (tickets / "data").iterdir()} == before
    labelled = _rows(out_dir / "train.jsonl")
    answers = gold(tickets)
    assert len(labelled) == N_INPUTS
    assert all(r["ticket"] == answers[r["message"]] for r in labelled)
    derived = yaml.safe_load((out_dir / "tunegate.yaml").read_text())
    assert derived["data"]["test"] == "../data/test.jsonl"
    assert derived["output"]["schema_file"] == "../schema.json"
    assert derived["remote"]["base_url"] == url and derived["remote"]["model"] == "big"
    # the comparison: printed, stored, and in the report rebuilt without a model
    assert "student vs teacher on 3 held-out items" in out
    store = Store(out_dir)
    run = store.latest("distill")
    assert run is not None
    comp = store.result(run.id, "comparison")
    store.close()
    assert comp["items"] == 3 and comp["gold"] is True
    assert comp["teacher"]["accuracy"]["value"] == 1.0  # the stub teacher answers with gold
    assert comp["student"]["accuracy"] is not None
    assert comp["agreement"]["n"] == 3 - comp["student"]["errors"]
    assert 0 <= comp["identical"]["value"] <= comp["agreement"]["value"] <= 1
    assert comp["teacher"]["cost_per_month"]["value"] > 0  # priced from its token counts
    assert comp["student"]["cost_per_month"]["value"] > 0  # self-hosted at measured throughput
    assert comp["teacher"]["p95_ms"] is not None and comp["student"]["p95_ms"] is not None
    assert comp["labelling"]["labelled"] == N_INPUTS and comp["labelling"]["cached"] == len(kept)
    assert comp["training"]["steps_done"] == 2
    code, out, err = cli(monkeypatch, capsys, "report", str(out_dir))
    assert code == 0, err
    html = (out_dir / ".tunegate" / "report.html").read_text()
    assert 'id="distillation"' in html and "student (fine-tuned)" in html


def test_unreachable_teacher_is_one_line(
    tickets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tickets, 3)
    code, _, err = cli(monkeypatch, capsys, "distill", str(tickets), "--teacher",
                       "http://127.0.0.1:9/v1", "--inputs", str(inputs), "--model", "big")  # fmt: skip
    line = one_line_error(code, err)
    assert "cannot reach the teacher" in line and "127.0.0.1:9" in line
    assert not (tickets / "distilled").exists()


def test_malformed_inputs_file_is_one_line(
    tickets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tickets.parent / "bad.jsonl"
    bad.write_text('{"message": "router down"}\n{"message": "oops"\n')
    wrong = tickets.parent / "wrong.jsonl"
    wrong.write_text('{"text": "router down"}\n')
    with serve(teacher({})) as url:
        code, _, err = cli(monkeypatch, capsys, "distill", str(tickets), "--teacher", url,
                           "--inputs", str(bad), "--model", "big")  # fmt: skip
        line = one_line_error(code, err)
        assert f"{bad}:2" in line and "invalid JSON" in line
        code, _, err = cli(monkeypatch, capsys, "distill", str(tickets), "--teacher", url,
                           "--inputs", str(wrong), "--model", "big")  # fmt: skip
        line = one_line_error(code, err)
        assert f"{wrong}:1" in line and "missing input field 'message'" in line


def test_teacher_with_invalid_labels_stops_with_one_line(
    tickets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tickets)
    answers = {m: {"category": "weather", "urgency": "low"} for m in gold(tickets)}
    with serve(teacher(answers)) as url:
        code, _, err = cli(monkeypatch, capsys, "distill", str(tickets), "--teacher", url,
                           "--inputs", str(inputs), "--model", "big")  # fmt: skip
    line = one_line_error(code, err)
    assert f"answers to {N_INPUTS} of {N_INPUTS} inputs break the task's output contract" in line
    assert "breaks the schema" in line and str(inputs) in line
    assert not (tickets / "distilled" / "train.jsonl").exists()


def test_labels_that_fail_the_readiness_check_stop_before_training(
    tickets: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tickets, 10)
    with serve(teacher(gold(tickets))) as url:
        code, _, err = cli(monkeypatch, capsys, "distill", str(tickets), "--teacher", url,
                           "--inputs", str(inputs), "--model", "big")  # fmt: skip
    line = one_line_error(code, err)
    assert "the teacher's labels fail the readiness check" in line and "under 20" in line
    store = Store(tickets / "distilled")
    assert store.runs("train") == [] and store.latest("distill", status="failed") is not None
    store.close()
