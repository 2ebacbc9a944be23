"""The optimized rung on real local models: the search and the test evaluation through
`diagnose` with a tiny random Llama (fast), and on the embedded model through the CLI (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ladder_fakes import BagOfWords, make_label_task
from tunegate.ladder import DiagnoseOptions, diagnose
from tunegate.store import Store


def test_search_and_test_run_on_a_real_local_model(tmp_path: Path, tiny_llama: Path) -> None:
    folder = make_label_task(
        tmp_path, {"max_candidates": 3, "max_dev_items": 6}, model=str(tiny_llama)
    )
    result = diagnose(folder, DiagnoseOptions(rungs=["optimized"]), embedder=BagOfWords())
    opt = result.rung("optimized")
    assert opt is not None and len(opt.outputs.items) == 6 and opt.errors == 0
    store = Store(folder)
    search = store.latest("optimize")
    assert search is not None
    summary = store.result(search.id, "summary")
    assert len(summary["candidates"]) == 3 and summary["dev_items"] == 6
    if summary["winner"]["constrained"]:  # a constrained winner answers only labels
        valid = opt.metric("format.valid_label")
        assert valid is not None and valid.value == 1.0


@pytest.mark.slow
def test_optimized_on_the_demo_with_the_embedded_model(tmp_path: Path) -> None:
    """A small budget on the demo: the search prints its summary, the rung is measured beside
    few-shot constrained (its seed) and the winner exports."""
    from conftest import copy_example

    folder = copy_example("support-tickets", tmp_path)
    task = yaml.safe_load((folder / "tunegate.yaml").read_text())
    task["ladder"] = {"latency_samples": 1, "optimize": {"max_candidates": 3, "max_dev_items": 8}}
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(task, sort_keys=False))
    out = folder / "r.json"
    rungs = "few_shot_constrained,optimized"
    proc = subprocess.run(
        [sys.executable, "-m", "tunegate", "diagnose", str(folder), "--rungs", rungs]
        + ["--limit", "6", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "optimize: 3 candidates on up to 8 dev items" in proc.stderr.replace("\n", " ")
    result = json.loads(out.read_text())
    valid = next(
        m for m in result["results"]["optimized"]["metrics"] if m["name"] == "format.parse"
    )
    assert valid["n"] == 6
    assert any(c["b"] == "optimized" for c in result["comparisons"])
    exported = subprocess.run(
        [sys.executable, "-m", "tunegate", "export-prompt", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert exported.returncode == 0 and "prompt:" in exported.stdout
