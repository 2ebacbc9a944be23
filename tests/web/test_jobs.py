"""Jobs in the run store: a dead server's live jobs become interrupted; diagnose progress per rung
lands in the job row; a job that fails keeps its one-line error."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tunegate.store import Store
from tunegate.web.jobs import StoreProgress, Worker, recover


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_recover_marks_a_dead_servers_jobs_interrupted(tmp_path: Path) -> None:
    s = Store(tmp_path)
    dead = s.add_job("train", {}, pid=_dead_pid())
    s.update_job(dead, status="running")
    queued = s.add_job("diagnose", {}, pid=_dead_pid())
    mine = s.add_job("train", {}, pid=os.getpid())
    s.update_job(mine, status="running")
    finished = s.add_job("train", {}, pid=_dead_pid())
    s.update_job(finished, status="done")
    assert sorted(recover(tmp_path)) == sorted([dead, queued])
    assert [s.job(j).status for j in (dead, queued, mine, finished)] == [
        "interrupted", "interrupted", "running", "done"]  # fmt: skip
    assert s.job(dead).note == "the server stopped"


def test_diagnose_progress_per_rung_in_the_job(tmp_path: Path) -> None:
    s = Store(tmp_path)
    j = s.add_job("diagnose", {}, pid=os.getpid())
    progress = StoreProgress(s, j)
    with progress.running() as bars:
        bar = bars.rung("zero_shot", total=10, done=2)
        bar.advance(3, 120)
        bar.note("timing")
        progress.flush(force=True)
    rung = s.job(j).progress["rungs"]["zero_shot"]
    assert (rung["done"], rung["total"], rung["note"]) == (5, 10, "timing") and rung["tok_s"] > 0


def test_a_failing_job_keeps_its_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "tunegate.yaml").write_text(
        "name: t\ninputs: [text]\nprompt: {user: '{text}'}\ndata: {train: missing.jsonl}\n"
    )
    worker = Worker()
    job = worker.start(folder, "diagnose", {"rungs": ["zero_shot"], "limit": 2})
    end = time.monotonic() + 30
    while Store(folder).job(job).status in ("queued", "running") and time.monotonic() < end:
        time.sleep(0.05)
    done = Store(folder).job(job)
    assert done.status == "failed"
    assert done.note == f"{folder}/missing.jsonl: data file not found"


def _wait_status(folder: Path, job: str, timeout: float = 180) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = Store(folder).job(job).status
        if status not in ("queued", "running"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job} still running after {timeout} s")


def test_stop_saves_a_checkpoint_and_resume_finishes(tmp_path: Path, tiny_llama: Path) -> None:
    from train.conftest import FAST, write_task
    from tunegate.train.checkpoint import find_checkpoint

    folder = write_task(tmp_path / "t", tiny_llama)
    overrides = {**FAST, "steps": 12, "checkpoint_every": 100, "eval_every": 100}
    worker = Worker()
    job = worker.start(folder, "train", {"preset": "quick", "overrides": overrides})
    end = time.monotonic() + 120
    while not Store(folder).job(job).progress.get("step") and time.monotonic() < end:
        time.sleep(0.05)
    assert worker.stop(job)
    assert _wait_status(folder, job) == "stopped"
    stopped = Store(folder).job(job)
    run_dir = folder / ".tunegate" / "train" / str(stopped.run_id)
    assert find_checkpoint(run_dir / "checkpoint") is not None  # saved at the stop, not every 100
    step = stopped.progress["step"]
    assert 1 <= step < 12 and stopped.note == f"interrupted at step {step}"
    worker.resume(folder, job)
    assert _wait_status(folder, job) == "done"
    steps = [s for s, _, _ in Store(folder).metrics(str(stopped.run_id), "loss")]
    assert steps == list(range(1, 13))
