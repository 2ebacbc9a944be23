"""Format signal on hand-written outputs: parse rates, schema validity, key drift, agreement."""

from __future__ import annotations

import json

import pytest

from tunegate.models.embed import default_embedder
from tunegate.outputs import ItemOutput
from tunegate.signals import format as fmt

SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"enum": ["billing", "bug", "account"]},
        "urgency": {"enum": ["low", "medium", "high"]},
        "product": {"type": "string"},
    },
    "required": ["category", "urgency", "product"],
    "additionalProperties": False,
}
EXPECTED = json.dumps({"category": "billing", "urgency": "high", "product": "Acme Pro"})


def item(i: int, text: str, samples: list[str] | None = None) -> ItemOutput:
    return ItemOutput(f"e{i}", EXPECTED, text, samples=samples or [])


OUTPUTS = [
    item(0, EXPECTED),  # right
    item(1, "```json\n" + EXPECTED + "\n```"),  # fenced: lenient only
    item(2, '{"category": "billing", "priority": "high", "product": "Acme Pro"}'),  # renamed
    item(3, '{"category": "bug", "urgency": "low", "product": "X", "notes": "call back"}'),  # extra
    item(4, '{"category": "billing", "product": "Acme Pro"}'),  # missing
    item(5, "I think it is billing."),  # no JSON
]


def by_name(res: fmt.SignalResult) -> dict[str, tuple[float, int]]:
    return {m.name: (m.value, m.n) for m in res.metrics}


def test_parse_and_schema_rates() -> None:
    m = by_name(fmt.measure("json", SCHEMA, OUTPUTS))
    assert m["format.parse"] == (4 / 6, 6)  # all but the fenced and the prose
    assert m["format.parse_lenient"] == (5 / 6, 6)
    assert m["format.schema_valid"] == (1 / 6, 6)  # items 0 only (3 has an extra key)
    assert m["format.schema_valid_lenient"] == (2 / 6, 6)  # items 0 and 1


def test_key_drift_counts_missing_extra_and_renamed_per_key() -> None:
    drift = fmt.key_drift(OUTPUTS, SCHEMA, default_embedder())
    assert drift.parsed == 5
    assert drift.missing == {"urgency": 2}
    assert drift.extra == {"priority": 1, "notes": 1}
    assert drift.renames == {("priority", "urgency"): 1}
    assert drift.renamed == {"urgency": 1}
    m = by_name(fmt.measure("json", SCHEMA, OUTPUTS, embedder=default_embedder()))
    assert m["format.key_missing.urgency"] == (2 / 5, 5)
    assert m["format.key_renamed.urgency"] == (1 / 5, 5)
    assert m["format.key_missing.category"] == (0.0, 5)
    assert m["format.key_extra.notes"] == (1 / 5, 5)
    assert m["format.keys_renamed"] == (1 / 5, 5)
    assert m["format.keys_extra"] == (2 / 5, 5)


def test_rename_needs_meaning_when_the_spelling_differs() -> None:
    # "priority" and "urgency" share no spelling: without the embedder it stays an extra key
    drift = fmt.key_drift(OUTPUTS, SCHEMA, None)
    assert drift.renames == {}
    # a spelling variant is found without the embedder
    variant = [item(0, '{"category": "bug", "urgency_level": "low", "product": "X"}')]
    assert fmt.key_drift(variant, SCHEMA, None).renames == {("urgency_level", "urgency"): 1}


