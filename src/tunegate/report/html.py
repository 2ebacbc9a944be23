"""The report as ONE self-contained HTML file: inline CSS, inline SVG, no script, viewable offline.

Rendered through jinja2 templates (report/templates/): `layout.html` is the skeleton the web UI's
pages share, `report_page.html` the report, and `partials/` its sections (recommendation, rungs x
signals, per-field F1, distillation, plots, prompt search, gates, training, paired tests,
readiness, failures), which the UI's overview includes too, so a figure on that page is the
report's figure. Autoescape is on: every string from the user's task, data or a model's output is
escaped; a Content-Security-Policy forbids scripts and any network fetch, so even a missed escape
could not run code or phone home.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from tunegate.decide import Decision
from tunegate.ladder.result import RungResult
from tunegate.outputs import FORMAT_METRICS, Metric
from tunegate.report import fields
from tunegate.report.failures import RungFailures
from tunegate.report.gather import Gathered
from tunegate.report.plots import Plot
from tunegate.signals import primary_metric

TEMPLATES = Path(__file__).parent / "templates"
# (column title, metric names: the first a rung has is shown, the targets judged on it)
COLUMNS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("format", FORMAT_METRICS, ("min_schema_valid_rate",)),
    ("knowledge", (), ("min_accuracy", "min_similarity")),
    ("style", ("style.similarity",), ("min_style_similarity",)),
    ("tokens in", ("cost.input_tokens",), ()),
    ("$ / month", ("cost.per_month",), ("max_cost_per_month",)),
    ("p95 latency", ("latency.p95_ms",), ("max_p95_latency_ms",)),
)
MARK = {"meets": "✓ meets", "may meet": "~ may meet", "fails": "✗ fails", "not measured": "?"}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
TEXT_LIMIT = 700
PAGE_CSS = """
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#101828;
       margin:0; background:#f9fafb; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; background:#fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 34px 0 10px;
  border-bottom: 1px solid #e4e7ec; padding-bottom: 4px; } h3 { font-size: 15px; margin: 20px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e7ec; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; }
"""
# The whole stylesheet of a standalone page (the report, `report --compare`).
CSS = PAGE_CSS + (TEMPLATES / "report.css").read_text(encoding="utf-8")


@dataclass
class ReportView:
    """What the page shows, assembled from the store (see `report.build`)."""

    gathered: Gathered
    decision: Decision
    plots: list[Plot] = field(default_factory=list)
    failures: list[RungFailures] = field(default_factory=list)


def e(value: object) -> str:
    """Escape any text for HTML (content and attributes), as the templates' autoescape does."""
    return str(escape(str(value)))


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s.lower())


def fmt_metric(m: Metric | None) -> str:
    """A figure with its interval and n, as HTML."""
    if m is None:
        return '<span class="muted">—</span>'
    if m.unit == "$":
        v, lo, hi = (f"${x:,.2f}" for x in (m.value, m.lo, m.hi))
    elif m.unit == "ms":
        v, lo, hi = (f"{x:,.0f} ms" for x in (m.value, m.lo, m.hi))
    elif m.unit == "tokens":
        v, lo, hi = (f"{x:,.0f}" for x in (m.value, m.lo, m.hi))
    else:
        v, lo, hi = (f"{x:.3f}" for x in (m.value, m.lo, m.hi))
    return f'{e(v)}<br><span class="ci">[{e(lo)}, {e(hi)}] n={m.n}</span>'


def _status(s: str) -> Markup:
    return Markup(f'<span class="s-{_slug(s)}">{e(MARK.get(s, s))}</span>')


def _count(value: Any) -> str:
    if isinstance(value, float) and value != int(value):
        return f"{value:,.2f}"
    if isinstance(value, int | float):
        return f"{int(value):,}"
    return str(value)


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + " …"


def environment(*extra: Path) -> jinja2.Environment:
    """The report's templates (after `extra` folders, searched first) with their filters."""
    loader = jinja2.FileSystemLoader([str(p) for p in (*extra, TEMPLATES)])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    add_filters(env)
    return env


