"""`tunegate report` as a Python function: gather from the store, decide, draw, write.

Nothing here runs a model: the figures come from what check, diagnose and train stored, the
inputs beside the failures from the task's data files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tunegate import atomic
from tunegate.decide import Decision, decide
from tunegate.errors import TunegateError
from tunegate.ladder.result import RungResult
from tunegate.outputs import FORMAT_METRICS
from tunegate.report import confusion, plots
from tunegate.report.failures import RungFailures, worst_failures
from tunegate.report.gather import Gathered, gather
from tunegate.report.html import ReportView, render
from tunegate.signals import confusions, primary_metric
from tunegate.signals.cost import (
    HOURS_PER_MONTH,
    amortized_per_month,
    train_price_per_hour,
    training_cost,
)
from tunegate.spec import load_task
from tunegate.store import STORE_DIR, STORE_FILE, Store

REPORT_FILE = "report.html"
CONFUSION_TOP_N = 15


@dataclass
class ReportResult:
    path: Path
    json_path: Path | None
    decision: Decision
    gathered: Gathered


def open_store(folder: Path) -> Store:
    """The task's run store; a one-line error (not an empty new store) when there is none."""
    if not (folder / STORE_DIR / STORE_FILE).exists():
        raise TunegateError("no runs yet; run `tunegate diagnose` first", str(folder))
    return Store(folder)


def best_rung(g: Gathered, d: Decision) -> RungResult | None:
    """The chosen rung, else the one with the best primary figure."""
    if d.chosen:
        chosen = g.evidence.rung(d.chosen)
        if chosen is not None:
            return chosen
    primary = primary_metric(g.task)
    scored = [(r.metric(primary), r) for r in g.evidence.rungs]
    ranked = [(m.value, r) for m, r in scored if m is not None]
    return max(ranked, key=lambda t: t[0])[1] if ranked else None


def signal_panels(g: Gathered) -> list[plots.Panel]:
    t = g.task.targets
    primary = primary_metric(g.task)
    rungs = g.evidence.rungs

    def bars(*names: str) -> list[plots.Bar]:
        out = []
        for r in rungs:
            m = next((x for x in (r.metric(n) for n in names) if x is not None), None)
            out.append(plots.Bar(r.rung, r.kind, m))
        return out

    fmt = next((n for n in FORMAT_METRICS if any(r.metric(n) for r in rungs)), FORMAT_METRICS[0])
    knowledge_target = t.min_similarity if g.task.output.type == "text" else t.min_accuracy
    panels = [
        plots.Panel(f"format: {fmt}", bars(fmt), t.min_schema_valid_rate),
        plots.Panel(f"knowledge: {primary}", bars(primary), knowledge_target),
        plots.Panel("style: style.similarity", bars("style.similarity"), t.min_style_similarity),
        plots.Panel("cost per month", bars("cost.per_month"), t.max_cost_per_month, "$"),
        plots.Panel("p95 latency", bars("latency.p95_ms"), t.max_p95_latency_ms, "ms"),
    ]
    return panels


def cost_lines(g: Gathered) -> list[plots.CostLine]:
    fixed = 0.0
    if g.train is not None:
        dollars = training_cost(g.train.seconds, train_price_per_hour(g.task))
        fixed = amortized_per_month(dollars, g.task.traffic.months)
    out = []
    for r in g.evidence.rungs:
        m = r.metric("cost.per_request")
        if m is not None:
            extra = fixed if r.kind == "finetuned" else 0.0
            out.append(plots.CostLine(r.rung, r.kind, m.value, extra))
    return out


def make_plots(g: Gathered, d: Decision) -> list[plots.Plot]:
    """Every figure the stored evidence supports, in reading order."""
    t = g.task
    made = [
        plots.signal_bars(signal_panels(g)),
        plots.cost_vs_traffic(
            cost_lines(g),
            t.traffic.requests_per_day,
            d.break_even,
            t.targets.max_cost_per_month,
            t.prices.self_hosted_per_hour * HOURS_PER_MONTH,
        ),
        plots.latency_distributions(
            [(r.rung, r.kind, r.outputs.latencies_ms) for r in g.evidence.rungs],
            t.targets.max_p95_latency_ms,
        ),
        plots.learning_curve(
            [plots.CurveMark(c.n_train, c.point, c.best_eval_loss) for c in g.curve],
            primary_metric(t),
            d.curve_slope,
        ),
        plots.loss_curve(g.train.loss, g.train.eval_loss) if g.train else None,
    ]
    best = best_rung(g, d)
    if best is not None:
        for i, (name, conf) in enumerate(
            confusions(t, g.schema, best.outputs, g.labels or None).items()
        ):
            made.append(
                confusion.confusion_matrix(
                    name, best.rung, conf.labels, conf.counts, CONFUSION_TOP_N, f"confusion-{i}"
                )
            )
    return [p for p in made if p is not None]


def make_failures(g: Gathered, limit: int = 5) -> list[RungFailures]:
    return [
        worst_failures(g.task.output.type, g.schema, r.outputs, g.inputs, g.labels, limit)
        for r in g.evidence.rungs
    ]


def report_json(g: Gathered, d: Decision) -> dict[str, Any]:
    """The decision and the evidence behind it (what `--json` writes)."""
    return {
        "task": g.task.name,
        "runs": {
            "diagnose": g.evidence.runs,
            "check": g.check.run_id if g.check else None,
            "train": g.train.run_id if g.train else None,
            "curve": g.curve_tag,
        },
        "decision": d.to_json(),
        "evidence": evidence_json(g),
        "notes": g.notes,  # the report's own (e.g. the adapter's prompt) and the evidence's
    }


def evidence_json(g: Gathered) -> dict[str, Any]:
    """What the decision rests on, without the answers: each kept rung's identity and figures,
    the paired tests, what was left out and why."""
    ev = g.evidence
    return {
        "items": len(ev.item_ids),
        "limit": ev.limit,
        "rungs": [
            {
                "rung": r.rung,
                "kind": r.kind,
                "run_id": r.run_id,
                "model": r.model,
                "adapter": r.adapter,
                "adapter_run": r.adapter_run,
                "decoding": r.decoding,
                "fingerprint": r.fingerprint,
                "metrics": [m.to_json() for m in r.metrics],
            }
            for r in ev.rungs
        ],
        "comparisons": [c.to_json() for c in ev.comparisons],
        "skipped": ev.skipped,
        "excluded": [asdict(x) for x in ev.excluded],
        "readiness": asdict(ev.readiness) if ev.readiness else None,
        "training": asdict(ev.training) if ev.training else None,
        "notes": ev.notes,
    }


def build_report(
    task: str | Path = ".",
    out: str | Path | None = None,
    json_path: str | Path | None = None,
    diagnose_run: str | None = None,
) -> ReportResult:
    """Write the HTML report (default `<task>/.tunegate/report.html`) and, if asked, the JSON."""
    spec, folder = load_task(task)
    with open_store(folder) as store:
        g = gather(spec, folder, store, diagnose_run)
    d = decide(spec, g.evidence)
    view = ReportView(g, d, make_plots(g, d), make_failures(g))
    path = Path(out) if out else folder / STORE_DIR / REPORT_FILE
    atomic.write_text(path, render(view))
    jp = Path(json_path) if json_path else None
    if jp is not None:
        atomic.write_text(jp, json.dumps(report_json(g, d), indent=2, default=str))
    return ReportResult(path, jp, d, g)
