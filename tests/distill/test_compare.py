"""Student vs teacher on constructed outputs: agreement figures, the stored record's round trip,
and the report section (escaped)."""

from __future__ import annotations

from pathlib import Path

from ladder_fakes import SCHEMA, make_task
from tunegate.distill.compare import DistillComparison, Side, agreement, canonical
from tunegate.outputs import ItemOutput, Metric, RungOutputs
from tunegate.report.distill import headline
from tunegate.report.html import distill_section as html_section
from tunegate.spec import load_task


def _outputs(rung: str, texts: list[str], remote: bool = False) -> RungOutputs:
    items = [ItemOutput(f"ex{i}", "gold", t) for i, t in enumerate(texts)]
    return RungOutputs(rung, "m", items, remote=remote)


def test_label_agreement_counts_items_both_answered(tmp_path: Path) -> None:
    task, _ = load_task(make_task(tmp_path, "label", docs=False))
    student = _outputs("finetuned", ["billing", "login", "login", "shipping"])
    teacher = _outputs("remote", ["billing", "login", "billing", "x"], remote=True)
    teacher.items[3].error = "HTTP 500 after 3 attempt(s)"
    agree, identical = agreement(task, None, student, teacher, ["billing", "login", "shipping"])
    assert agree is not None and identical is not None
    assert (agree.name, agree.n, round(agree.value, 3)) == (
        "agreement.knowledge.accuracy",
        3,
        0.667,
    )
    assert (identical.n, round(identical.value, 3)) == (3, 0.667)


def test_json_answers_agree_as_objects_and_per_field(tmp_path: Path) -> None:
    task, _ = load_task(make_task(tmp_path, "json", docs=False))
    student = _outputs(
        "finetuned",
        ['{"urgency": "low", "category": "login"}', '{"category": "billing", "urgency": "low"}'],
    )
    teacher = _outputs(
        "remote",
        ['{"category":"login","urgency":"low"}', '{"category": "billing", "urgency": "high"}'],
        remote=True,
    )
    assert canonical("json", student.items[0].text) == canonical("json", teacher.items[0].text)
    agree, identical = agreement(task, SCHEMA, student, teacher, None)
    assert identical is not None and identical.value == 0.5
    assert agree is not None and agree.value == 0.75  # fields: 2 of 2, then 1 of 2


def test_record_round_trips_and_the_section_escapes(tmp_path: Path) -> None:
    m = Metric("knowledge.accuracy", 0.8, 0.6, 0.9, 10)
    cost = Metric("cost.per_month", 12.5, 11.0, 14.0, 10, False, "$")
    side = Side("finetuned", "<b>student</b>", 10, 0, m, m, cost, "self-hosted", None, None)
    c = DistillComparison(
        primary="knowledge.accuracy",
        items=10,
        gold=True,
        student=side,
        teacher=Side("remote", "remote:big", 10, 1, m, m, cost, "remote", None, None),
        agreement=m,
        identical=m,
        labelling={"labelled": 30, "inputs": 31, "teacher": "big", "cost": 0.01},
    )
    again = DistillComparison.from_json(c.to_json())
    assert again == c
    html = html_section(again)
    assert "&lt;b&gt;student&lt;/b&gt;" in html and "<b>student" not in html
    assert "$12.50" in html and "30 of 31 inputs labelled" in html
    assert "agrees with the teacher at 0.800" in headline(c)
    assert html_section(None) == ""