def test_rename_rules_score_name_value_and_position() -> None:
    exp = {"urgency": "high"}
    props = SCHEMA["properties"]
    assert fmt.lexical_similarity("ticketCategory", "category") == 0.9
    assert fmt.lexical_similarity("urgency", "product") == 0.0
    # an unrelated name with a free-text value is not a rename even with a synonym-free name
    obj = {"category": "bug", "notes": "call me", "product": "X"}
    cos = {("notes", "urgency"): 0.33}
    renames = fmt.match_renames(
        obj, ["urgency"], ["notes"], exp, props, ["category", "urgency"], cos
    )
    assert renames == {}
    obj2 = {"category": "bug", "priority": "high", "product": "X"}
    cos2 = {("priority", "urgency"): 0.58}
    renames2 = fmt.match_renames(
        obj2, ["urgency"], ["priority"], exp, props, ["category", "urgency"], cos2
    )
    assert renames2 == {"priority": "urgency"}
    order = ["category", "urgency"]
    # a synonym holding a value outside the enum is still a rename: 0.6*0.93 + 0.3*0.5 + 0.1
    obj3 = {"category": "bug", "priority": "urgent!!"}
    assert fmt.match_renames(obj3, ["urgency"], ["priority"], exp, props, order, cos2) == {
        "priority": "urgency"
    }
    # an unrelated name whose value fits the enum, in the same place, is not: 0.3*1 + 0.1
    obj4 = {"category": "bug", "label": "high"}
    cos4 = {("label", "urgency"): 0.22}
    assert fmt.match_renames(obj4, ["urgency"], ["label"], exp, props, order, cos4) == {}


def test_sample_agreement_on_repeated_answers() -> None:
    other = '{"category": "bug", "urgency": "high", "product": "Acme Pro"}'
    reordered = json.dumps({"product": "Acme Pro", "urgency": "high", "category": "billing"})
    items = [
        item(0, EXPECTED, [reordered, other]),  # 2 of 3 agree (key order ignored)
        item(1, EXPECTED, [EXPECTED, EXPECTED, EXPECTED]),  # all agree
    ]
    m = by_name(fmt.measure("json", SCHEMA, items))
    assert m["format.sample_agreement"][0] == pytest.approx((2 / 3 + 1) / 2)
    assert m["format.sample_key_agreement"] == (1.0, 2)
    assert "format.sample_agreement" not in by_name(fmt.measure("json", SCHEMA, OUTPUTS))


def test_label_valid_rates_strict_and_lenient() -> None:
    labels = ["card_arrival", "lost_card"]
    items = [
        ItemOutput("a", "card_arrival", "card_arrival"),
        ItemOutput("b", "card_arrival", "Card arrival."),
        ItemOutput("c", "lost_card", "I lost it"),
        ItemOutput("d", "lost_card", "lost_card", samples=["lost card", "card_arrival"]),
    ]
    m = by_name(fmt.measure("label", None, items, labels=labels))
    assert m["format.valid_label"] == (2 / 4, 4)
    assert m["format.valid_label_lenient"] == (3 / 4, 4)
    assert m["format.sample_agreement"][0] == pytest.approx(2 / 3)


def test_duplicate_keys_outside_keys_and_wrong_types_are_format_failures() -> None:
    schema = {
        "type": "object",
        "properties": {
            "intent": {"enum": ["a", "b"]},
            "slots": {
                "type": "object",
                "properties": {"date": {"type": "string"}, "n": {"type": "integer"}},
                "additionalProperties": False,
            },
        },
        "required": ["intent", "slots"],
        "additionalProperties": False,
    }
    exp = json.dumps({"intent": "a", "slots": {"date": "today"}})
    outs = [
        ItemOutput("e0", exp, exp),
        ItemOutput("e1", exp, '{"intent": "a", "slots": {"date": "x", "date": "today"}}'),
        ItemOutput("e2", exp, '{"intent": "a", "slots": {"date": "today", "123": "123"}}'),
        ItemOutput("e3", exp, '{"intent": "a", "slots": {"date": 5, "n": "two"}}'),
        ItemOutput("e4", exp, "not json"),
    ]
    m = by_name(fmt.measure("json", schema, outs))
    # e1 parses and its last value satisfies the schema, but a repeated key is not valid
    assert m["format.parse"] == (4 / 5, 5)
    assert m["format.schema_valid"] == (1 / 5, 5)  # e0 only
    assert m["format.schema_valid_lenient"] == (1 / 5, 5)
    assert m["format.duplicate_keys"] == (1 / 4, 4)  # of the parsed outputs
    assert m["format.keys_outside_schema"] == (1 / 4, 4)  # e2's nested "123"
    assert m["format.wrong_type"] == (1 / 4, 4)  # e3 (two wrong values, one item)
