"""The report's per-field section on hand-made answers of two rungs."""

from __future__ import annotations

import json
import re

from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.report import fields
from tunegate.spec import parse_task

SCHEMA = {
    "type": "object",
    "properties": {
        "intents": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "slots": {
            "type": "object",
            "properties": {"date": {"type": "string"}, "city": {"type": "string"}},
            "additionalProperties": False,
        },
    },
}
TASK = parse_task(
    {"name": "t", "data": {"train": "x.jsonl"}, "output": {"type": "json", "schema": SCHEMA}}
)
GOLD = [
    {"intents": ["book", "hotel"], "slots": {"date": "today", "city": "Paris"}},
    {"intents": ["cancel"], "slots": {"date": "monday"}},
    {"intents": ["book"], "slots": {"city": "Rome"}},
    {"intents": ["greet"], "slots": {}},
]


def rung(name: str, answers: list[object]) -> RungOutputs:
    items = [
        ItemOutput(f"e{i}", json.dumps(g), a if isinstance(a, str) else json.dumps(a))
        for i, (g, a) in enumerate(zip(GOLD, answers, strict=True))
    ]
    return RungOutputs(name, "m", items)


GOOD = rung(
    "constrained",
    [
        {"intents": ["hotel", "book"], "slots": {"date": "Today", "city": "Paris"}},
        {"intents": ["cancel"], "slots": {"date": "monday"}},
        {"intents": ["book"], "slots": {"city": "Rome"}},
        {"intents": ["greet"], "slots": {}},
    ],
)
BAD = rung(
    "zero_shot",
    [
        {"intents": ["book"], "slots": {"date": "tomorrow", "<b>x</b>": "1"}},
        "not json at all",
        {"intents": ["book"], "slots": {"city": "Rome"}},
        {"intents": ["greet"], "slots": {}},
    ],
)


def cells(html: str, field: str) -> list[str]:
    row = re.search(rf"<tr><td>{re.escape(field)}</td>(.*?)</tr>", html)
    assert row, field
    return re.findall(r'<td class="num">([^<]*)', row.group(1))


def test_per_field_f1_with_intervals_per_rung() -> None:
    html = fields.section(TASK, SCHEMA, [BAD, GOOD])
    assert "<h2>Per-field F1</h2>" in html
    # intents[] as a set: zero_shot tp 3 (book; book; greet), fn 2 (hotel, cancel) -> 6/8
    assert cells(html, "intents[]") == ["0.750", "1.000"]
    # slots.date: zero_shot tp 0 fp 1 fn 2 -> 0; constrained 1.0 ("Today" case aside)
    assert cells(html, "slots.date") == ["0.000", "1.000"]
    assert cells(html, "slots.city") == ["0.667", "1.000"]  # tp 1, fn 1
    assert "1 invented" in html and "0 invented" in html
    assert "&lt;b&gt;x&lt;/b&gt;" not in html  # invented keys are counted, not listed
    assert re.search(r"0\.750<br><span class=\"ci\">\[0\.\d+, 1\.000\] n=4", html)
    date_row = re.search(r"<tr><td>slots.date</td>(.*?)</tr>", html)
    assert date_row and re.findall(r"n=(\d+)", date_row.group(1)) == ["2", "2"]  # e0, e1


def test_where_rungs_differ_and_the_error_view() -> None:
    html = fields.section(TASK, SCHEMA, [BAD, GOOD])
    differ = html.split("<h3>Where the rungs differ most</h3>")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>", differ)
    assert rows[0] == ("slots.date", "constrained", "zero_shot")  # the largest gap first
    assert "+1.000" in differ and "p=" in differ
    errors = html.split("<h3>Errors in the worst fields</h3>")[1]
    assert "<h3>slots.date</h3>" in errors
    first = errors.split("<h3>slots.date</h3>")[1].split("</table>")[0]
    assert "<td>e1</td>" in first and "(no JSON object)" in first  # e1: zero_shot wrote prose
    assert "&#34;monday&#34;" in first and "F1 0.00" in first


def test_only_json_tasks_with_answers() -> None:
    text = parse_task({"name": "t", "data": {"train": "x.jsonl"}})
    assert fields.section(text, None, [BAD]) == ""
    assert fields.section(TASK, SCHEMA, [RungOutputs("r", "m", [], skipped="no adapter")]) == ""
