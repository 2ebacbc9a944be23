"""The report's account of the optimized rung: every prompt candidate the search tried with its
dev score, the winner, and its dev-vs-test gap (how much of the dev score held on test). The
HTML is the partial report/templates/partials/search.html."""

from __future__ import annotations

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
