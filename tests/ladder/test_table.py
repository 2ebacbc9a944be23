"""The table, built from hand-made rung results with known figures and comparisons."""

from __future__ import annotations

from rich.console import Console

from tunegate.ladder.result import DiagnoseResult, RungResult
from tunegate.ladder.table import build_table, fmt_cell, render
from tunegate.outputs import ItemOutput, Metric, RungOutputs


def _rung(name: str, valid: float, acc: float, p95: float, errors: int = 0) -> RungResult:
    items = [ItemOutput(str(i), "x", "x", output_tokens=32 if i == 9 else 5,
                        error="boom" if i < errors else None) for i in range(10)]  # fmt: skip
    res = RungResult(name, f"{name} summary", RungOutputs(name, "m", items), [])
    res.metrics = [
        Metric("format.schema_valid", valid, valid - 0.1, min(valid + 0.1, 1.0), 10),
        Metric("knowledge.field_accuracy", acc, acc - 0.2, acc + 0.2, 10),
        Metric("latency.p95_ms", p95, p95 * 0.8, p95 * 1.3, 5, higher_is_better=False, unit="ms"),
        Metric("cost.per_month", 3.5, 3.0, 4.0, 10, higher_is_better=False, unit="$"),
    ]
    res.targets = {"min_schema_valid_rate": "meets" if valid > 0.9 else "fails",
                   "max_p95_latency_ms": "may meet"}  # fmt: skip
    return res


def _comparison(b: str, name: str, diff: float, p: float) -> dict[str, object]:
    real = p < 0.05
    better = (b if diff > 0 else "zero_shot") if real else None
    return {"name": name, "a": "zero_shot", "b": b, "n": 10, "a_value": 0.0, "b_value": diff,
            "diff": diff, "lo": diff - 0.1, "hi": diff + 0.1, "p_value": p, "test": "mcnemar",
            "real": real, "better": better, "higher_is_better": True}  # fmt: skip


def _result() -> DiagnoseResult:
    rungs = [_rung("zero_shot", 0.2, 0.3, 900), _rung("constrained", 1.0, 0.3, 1100, errors=2),
             _rung("rag", 1.0, 0.5, 1500)]  # fmt: skip
    rungs[1].parent, rungs[2].parent = "zero_shot", "constrained"
    res = DiagnoseResult("run-1", "demo", [str(i) for i in range(10)], rungs,
                         skipped={"rag": "no docs folder in the task (set `docs:`)"})  # fmt: skip
    res.primary = "knowledge.field_accuracy"
    res.max_tokens = 32
    res.comparisons = [
        _comparison("constrained", "format.schema_valid", 0.8, 0.0001),
        _comparison("constrained", "knowledge.field_accuracy", 0.0, 1.0),
        _comparison("constrained", "format.keys_extra", -0.5, 0.001),
        _comparison("rag", "knowledge.field_accuracy", 0.2, 0.01),
        {**_comparison("rag", "knowledge.field_accuracy", 0.2, 0.02), "a": "constrained"},
    ]
    return res


def test_table_data_best_per_signal_and_verdicts() -> None:
    table = build_table(_result())
    assert table["columns"] == ["format", "knowledge", "$/month", "p95 ms"]
    assert table["best"] == {
        "format": ["constrained", "rag"],
        "knowledge": ["rag"],
        "p95 ms": ["zero_shot"],
    }
    zero, con, rag = table["rows"]
    assert con["parent"] is None and con["vs_parent"] == []  # its parent is the baseline
    assert rag["parent"] == "constrained" and rag["vs_parent"][0]["p_value"] == 0.02
    assert zero["vs_baseline"] == [] and con["errors"] == 2
    assert [c["name"] for c in con["vs_baseline"]] == [
        "knowledge.field_accuracy",
        "format.schema_valid",
    ]
    assert con["cells"]["format"]["value"] == 1.0


def test_rendered_table_reads_as_the_story() -> None:
    console = Console(width=100, record=True)
    console.print(render(build_table(_result()), title="demo"))
    text = console.export_text()
    assert "0.20" in text and "[0.10–0.30]" in text and "[0.90–1.00]" in text
    assert "schema_valid" in text and "field_accuracy" in text
    assert "+0.80 better" in text and "(p<0.001)" in text
    assert "+0.00 no real diff" in text and "(p=1.000)" in text
    assert "format✓ p95~" in text and "format✗ p95~" in text
    assert (
        "answers cut at output.max_tokens (32): zero_shot 1/10, constrained 1/10, rag 1/10" in text
    )
    assert "skipped rag: no docs folder in the task (set `docs:`)" in text
    assert "best per signal — format: constrained, rag;" in text
    assert "constrained: +0.20 better" in text and "(p=0.020)" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_cell_formats() -> None:
    cell = {"value": 1234.4, "lo": 1000.0, "hi": 1500.6}
    assert fmt_cell(cell, "ms") == "1,234 [1,000–1,501]"
    assert fmt_cell({"value": 3.5, "lo": 3.0, "hi": 4.0}, "$", "\n") == "$3.50\n[$3.00–$4.00]"
    assert fmt_cell(None, "") == "—"