def add_filters(env: jinja2.Environment) -> None:
    """The filters the partials use: metric (value [lo, hi] n), status, slug, clip, count_fmt."""
    env.filters.update(
        metric=lambda m: Markup(fmt_metric(m)),
        status=_status,
        slug=_slug,
        clip=_clip,
        count_fmt=_count,
    )


_ENV = environment()


def _first(r: RungResult, names: Sequence[str]) -> Metric | None:
    return next((m for m in (r.metric(n) for n in names) if m is not None), None)


def rung_table(g: Gathered, d: Decision) -> dict[str, Any]:
    """The rungs x signals table as data: the columns some rung measured, each row's first
    metric per column and the statuses of the targets judged on it (`partials/rungs.html`)."""
    primary = primary_metric(g.task)
    status = {s.rung: s for s in d.rungs}
    columns = [
        (title, names or (primary,), targets)
        for title, names, targets in COLUMNS
        if any(_first(r, names or (primary,)) for r in g.evidence.rungs)
    ]
    rows = []
    for r in g.evidence.rungs:
        st = status.get(r.rung)
        cells = [
            {
                "metric": _first(r, names),
                "marks": [st.targets[t] for t in targets if st and t in st.targets],
            }
            for _, names, targets in columns
        ]
        rows.append(
            {
                "rung": r.rung,
                "kind": r.kind,
                "run_id": r.run_id,
                "engine": g.engine_of(r.rung),
                "summary": r.summary,
                "chosen": r.rung == d.chosen,
                "cells": cells,
                "overall": st.overall if st else None,
            }
        )
    missing = {k: why for r in g.evidence.rungs for k, why in r.not_measured.items()}
    return {
        "columns": [c for c, _, _ in columns],
        "rows": rows,
        "skipped": g.evidence.skipped,
        "missing": sorted(missing.items()),
        "excluded": g.evidence.excluded,
        "hardware": g.hardware,
    }


def kept_comparisons(g: Gathered) -> list[Any]:
    """The paired tests the report lists: the primary figure always, others when real."""
    primary = primary_metric(g.task)
    keep = {primary, *FORMAT_METRICS, "style.similarity", "latency.p95_ms", "errors.rate"}
    return [c for c in g.evidence.comparisons if c.name in keep and (c.name == primary or c.real)]


def distill_view(c: Any) -> dict[str, Any] | None:
    """What `partials/distill.html` needs of a distill comparison (None: no section)."""
    if c is None:
        return None
    from tunegate.report.distill import headline, one_off

    return {"c": c, "headline": headline(c), "one_off": one_off(c)}


def render_partial(name: str, **ctx: Any) -> str:
    """One partial alone, e.g. for a test of its section."""
    return _ENV.get_template(name).render(**ctx).strip()


def distill_section(c: Any) -> str:
    """The report's "Distillation" section alone ("" when no distill run finished)."""
    return render_partial("partials/distill.html", distill=distill_view(c))


def context(v: ReportView) -> dict[str, Any]:
    """Everything the partials read, for the report and the UI's overview alike."""
    g = v.gathered
    return {
        "g": g,
        "d": v.decision,
        "table": rung_table(g, v.decision),
        "plots": v.plots,
        "failures": v.failures,
        "comparisons": kept_comparisons(g),
        "distill": distill_view(g.distill),
        "search": g.search,
        "fields": fields.view(g.task, g.schema, [r.outputs for r in g.evidence.rungs]),
        "primary": primary_metric(g.task),
    }


def render(v: ReportView) -> str:
    """The whole page as one string."""
    g = v.gathered
    ev = g.evidence
    runs = [f"diagnose {', '.join(ev.runs)} ({len(ev.item_ids)} shared items)"]
    if g.check:
        runs.append(f"check {g.check.run_id}")
    if g.train:
        runs.append(f"train {g.train.run_id}")
    if g.curve_tag:
        runs.append(f"learning curve {g.curve_tag}")
    page = _ENV.get_template("report_page.html").render(
        **context(v),
        csp=Markup(CSP),
        page_css=Markup(PAGE_CSS),
        runs=runs,
        when=time.strftime("%Y-%m-%d %H:%M"),
    )
    return page.lstrip() + ("" if page.endswith("\n") else "\n")
