"""Extraction metrics on hand-computed examples: partial matches, nested paths, arrays as sets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tunegate import signals
from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.signals import extraction as ex
from tunegate.spec import parse_task

SCHEMA = {
    "type": "object",
    "properties": {
        "intent": {"enum": ["Book", "Play"]},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "slots": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def test_flatten_nested_paths_and_indexed_arrays() -> None:
    value = {"a": {"b": "X  y!", "c": [1, {"d": None, "e": True}]}, "f": {}, "g": []}
    assert ex.flatten(value) == {("a.b", "x y"): 1, ("a.c[0]", 1.0): 1, ("a.c[1].e", True): 1}


def test_arrays_are_sets_where_the_schema_or_the_task_says_so() -> None:
    assert ex.set_paths(SCHEMA) == {"tags"}
    assert ex.set_paths(SCHEMA, ["order.items[]"]) == {"tags", "order.items"}
    nested = {"properties": {"o": {"items": {"properties": {"t": {"uniqueItems": True}}}}}}
    assert ex.set_paths(nested) == {"o[].t"}
    # as a set: order free; as a list: each element at its index
    assert ex.pair_counts({"tags": ["a", "b"]}, {"tags": ["b", "a"]}, {"tags"}).f1 == 1.0
    twice = ex.pair_counts({"tags": ["a"]}, {"tags": ["a", "a", "b"]}, {"tags"})
    assert (twice.tp, twice.fp, twice.fn) == (1, 1, 0)  # a set: "a" once
    listed = ex.pair_counts({"tags": ["a", "b"]}, {"tags": ["b", "a"]})
    assert (listed.tp, listed.fp, listed.fn) == (0, 2, 2)
    inner = ex.pair_counts({"o": [{"t": ["x", "y"]}]}, {"o": [{"t": ["y", "x"]}]}, {"o[].t"})
    assert inner.f1 == 1.0


def test_partial_match_counts() -> None:
    gold = {"intent": "Book", "slots": {"city": "Paris", "date": "today", "n": "2", "x": "y"}}
    pred = {"intent": "Book", "slots": {"city": "paris", "date": "tomorrow", "time": "9"}}
    c = ex.pair_counts(gold, pred)
    # pairs: gold 5 (intent + 4 slots); pred 4; matched intent and city (case aside)
    assert (c.tp, c.fp, c.fn) == (2, 2, 3)
    assert c.f1 == pytest.approx(2 * 2 / (2 * 2 + 2 + 3))
    assert ex.pair_counts({}, {}).f1 == 1.0  # nothing to find, nothing invented
    assert ex.pair_counts({}, {}, answered=False).f1 == 0.0  # but prose is not an answer
    assert ex.pair_counts({"a": 1}, {}).f1 == 0.0


def items() -> list[ItemOutput]:
    gold = [
        {"intent": "Book", "tags": ["a", "b"], "slots": {"city": "Paris", "date": "today"}},
        {"intent": "Play", "tags": [], "slots": {"artist": "Nina"}},
        {"intent": "Book", "tags": ["c"], "slots": {}},
    ]
    pred = [
        # intent, both tags (other order), city right; date wrong  -> tp 4, fp 1, fn 1
        '{"intent": "Book", "tags": ["b", "a"], "slots": {"city": "Paris", "date": "mon"}}',
        # intent wrong, artist right, invented slot                -> tp 1, fp 2, fn 1
        '{"intent": "Book", "tags": [], "slots": {"artist": "Nina", "song": "X"}}',
        "not json",  # nothing produced                              -> tp 0, fp 0, fn 2
    ]
    return [
        ItemOutput(f"e{i}", json.dumps(g), p)
        for i, (g, p) in enumerate(zip(gold, pred, strict=True))
    ]


def test_item_and_micro_figures_through_the_public_api() -> None:
    task = parse_task(
        {
            "name": "t",
            "data": {"train": "x.jsonl"},
            "output": {"type": "json", "schema": SCHEMA, "primary_metric": "knowledge.pair_f1"},
        }
    )
    scores = signals.score(task, SCHEMA, RungOutputs("r", "m", items()))
    pair = scores.scores["knowledge.pair_f1"].values
    assert pair == pytest.approx({"e0": 8 / 10, "e1": 2 / 5, "e2": 0.0})
    m = {x.name: x for x in scores.metrics}
    assert m["knowledge.micro_precision"].value == pytest.approx(5 / 8)  # tp 5 of 8 produced
    assert m["knowledge.micro_recall"].value == pytest.approx(5 / 9)  # of 9 expected
    assert m["knowledge.micro_f1"].value == pytest.approx(10 / 17)
    lo, hi = m["knowledge.micro_f1"].lo, m["knowledge.micro_f1"].hi
    assert lo <= 10 / 17 <= hi and lo < hi
    # per top-level field, slots: e0 tp 1 fp 1 fn 1; e1 tp 1 fp 1; e2 {} against prose: 0
    slots = scores.scores["knowledge.pair_f1.slots"].values
    assert slots == pytest.approx({"e0": 2 / 4, "e1": 2 / 3, "e2": 0.0})
    assert m["knowledge.micro_f1.slots"].value == pytest.approx(4 / 7)  # tp 2, fp 2, fn 1
    assert scores.scores["knowledge.pair_f1.tags"].values == pytest.approx(
        {"e0": 1.0, "e1": 1.0, "e2": 0.0}
    )
    assert signals.primary_metric(task) == "knowledge.pair_f1"


def test_micro_figures_when_one_side_is_empty() -> None:
    ones = np.ones((1, 2))
    nothing_produced = [ex.PairCounts(0, 0, 2), ex.PairCounts(0, 0, 1)]
    got = {k: float(v[0]) for k, v in ex.micro(nothing_produced, ones).items()}
    assert got == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    invented = [ex.PairCounts(0, 3, 0)]
    got = {k: float(v[0]) for k, v in ex.micro(invented, np.ones((1, 1))).items()}
    assert got == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    empty = [ex.PairCounts(0, 0, 0)]  # undefined: left out of a bootstrap's resamples
    assert np.isnan(ex.micro(empty, np.ones((1, 1)))["f1"][0])


def test_paired_test_on_pair_f1() -> None:
    task = parse_task(
        {"name": "t", "data": {"train": "x.jsonl"}, "output": {"type": "json", "schema": SCHEMA}}
    )
    worse = [ItemOutput(it.example_id, it.expected, "{}") for it in items()]
    out = signals.compare(
        task, RungOutputs("a", "m", worse), RungOutputs("b", "m", items()), schema=SCHEMA
    )
    c = next(c for c in out if c.name == "knowledge.pair_f1")
    assert c.test == "paired_permutation" and c.n == 3


def test_unknown_primary_metric_is_one_line() -> None:
    from tunegate.errors import TunegateError

    raw = {"name": "t", "data": {"train": "x.jsonl"}, "output": {"type": "json", "schema": {}}}
    raw["output"]["primary_metric"] = "knowledge.pair_f"
    with pytest.raises(TunegateError, match=r"did you mean 'knowledge.pair_f1'"):
        parse_task(raw)


def test_grouped_counts_say_which_keys_are_right() -> None:
    gold = {"intent": "Book", "slots": {"city": "Paris", "date": "today"}, "o": [{"s": "A"}]}
    pred = {"intent": "Play", "slots": {"city": "Paris", "time": "9"}, "o": [{"s": "A"}]}
    got = ex.grouped_counts(gold, pred)
    assert {k: (c.tp, c.fp, c.fn) for k, c in got.items()} == {
        "intent": (0, 1, 1),
        "slots.city": (1, 0, 0),
        "slots.date": (0, 0, 1),
        "slots.time": (0, 1, 0),
        "o[].s": (1, 0, 0),
    }
    assert ex.group_of("items[3].tags[0]", 1) == "items[]"
