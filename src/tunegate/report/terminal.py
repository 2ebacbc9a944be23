"""The report in the terminal: the recommendation and a compact table of rungs (rich)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunegate.decide import Decision
from tunegate.report.gather import Gathered

STYLE = {"meets": "green", "may meet": "yellow", "fails": "red", "not measured": "dim"}
VERDICT_STYLE = {
    "prompting suffices": "green",
    "fine-tune": "blue",
    "remote only": "yellow",
    "not ready": "red",
    "nothing meets": "red",
}


def _money(v: float | None) -> str:
    return "—" if v is None else f"${v:,.2f}"


def print_summary(g: Gathered, d: Decision, console: Any, path: Path | None = None) -> None:
    """Headline, chosen rung, reasons, what would flip it, and one row per rung."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    style = VERDICT_STYLE.get(d.verdict, "white")
    body = f"[bold]{escape(d.headline)}[/]"
    if d.chosen:
        body += f"\nchosen rung: [bold]{escape(d.chosen)}[/]"
    console.print(Panel(body, title=f"[{style}]{d.verdict}[/]", title_align="left"))
    ev = g.evidence
    table = Table(title=f"rungs on {len(ev.item_ids)} shared items (diagnose {', '.join(ev.runs)})")
    table.add_column("rung")
    table.add_column("targets")
    table.add_column(d.rungs[0].primary.name if d.rungs and d.rungs[0].primary else "primary")
    table.add_column("$/month", justify="right")
    table.add_column("p95 ms", justify="right")
    table.add_column("measured on")
    for s in d.rungs:
        m = s.primary
        primary = "—" if m is None else f"{m.value:.3f} [{m.lo:.3f}, {m.hi:.3f}]"
        name = f"[bold]{escape(s.rung)}[/] ◀" if s.rung == d.chosen else escape(s.rung)
        table.add_row(
            name,
            f"[{STYLE[s.overall]}]{s.overall}[/]",
            primary,
            _money(s.cost_per_month),
            "—" if s.p95_ms is None else f"{s.p95_ms:,.0f}",
            escape(g.engine_of(s.rung)),
        )
    if g.hardware:
        table.caption = f"latency and $/month measured on {escape(g.hardware)}"
    console.print(table)
    for r in d.reasons:
        console.print(f"  • {escape(r)}", highlight=False)
    if d.flips:
        console.print("[bold]what would change this[/]")
        for f in d.flips:
            console.print(f"  • {escape(f)}", highlight=False)
    if g.search is not None:
        sr = g.search
        test = "" if sr.test is None else f", test {sr.test.value:.3f} (gap {sr.gap:+.3f})"
        console.print(
            f"optimized: {len(sr.candidates)} prompt candidates searched on dev; winner "
            f"{escape(sr.winner)} dev {sr.dev_score:.3f}{test}",
            highlight=False,
        )
    if path is not None:
        console.print(f"report: [bold]{escape(str(path))}[/]", highlight=False)
