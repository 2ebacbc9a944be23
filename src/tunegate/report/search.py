"""The report's account of the optimized rung: every prompt candidate the search tried with its
dev score, the winner, and its dev-vs-test gap (how much of the dev score held on test)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from tunegate.outputs import Metric
from tunegate.store import Store


@dataclass
class SearchRecord:
    """A stored prompt search (run kind "optimize") and the test figure of its winner."""

    run_id: str
    winner: str
    dev_score: float
    dev_items: int
    stopped: str
    wall_s: float
    spent_s: float
    candidates: list[dict[str, Any]] = field(default_factory=list)
    test: Metric | None = None

    @property
    def gap(self) -> float | None:
        """dev score minus test score (positive: the search's pick did worse on test)."""
        return None if self.test is None else self.dev_score - self.test.value


def load_search(store: Store, diagnose_run: str, test: Metric | None) -> SearchRecord | None:
    """The search behind a diagnose's optimized rung (None when it did not run one)."""
    run_id = store.run(diagnose_run).config.get("optimize_run")
    summary = store.result(run_id, "summary") if isinstance(run_id, str) else None
    if not isinstance(summary, dict):
        return None
    return SearchRecord(
        run_id=str(run_id),
        winner=summary["winner_id"],
        dev_score=float(summary["dev_score"]),
        dev_items=int(summary["dev_items"]),
        stopped=str(summary.get("stopped", "")),
        wall_s=float(summary.get("wall_s", 0.0)),
        spent_s=float(summary.get("spent_s", 0.0)),
        candidates=list(summary.get("candidates", [])),
        test=test,
    )


def section(s: SearchRecord | None, primary: str) -> str:
    """The HTML section (empty when the diagnose had no optimized rung)."""
    if s is None:
        return ""
    e = html.escape
    gap = ""
    if s.test is not None and s.gap is not None:
        gap = (
            f" On test: {s.test.value:.3f} [{s.test.lo:.3f}, {s.test.hi:.3f}] (n={s.test.n}); "
            f"dev-vs-test gap {s.gap:+.3f}."
        )
    out = [
        "<h2>Optimized prompt: the search</h2>",
        f'<p id="search">Search {e(s.run_id)}: {len(s.candidates)} candidates on a dev split '
        f"carved from train (never the test split), {s.wall_s:.0f} s ({s.spent_s:.0f} s "
        f"generating); {e(s.stopped)}. Winner <strong>{e(s.winner)}</strong>: {e(primary)} "
        f"{s.dev_score:.3f} on {s.dev_items} dev items.{gap}</p>",
        '<table id="candidates"><thead><tr><th>candidate</th><th>dev items</th>'
        f"<th>dev {e(primary)}</th><th>tokens in</th></tr></thead><tbody>",
    ]
    for c in s.candidates:
        mark = " ★" if c["id"] == s.winner else ""
        out.append(
            f"<tr><td>{e(c['id'])}{mark}</td><td class=num>{int(c['dev_items'])}</td>"
            f"<td class=num>{float(c['dev_score']):.3f}</td>"
            f"<td class=num>{float(c['input_tokens']):,.0f}</td></tr>"
        )
    out.append("</tbody></table>")
    out.append(
        '<p class="muted">Candidates: instruction / schema or labels spelled out or plain / k '
        "examples / selection (similar, stratified, diverse) / order / decoding. The screen scores "
        "every candidate on the first dev items; the better half goes on to twice as many.</p>"
    )
    return "".join(out)
