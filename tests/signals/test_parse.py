"""Strict and lenient JSON, normalization, label extraction and field kinds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tunegate.signals.parse import (
    CachedEncoder,
    extract_label,
    json_fields,
    lenient_json,
    lenient_json_checked,
    normalize_value,
    strict_json,
    strict_json_checked,
)


def test_strict_json_needs_the_whole_output() -> None:
    assert strict_json(' {"a": 1}\n') == (True, {"a": 1})
    assert strict_json('Here: {"a": 1}')[0] is False
    assert strict_json('```json\n{"a": 1}\n```')[0] is False


def test_lenient_json_strips_fences_and_takes_the_first_object() -> None:
    assert lenient_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert lenient_json('Sure! {"a": {"b": 2}} and {"c": 3}') == {"a": {"b": 2}}
    assert lenient_json('{broken {"ok": true} tail') == {"ok": True}
    assert lenient_json("[1, 2]") is None
    assert lenient_json("no json here") is None


def test_normalized_values_ignore_case_punctuation_and_list_order() -> None:
    assert normalize_value("Acme  Pro.") == normalize_value("acme pro")
    assert normalize_value(["b", "A"]) == normalize_value(["a", "B"])
    assert normalize_value(3) == normalize_value(3.0)
    assert normalize_value("high") != normalize_value("higher")


def test_extract_label_from_free_generations() -> None:
    labels = ["card_arrival", "card_linking", "card"]
    assert extract_label("card_arrival", labels) == "card_arrival"
    assert extract_label("Card Arrival\nbecause the user waits", labels) == "card_arrival"
    assert extract_label("The intent is card linking.", labels) == "card_linking"
    assert extract_label("It is card_arrival or card_linking", labels) is None
    assert extract_label("no idea", labels) is None


def test_json_fields_kinds_from_schema_and_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "category": {"enum": ["billing", "bug"]},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
            "product": {"type": "string"},
            "summary": {"type": "string"},
            "count": {"type": "integer"},
        },
    }
    expected = [
        {"product": "Acme Pro", "summary": "The customer was charged twice this month", "count": 1}
    ]
    kinds = {f.name: f.kind for f in json_fields(schema, expected)}
    assert kinds == {
        "category": "label",
        "tags": "labels",
        "product": "value",
        "summary": "text",
        "count": "value",
    }
    no_schema = json_fields(None, [{"x": "a b"}, {"y": 2}])
    assert [f.name for f in no_schema] == ["x", "y"]


def test_cached_encoder_embeds_each_text_once() -> None:
    calls: list[list[str]] = []

    class Counting:
        def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
            calls.append(list(texts))
            return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    enc = CachedEncoder(Counting())
    first = enc.encode(["a", "bb", "a"])
    second = enc.encode(["bb", "ccc"])
    assert calls == [["a", "bb"], ["ccc"]]
    assert first[:, 0].tolist() == [1, 2, 1] and second[:, 0].tolist() == [2, 3]


def test_duplicate_keys_are_found_while_parsing_at_any_depth() -> None:
    text = '{"intent": "RateBook", "slots": {"1234": "1234", "1234": "x"}, "intent": "Play"}'
    ok, value, dups = strict_json_checked(text)
    assert ok and value["intent"] == "Play"  # what Python keeps: the last one
    assert dups == ["1234", "intent"]  # inner objects are built first
    assert strict_json_checked('{"a": {"a": 1}}')[2] == []  # same name, two objects
    obj, dups = lenient_json_checked('Sure: ```json\n{"a": 1, "a": 2}\n```')
    assert obj == {"a": 2} and dups == ["a"]
    obj, dups = lenient_json_checked('Answer {"b": 1, "b": 1} then')
    assert obj == {"b": 1} and dups == ["b"]
    assert lenient_json_checked("no json") == (None, [])
