"""The run store: one SQLite file in the task folder holding runs, stage results, cached model
outputs, training metrics and artifact paths, so reports rebuild and runs resume without a model.

Every write is its own transaction (SQLite's journal makes it atomic); WAL mode lets a web UI
read while a job writes. The schema carries a version; opening a newer one is refused, an older
one is upgraded in place (version 2 added the `jobs` table: the web UI's background jobs, so a
restarted server knows what was running and where it was).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError

SCHEMA_VERSION = 2
STORE_DIR = ".tunegate"
STORE_FILE = "runs.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, config TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL, note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, payload TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS outputs (
    key TEXT PRIMARY KEY, run_id TEXT, rung TEXT NOT NULL, example_id TEXT NOT NULL,
    payload TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(id), step INTEGER NOT NULL, name TEXT NOT NULL,
    value REAL NOT NULL, created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, name, step);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, path TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, options TEXT NOT NULL,
    progress TEXT NOT NULL DEFAULT '{}', run_id TEXT, note TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL, created REAL NOT NULL, updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Run:
    id: str
    kind: str
    status: str
    config: dict[str, Any]
    created: float
    updated: float
    note: str


@dataclass(frozen=True)
class Job:
    """A background job of the web UI: what was asked (options), where it is (progress), which
    run it made, and the process that runs it (pid), so a restart can tell a dead one."""

    id: str
    kind: str
    status: str  # queued | running | done | failed | stopped | interrupted
    options: dict[str, Any]
    progress: dict[str, Any]
    run_id: str | None
    note: str
    pid: int
    created: float
    updated: float


class Store:
    """Open (creating if needed) the store of a task folder, or an explicit .sqlite path."""

    def __init__(self, path: str | Path) -> None:
        p = Path(path)
        if p.suffix != ".sqlite":
            p = p / STORE_DIR / STORE_FILE
        p.parent.mkdir(parents=True, exist_ok=True)
        self.path = p
        self.root = p.parent
        self._db = sqlite3.connect(p, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row["value"]) > SCHEMA_VERSION:
            raise TunegateError(
                f"store schema version {row['value']} is newer than this tunegate ({SCHEMA_VERSION}); upgrade",
                str(p),
            )
        elif int(row["value"]) < SCHEMA_VERSION:  # older tables are kept; new ones were created
            self._db.execute(
                "UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),)
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # runs ------------------------------------------------------------------
    def start_run(self, kind: str, config: dict[str, Any], run_id: str | None = None) -> str:
        """Record a new run (status `running`); return its id (kind-timestamp-random)."""
        rid = run_id or f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs VALUES (?, ?, 'running', ?, ?, ?, '')",
                (rid, kind, json.dumps(config, default=str), now, now),
            )
        return rid

    def set_status(self, run_id: str, status: str, note: str = "") -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status=?, note=?, updated=? WHERE id=?",
                (status, note, time.time(), run_id),
            )

    def run(self, run_id: str) -> Run:
        row = self._db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise TunegateError(f"no run {run_id!r} in the store", str(self.path))
        return _run(row)

    def runs(self, kind: str | None = None) -> list[Run]:
        """Runs, newest first."""
        q, args = "SELECT * FROM runs", tuple[str, ...]()
        if kind:
            q, args = q + " WHERE kind=?", (kind,)
        return [_run(r) for r in self._db.execute(q + " ORDER BY created DESC, rowid DESC", args)]

    def latest(self, kind: str, status: str | None = "done") -> Run | None:
        for r in self.runs(kind):
            if status is None or r.status == status:
                return r
        return None

    # results ---------------------------------------------------------------
    def put_result(self, run_id: str, name: str, payload: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)",
                (run_id, name, json.dumps(payload, default=str), time.time()),
            )

    def result(self, run_id: str, name: str) -> Any:
        row = self._db.execute(
            "SELECT payload FROM results WHERE run_id=? AND name=?", (run_id, name)
        ).fetchone()
        return None if row is None else json.loads(row["payload"])

    def results(self, run_id: str) -> dict[str, Any]:
        rows = self._db.execute(
            "SELECT name, payload FROM results WHERE run_id=? ORDER BY created", (run_id,)
        )
        return {r["name"]: json.loads(r["payload"]) for r in rows}

    # cached outputs --------------------------------------------------------
    def put_outputs(
        self, rows: Iterable[tuple[str, str, str, dict[str, Any]]], run_id: str | None = None
    ) -> None:
        """Cache model outputs: (key, rung, example_id, payload) each, in one transaction."""
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)",
                [(k, run_id, rung, ex, json.dumps(p), now) for k, rung, ex, p in rows],
            )

    def outputs(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cached payloads for the keys that have one."""
        found: dict[str, dict[str, Any]] = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self._db.execute(
                f"SELECT key, payload FROM outputs WHERE key IN ({marks})", chunk
            ):
                found[r["key"]] = json.loads(r["payload"])
        return found

    # metrics and artifacts -------------------------------------------------
    def log_metrics(self, run_id: str, step: int, values: dict[str, float]) -> None:
        now = time.time()
        with self._tx() as db:
            db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?, ?, ?)",
                [(run_id, step, k, float(v), now) for k, v in values.items()],
            )

    def metrics(self, run_id: str, name: str | None = None) -> list[tuple[int, str, float]]:
        q = "SELECT step, name, value FROM metrics WHERE run_id=?"
        args: tuple[Any, ...] = (run_id,)
        if name:
            q, args = q + " AND name=?", (run_id, name)
        return [
            (r["step"], r["name"], r["value"])
            for r in self._db.execute(q + " ORDER BY step, rowid", args)
        ]

    def truncate_metrics(self, run_id: str, after_step: int) -> None:
        """Drop metrics logged after a checkpoint's step (a resumed run logs them again)."""
        with self._tx() as db:
            db.execute("DELETE FROM metrics WHERE run_id=? AND step>?", (run_id, after_step))

    def put_artifact(self, run_id: str, name: str, path: str | Path) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?)",
                (run_id, name, str(path), time.time()),
            )

    def artifacts(self, run_id: str) -> dict[str, str]:
        rows = self._db.execute("SELECT name, path FROM artifacts WHERE run_id=?", (run_id,))
        return {r["name"]: r["path"] for r in rows}

    # jobs (the web UI's background work) -----------------------------------
    def add_job(self, kind: str, options: dict[str, Any], pid: int) -> str:
        """Record a queued job; return its id."""
        jid = f"job-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO jobs VALUES (?, ?, 'queued', ?, '{}', NULL, '', ?, ?, ?)",
                (jid, kind, json.dumps(options, default=str), pid, now, now),
            )
        return jid

    def update_job(
        self,
        job_id: str,
        *,
        status: str | None = None,
        progress: dict[str, Any] | None = None,
        run_id: str | None = None,
        note: str | None = None,
        pid: int | None = None,
    ) -> None:
        """Change the given fields of a job (the others stay)."""
        sets: list[str] = ["updated=?"]
        args: list[Any] = [time.time()]
        for column, value in (("status", status), ("run_id", run_id), ("note", note),
                              ("pid", pid)):  # fmt: skip
            if value is not None:
                sets.append(f"{column}=?")
                args.append(value)
        if progress is not None:
            sets.append("progress=?")
            args.append(json.dumps(progress, default=str))
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id=?", (*args, job_id))

    def job(self, job_id: str) -> Job:
        row = self._db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise TunegateError(f"no job {job_id!r} in the store", str(self.path))
        return _job(row)

    def jobs(self, kind: str | None = None) -> list[Job]:
        """Jobs, newest first."""
        q, args = "SELECT * FROM jobs", tuple[str, ...]()
        if kind:
            q, args = q + " WHERE kind=?", (kind,)
        return [_job(r) for r in self._db.execute(q + " ORDER BY created DESC, rowid DESC", args)]


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        options=json.loads(row["options"]),
        progress=json.loads(row["progress"]),
        run_id=row["run_id"],
        note=row["note"],
        pid=row["pid"],
        created=row["created"],
        updated=row["updated"],
    )


def _run(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        config=json.loads(row["config"]),
        created=row["created"],
        updated=row["updated"],
        note=row["note"],
    )
