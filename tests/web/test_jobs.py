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
