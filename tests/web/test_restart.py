"""Restarting the server mid-training loses nothing: the job shows `interrupted` with a Resume
button, and resuming finishes the run from its checkpoint (no step trained twice in the log)."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tunegate.store import Store
from web.conftest import demo_slice, free_port, ui_server

SETTINGS = (
    "steps: 60\nbatch_size: 4\nlr: 0.02\neval_every: 100\ncheckpoint_every: 2\npatience: 0\n"
    "val_fraction: 0.1\nlayers: 1\nwarmup: 0\nschedule: constant\nthreads: 1\n"
)


def _wait(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _job(folder: Path):  # type: ignore[no-untyped-def]
    store = Store(folder)
    try:
        jobs = store.jobs("train")
        job = jobs[0] if jobs else None
        steps = [s for s, _, _ in store.metrics(job.run_id, "loss")] if job and job.run_id else []
        run = store.run(job.run_id).status if job and job.run_id else None
        return job, steps, run
    finally:
        store.close()


@pytest.mark.slow
def test_restart_mid_training_then_resume(tmp_path: Path, tiny_llama: Path) -> None:
    ws, log = tmp_path / "ws", tmp_path / "ui.log"
    folder = ws / "t"
    data = demo_slice(tmp_path / "tickets.jsonl", blank=False).read_bytes()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ui_server(ws, port, log) as proc:
        c = httpx.Client(base_url=base, timeout=60)
        assert (
            c.post("/tasks", files={"file": ("t.jsonl", data)}, data={"name": "t"}).status_code
            == 303
        )
        preview = c.get("/uploads/t").text  # create the task as it was inferred
        output = re.search(r'name="output"[^>]*>(.*?)</textarea>', preview, re.S)
        assert output is not None
        confirmed = c.post("/uploads/t", data={"output": html.unescape(output.group(1))})
        assert confirmed.status_code == 303, confirmed.text
        form = {
            "model": str(tiny_llama),
            "user": "{message}",
            "output": "type: text\nfield: ticket\n",
        }
        assert c.post("/tasks/t/edit", data=form).status_code == 200
        settings = {k: str(v) for k, v in yaml.safe_load(SETTINGS).items()}
        r = c.post("/tasks/t/train", data={"preset": "quick", **settings})
        assert r.status_code == 303
        _wait(lambda: len(_job(folder)[1]) >= 4, 180, "four training steps")
        proc.kill()  # no goodbye: the job stays `running` in the store
        proc.wait(10)
    job, steps_before, _ = _job(folder)
    assert job.status == "running" and len(steps_before) < 60

    with ui_server(ws, port, log):
        c = httpx.Client(base_url=base, timeout=60)
        page = c.get("/tasks/t/train").text
        assert 'class="status interrupted">interrupted<' in page
        assert f'action="/tasks/t/jobs/{job.id}/resume"' in page and ">Resume<" in page
        assert c.post(f"/tasks/t/jobs/{job.id}/resume").status_code == 303
        _wait(lambda: _job(folder)[0].status in ("done", "failed"), 300, "the resumed run")
        done, steps, run_status = _job(folder)
        assert done.status == "done", done.note
        assert done.id == job.id and done.run_id == job.run_id and run_status == "done"
        assert steps == list(range(1, 61))  # each step once: resumed from its checkpoint
        assert 'class="status done">done<' in c.get("/tasks/t/train").text
