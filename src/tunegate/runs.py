"""Run queries: "the newest finished run of kind X with settings Y", said once.

Every stage that looks up an earlier run (the ladder's adapter, the report's learning curve, the
server's task alias, resume, the demo) asks here rather than filtering `Store.runs` by hand, so
the rules (a learning curve's runs are not the task's main runs; "the latest adapter") agree.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tunegate.errors import TunegateError
from tunegate.spec import Task, load_task
from tunegate.store import Run, Store

# the statuses of a run that stopped before finishing and may be resumed
RESUMABLE = ("running", "interrupted", "failed")


def finished(
    store: Store,
    kind: str,
    *,
    curve: bool | None = None,
    where: Callable[[Run], bool] | None = None,
) -> list[Run]:
    """Finished runs of `kind`, newest first. `curve` False keeps the task's main runs, True only
    a learning curve's (their config carries its tag); `where` filters further."""
    return [
        r
        for r in store.runs(kind)
        if r.status == "done"
        and (curve is None or bool(r.config.get("curve")) == curve)
        and (where is None or where(r))
    ]


def newest(
    store: Store,
    kind: str,
    *,
    curve: bool | None = None,
    where: Callable[[Run], bool] | None = None,
) -> Run | None:
    """The newest of `finished(...)`, or None."""
    return next(iter(finished(store, kind, curve=curve, where=where)), None)


def resumable(store: Store, kind: str) -> list[Run]:
    """Runs of `kind` that stopped before finishing, newest first."""
    return [r for r in store.runs(kind) if r.status in RESUMABLE]


def whole_split(run: Run) -> bool:
    """Trained on the whole train split (not a learning curve's smaller fraction)."""
    return float(run.config.get("fraction") or 1.0) >= 1.0


def adapter_path(store: Store, run: Run) -> Path | None:
    """A finished training run's adapter folder on disk (a relative artifact path is read against
    the task folder, then the store folder), or None."""
    if run.kind != "train" or run.status != "done":
        return None
    path = store.artifacts(run.id).get("adapter")
    if not path:
        return None
    for candidate in (Path(path), store.root.parent / path, store.root / path):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def adapters(store: Store) -> list[tuple[str, Path]]:
    """(run id, adapter folder) of every finished training run with an adapter on disk, newest
    first."""
    return [(r.id, p) for r in finished(store, "train") if (p := adapter_path(store, r))]


def pick_adapter(
    store: Store, run_id: str | None = None, before: float | None = None
) -> tuple[str, Path] | None:
    """The one rule for "the latest adapter", used by diagnose's fine-tuned rung, the report,
    the server's task alias and export: the run `run_id` if given; else the newest finished
    training run with an adapter on disk that was trained on the whole train split; else the
    newest finished one (a learning curve's fractions only). `before` (a time) ignores runs
    that finished later. None when there is none."""
    if run_id is not None:
        path = adapter_path(store, store.run(run_id))
        return (run_id, path) if path is not None else None
    found = [
        (run, path)
        for run in finished(store, "train", where=lambda r: before is None or r.updated <= before)
        if (path := adapter_path(store, run)) is not None
    ]
    best = next((f for f in found if whole_split(f[0])), found[0] if found else None)
    return (best[0].id, best[1]) if best else None


def latest_adapter(
    task: Task | str | Path, folder: Path | None = None, run_id: str | None = None
) -> tuple[str, Path]:
    """(run id, adapter folder) by `pick_adapter`'s rule; a one-line error when there is none."""
    if not isinstance(task, Task):
        _, folder = load_task(task)
    assert folder is not None
    with Store(folder) as store:
        found = pick_adapter(store, run_id)
    if found is None and run_id is None:
        raise TunegateError("no finished training run; run `tunegate train` first", str(folder))
    if found is None:
        raise TunegateError(f"run {run_id} has no adapter on disk", str(folder))
    return found
