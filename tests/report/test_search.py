"""The report lists the optimized rung's candidates with their dev scores, the winner and its
dev-vs-test gap; the decision names it as the prompt ceiling."""

from __future__ import annotations

from pathlib import Path

from ladder_fakes import BagOfWords, ScriptedGenerator, make_label_task, optimize_answer
from tunegate.ladder import DiagnoseOptions, Generators, diagnose
from tunegate.report import build_report


def test_report_shows_the_search_and_the_dev_vs_test_gap(tmp_path: Path) -> None:
    folder = make_label_task(tmp_path)
    diagnose(
        folder,
        DiagnoseOptions(rungs=["zero_shot", "few_shot", "optimized"]),
        generators=Generators(local=lambda: ScriptedGenerator(optimize_answer)),
        embedder=BagOfWords(),
    )
    result = build_report(folder)
    search = result.gathered.search
    assert search is not None and search.winner.startswith("expert/")
    assert search.test is not None and search.gap == search.dev_score - search.test.value
    page = result.path.read_text()
    assert 'id="candidates"' in page and f"{search.winner} ★" in page
    assert page.count("<tr><td>") >= len(search.candidates)
    assert f"dev-vs-test gap {search.gap:+.3f}" in page
    assert any(r.startswith("prompt ceiling: optimized") for r in result.decision.reasons)


def test_no_search_section_without_the_optimized_rung(tmp_path: Path) -> None:
    folder = make_label_task(tmp_path)
    diagnose(
        folder,
        DiagnoseOptions(rungs=["zero_shot"]),
        generators=Generators(local=lambda: ScriptedGenerator(optimize_answer)),
        embedder=BagOfWords(),
    )
    result = build_report(folder)
    assert result.gathered.search is None
    assert 'id="candidates"' not in result.path.read_text()
