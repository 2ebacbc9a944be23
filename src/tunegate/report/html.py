"""The report as ONE self-contained HTML file: inline CSS, inline SVG, no script, viewable offline.

Order: the recommendation (headline, chosen rung, reasons with their numbers, what would change
it), rungs x signals with CIs and target statuses, the plots, per-signal verdicts, gates, paired
tests, readiness, and the worst failures of each rung. Every string that comes from the user's
task, data or a model's output is escaped; a Content-Security-Policy forbids scripts and any
network fetch, so even a missed escape could not run code or phone home.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from tunegate.decide import Decision, Status
from tunegate.ladder.result import RungResult
from tunegate.outputs import Metric
from tunegate.report import fields, search
from tunegate.report.failures import RungFailures
from tunegate.report.gather import Gathered
from tunegate.report.plots import Plot
from tunegate.signals import primary_metric
from tunegate.signals.stats import Comparison

FORMAT_METRICS = ("format.schema_valid", "format.valid_label", "format.nonempty")
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

CSS = """
:root { --ok:#1b7f3b; --warn:#a86400; --bad:#b42318; --muted:#667085; --line:#e4e7ec; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#101828;
       margin:0; background:#f9fafb; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; background:#fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 34px 0 10px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 20px 0 6px; }
.meta, .muted { color: var(--muted); font-size: 12px; }
.verdict { border-radius: 8px; padding: 16px 20px; margin: 16px 0; border-left: 6px solid; }
.v-prompting-suffices { background:#ecfdf3; border-color: var(--ok); }
.v-fine-tune { background:#eff8ff; border-color:#175cd3; }
.v-not-ready, .v-nothing-meets { background:#fef3f2; border-color: var(--bad); }
.v-remote-only { background:#fffaeb; border-color: var(--warn); }
.verdict .tag { text-transform: uppercase; font-weight: 700; letter-spacing: .04em; font-size: 12px; }
.verdict .headline { font-size: 18px; font-weight: 600; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f2f4f7; font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci { color: var(--muted); font-size: 11px; }
.s-meets { color: var(--ok); font-weight: 600; } .s-may-meet { color: var(--warn); font-weight: 600; }
.s-fails { color: var(--bad); font-weight: 600; } .s-not-measured { color: var(--muted); }
.st { font-size: 11px; display: block; }
.chosen td { background: #f0f9ff; }
.ok { color: var(--ok); font-weight: 600; } .warn { color: var(--warn); font-weight: 600; }
.fail { color: var(--bad); font-weight: 600; }
figure.plot { margin: 14px 0 24px; } figure.plot svg { max-width: 100%; height: auto; display: block; }
.grid { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: flex-start; }
.grid figure.plot { flex: 0 1 auto; max-width: 100%; }
.grid figcaption { max-width: 360px; }
.wide { overflow-x: auto; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; font: 12px/1.4 ui-monospace,
      SFMono-Regular, Menlo, monospace; }
.fail-table td { width: 25%; } .wrong { color: var(--bad); font-size: 12px; }
"""


@dataclass
class ReportView:
    """What the page shows, assembled from the store (see `report.build`)."""

    gathered: Gathered
    decision: Decision
    plots: list[Plot] = field(default_factory=list)
    failures: list[RungFailures] = field(default_factory=list)


def e(value: object) -> str:
    """Escape any text for HTML (content and attributes)."""
    return html.escape(str(value), quote=True)


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


def _status(s: Status | str) -> str:
    return f'<span class="s-{_slug(s)}">{e(MARK.get(s, s))}</span>'


def _recommendation(v: ReportView) -> str:
    d = v.decision
    parts = [
        f'<section class="verdict v-{_slug(d.verdict)}" id="recommendation">',
        f'<div class="tag">{e(d.verdict)}</div>',
        f'<div class="headline">{e(d.headline)}</div>',
    ]
    if d.chosen:
        parts.append(f"<div>Chosen rung: <strong>{e(d.chosen)}</strong></div>")
    parts.append("</section><h3>Why</h3><ul>")
    parts += [f"<li>{e(r)}</li>" for r in d.reasons]
    parts.append("</ul>")
    if d.flips:
        parts.append('<h3>What would change this</h3><ul id="flips">')
        parts += [f"<li>{e(f)}</li>" for f in d.flips]
        parts.append("</ul>")
    return "".join(parts)


def _rung_table(v: ReportView) -> str:
    g, d = v.gathered, v.decision
    primary = primary_metric(g.task)
    status = {s.rung: s for s in d.rungs}
    columns = [
        (title, names or (primary,), targets)
        for title, names, targets in COLUMNS
        if any(_first(r, names or (primary,)) for r in g.evidence.rungs)
    ]
    head = "".join(f"<th>{e(c)}</th>" for c, _, _ in columns)
    rows = [
        '<div class="wide"><table id="rungs"><thead><tr><th>rung</th><th>kind</th>'
        f"{head}<th>overall</th></tr></thead><tbody>"
    ]
    for r in g.evidence.rungs:
        st = status.get(r.rung)
        cls = ' class="chosen"' if r.rung == d.chosen else ""
        cells = []
        for _, names, targets in columns:
            m = _first(r, names)
            marks = [st.targets[t] for t in targets if st and t in st.targets]
            note = "".join(f'<span class="st">{_status(s)}</span>' for s in marks)
            cells.append(f'<td class="num">{fmt_metric(m)}{note}</td>')
        overall = _status(st.overall) if st else ""
        rows.append(
            f"<tr{cls}><td><strong>{e(r.rung)}</strong><div class=muted>{e(r.summary)}</div></td>"
            f"<td>{e(r.kind)}<div class=muted>{e(r.run_id)}</div></td>{''.join(cells)}"
            f"<td>{overall}</td></tr>"
        )
    rows.append("</tbody></table></div>")
    if g.evidence.skipped:
        rows.append('<p class="muted">Skipped: ')
        rows.append("; ".join(f"{e(k)} ({e(why)})" for k, why in g.evidence.skipped.items()))
        rows.append("</p>")
    missing = {k: why for r in g.evidence.rungs for k, why in r.not_measured.items()}
    if missing:
        rows.append('<p class="muted">Not measured: ')
        rows.append("; ".join(f"{e(k)} ({e(why)})" for k, why in sorted(missing.items())))
        rows.append("</p>")
    return "".join(rows)


def _first(r: RungResult, names: Sequence[str]) -> Metric | None:
    return next((m for m in (r.metric(n) for n in names) if m is not None), None)


def _signals(v: ReportView) -> str:
    rows = ['<table id="signals"><thead><tr><th>signal</th><th>verdict</th><th>figure</th></tr>']
    rows.append("</thead><tbody>")
    for s in v.decision.signals:
        rows.append(f"<tr><td>{e(s.signal)}</td><td>{e(s.verdict)}</td><td>{e(s.figure)}</td></tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _gates(v: ReportView) -> str:
    rows = ['<table id="gates"><thead><tr><th>gate</th><th>passes</th><th>detail</th></tr>']
    rows.append("</thead><tbody>")
    for gate in v.decision.gates:
        ok = (
            '<span class="muted">unknown</span>'
            if gate.ok is None
            else ('<span class="ok">yes</span>' if gate.ok else '<span class="fail">no</span>')
        )
        rows.append(f"<tr><td>{e(gate.name)}</td><td>{ok}</td><td>{e(gate.detail)}</td></tr>")
    rows.append("</tbody></table>")
    be = v.decision.break_even
    if be:
        rows.append("<p>Break-even traffic of the fine-tuned model: ")
        rows.append(
            "; ".join(
                f"vs {e(k)}: {'never' if x is None else f'{x:,.0f} requests/day'}"
                for k, x in be.items()
            )
        )
        rows.append("</p>")
    return "".join(rows)


def _training(v: ReportView) -> str:
    g = v.gathered
    if g.train is None:
        return '<p class="muted">No training run in the store: run <code>tunegate train</code>.</p>'
    t, s = g.train, g.train.summary
    facts = [f"run {e(t.run_id)}", f"{t.seconds / 60:.1f} min"]
    if s.get("steps") is not None:
        facts.append(f"{int(s['steps'])} of {int(s.get('total_steps') or s['steps'])} steps")
    if s.get("train_examples") is not None:
        facts.append(f"{int(s['train_examples']):,} training examples")
    if s.get("tokens_per_s"):
        facts.append(f"{float(s['tokens_per_s']):,.0f} tokens/s")
    if s.get("best_eval_loss") is not None:
        facts.append(
            f"best validation loss {float(s['best_eval_loss']):.4f} at step {s.get('best_step')}"
        )
    out = [f'<p id="training">{"; ".join(facts)}.</p>']
    if g.curve:
        out.append(
            '<table id="curve"><thead><tr><th>training examples</th><th>run</th>'
            "<th>best validation loss</th><th>held-out figure</th></tr></thead><tbody>"
        )
        for c in g.curve:
            loss = "—" if c.best_eval_loss is None else f"{c.best_eval_loss:.4f}"
            point = (
                '<span class="muted">not measured: no diagnose ran on this adapter</span>'
                if c.point is None
                else f"{c.point.value:.3f} "
                f'<span class="ci">[{c.point.lo:.3f}, {c.point.hi:.3f}] ({e(c.diagnose_run)})</span>'
            )
            out.append(
                f"<tr><td class=num>{c.n_train:,}</td><td>{e(c.run_id)}</td>"
                f"<td class=num>{loss}</td><td>{point}</td></tr>"
            )
        out.append("</tbody></table>")
    return "".join(out)


def _comparisons(v: ReportView) -> str:
    comps = v.gathered.evidence.comparisons
    if not comps:
        return '<p class="muted">No paired comparisons stored.</p>'
    intro = (
        '<p class="muted">Each rung against the baseline and the rung it builds on, and each '
        "fine-tuned or remote rung against the prompt ceiling, on the same items: the primary "
        "figure always, other figures where the difference is real. p-values are Holm-adjusted "
        "within each metric's family of comparisons (the raw p in brackets); a difference is "
        "real when the adjusted p &lt; 0.05.</p>"
    )
    primary = primary_metric(v.gathered.task)
    keep = {primary, *FORMAT_METRICS, "style.similarity", "latency.p95_ms", "errors.rate"}
    rows = [
        intro,
        '<table id="comparisons"><thead><tr><th>metric</th><th>rung A</th><th>rung B</th>'
        "<th>B − A [95% CI]</th><th>p</th><th>test</th><th>real?</th></tr></thead><tbody>",
    ]
    for c in comps:
        if c.name not in keep or (c.name != primary and not c.real):
            continue
        real = f'<span class="ok">yes, {e(c.better)}</span>' if c.real else "no"
        rows.append(
            f"<tr><td>{e(c.name)}</td><td>{e(c.a)} ({c.a_value:.3g})</td>"
            f"<td>{e(c.b)} ({c.b_value:.3g})</td>"
            f'<td class="num">{c.diff:+.3g} <span class="ci">[{c.lo:+.3g}, {c.hi:+.3g}]</span></td>'
            f"<td class=num>{_p(c)}</td><td>{e(c.test)}</td><td>{real}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _p(c: Comparison) -> str:
    if c.p_adjusted is None:
        return f"{c.p_value:.3g}"
    return f'{c.p_adjusted:.3g} <span class="ci">({c.p_value:.3g})</span>'


def _readiness(v: ReportView) -> str:
    ck = v.gathered.check
    if ck is None:
        return '<p class="muted">No check run in the store: run <code>tunegate check</code>.</p>'
    out = [
        f'<p>Verdict: <span class="{e(ck.verdict)}">{e(ck.verdict)}</span> — '
        + ", ".join(f"{e(k)} {int(n):,}" for k, n in ck.rows.items())
        + f' rows <span class="muted">(run {e(ck.run_id)})</span></p>',
        '<table id="readiness"><thead><tr><th>status</th><th>check</th><th>value</th>'
        "<th>reason</th></tr></thead><tbody>",
    ]
    for it in ck.items:
        value = it.get("value", "")
        if isinstance(value, float) and value != int(value):
            shown = f"{value:,.2f}"
        elif isinstance(value, int | float):
            shown = f"{int(value):,}"
        else:
            shown = str(value)
        status = str(it.get("status", ""))
        out.append(
            f'<tr><td class="{e(status)}">{e(status)}</td><td>{e(it.get("title", ""))}</td>'
            f'<td class="num">{e(shown)}</td><td>{e(it.get("reason", ""))}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + " …"


def _failures(v: ReportView) -> str:
    out = []
    for rf in v.failures:
        out.append(
            f'<h3 id="failures-{_slug(rf.rung)}">{e(rf.rung)}: {rf.wrong} of {rf.total} '
            f"items not fully right (by {e(rf.score_name)})</h3>"
        )
        if not rf.worst:
            out.append('<p class="muted">No failures.</p>')
            continue
        out.append(
            '<table class="fail-table"><thead><tr><th>input</th><th>expected</th>'
            "<th>answered</th><th>what is wrong</th></tr></thead><tbody>"
        )
        for f in rf.worst:
            what = (
                f"generation failed: {e(f.error)}"
                if f.error
                else "<br>".join(e(w) for w in f.wrong_fields)
                or (f"score {f.score:.2f}" if f.score is not None else "")
            )
            out.append(
                f"<tr><td><pre>{e(_clip(f.input))}</pre>"
                f'<div class="muted">{e(f.example_id)}</div></td>'
                f"<td><pre>{e(_clip(f.expected))}</pre></td><td><pre>{e(_clip(f.output))}</pre></td>"
                f'<td class="wrong">{what}</td></tr>'
            )
        out.append("</tbody></table>")
    return "".join(out)


def _figure(p: Plot) -> str:
    return (
        f'<figure class="plot" id="plot-{e(p.key)}"><h3>{e(p.title)}</h3>{p.svg}'
        f"<figcaption>{e(p.caption)}</figcaption></figure>"
    )


def _plots(plots: Sequence[Plot]) -> str:
    """The figures in order; the confusion matrices side by side."""
    main = [_figure(p) for p in plots if not p.key.startswith("confusion")]
    grid = [_figure(p) for p in plots if p.key.startswith("confusion")]
    return "".join(main) + (f'<div class="grid">{"".join(grid)}</div>' if grid else "")


def render(v: ReportView) -> str:
    """The whole page as one string."""
    from tunegate.report.distill import html_section as distill_section

    g = v.gathered
    ev = g.evidence
    runs = [f"diagnose {', '.join(ev.runs)} ({len(ev.item_ids)} shared items)"]
    if g.check:
        runs.append(f"check {g.check.run_id}")
    if g.train:
        runs.append(f"train {g.train.run_id}")
    if g.curve_tag:
        runs.append(f"learning curve {g.curve_tag}")
    notes = "".join(f'<p class="muted">{e(n)}</p>' for n in g.notes)
    body = [
        f"<h1>tunegate report: {e(g.task.name)}</h1>",
        f'<div class="meta">{e(g.task.description)}</div>',
        f'<div class="meta">Rebuilt from the run store ({e("; ".join(runs))}) on '
        f"{e(time.strftime('%Y-%m-%d %H:%M'))}; no model was run to make it.</div>",
        notes,
        "<h2>Recommendation</h2>",
        _recommendation(v),
        "<h2>Rungs × signals</h2>",
        '<p class="muted">Each figure: value, [95% CI], n. A target is met when the whole '
        "interval meets it, may be met when only the value does.</p>",
        _rung_table(v),
        fields.section(g.task, g.schema, [r.outputs for r in g.evidence.rungs]),
        distill_section(g.distill),
        "<h2>Plots</h2>",
        _plots(v.plots),
        search.section(g.search, primary_metric(g.task)),
        "<h2>Per-signal verdicts</h2>",
        _signals(v),
        "<h2>Gates</h2>",
        _gates(v),
        "<h2>Training</h2>",
        _training(v),
        "<h2>Paired tests</h2>",
        _comparisons(v),
        "<h2>Readiness of the data</h2>",
        _readiness(v),
        "<h2>Worst failures per rung</h2>",
        _failures(v),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>tunegate report: {e(g.task.name)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )
