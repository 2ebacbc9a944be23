"""The terminal summary: the recommendation, the rungs, the reasons, what would flip it."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from tunegate.report.terminal import print_summary


def test_summary_shows_the_recommendation_and_every_rung(built_report: Any) -> None:
    result, _, _ = built_report
    console = Console(record=True, width=200)
    print_summary(result.gathered, result.decision, console, result.path)
    text = console.export_text()
    d = result.decision
    assert d.headline in text and "fine-tune" in text
    for s in d.rungs:
        assert s.rung in text
    assert "finetuned ◀" in text and "what would change this" in text
    assert f"${d.rungs[0].cost_per_month:,.2f}" in text
    assert str(result.path) in text
