"""The HTML report: one self-contained file, the recommendation first, every rung, every plot
as inline SVG, every user string escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from report_store import write_diagnose
from tunegate.data.split import load_dataset
from tunegate.outputs import ItemOutput, Metric, RungOutputs
from tunegate.report import build_report
from tunegate.report.html import e, fmt_metric
from tunegate.spec import load_task
from tunegate.store import Store

RUNGS = [
    "zero_shot",
    "few_shot",
    "constrained",
    "few_shot_constrained",
    "rag",
    "finetuned",
    "remote",
]


def test_the_recommendation_comes_first_with_its_reasons(built_report: Any) -> None:
    result, page, _ = built_report
    d = result.decision
    assert page.startswith("<!DOCTYPE html>")
    head = page.index('id="recommendation"')
    assert head < page.index('id="rungs"') < page.index("<svg")
    assert e(d.headline) in page and f"<strong>{d.chosen}</strong>" in page
    for reason in d.reasons:
        assert e(reason) in page
    assert 'id="flips"' in page and all(e(f) in page for f in d.flips)
    for section in ("Per-signal verdicts", "Gates", "Readiness of the data", "Worst failures"):
        assert section in page


def test_every_rung_with_its_figures_and_target_statuses(built_report: Any) -> None:
    result, page, _ = built_report
    table = page[page.index('id="rungs"') : page.index("</table>", page.index('id="rungs"'))]
    for rung in RUNGS:
        assert f"<strong>{rung}</strong>" in table
    g = result.gathered
    tuned = g.evidence.rung("finetuned")
    assert fmt_metric(tuned.metric("knowledge.field_accuracy")) in table
    assert fmt_metric(tuned.metric("cost.per_month")) in table
    assert "✓ meets" in table and "✗ fails" in table and "~ may meet" in table
    assert 'class="chosen"' in table
    # the style column is left out: no rung measured it, and the page says why
    assert "<th>style</th>" not in table and "no style references" in page
    # what measured each rung's latency and cost (issue 14: engine and weights beside them)
    assert "measured on torch fp32" in table and "measured on remote endpoint" in table


def test_each_plot_is_inline_svg(built_report: Any) -> None:
    result, page, _ = built_report
    keys = re.findall(r'<figure class="plot" id="plot-([^"]+)">', page)
    assert keys[:5] == ["signals", "cost", "latency", "learning-curve", "loss"]
    # one confusion matrix per enum field of the ticket: category, urgency, product
    assert keys[5:] == ["confusion-0", "confusion-1", "confusion-2"]
    assert page.count("<svg") == len(keys) == 8
    for title in ("Confusion: category (finetuned)", "Confusion: urgency (finetuned)"):
        assert title in page


def test_self_contained_and_inert(built_report: Any) -> None:
    _, page, _ = built_report
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<script" not in page.lower()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "<link" not in page and "@import" not in page
    # the script planted in an input is shown as text beside the failure
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; my router is down" in page


def test_the_readiness_and_failures_sections(built_report: Any) -> None:
    result, page, _ = built_report
    check = result.gathered.check
    readiness = page[page.index('id="readiness"') :]
    for item in check.items:
        assert e(item["title"]) in readiness
    # zero_shot invents fields: its failures name them
    section = page[page.index('id="failures-zero-shot"') : page.index('id="failures-few-shot"')]
    assert "40 of 40 items not fully right" in section
    assert "issue_type: unexpected field" in section or "not a JSON object" in section


def test_the_per_field_section_of_a_json_task(built_report: Any) -> None:
    result, page, _ = built_report
    section = page[page.index("<h2>Per-field F1</h2>") :]
    for r in result.gathered.evidence.rungs:
        assert f"<th>{e(r.rung)}</th>" in section
    assert "<tr><td>category</td>" in section
    assert "Where the rungs differ most" in section


def test_json_holds_the_decision_and_evidence(built_report: Any) -> None:
    result, _, payload = built_report
    assert payload["decision"]["verdict"] == result.decision.verdict
    assert payload["decision"]["chosen"] == "finetuned"
    assert [r["rung"] for r in payload["evidence"]["rungs"]] == RUNGS
    assert payload["runs"]["diagnose"] == result.gathered.evidence.runs
    assert len(payload["evidence"]["training"]["curve"]) == 3


def test_escape_and_metric_format() -> None:
    assert e('<a href="x">') == "&lt;a href=&#34;x&#34;&gt;"
    money = fmt_metric(Metric("cost.per_month", 12.5, 10.0, 15.0, 40, False, "$"))
    assert money.startswith("$12.50") and "[$10.00, $15.00] n=40" in money
    assert "—" in fmt_metric(None)


def test_the_training_section_lists_the_run_and_the_curve(built_report: Any) -> None:
    result, page, _ = built_report
    g = result.gathered
    section = page[page.index('id="training"') : page.index("Paired tests")]
    assert g.train.run_id in section and "4.5 min" in section and "60 of 60 steps" in section
    assert "800 training examples" in section
    curve = section[section.index('id="curve"') :]
    for c in g.curve:
        assert c.run_id in curve and f"{c.point.value:.3f}" in curve


def test_a_label_task_with_only_a_diagnose(tmp_path: Path) -> None:
    """No check, no training: the report says so; the label confusion matrix is drawn."""
    folder = tmp_path / "kinds"
    folder.mkdir()
    labels = ["card_arrival", "top_up_failed", "refund_not_showing"]
    rows = [
        {"text": f"question {i} about {labels[i % 3]}", "label": labels[i % 3]} for i in range(60)
    ]
    for name, part in (("train", rows[:36]), ("test", rows[36:])):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    (folder / "tunegate.yaml").write_text(
        "name: kinds\ninputs: [text]\nprompt: {user: '{text}'}\noutput: {type: label, field: label}\n"
        "data: {train: train.jsonl, test: test.jsonl}\ntargets: {min_accuracy: 0.9}\n"
    )
    task, folder = load_task(folder)
    examples = load_dataset(task, folder).test
    outs = []
    for rung, every in (("zero_shot", 3), ("few_shot", 1)):
        items = [
            ItemOutput(ex.id, ex.target, ex.target if i % every == 0 else "no idea", 40, 3)
            for i, ex in enumerate(examples)
        ]
        outs.append(
            RungOutputs(rung, "m", items, latencies_ms=[50.0, 60.0, 55.0], requests_per_s=2.0)
        )
    store = Store(folder)
    write_diagnose(store, task, None, outs, embedder=None)
    store.close()
    result = build_report(folder)
    page = result.path.read_text()
    assert result.decision.verdict == "prompting suffices" and result.decision.chosen == "few_shot"
    assert "Confusion: label (few_shot)" in page
    assert "run <code>tunegate check</code>" in page and "run <code>tunegate train</code>" in page
    assert 'id="plot-learning-curve"' not in page and 'id="plot-loss"' not in page
