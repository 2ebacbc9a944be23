"""The diagnose table: rungs x signals with 95% intervals, the best rung per signal, each rung's
paired-test verdict against the baseline, and the targets it meets.

`build_table` makes it as data (stored, and in `--json`); `render` draws it with rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunegate.outputs import FORMAT_METRICS

if TYPE_CHECKING:
    from tunegate.ladder.result import DiagnoseResult, RungResult

# (column, candidate metric names: the first one a rung has is shown, unit)
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


def _verdicts(
    result: DiagnoseResult, a: str | None, b: str, names: list[str]
) -> list[dict[str, Any]]:
    """The comparisons of rung b against rung a on `names`, in that order."""
    found = [c for c in result.comparisons if c["a"] == a and c["b"] == b and c["name"] in names]
    return sorted(found, key=lambda c: names.index(c["name"]))


def _cut(r: RungResult, max_tokens: int | None) -> int:
    """Answers that stopped at the output budget (cut mid-answer, unless it ended right there)."""
    if not max_tokens:
        return 0
    return sum(1 for it in r.outputs.items if it.error is None and it.output_tokens >= max_tokens)


def build_table(result: DiagnoseResult) -> dict[str, Any]:
    """The table as data: columns, one row per rung, the best rung per column."""
    primary = result.primary or ""
    columns = [
        (col, (primary,) if col == "knowledge" else names, unit)
        for col, names, unit in SIGNAL_COLUMNS
    ]
    names = {r.rung for r in result.rungs}
    baseline = "zero_shot" if "zero_shot" in names else (result.rungs[0].rung if names else None)
    rows: list[dict[str, Any]] = []
    for r in result.rungs:
        cells = {col: _cell(r, names) for col, names, _ in columns}
        shown = [c["metric"] for c in (cells["knowledge"], cells["format"]) if c]
        parent = r.parent if r.parent in names and r.parent != baseline else None
        rows.append(
            {
                "rung": r.rung,
                "summary": r.summary,
                "n": len(r.outputs.items),
                "errors": r.errors,
                "cut": _cut(r, result.max_tokens),
                "cells": cells,
                "vs_baseline": _verdicts(result, baseline, r.rung, shown),
                "parent": parent,
                "vs_parent": _verdicts(result, parent, r.rung, [primary]) if parent else [],
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
    return {"primary": primary, "baseline": baseline, "columns": used, "rows": rows,
            "best": best, "skipped": result.skipped, "max_tokens": result.max_tokens,
            "wall_s": result.wall_s}  # fmt: skip


def fmt_value(v: float, unit: str) -> str:
    if unit == "$":
        return f"${v:,.2f}" if abs(v) < 100 else f"${v:,.0f}"
    if unit in ("ms", "tok"):
        return f"{v:,.0f}"
    return f"{v:.2f}"


def fmt_cell(cell: dict[str, Any] | None, unit: str, sep: str = " ") -> str:
    """`value [lo–hi]` (`sep` "\n" puts the interval on its own line)."""
    if cell is None:
        return "—"
    lo, hi = fmt_value(cell["lo"], unit), fmt_value(cell["hi"], unit)
    return f"{fmt_value(cell['value'], unit)}{sep}[{lo}–{hi}]"


def fmt_verdict(c: dict[str, Any], sep: str = " ") -> str:
    """`+0.67 better (p<0.001)`: the paired difference vs the baseline and the test's verdict."""
    word = ("better" if c["better"] == c["b"] else "worse") if c["real"] else "no real diff"
    p = "p<0.001" if c["p_value"] < 0.001 else f"p={c['p_value']:.3f}"
    return f"{c['diff']:+.2f} {word}{sep}({p})"


def fmt_targets(targets: dict[str, str]) -> str:
    return " ".join(
        f"{TARGET_NAMES.get(t, t)}{STATUS_MARK.get(s, '?')}" for t, s in targets.items()
    )


def _header(col: str, table: dict[str, Any]) -> str:
    if col == "knowledge":
        return f"knowledge\n{table['primary'].split('.', 1)[-1]}"
    if col == "format":
        names = {c["metric"] for row in table["rows"] if (c := row["cells"]["format"])}
        return f"format\n{'/'.join(sorted(n.split('.', 1)[-1] for n in names))}"
    return col


def render(table: dict[str, Any], title: str = "") -> Any:
    """Rich renderables: rungs x signals (95% CIs, best in green), then each rung's paired
    tests against the baseline and its targets, then the best rung per signal and the skips."""
    from rich.box import SIMPLE_HEAD
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    units = {col: unit for col, _, unit in SIGNAL_COLUMNS}
    signals = Table(title=title or None, header_style="bold", title_justify="left", box=SIMPLE_HEAD)
    signals.add_column("rung", no_wrap=True)
    signals.add_column("err", justify="right", no_wrap=True, min_width=2)
    for col in table["columns"]:
        signals.add_column(_header(col, table), justify="right", no_wrap=True)
    for row in table["rows"]:
        cells = []
        for col in table["columns"]:
            top = row["rung"] in table["best"].get(col, [])
            cells.append(Text(fmt_cell(row["cells"][col], units[col], "\n"),
                              style="bold green" if top else ""))  # fmt: skip
        signals.add_row(row["rung"], str(row["errors"]), *cells)
    parts: list[Any] = [signals]

    compared = [row for row in table["rows"] if row["vs_baseline"] or row["vs_parent"]]
    with_targets = any(row["targets"] for row in table["rows"])
    if compared or with_targets:
        tests = Table(header_style="bold", box=SIMPLE_HEAD)
        tests.add_column("rung", no_wrap=True)
        names = list(dict.fromkeys(c["name"] for row in compared for c in row["vs_baseline"]))
        for name in names:
            tests.add_column(f"{name.split('.', 1)[-1]}\nvs {table['baseline']}", no_wrap=True)
        with_parent = any(row["vs_parent"] for row in compared)
        if with_parent:
            short = table["primary"].split(".", 1)[-1]
            tests.add_column(f"{short}\nvs the rung below", no_wrap=True)
        if with_targets:
            tests.add_column("targets\n(✓ meets ~ may ✗ fails)")
        for row in table["rows"]:
            by_name = {c["name"]: c for c in row["vs_baseline"]}
            verdicts = [fmt_verdict(by_name[n], "\n") if n in by_name else "—" for n in names]
            if with_parent:
                vp = row["vs_parent"]
                verdicts.append(f"{row['parent']}: {fmt_verdict(vp[0], chr(10))}" if vp else "—")
            if with_targets:
                verdicts.append(fmt_targets(row["targets"]))
            tests.add_row(row["rung"], *verdicts)
        parts.append(tests)
    if table["best"]:
        best = "; ".join(f"{col}: {', '.join(names)}" for col, names in table["best"].items())
        parts.append(Text(f"best per signal — {best}"))
    cut = [f"{row['rung']} {row['cut']}/{row['n']}" for row in table["rows"] if row["cut"]]
    if cut:
        parts.append(Text(f"answers cut at output.max_tokens ({table['max_tokens']}): "
                          f"{', '.join(cut)} (a cut JSON answer cannot be valid, even "
                          "constrained: raise output.max_tokens if they should finish)",
                          style="yellow"))  # fmt: skip
    for name, reason in table["skipped"].items():
        parts.append(Text(f"skipped {name}: {reason}", style="dim"))
    parts.append(Text("[lo–hi]: 95% confidence interval; differences are paired tests on the "
                      "same items", style="dim"))  # fmt: skip
    return Group(*parts)
