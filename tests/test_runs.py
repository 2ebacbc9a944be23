"""Run queries: finished runs newest first, a learning curve's runs told apart, resumable runs,
and adapters found on disk. (`pick_adapter`'s rule everywhere: tests/train/test_api.py.)"""

from __future__ import annotations

from pathlib import Path

from tunegate.runs import adapter_path, adapters, finished, newest, pick_adapter, resumable
from tunegate.store import Store


def test_finished_runs_newest_first_with_or_without_a_curve(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        old = store.start_run("diagnose", {"limit": 5})
        curve = store.start_run("diagnose", {"curve": "curve-1"})
        running = store.start_run("diagnose", {})
        new = store.start_run("diagnose", {"limit": 9})
        for rid in (old, curve, new):
            store.set_status(rid, "done")
        store.start_run("check", {})
        assert [r.id for r in finished(store, "diagnose")] == [new, curve, old]
        assert [r.id for r in finished(store, "diagnose", curve=False)] == [new, old]
        assert [r.id for r in finished(store, "diagnose", curve=True)] == [curve]
        limited = newest(store, "diagnose", where=lambda r: r.config.get("limit") == 5)
        assert limited is not None and limited.id == old
        assert newest(store, "train") is None
        assert running not in [r.id for r in finished(store, "diagnose")]


def test_resumable_runs_are_the_ones_that_stopped(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        done, failed, stopped = (store.start_run("train", {}) for _ in range(3))
        store.set_status(done, "done")
        store.set_status(failed, "failed")
        store.set_status(stopped, "interrupted")
        running = store.start_run("train", {})
        assert [r.id for r in resumable(store, "train")] == [running, stopped, failed]


def test_adapters_on_disk_only(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        kept, gone, partial = (store.start_run("train", {"fraction": f}) for f in (1.0, 1.0, 0.5))
        (tmp_path / "kept").mkdir()
        (tmp_path / "partial").mkdir()
        store.put_artifact(kept, "adapter", tmp_path / "kept")
        store.put_artifact(gone, "adapter", tmp_path / "missing")
        store.put_artifact(partial, "adapter", "partial")  # relative to the task folder
        for rid in (kept, gone, partial):
            store.set_status(rid, "done")
        assert adapter_path(store, store.run(gone)) is None
        assert adapters(store) == [
            (partial, (tmp_path / "partial").resolve()),
            (kept, (tmp_path / "kept").resolve()),
        ]
        # the newest whole-split run wins over a newer learning-curve fraction
        assert pick_adapter(store) == (kept, (tmp_path / "kept").resolve())
        assert pick_adapter(store, partial) == (partial, (tmp_path / "partial").resolve())
