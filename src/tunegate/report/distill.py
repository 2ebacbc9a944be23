"""The distillation comparison for the terminal and the report (whose HTML is the partial
report/templates/partials/distill.html): student beside teacher, read from the store's newest
finished distill run (no model is run)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tunegate.distill.compare import DistillComparison
from tunegate.outputs import Metric
from tunegate.runs import finished
from tunegate.store import Store

RUN_KIND = "distill"


def latest_comparison(store: Store) -> DistillComparison | None:
    """The comparison of the newest finished distill run in `store`, if any."""
    for run in finished(store, RUN_KIND):
        d = store.result(run.id, "comparison")
        if isinstance(d, dict):
            return DistillComparison.from_json(d)
    return None


def _text(m: Metric | None, unit: str = "") -> str:
    if m is None:
        return "—"
    return (replace(m, unit=unit) if unit else m).format()


def rows(c: DistillComparison) -> list[tuple[str, str, str]]:
    """(figure, student, teacher) lines shared by the terminal and the HTML."""

    def pair(f: Any) -> tuple[str, str]:
        return f(c.student), f(c.teacher)

    acc = f"accuracy vs gold ({c.primary})" if c.gold else "accuracy vs gold (no gold labels)"
    lines = [
        ("model", *pair(lambda s: s.model)),
        (acc, *pair(lambda s: _text(s.accuracy))),
        ("valid output", *pair(lambda s: _text(s.valid))),
        ("cost per month", *pair(lambda s: _text(s.cost_per_month, "$"))),
        ("cost basis", *pair(lambda s: s.cost_basis)),
        ("latency p50", *pair(lambda s: _text(s.p50_ms, "ms"))),
        ("latency p95", *pair(lambda s: _text(s.p95_ms, "ms"))),
        ("errors", *pair(lambda s: f"{s.errors} of {s.items}")),
    ]
    return lines


def headline(c: DistillComparison) -> str:
    """One sentence: agreement, and the accuracy gap when gold labels exist."""
    parts = []
    if c.agreement is not None:
        parts.append(
            f"the student agrees with the teacher at {c.agreement.value:.3f} "
            f"({c.primary} against the teacher's answers, n={c.agreement.n})"
        )
    if c.identical is not None:
        parts.append(f"{c.identical.value:.0%} of answers identical")
    s, t = c.student.accuracy, c.teacher.accuracy
    if s is not None and t is not None:
        parts.append(f"against gold: student {s.value:.3f}, teacher {t.value:.3f}")
    sc, tc = c.student.cost_per_month, c.teacher.cost_per_month
    if sc is not None and tc is not None:
        parts.append(f"per month: student ${sc.value:,.2f}, teacher ${tc.value:,.2f}")
    return "; ".join(parts) or "no item was answered by both"


def one_off(c: DistillComparison) -> str:
    lab, tr = c.labelling, c.training
    bits = []
    if lab:
        bits.append(
            f"labelling: {lab.get('labelled', 0)} of {lab.get('inputs', 0)} inputs labelled by "
            f"{lab.get('teacher', 'the teacher')} (${lab.get('cost', 0.0):,.4f} at remote prices; "
            f"{lab.get('invalid', 0)} invalid, {lab.get('failed', 0)} unanswered left out)"
        )
    if tr:
        reused = " (reused)" if tr.get("reused") else ""
        bits.append(
            f"training: run {tr.get('run_id')}{reused}, {tr.get('steps_done', '?')} steps on "
            f"{tr.get('examples', '?')} examples in {float(tr.get('seconds') or 0):.0f} s "
            f"(${float(tr.get('cost') or 0):,.4f})"
        )
    return "; ".join(bits)


def print_comparison(c: DistillComparison, console: Any) -> None:
    """The comparison as a rich table with its headline."""
    from rich.table import Table

    table = Table(
        title=f"student vs teacher on {c.items} held-out items (diagnose {c.diagnose_run})"
    )
    table.add_column("figure")
    table.add_column("student (fine-tuned)")
    table.add_column("teacher (remote)")
    for name, s, t in rows(c):
        table.add_row(name, s, t)
    console.print(table)
    console.print(headline(c), soft_wrap=True, highlight=False, markup=False)
    extra = one_off(c)
    if extra:
        console.print(extra, soft_wrap=True, highlight=False, markup=False)
