"""`tunegate report --compare A B`: two diagnose runs side by side, rung by rung.

For each rung in either run and each key figure (format, the primary knowledge figure, style,
cost per month, p95 latency): A's value with its CI, B's, and B − A. The knowledge figure also
gets a paired test over the items both runs answered (McNemar for label accuracy, a paired
permutation test for JSON field accuracy or text token F1; per-item scores computed from the
stored outputs, without a model), so "B is better" is said only when the data support it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunegate import atomic
from tunegate.data.examples import label_set
from tunegate.ladder.result import DiagnoseResult, RungResult, load
from tunegate.outputs import FORMAT_METRICS, Metric
from tunegate.report.failures import SCORE_NAME, item_scores
from tunegate.report.html import CSP, CSS, e, fmt_metric
from tunegate.signals import primary_metric
from tunegate.signals.scores import item_keys
from tunegate.signals.stats import Comparison, compare_binary, compare_continuous
from tunegate.spec import Task, load_task, output_schema
from tunegate.store import STORE_DIR


@dataclass
class CompareRow:
    rung: str
    metric: str
    a: Metric | None
    b: Metric | None
    test: Comparison | None = None

    @property
    def diff(self) -> float | None:
        return None if self.a is None or self.b is None else self.b.value - self.a.value


@dataclass
class RunComparison:
    task: str
    run_a: str
    run_b: str
    items_a: int
    items_b: int
    rows: list[CompareRow] = field(default_factory=list)


def key_metrics(task: Task, rungs: list[RungResult]) -> list[str]:
    fmt = next((n for n in FORMAT_METRICS if any(r.metric(n) for r in rungs)), FORMAT_METRICS[0])
    return [fmt, primary_metric(task), "style.similarity", "cost.per_month", "latency.p95_ms"]


def paired_knowledge(
    task: Task,
    schema: dict[str, Any] | None,
    a: RungResult,
    b: RungResult,
    names: tuple[str, str],
    labels: list[str] | None,
) -> Comparison | None:
    """Run B's rung against run A's on the items both answered, by the knowledge item score."""
    kind = task.output.type
    sa = item_scores(kind, schema, a.outputs.items, labels)
    sb = item_scores(kind, schema, b.outputs.items, labels)
    keys_a = set(item_keys(a.outputs.items))  # example ids, suffixed for repeats
    common = [k for k in item_keys(b.outputs.items) if k in keys_a and k in sa and k in sb]
    if len(common) < 2:
        return None
    xa, xb = [sa[k] for k in common], [sb[k] for k in common]
    name = SCORE_NAME[kind]
    if kind == "label":
        return compare_binary(
            name, *names, [x > 0.5 for x in xa], [x > 0.5 for x in xb], higher_is_better=True
        )
    return compare_continuous(name, *names, xa, xb, higher_is_better=True)


def compare_runs(
    task: Task, schema: dict[str, Any] | None, a: DiagnoseResult, b: DiagnoseResult,
    labels: list[str] | None = None,
) -> RunComparison:  # fmt: skip
    """Every rung of either run × the key figures, with the knowledge figure's paired test."""
    order = [r.rung for r in a.rungs] + [r.rung for r in b.rungs if a.rung(r.rung) is None]
    out = RunComparison(task.name, a.run_id, b.run_id, len(a.item_ids), len(b.item_ids))
    names = key_metrics(task, a.rungs + b.rungs)
    primary = primary_metric(task)
    for rung in order:
        ra, rb = a.rung(rung), b.rung(rung)
        for name in names:
            ma = ra.metric(name) if ra else None
            mb = rb.metric(name) if rb else None
            if ma is None and mb is None:
                continue
            row = CompareRow(rung, name, ma, mb)
            if name == primary and ra and rb:
                row.test = paired_knowledge(task, schema, ra, rb, (a.run_id, b.run_id), labels)
            out.rows.append(row)
    return out


def _num(v: float, m: Metric | None) -> str:
    unit = m.unit if m else ""
    if unit == "$":
        return f"{v:+,.2f} $"
    if unit == "ms":
        return f"{v:+,.0f} ms"
    return f"{v:+.3f}"


def _verdict(row: CompareRow) -> str:
    t = row.test
    if t is None:
        return ""
    better = f"{t.better} better" if t.real else "no real difference"
    return f"{t.name}: {better} (p={t.p_value:.3g}, {t.test}, n={t.n})"


def print_comparison(c: RunComparison, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"{c.task}: {c.run_a} (A, {c.items_a} items) vs {c.run_b} (B, {c.items_b} items)"
    )
    for col in ("rung", "metric", "A", "B", "B − A", "paired test"):
        table.add_column(col, justify="right" if col in ("A", "B", "B − A") else "left")
    for r in c.rows:
        a = "—" if r.a is None else f"{r.a.value:.4g} [{r.a.lo:.3g}, {r.a.hi:.3g}]"
        b = "—" if r.b is None else f"{r.b.value:.4g} [{r.b.lo:.3g}, {r.b.hi:.3g}]"
        d = "—" if r.diff is None else _num(r.diff, r.a or r.b)
        table.add_row(escape(r.rung), r.metric, a, b, d, escape(_verdict(r)))
    console.print(table)


def render_html(c: RunComparison) -> str:
    """The comparison as one self-contained HTML page."""
    rows = []
    for r in c.rows:
        d = "—" if r.diff is None else _num(r.diff, r.a or r.b)
        rows.append(
            f"<tr><td>{e(r.rung)}</td><td>{e(r.metric)}</td><td class=num>{fmt_metric(r.a)}</td>"
            f"<td class=num>{fmt_metric(r.b)}</td><td class=num>{e(d)}</td>"
            f"<td>{e(_verdict(r))}</td></tr>"
        )
    title = f"tunegate compare: {c.task}"
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{e(title)}</h1><p>A: <strong>{e(c.run_a)}</strong> ({c.items_a} items) — "
        f"B: <strong>{e(c.run_b)}</strong> ({c.items_b} items)</p>"
        '<div class="wide"><table id="compare"><thead><tr><th>rung</th><th>metric</th>'
        "<th>A</th><th>B</th><th>B − A</th><th>paired test</th></tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table></div></main></body></html>\n"
    )


def build_compare(
    task_path: str | Path, run_a: str, run_b: str, out: str | Path | None = None
) -> tuple[RunComparison, Path]:
    """Compare two stored diagnose runs; write the HTML (default .tunegate/compare-A-B.html)."""
    from tunegate.report.build import open_store

    task, folder = load_task(task_path)
    with open_store(folder) as store:
        a, b = load(store, run_a), load(store, run_b)
    schema = output_schema(task, folder) if task.output.type == "json" else None
    labels = None
    if task.output.type == "label":
        from tunegate.data.split import load_dataset

        labels = label_set(task, [ex.target for ex in load_dataset(task, folder).train])
    c = compare_runs(task, schema, a, b, labels)
    path = Path(out) if out else folder / STORE_DIR / f"compare-{run_a}-{run_b}.html"
    atomic.write_text(path, render_html(c))
    return c, path
