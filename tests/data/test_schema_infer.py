"""Schema inference on hand-made targets, one case per kind of data."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tunegate.data.schema_infer import (
    SchemaConflict,
    infer_schema,
    type_conflicts,
    validate_all,
)


def located(values: list[Any]) -> list[tuple[str, Any]]:
    return [(f"line {i}", v) for i, v in enumerate(values, 1)]


def infer(values: list[Any]) -> dict[str, Any]:
    schema = infer_schema(located(values))
    for v in values:  # every draft accepts its own data
        jsonschema.validate(v, schema)
    return schema


def test_objects_with_varying_keys_list_the_union_and_close_the_object() -> None:
    rows = [
        {"intent": "Rate", "slots": {"rating": "5", "object": "book"}},
        {"intent": "Play", "slots": {"artist": "Nina", "album": "X"}},
        {"intent": "Play", "slots": {}},
    ]
    schema = infer(rows)
    slots = schema["properties"]["slots"]
    assert list(slots["properties"]) == ["artist", "album", "rating", "object"]
    assert slots["additionalProperties"] is False and slots["required"] == []
    assert slots["maxProperties"] == 2  # no row fills more than two of the four slots
    assert schema["required"] == ["intent", "slots"]
    assert schema["additionalProperties"] is False
    with pytest.raises(jsonschema.ValidationError):  # an invented slot is refused
        jsonschema.validate({"intent": "Play", "slots": {"1234567890": "1"}}, schema)


def test_key_order_follows_the_rows() -> None:
    rows = [{"c": 1, "d": 1}, {"a": 1, "b": 1}, {"b": 1, "c": 1}]
    assert list(infer(rows)["properties"]) == ["a", "b", "c", "d"]  # each row sorted: sorted
    rows = [{"z": 1, "y": 1}, {"z": 1, "a": 1, "y": 1}]
    assert list(infer(rows)["properties"]) == ["z", "a", "y"]


def test_arrays_of_objects_merge_their_elements() -> None:
    rows = [
        {"items": [{"sku": "A1", "qty": 2}, {"sku": "B2", "qty": 1, "gift": True}]},
        {"items": []},
        {"items": [{"sku": "C3", "qty": 5}]},
    ]
    items = infer(rows)["properties"]["items"]
    assert items["type"] == "array" and "uniqueItems" not in items
    assert items["maxItems"] == 2  # the longest array seen: decoding cannot loop past it
    assert items["items"] == {
        "type": "object",
        "properties": {
            "sku": {"type": "string", "maxLength": 4},  # twice the longest seen
            "qty": {"type": "integer"},
            "gift": {"type": "boolean"},
        },
        "required": ["sku", "qty"],
        "additionalProperties": False,
    }


def test_low_cardinality_strings_become_enums_and_sets_are_unique() -> None:
    rows = [
        {"tags": ["a", "b"][: 1 + i % 2], "color": "red" if i % 3 else "blue"} for i in range(12)
    ]
    schema = infer(rows)
    assert schema["properties"]["color"] == {"type": "string", "enum": ["blue", "red"]}
    tags = schema["properties"]["tags"]
    assert tags["items"] == {"type": "string", "enum": ["a", "b"]}
    assert tags["uniqueItems"] is True  # no row repeats a tag
    assert tags["maxItems"] == 2
    rare = infer([{"name": f"n{i}"} for i in range(12)])  # 12 distinct values of 12: free
    assert rare["properties"]["name"] == {"type": "string", "maxLength": 6}
    prose = infer([{"text": "word " * 20}, {"text": "short"}])["properties"]["text"]
    assert prose == {"type": "string"}  # longer than SHORT_STRING: no bound
    repeated = infer([{"tags": ["a", "a"]}, {"tags": ["b"]}])
    assert "uniqueItems" not in repeated["properties"]["tags"]


def test_numbers_and_integers() -> None:
    schema = infer([{"n": 1, "x": 1, "b": True}, {"n": 2, "x": 2.5, "b": False}])
    assert schema["properties"]["n"] == {"type": "integer"}
    assert schema["properties"]["x"] == {"type": "number"}
    assert schema["properties"]["b"] == {"type": "boolean"}


def test_nullable_fields_and_optional_keys() -> None:
    rows = [
        {"id": 1, "note": "call", "due": "mon"},
        {"id": 2, "note": None},
        {"id": 3, "note": "x", "due": "tue"},
    ]
    schema = infer(rows)
    assert schema["required"] == ["id", "note"]  # `due` is missing from row 2
    assert schema["properties"]["note"] == {"type": ["string", "null"], "maxLength": 8}
    assert schema["properties"]["due"] == {"type": "string", "maxLength": 6}
    enum = infer([{"s": ["a", "b", None][i % 3]} for i in range(15)])["properties"]["s"]
    assert enum == {"type": ["string", "null"], "enum": ["a", "b", None]}


def test_scalars_of_two_types_give_a_type_list() -> None:
    assert infer([{"v": 1}, {"v": "one"}])["properties"]["v"] == {"type": ["integer", "string"]}


def test_a_string_in_some_rows_and_an_object_in_others_cannot_be_drawn() -> None:
    with pytest.raises(SchemaConflict) as exc:
        infer_schema(located([{"a": 1}, "plain text", {"a": 2}, "more"]))
    msg = str(exc.value)
    assert "\n" not in msg
    assert (
        "(top level): object in 2 rows (line 1, line 3), string in 2 rows (line 2, line 4)" in msg
    )
    with pytest.raises(
        SchemaConflict, match=r"at slots: object in 2 rows .* string in 1 row \(line 3\)"
    ):
        infer_schema(located([{"slots": {}}, {"slots": {"d": "x"}}, {"slots": "none"}]))


def test_type_conflicts_count_rows_per_type_at_each_path() -> None:
    found = type_conflicts(
        located([{"n": 1, "s": {"d": "x"}}, {"n": "2", "s": {"d": 3}}, {"n": 2.5, "s": None}])
    )
    assert [(c.path, c.rows) for c in found] == [
        ("n", {"number": ["line 1", "line 3"], "string": ["line 2"]}),
        ("s.d", {"string": ["line 1"], "number": ["line 2"]}),
    ]
    assert found[0].minority() == ["line 2"]


def test_validate_all_names_the_rows_a_schema_rejects() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    broken = validate_all(schema, located([{"n": 1}, {"n": "x"}]))
    assert [(b.where, b.message) for b in broken] == [("line 2", "n: 'x' is not of type 'integer'")]
