"""The run store: runs, results, cached outputs, metrics, artifacts; a newer schema is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tunegate.errors import TunegateError
from tunegate.store import Store


def test_runs_results_and_latest(tmp_path: Path) -> None:
    s = Store(tmp_path)
    assert s.path == tmp_path / ".tunegate" / "runs.sqlite"
    a = s.start_run("check", {"x": 1})
    b = s.start_run("check", {"x": 2})
    s.put_result(a, "check", {"verdict": "ok"})
    s.set_status(a, "done")
    assert s.latest("check").id == a
    assert s.latest("check", status=None).id == b
    assert s.result(a, "check") == {"verdict": "ok"} and s.result(b, "check") is None
    assert s.run(b).config == {"x": 2} and s.run(b).status == "running"
    with pytest.raises(TunegateError, match="no run 'zz'"):
        s.run("zz")


def test_outputs_cache_survives_reopen(tmp_path: Path) -> None:
    s = Store(tmp_path)
    s.put_outputs(
        [("k1", "zero_shot", "e1", {"text": "a"}), ("k2", "zero_shot", "e2", {"text": "b"})]
    )
    s.close()
    again = Store(tmp_path)
    assert again.outputs(["k1", "k3", "k2"]) == {"k1": {"text": "a"}, "k2": {"text": "b"}}


def test_metrics_and_truncate(tmp_path: Path) -> None:
    s = Store(tmp_path)
    r = s.start_run("train", {})
    for step in range(1, 5):
        s.log_metrics(r, step, {"loss": 1.0 / step})
    s.truncate_metrics(r, 2)
    assert [st for st, _, _ in s.metrics(r, "loss")] == [1, 2]
    s.put_artifact(r, "adapter", tmp_path / "a")
    assert s.artifacts(r) == {"adapter": str(tmp_path / "a")}


def test_newer_schema_refused(tmp_path: Path) -> None:
    s = Store(tmp_path)
    s.close()
    db = sqlite3.connect(tmp_path / ".tunegate" / "runs.sqlite")
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(TunegateError, match="newer than this tunegate"):
        Store(tmp_path)


def test_jobs_record_progress_and_survive_reopen(tmp_path: Path) -> None:
    s = Store(tmp_path)
    j = s.add_job("train", {"preset": "quick"}, pid=123)
    assert s.job(j).status == "queued" and s.job(j).run_id is None
    s.update_job(j, status="running", progress={"step": 3}, run_id="train-x")
    s.update_job(j, note="half way")  # the other fields stay
    s.close()
    job = Store(tmp_path).job(j)
    assert (job.status, job.progress, job.run_id, job.note, job.pid) == (
        "running", {"step": 3}, "train-x", "half way", 123)  # fmt: skip
    assert [x.id for x in Store(tmp_path).jobs("train")] == [j]
    assert Store(tmp_path).jobs("diagnose") == []
    with pytest.raises(TunegateError, match="no job 'zz'"):
        Store(tmp_path).job("zz")


def test_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    s = Store(tmp_path)
    r = s.start_run("check", {"x": 1})
    s.close()
    db = sqlite3.connect(tmp_path / ".tunegate" / "runs.sqlite")
    db.execute("DROP TABLE jobs")  # as version 1 wrote it
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.commit()
    db.close()
    s = Store(tmp_path)
    assert s.run(r).config == {"x": 1}  # kept
    assert s.jobs() == [] and s.add_job("diagnose", {}, pid=1)
    version = s._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    assert version == "2"
