"""How a count item grades: ok at zero, warn up to its share of the rows, fail over it; the
reason names the rows by file:line relative to the task folder."""

from __future__ import annotations

from pathlib import Path

from tunegate.check.rules import Items, Thresholds, where
from tunegate.data.examples import Example


def rows(folder: Path, n: int) -> list[Example]:
    return [
        Example(f"id{i}", {"x": "a"}, "t", f"{folder}/data/train.jsonl:{i + 1}") for i in range(n)
    ]


def test_a_count_is_ok_then_warn_then_fail(tmp_path: Path) -> None:
    items = Items(tmp_path, Thresholds(broken_share=0.1))
    items.count("rows.empty_inputs", [], 100)
    items.count("rows.empty_inputs", rows(tmp_path, 3), 100)
    items.count("rows.empty_inputs", rows(tmp_path, 11), 100)
    assert [it.status for it in items.items] == ["ok", "warn", "fail"]
    assert items.items[0].reason == "none of 100 rows have a blank input"
    warn = items.items[1]
    assert warn.value == 3 and warn.rows[0] == "data/train.jsonl:1"
    assert warn.reason.startswith("3 of 100 rows have a blank input; there is nothing to answer")
    assert warn.reason.endswith("(e.g. data/train.jsonl:1, data/train.jsonl:2 and 1 more)")


def test_where_is_relative_to_the_task_folder(tmp_path: Path) -> None:
    (ex,) = rows(tmp_path, 1)
    assert where(tmp_path, ex) == "data/train.jsonl:1"
