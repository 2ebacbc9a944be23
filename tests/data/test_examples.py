"""The label set: one rule for the ladder, the report and the comparison page."""

from __future__ import annotations

from tunegate.data.examples import label_set
from tunegate.spec import parse_task

BASE = {"name": "t", "inputs": ["x"], "prompt": {"user": "{x}"}, "data": {"train": "t.jsonl"}}


def test_training_targets_by_frequency_then_name() -> None:
    task = parse_task({**BASE, "output": {"type": "label", "field": "y"}})
    assert label_set(task, ["b", "a ", "c", "a", "c", " ", "d"]) == ["a", "c", "b", "d"]


def test_declared_labels_win_and_other_types_have_none() -> None:
    task = parse_task({**BASE, "output": {"type": "label", "field": "y", "labels": ["z", "y"]}})
    assert label_set(task, ["a"]) == ["z", "y"]
    assert label_set(parse_task({**BASE, "output": {"type": "text"}}), ["a"]) is None
