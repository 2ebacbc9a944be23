"""`tunegate init`: a starter that loads, and inference of fields, output type and schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunegate.errors import TunegateError
from tunegate.init import init_task
from tunegate.spec import load_task


def test_starter_is_a_valid_commented_task(tmp_path: Path) -> None:
    path = init_task(tmp_path / "t")
    text = path.read_text()
    assert text.startswith("# A tunegate task. Run: tunegate check")
    task, _ = load_task(path)
    assert task.output.type == "text"


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    init_task(tmp_path / "t")
    with pytest.raises(TunegateError, match="already exists; pass --force"):
        init_task(tmp_path / "t")
    init_task(tmp_path / "t", force=True)


def test_json_targets_get_a_draft_schema(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    rows = [
        {"message": f"m{i}", "ticket": {"category": ["bug", "billing"][i % 2], "n": i}}
        for i in range(20)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task, _ = load_task(init_task(tmp_path / "t", data))
    assert task.inputs == ["message"] and task.output.field == "ticket"
    schema = task.output.json_schema
    assert schema is not None
    assert schema["properties"]["category"] == {"type": "string", "enum": ["billing", "bug"]}
    assert schema["properties"]["n"] == {"type": "integer"}
    assert schema["required"] == ["category", "n"]
    assert task.output.stratify == "category"


def test_slot_filling_draft_lists_every_slot_seen(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    slots = [{"city": "Paris"}, {"city": "Rome", "date": "today"}, {}, {"artist": "Nina"}]
    rows = [
        {"text": f"m{i}", "output": {"intent": ["Book", "Play"][i % 2], "slots": slots[i % 4]}}
        for i in range(20)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task, _ = load_task(init_task(tmp_path / "t", data))
    schema = task.output.json_schema
    assert schema is not None
    assert schema["properties"]["slots"] == {
        "type": "object",
        "properties": {
            "artist": {"type": "string", "maxLength": 8},
            "city": {"type": "string", "enum": ["Paris", "Rome"]},  # 2 values over 10 rows
            "date": {"type": "string", "maxLength": 10},
        },
        "required": [],
        "additionalProperties": False,
        "maxProperties": 2,
    }


def test_label_column_inferred_from_csv(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,category\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(30)))
    task, folder = load_task(init_task(tmp_path / "t", data))
    assert task.output.type == "label" and task.output.field == "category"
    assert (folder / task.data.train).resolve() == data.resolve()


def test_free_text_and_alpaca(tmp_path: Path) -> None:
    data = tmp_path / "a.jsonl"
    rows = [
        {"instruction": "Say", "input": str(i), "output": f"answer number {i}"} for i in range(9)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task, _ = load_task(init_task(tmp_path / "t", data))
    assert task.data.shape == "alpaca" and task.output.type == "text"
    assert task.inputs == ["instruction", "input"]


def test_bad_data_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(TunegateError, match="data file not found"):
        init_task(tmp_path / "t", tmp_path / "missing.jsonl")
