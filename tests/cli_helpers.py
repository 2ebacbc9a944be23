"""Run the `tunegate` CLI in-process, as a user would, and return (exit code, stdout, stderr)."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tunegate.cli import main


def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["tunegate", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def kill_when_stored(args: list[str], db: Path, at_least: int, timeout_s: float = 120) -> set[str]:
    """Run `tunegate ARGS` in a subprocess and SIGKILL it once the run store at `db` holds
    `at_least` outputs (or it exits, or `timeout_s` passes); return the example ids stored.
    The kill lands mid-run, as a power cut would: what survives is what was committed."""
    proc = subprocess.Popen([sys.executable, "-m", "tunegate", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    stored, deadline = 0, time.time() + timeout_s
    while stored < at_least and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if db.exists():
            with contextlib.suppress(sqlite3.OperationalError):
                con = sqlite3.connect(db)
                stored = con.execute("SELECT COUNT(*) FROM outputs").fetchone()[0]
                con.close()
    proc.kill()
    _, err = proc.communicate()
    con = sqlite3.connect(db)
    kept = {r[0] for r in con.execute("SELECT example_id FROM outputs")}
    con.close()
    assert len(kept) >= at_least, err
    return kept
