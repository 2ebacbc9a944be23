"""Loaders: each shape, each format, each structural error as one line naming file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunegate.data.load import detect_shape, load_file
from tunegate.errors import TunegateError
from tunegate.spec import parse_task


def task(**over: object) -> object:
    raw = {
        "name": "t",
        "inputs": ["text"],
        "prompt": {"user": "{text}"},
        "output": {"type": "label", "field": "label"},
        "data": {"train": "x"},
    }
    raw.update(over)
    return parse_task(raw)


def jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_columns_jsonl(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "d.jsonl", [{"text": "hi", "label": "a"}, {"text": "yo", "label": "b"}])
    exs = load_file(task(), f)
    assert [(e.inputs["text"], e.target) for e in exs] == [("hi", "a"), ("yo", "b")]
    assert exs[0].source == f"{f}:1"
    assert len(exs[0].id) == 16 and exs[0].id != exs[1].id


def test_ids_are_content_hashes(tmp_path: Path) -> None:
    a = load_file(
        task(),
        jsonl(tmp_path / "a.jsonl", [{"text": "hi", "label": "a"}, {"text": "x", "label": "b"}]),
    )
    b = load_file(
        task(),
        jsonl(tmp_path / "b.jsonl", [{"text": "x", "label": "b"}, {"text": "hi", "label": "a"}]),
    )
    assert {e.id for e in a} == {e.id for e in b}


def test_json_object_targets_are_canonical_text(tmp_path: Path) -> None:
    t = task(output={"type": "json", "field": "ticket", "schema": {"type": "object"}})
    f = jsonl(tmp_path / "d.jsonl", [{"text": "hi", "ticket": {"a": 1, "b": "é"}}])
    assert json.loads(load_file(t, f)[0].target) == {"a": 1, "b": "é"}


def test_csv(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text('text,label\n"hello, world",greet\nbye,farewell\n')
    exs = load_file(task(), f)
    assert exs[0].inputs["text"] == "hello, world" and exs[1].target == "farewell"
    assert exs[1].source.endswith(":3")


def test_json_array(tmp_path: Path) -> None:
    f = tmp_path / "d.json"
    f.write_text(json.dumps([{"text": "a", "label": "x"}]))
    assert load_file(task(), f)[0].target == "x"


def test_alpaca(tmp_path: Path) -> None:
    t = task(inputs=["instruction", "input"], prompt={"user": "{instruction}\n{input}"})
    f = jsonl(tmp_path / "d.jsonl", [{"instruction": "Add", "input": "1+1", "output": "2"}])
    (ex,) = load_file(t, f)
    assert ex.inputs == {"instruction": "Add", "input": "1+1"} and ex.target == "2"


def test_sharegpt(tmp_path: Path) -> None:
    row = {
        "system": "Be brief.",
        "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}],
    }
    (ex,) = load_file(task(), jsonl(tmp_path / "d.jsonl", [row]))
    assert ex.target == "hello"
    assert ex.messages == (
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    )


def test_openai_messages(tmp_path: Path) -> None:
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    (ex,) = load_file(task(), jsonl(tmp_path / "d.jsonl", [row]))
    assert ex.target == "a" and ex.messages == ({"role": "user", "content": "q"},)


@pytest.mark.parametrize(
    ("row", "shape"),
    [
        ({"messages": []}, "openai"),
        ({"conversations": []}, "sharegpt"),
        ({"instruction": "", "output": ""}, "alpaca"),
        ({"text": "", "label": ""}, "columns"),
    ],
)
def test_detect_shape(row: dict[str, object], shape: str) -> None:
    assert detect_shape(row) == shape


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TunegateError, match="data file not found"):
        load_file(task(), tmp_path / "nope.jsonl")


def test_undecodable_bytes_name_line(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_bytes(b'{"text": "ok", "label": "a"}\n{"text": "\xff\xfe", "label": "b"}\n')
    with pytest.raises(TunegateError, match=r"d.jsonl:2: not UTF-8"):
        load_file(task(), f)


def test_malformed_json_line_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text('{"text": "ok", "label": "a"}\n{"text": "broken", \n')
    with pytest.raises(TunegateError, match=r"d.jsonl:2: invalid JSON"):
        load_file(task(), f)


def test_sharegpt_read_as_alpaca_says_so(tmp_path: Path) -> None:
    row = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "x"}]}
    f = jsonl(tmp_path / "d.jsonl", [row])
    t = task(data={"train": "x", "shape": "alpaca"})
    with pytest.raises(
        TunegateError, match=r"d.jsonl:1: expected alpaca keys .*looks like sharegpt"
    ):
        load_file(t, f)


def test_field_missing_from_data(tmp_path: Path) -> None:
    f = jsonl(tmp_path / "d.jsonl", [{"body": "hi", "label": "a"}])
    with pytest.raises(
        TunegateError, match=r"d.jsonl:1: the task names field 'text', which the data lacks"
    ):
        load_file(task(), f)


def test_csv_missing_column(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("text,category\nhi,a\n")
    with pytest.raises(TunegateError, match=r"d.csv:2: the task names field 'label'"):
        load_file(task(), f)


def test_columns_mapping(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("body,category\nhi,a\n")
    t = task(data={"train": "x", "columns": {"text": "body", "label": "category"}})
    assert load_file(t, f)[0].target == "a"


def test_empty_data_set(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text("\n\n")
    with pytest.raises(TunegateError, match="empty data set"):
        load_file(task(), f)


def test_wrong_row_type(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text('["a", "b"]\n')
    with pytest.raises(TunegateError, match=r"d.jsonl:1: expected a JSON object, got list"):
        load_file(task(), f)


def test_unknown_extension(tmp_path: Path) -> None:
    f = tmp_path / "d.txt"
    f.write_text("x")
    with pytest.raises(TunegateError, match="unknown file type"):
        load_file(task(), f)
