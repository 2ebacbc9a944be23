"""The diagnose table: rungs x signals with 95% intervals, the best rung per signal, each rung's
paired-test verdict against the baseline, and the targets it meets.

`build_table` makes it as data (stored, and in `--json`); `render` draws it with rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tunegate.ladder.result import DiagnoseResult, RungResult

# (column, candidate metric names: the first one a rung has is shown, unit)
FORMAT_METRICS = ("format.schema_valid", "format.valid_label", "format.nonempty")
SIGNAL_COLUMNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("format", FORMAT_METRICS, ""),
    ("knowledge", (), ""),  # the task's primary metric
    ("style", ("style.similarity",), ""),
    ("tokens in", ("cost.input_tokens",), "tok"),
    ("$/month", ("cost.per_month",), "$"),
    ("p95 ms", ("latency.p95_ms",), "ms"),
)
TARGET_NAMES = {
    "min_accuracy": "accuracy",
    "min_schema_valid_rate": "format",
    "min_similarity": "similarity",
    "min_style_similarity": "style",
    "max_p95_latency_ms": "p95",
    "max_cost_per_month": "cost",
}
STATUS_MARK = {"meets": "✓", "may meet": "~", "fails": "✗", "not measured": "?"}


def _cell(r: RungResult, names: tuple[str, ...]) -> dict[str, Any] | None:
    for name in names:
        m = r.metric(name)
        if m is not None:
            return {"metric": name, "value": m.value, "lo": m.lo, "hi": m.hi, "n": m.n,
                    "higher_is_better": m.higher_is_better}  # fmt: skip
    return None


def _verdicts(result: DiagnoseResult, rung: str, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for c in result.comparisons:
        if c["b"] == rung and c["name"] in names:
            out.append(c)
    out.sort(key=lambda c: names.index(c["name"]))
    return out


def build_table(result: DiagnoseResult) -> dict[str, Any]:
    """The table as data: columns, one row per rung, the best rung per column."""
    primary = result.primary or ""
    columns = [
        (col, (primary,) if col == "knowledge" else names, unit)
        for col, names, unit in SIGNAL_COLUMNS
    ]
    rows: list[dict[str, Any]] = []
    for r in result.rungs:
        cells = {col: _cell(r, names) for col, names, _ in columns}
        shown = [c["metric"] for c in (cells["knowledge"], cells["format"]) if c]
        rows.append(
            {
                "rung": r.rung,
                "summary": r.summary,
                "n": len(r.outputs.items),
                "errors": r.errors,
                "cells": cells,
                "vs_baseline": _verdicts(result, r.rung, shown),
                "targets": r.targets,
            }
        )
    best: dict[str, list[str]] = {}
    for col, _, _ in columns:
        vals = [(row["rung"], row["cells"][col]) for row in rows if row["cells"][col]]
        if len(vals) < 2:
            continue
        sign = 1 if vals[0][1]["higher_is_better"] else -1
        top = max(sign * v["value"] for _, v in vals)
        winners = [name for name, v in vals if sign * v["value"] == top]
        if len(winners) < len(vals):  # a column where every rung ties has no best
            best[col] = winners
    used = [col for col, _, _ in columns if any(row["cells"][col] for row in rows)]
    return {"primary": primary, "columns": used, "rows": rows, "best": best,
            "skipped": result.skipped, "wall_s": result.wall_s}  # fmt: skip


def fmt_value(v: float, unit: str) -> str:
    if unit == "$":
        return f"${v:,.2f}" if abs(v) < 100 else f"${v:,.0f}"
    if unit in ("ms", "tok"):
        return f"{v:,.0f}"
    return f"{v:.2f}"


def fmt_cell(cell: dict[str, Any] | None, unit: str) -> str:
    if cell is None:
        return "—"
    lo, hi = fmt_value(cell["lo"], unit), fmt_value(cell["hi"], unit)
    return f"{fmt_value(cell['value'], unit)} [{lo}–{hi}]"


def fmt_verdict(c: dict[str, Any]) -> str:
    short = c["name"].split(".")[-1]
    word = ("better" if c["better"] == c["b"] else "worse") if c["real"] else "no real diff"
    p = "p<0.001" if c["p_value"] < 0.001 else f"p={c['p_value']:.3f}"
    return f"{short} {c['diff']:+.2f} {word} ({p})"


def fmt_targets(targets: dict[str, str]) -> str:
    return " ".join(
        f"{TARGET_NAMES.get(t, t)}{STATUS_MARK.get(s, '?')}" for t, s in targets.items()
    )


def render(table: dict[str, Any], title: str = "") -> Any:
    """A rich renderable: the table, then the best rung per signal and the skipped rungs."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    units = {col: unit for col, _, unit in SIGNAL_COLUMNS}
    t = Table(title=title or None, show_lines=False, header_style="bold")
    t.add_column("rung", no_wrap=True)
    t.add_column("n", justify="right")
    t.add_column("err", justify="right")
    for col in table["columns"]:
        label = f"knowledge ({table['primary'].split('.', 1)[-1]})" if col == "knowledge" else col
        t.add_column(label, justify="right")
    baseline = next((row["rung"] for row in table["rows"] if not row["vs_baseline"]), "baseline")
    t.add_column(f"vs {baseline} (paired)")
    if any(row["targets"] for row in table["rows"]):
        t.add_column("targets")
    for row in table["rows"]:
        cells = []
        for col in table["columns"]:
            text = fmt_cell(row["cells"][col], units[col])
            top = row["rung"] in table["best"].get(col, [])
            cells.append(Text(text, style="bold green" if top else ""))
        verdict = "\n".join(fmt_verdict(c) for c in row["vs_baseline"]) or "—"
        extra = [fmt_targets(row["targets"])] if any(r["targets"] for r in table["rows"]) else []
        t.add_row(row["rung"], str(row["n"]), str(row["errors"]), *cells, verdict, *extra)
    lines = []
    if table["best"]:
        best = "; ".join(f"{col}: {', '.join(names)}" for col, names in table["best"].items())
        lines.append(Text(f"best per signal — {best}"))
    for name, reason in table["skipped"].items():
        lines.append(Text(f"skipped {name}: {reason}", style="dim"))
    lines.append(
        Text("intervals are 95% CIs; ✓ meets (CI bound), ~ may meet (point), ✗ fails", style="dim")
    )
    return Group(t, *lines)
