"""`tunegate export-prompt`: the winning prompt as YAML/JSON from the store; one-line error
when no optimized run exists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from ladder_fakes import BagOfWords, ScriptedGenerator, make_label_task, optimize_answer
from tunegate.ladder import DiagnoseOptions, Generators, diagnose
from tunegate.ladder.export_prompt import export_prompt
from tunegate.spec import parse_task


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tunegate", *args], capture_output=True, text=True, timeout=120
    )


def test_export_prompt_writes_the_winner_and_errors_without_a_search(tmp_path: Path) -> None:
    folder = make_label_task(tmp_path)
    proc = cli("export-prompt", str(folder))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no optimized run yet" in lines[0], proc.stderr
    assert "--rungs optimized" in lines[0]

    diagnose(
        folder,
        DiagnoseOptions(rungs=["optimized"]),
        generators=Generators(local=lambda: ScriptedGenerator(optimize_answer)),
        embedder=BagOfWords(),
        measure=False,
    )
    out = tmp_path / "prompt.yaml"
    proc = cli("export-prompt", str(folder), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert text.startswith("# tunegate export-prompt: the optimized rung's winner (expert/")
    data = yaml.safe_load(text)
    assert data["prompt"]["system"].startswith("You are a meticulous expert annotator.")
    spelled = "/spelled/" in data["candidate"]
    assert ("billing, login, shipping" in data["prompt"]["system"]) == spelled
    assert data["prompt"]["user"] == "Message: {message}"
    assert data["few_shot"]["k"] == 2 and data["few_shot"]["selection"] == "similar"
    assert isinstance(data["constrained"], bool) and data["dev_score"] == 1.0
    # The prompt block pastes into tunegate.yaml as is.
    task = yaml.safe_load((folder / "tunegate.yaml").read_text())
    task["prompt"] = data["prompt"]
    assert parse_task(task).prompt.system == data["prompt"]["system"]

    js = tmp_path / "prompt.json"
    export_prompt(folder, js)
    assert json.loads(js.read_text())["candidate"] == data["candidate"]
    assert yaml.safe_load(export_prompt(folder)) == data
