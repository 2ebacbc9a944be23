"""Fixtures for the web UI's tests: a demo slice to upload, and a `tunegate ui` subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import EXAMPLES, ROOT


def demo_slice(path: Path, rows: int = 60, blank: bool = True) -> Path:
    """The first `rows` support tickets as JSONL; with `blank`, row 3's message is empty (so
    Check has a problem with a row to link to)."""
    lines = (EXAMPLES / "support-tickets" / "data" / "train.jsonl").read_text().splitlines()[:rows]
    if blank:
        row = json.loads(lines[2])
        row["message"] = ""
        lines[2] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def slice_file(tmp_path: Path) -> Path:
    return demo_slice(tmp_path / "tickets.jsonl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def ui_server(workspace: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`tunegate ui` on 127.0.0.1:`port` in a subprocess; killed on exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tunegate", "ui", "--workspace", str(workspace),
             "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tunegate ui did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the demo task with a filled run store (check, train, the full ladder,
    and an earlier zero_shot run to compare with), written by the real writers; once a session."""
    from report_store import demo_task_folder, fill_store, rung_outputs, write_diagnose
    from tunegate.data.split import load_dataset
    from tunegate.signals.parse import CachedEncoder
    from tunegate.spec import load_task, output_schema
    from tunegate.store import Store

    ws = tmp_path_factory.mktemp("ws")
    encoder = CachedEncoder()
    fill_store(demo_task_folder(ws), encoder, curve=False)
    task, folder = load_task(ws / "support-tickets")
    examples = load_dataset(task, folder).test
    with Store(folder) as store:
        out = rung_outputs("zero_shot", examples, None, seed=7)
        write_diagnose(store, task, output_schema(task, folder), [out], encoder)
    return ws


CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Training settings that make a tiny-model run take seconds (as tests/train's FAST).
FAST_YAML = (
    "steps: 8\nbatch_size: 4\nlr: 0.02\neval_every: 4\ncheckpoint_every: 2\npatience: 0\n"
    "val_fraction: 0.25\nlayers: 1\nwarmup: 0\nschedule: constant\nthreads: 1\n"
)


def chromium() -> Path:
    """Debian's chromium for playwright (never a downloaded build); skip when either is missing."""
    import shutil

    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extras)")
    return CHROMIUM if CHROMIUM.exists() else Path(str(shutil.which("chromium")))
