"""The Runs page lists every run in the store, whoever started it: here a `tunegate train` run
from a terminal, followed while it runs and then shown with its loss and validation-loss curves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml
from fastapi.testclient import TestClient

from conftest import ROOT
from tunegate.init import init_task
from tunegate.store import Store
from tunegate.web.app import create_app
from web.conftest import FAST_YAML, demo_slice


def test_a_cli_training_run_appears_with_its_curve(tmp_path: Path, tiny_llama: Path) -> None:
    ws = tmp_path / "ws"
    folder = ws / "tickets"
    (folder / "data").mkdir(parents=True)
    data = demo_slice(folder / "data" / "tickets.jsonl", blank=False)
    init_task(folder, from_data=data)
    spec = yaml.safe_load((folder / "tunegate.yaml").read_text())
    spec["model"] = str(tiny_llama)
    spec["train"] = yaml.safe_load(FAST_YAML)
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "tunegate", "train", str(folder), "--preset", "quick",
           "--no-progress"]  # fmt: skip
    seen: set[str] = set()
    with TestClient(create_app(ws)) as c:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            while proc.poll() is None:  # the page reads the store the CLI writes, while it runs
                rows = re.findall(r'data-kind="train">.*?class="status (\w+)"', c.get(
                    "/tasks/tickets/runs").text, re.S)  # fmt: skip
                seen.update(rows)
                time.sleep(0.3)
            out = proc.stdout.read().decode() if proc.stdout else ""
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, out
        with Store(folder) as store:
            (run,) = store.runs("train")
        listing = c.get("/tasks/tickets/runs").text
        row = re.search(rf'<tr data-run="{run.id}" data-kind="train">(.*?)</tr>', listing, re.S)
        assert row is not None, listing
        assert 'class="status done"' in row.group(1) and "8 steps" in row.group(1)
        assert "preset quick" in row.group(1) and "layers 1" in row.group(1)
        page = c.get(f"/tasks/tickets/runs/{run.id}").text
    assert seen <= {"running", "done"} and seen, seen
    assert '<span class="points">8</span>' in page  # one point per step
    assert page.count('<circle class="eval"') == 2  # validation every 4 of the 8 steps
    assert "<polyline" in page and 'id="run-status">done' in page
    assert "hx-trigger" not in page  # a finished run is not polled
