"""`tunegate diagnose` end to end on the embedded model and the demo task: the demo's story.

Prompt-only, SmolLM2 invents its own JSON; constrained decoding makes every answer valid JSON
of the schema, while the fields the company's documents decide stay mostly wrong.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import copy_example


def _diagnose(folder: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = folder / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tunegate", "diagnose", str(folder), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, json.loads(out.read_text())


def _demo(tmp_path: Path, **ladder: int) -> Path:
    """A copy of the demo task (no run store), with ladder settings overridden."""
    folder = copy_example("support-tickets", tmp_path)
    task_file = folder / "tunegate.yaml"
    task = yaml.safe_load(task_file.read_text(encoding="utf-8"))
    task.setdefault("ladder", {}).update(ladder)
    task_file.write_text(yaml.safe_dump(task, sort_keys=False), encoding="utf-8")
    return folder


def _metric(result: dict[str, Any], rung: str, name: str) -> dict[str, Any]:
    return next(m for m in result["results"][rung]["metrics"] if m["name"] == name)


def test_zero_shot_fails_the_schema_constrained_fixes_format_not_content(tmp_path: Path) -> None:
    folder = _demo(tmp_path, latency_samples=0)  # batch only: timing is tested with fakes
    proc, result = _diagnose(folder, "--limit", "3", "--rungs", "zero_shot,constrained")
    assert "zero_shot" in proc.stdout and "constrained" in proc.stdout
    assert "diagnose wall time" in proc.stdout
    zero = _metric(result, "zero_shot", "format.schema_valid")
    con = _metric(result, "constrained", "format.schema_valid")
    assert zero["n"] == 3 and zero["value"] < 0.5
    assert con["value"] == 1.0 and con["lo"] < con["value"] <= con["hi"]
    assert _metric(result, "constrained", "knowledge.field_accuracy")["value"] < 0.85
    assert result["results"]["constrained"]["outputs"]["throughput_tok_s"] > 0
    # A second run answers from the store: no model needed, same answers.
    _, again = _diagnose(folder, "--limit", "3", "--rungs", "zero_shot,constrained")
    for rung in ("zero_shot", "constrained"):
        texts = [it["text"] for it in result["results"][rung]["outputs"]["items"]]
        assert texts == [it["text"] for it in again["results"][rung]["outputs"]["items"]]


@pytest.mark.slow
def test_every_local_rung_on_the_demo(tmp_path: Path) -> None:
    folder = _demo(tmp_path)
    proc, result = _diagnose(folder, "--limit", "40")
    print(proc.stdout)
    assert result["skipped"]["finetuned"].startswith("no trained adapter")
    rungs = set(result["results"])
    assert rungs == {"zero_shot", "few_shot_fixed", "few_shot", "constrained",
                     "few_shot_constrained", "rag"}  # fmt: skip
    for rung in ("constrained", "few_shot_constrained", "rag"):
        assert _metric(result, rung, "format.schema_valid")["value"] == 1.0
    assert _metric(result, "zero_shot", "format.schema_valid")["value"] < 0.5
    tokens = {r: _metric(result, r, "cost.input_tokens")["value"] for r in rungs}
    assert tokens["few_shot"] > tokens["zero_shot"] and tokens["rag"] > tokens["constrained"]
