"""Background jobs of the UI (diagnose, train), each a thread whose state lives in the run store.

A job is a row of the task's `jobs` table: what was asked, where it is (per-rung progress; a
training job's curve is the run's own metrics), the run it made, and the server process that
runs it. Jobs run one at a time (the machine's cores are the bottleneck). A server that starts
finds the jobs a dead one left `running` or `queued` and marks them `interrupted`; Resume runs
them again on the same job: training from its checkpoint (`train(resume=True)`), diagnose from
its cached outputs. Stop asks training to stop after the current step and save a checkpoint.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError
from tunegate.ladder.progress import LadderProgress, RungBar
from tunegate.store import Job, Store

log = logging.getLogger(__name__)
KINDS = ("diagnose", "train")
LIVE = ("queued", "running")
RESUMABLE = ("interrupted", "stopped", "failed")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(folder: Path) -> list[str]:
    """Mark the live jobs of a dead server as interrupted; return their ids."""
    store = Store(folder)
    found = []
    try:
        for job in store.jobs():
            if job.status in LIVE and job.pid != os.getpid() and not _alive(job.pid):
                store.update_job(job.id, status="interrupted", note="the server stopped")
                found.append(job.id)
    finally:
        store.close()
    return found


class _Bar(RungBar):
    """One rung's progress, written to the job row at most twice a second."""

    def __init__(self, owner: StoreProgress, name: str, total: int, done: int) -> None:
        super().__init__(None, None)
        self._owner, self._name = owner, name
        owner.rungs[name] = {
            "done": done,
            "total": total,
            "tok_s": 0.0,
            "note": "",
            "elapsed_s": 0.0,
        }
        owner.flush(force=True)

    def advance(self, items: int, tokens: int) -> None:
        super().advance(items, tokens)
        row = self._owner.rungs[self._name]
        row["done"] += items
        elapsed = time.perf_counter() - self._start
        row["tok_s"] = round(self._tokens / max(elapsed, 1e-9), 1)
        row["elapsed_s"] = round(elapsed, 1)  # the rung's actual time, beside its estimate
        self._owner.flush(force=row["done"] >= row["total"])

    def note(self, text: str) -> None:
        self._owner.rungs[self._name]["note"] = text
        self._owner.flush()


class StoreProgress(LadderProgress):
    """Diagnose progress per rung, kept in the job's `progress` for the page to stream."""

    def __init__(self, store: Store, job_id: str) -> None:
        super().__init__(None)
        self.store, self.job_id = store, job_id
        self.rungs: dict[str, dict[str, Any]] = {}
        self._last = 0.0

    def flush(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last > 0.5:
            self._last = now
            self.store.update_job(self.job_id, progress={"rungs": self.rungs})

    def rung(self, name: str, total: int, done: int) -> RungBar:
        return _Bar(self, name, total, done)


class Worker:
    """Starts, stops and resumes jobs; one runs at a time."""

    def __init__(self) -> None:
        self._gate = threading.Lock()  # one job at a time
        self._stops: dict[str, threading.Event] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._closing = False

    def start(self, folder: Path, kind: str, options: dict[str, Any]) -> str:
        if kind not in KINDS:
            raise TunegateError(f"unknown job kind {kind!r}")
        store = Store(folder)
        try:
            job_id = store.add_job(kind, options, os.getpid())
        finally:
            store.close()
        self._launch(folder, job_id)
        return job_id

    def resume(self, folder: Path, job_id: str) -> None:
        store = Store(folder)
        try:
            job = store.job(job_id)
            if job.status not in RESUMABLE:
                raise TunegateError(f"job {job_id} is {job.status}; only a stopped one resumes")
            store.update_job(job_id, status="queued", note="", pid=os.getpid())
        finally:
            store.close()
        self._launch(folder, job_id, resume=True)

    def stop(self, job_id: str) -> bool:
        """Ask a job of this server to stop at its next step; False when none is running."""
        event = self._stops.get(job_id)
        if event is None:
            return False
        event.set()
        return True

    def running(self) -> list[str]:
        return [j for j, t in self._threads.items() if t.is_alive()]

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every job (training saves a checkpoint) and wait for them, within `timeout`."""
        self._closing = True
        for event in list(self._stops.values()):
            event.set()
        end = time.monotonic() + timeout
        for thread in list(self._threads.values()):
            thread.join(max(0.0, end - time.monotonic()))

    def _launch(self, folder: Path, job_id: str, resume: bool = False) -> None:
        stop = threading.Event()
        self._stops[job_id] = stop
        thread = threading.Thread(
            target=self._run, args=(folder, job_id, stop, resume), name=job_id, daemon=True
        )
        self._threads[job_id] = thread
        thread.start()

    def _run(self, folder: Path, job_id: str, stop: threading.Event, resume: bool) -> None:
        store = Store(folder)
        try:
            with self._gate:
                job = store.job(job_id)
                if stop.is_set():
                    store.update_job(job_id, status="stopped", note="stopped before it started")
                    return
                store.update_job(job_id, status="running", pid=os.getpid())
                try:
                    if job.kind == "diagnose":
                        _diagnose(folder, store, job)
                    else:
                        _train(folder, store, job, stop, resume)
                except TunegateError as exc:
                    store.update_job(job_id, status="failed", note=str(exc))
                except KeyboardInterrupt as exc:  # TrainInterrupted: the checkpoint is saved
                    status = "interrupted" if self._closing else "stopped"
                    store.update_job(job_id, status=status, note=str(exc))
                except Exception as exc:  # the page shows it; the server goes on
                    log.exception("job %s failed", job_id)
                    store.update_job(job_id, status="failed", note=f"{type(exc).__name__}: {exc}")
                else:
                    store.update_job(job_id, status="done")
        finally:
            store.close()
            self._stops.pop(job_id, None)


def _diagnose(folder: Path, store: Store, job: Job) -> None:
    from tunegate.ladder import DiagnoseOptions, diagnose

    opts = job.options
    result = diagnose(
        folder,
        DiagnoseOptions(rungs=opts.get("rungs") or None, limit=opts.get("limit")),
        progress=StoreProgress(store, job.id),
    )
    store.update_job(job.id, run_id=result.run_id)


def _train(folder: Path, store: Store, job: Job, stop: threading.Event, resume: bool) -> None:
    from tunegate.train import train
    from tunegate.train.loop import StepInfo

    seen: list[str] = []

    def on_step(info: StepInfo) -> None:
        if not seen:
            seen.append(info.run_id)
            store.update_job(job.id, run_id=info.run_id)
        store.update_job(job.id, progress={"step": info.step, "total": info.total})

    result = train(
        folder,
        job.options.get("preset") or None,
        job.options.get("overrides") or None,
        resume=resume,
        run_id=job.run_id if resume else None,
        show_progress=False,
        callback=on_step,
        should_stop=stop.is_set,
    )
    store.update_job(job.id, run_id=result.run_id)
