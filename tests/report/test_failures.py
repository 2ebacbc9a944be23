"""The worst answers of a rung, ranked by the knowledge score, beside input and expected."""

from __future__ import annotations

import json

from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.report.failures import worst_failures, wrong_fields

SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "outage", "setup"]},
        "urgency": {"type": "string", "enum": ["low", "high"]},
    },
    "required": ["category", "urgency"],
}


def ticket(category: str, urgency: str) -> str:
    return json.dumps({"category": category, "urgency": urgency})


def test_json_failures_rank_errors_then_fewest_fields_right() -> None:
    items = [
        ItemOutput("a", ticket("billing", "low"), ticket("billing", "low")),  # right
        ItemOutput("b", ticket("outage", "high"), ticket("outage", "low")),  # half right
        ItemOutput("c", ticket("setup", "low"), ticket("billing", "high")),  # all wrong
        ItemOutput("d", ticket("setup", "high"), "", error="timeout after 60 s"),
        ItemOutput("e", ticket("billing", "high"), '{"kind": "billing"}'),  # invented field
    ]
    inputs = {k: f"message {k}" for k in "abcde"}
    rf = worst_failures("json", SCHEMA, RungOutputs("constrained", "m", items), inputs, limit=3)
    assert rf.rung == "constrained" and rf.wrong == 4 and rf.total == 5
    assert [f.example_id for f in rf.worst] == ["d", "c", "e"]
    assert rf.worst[0].error == "timeout after 60 s" and rf.worst[0].input == "message d"
    assert rf.worst[1].score == 0.0
    assert rf.worst[1].wrong_fields == ["category: setup -> billing", "urgency: low -> high"]
    assert "kind: unexpected field" in rf.worst[2].wrong_fields
    assert "category: missing (expected billing)" in rf.worst[2].wrong_fields


def test_label_and_text_failures() -> None:
    items = [ItemOutput("1", "card_arrival", "card_arrival"), ItemOutput("2", "top_up", "refund")]
    rf = worst_failures(
        "label", None, RungOutputs("zero_shot", "m", items), {}, ["card_arrival", "top_up"]
    )
    assert rf.wrong == 1 and rf.worst[0].example_id == "2" and rf.worst[0].output == "refund"
    items = [
        ItemOutput("x", "the router reboots every night", "the router reboots every night"),
        ItemOutput("y", "the router reboots every night", "please call us"),
    ]
    rf = worst_failures("text", None, RungOutputs("few_shot", "m", items), {})
    assert rf.score_name == "knowledge.token_f1" and [f.example_id for f in rf.worst] == ["y"]


def test_wrong_fields_of_non_json() -> None:
    assert wrong_fields(ticket("setup", "low"), "Sure! It is a setup issue.") == [
        "not a JSON object"
    ]
