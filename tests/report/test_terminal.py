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


def test_every_latency_and_cost_says_what_engine_and_machine_measured_it(built_report: Any) -> None:
    import dataclasses

    result, _, _ = built_report
    gathered = dataclasses.replace(result.gathered, hardware="AMD EPYC, 2 cores, AVX-512")
    console = Console(record=True, width=220)
    print_summary(gathered, result.decision, console)
    text = console.export_text()
    assert "measured on" in text and "latency and $/month measured on AMD EPYC, 2 cores" in text
    local = next(r for r in gathered.evidence.rungs if not r.outputs.remote)
    row = next(line for line in text.splitlines() if f" {local.rung} " in line)
    assert "torch fp32" in row  # stored model labels without `@engine` ran on the torch engine
