"""`tunegate report --compare A B`: two diagnose runs side by side, with a paired test."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rich.console import Console

from report_store import TUNED, run_cli, rung_outputs, write_diagnose
from tunegate.data.split import load_dataset
from tunegate.report.compare import build_compare, print_comparison
from tunegate.spec import load_task, output_schema
from tunegate.store import Store


def two_runs(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path, minilm: Any
) -> tuple[Path, str, str]:
    """A copy of the store with run A (adapter on a quarter of the data, constrained) and run B
    (adapter on all of it, constrained with the same answers)."""
    folder = tmp_path / "copy"
    shutil.copytree(demo_store[0], folder)
    task, _ = load_task(folder)
    schema = output_schema(task, folder)
    examples = load_dataset(task, folder).test
    constrained = rung_outputs("constrained", examples, (0.55, 0.35, 0.5, 0.1), seed=1)
    store = Store(folder)
    a = write_diagnose(store, task, schema,
                       [constrained, rung_outputs("finetuned", examples, TUNED[0.25], seed=3)], minilm)  # fmt: skip
    b = write_diagnose(store, task, schema,
                       [constrained, rung_outputs("finetuned", examples, TUNED[1.0], seed=3),
                        rung_outputs("remote", examples, (0.97, 0.9, 0.97, 0.6), seed=3)], minilm)  # fmt: skip
    store.close()
    return folder, a, b


def test_compare_two_runs(
    demo_store: tuple[Path, dict[str, Any]], tmp_path: Path, minilm: Any
) -> None:
    folder, a, b = two_runs(demo_store, tmp_path, minilm)
    c, path = build_compare(folder, a, b)
    assert path == folder / ".tunegate" / f"compare-{a}-{b}.html"
    rows = {(r.rung, r.metric): r for r in c.rows}
    same = rows[("constrained", "knowledge.field_accuracy")]
    assert same.diff == 0 and same.test is not None and not same.test.real
    tuned = rows[("finetuned", "knowledge.field_accuracy")]
    assert tuned.a is not None and tuned.b is not None
    assert tuned.diff is not None and abs(tuned.diff - (tuned.b.value - tuned.a.value)) < 1e-12
    assert tuned.test is not None and tuned.test.n == 40 and tuned.test.test == "paired_permutation"
    assert tuned.test.real and tuned.test.better == b
    only_b = rows[("remote", "knowledge.field_accuracy")]
    assert only_b.a is None and only_b.diff is None and only_b.test is None
    assert ("finetuned", "cost.per_month") in rows and ("finetuned", "latency.p95_ms") in rows
    page = path.read_text()
    assert "Content-Security-Policy" in page and a in page and b in page
    console = Console(record=True, width=220)
    print_comparison(c, console)
    text = console.export_text()
    assert f"{b} better" in text and "no real difference" in text


def test_compare_cli(demo_store: tuple[Path, dict[str, Any]], tmp_path: Path, minilm: Any) -> None:
    folder, a, b = two_runs(demo_store, tmp_path, minilm)
    out = tmp_path / "cmp.html"
    proc = run_cli("report", str(folder), "--compare", a, b, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout and out.exists()
    bad = run_cli("report", str(folder), "--compare", a, "nope")
    assert bad.returncode == 2 and "no run 'nope'" in bad.stderr
