"""The task file: valid tasks load; each kind of mistake is one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tunegate.errors import TunegateError
from tunegate.spec import load_task, output_schema, parse_task

BASE = {
    "name": "t",
    "inputs": ["message"],
    "prompt": {"system": "Classify.", "user": "Message: {message}"},
    "output": {"type": "label", "field": "label"},
    "data": {"train": "train.jsonl"},
}


def write(folder: Path, raw: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(raw))
    return folder


def test_valid_task_loads_with_defaults(tmp_path: Path) -> None:
    task, folder = load_task(write(tmp_path / "t", BASE))
    assert folder == tmp_path / "t"
    assert task.data.test_fraction == 0.2 and task.data.seed == 0
    assert task.traffic.requests_per_day == 1000
    assert task.targets.min_accuracy is None


def test_unknown_key_is_named_with_suggestion() -> None:
    raw = {**BASE, "promt": {}}
    with pytest.raises(TunegateError, match=r"unknown key 'promt' \(did you mean 'prompt'\?\)"):
        parse_task(raw)


def test_unknown_nested_key_suggests_sibling() -> None:
    raw = {**BASE, "targets": {"min_acuracy": 0.9}}
    with pytest.raises(
        TunegateError, match=r"'targets.min_acuracy' \(did you mean 'min_accuracy'\?\)"
    ):
        parse_task(raw)


def test_missing_required_key() -> None:
    raw = {k: v for k, v in BASE.items() if k != "data"}
    with pytest.raises(TunegateError, match="missing required key 'data'"):
        parse_task(raw)


def test_wrong_type_names_field() -> None:
    raw = {**BASE, "traffic": {"requests_per_day": "lots"}}
    with pytest.raises(TunegateError, match="traffic.requests_per_day"):
        parse_task(raw)


def test_template_field_not_in_inputs() -> None:
    raw = {**BASE, "prompt": {"user": "{msg}"}}
    with pytest.raises(TunegateError, match=r"prompt.user uses \{msg\}"):
        parse_task(raw)


def test_json_output_needs_schema() -> None:
    raw = {**BASE, "output": {"type": "json", "field": "ticket"}}
    with pytest.raises(TunegateError, match="give output.schema or output.schema_file"):
        parse_task(raw)


def test_invalid_json_schema_is_rejected(tmp_path: Path) -> None:
    raw = {**BASE, "output": {"type": "json", "field": "t", "schema": {"type": "objekt"}}}
    with pytest.raises(TunegateError, match="not a valid JSON Schema"):
        load_task(write(tmp_path / "t", raw))


def test_schema_file_is_read(tmp_path: Path) -> None:
    raw = {**BASE, "output": {"type": "json", "field": "t", "schema_file": "s.json"}}
    folder = write(tmp_path / "t", raw)
    (folder / "s.json").write_text('{"type": "object"}')
    task, folder = load_task(folder)
    assert output_schema(task, folder) == {"type": "object"}


def test_unknown_rung_suggests() -> None:
    raw = {**BASE, "ladder": {"rungs": ["zero_shot", "fewshot"]}}
    with pytest.raises(
        TunegateError, match=r"unknown rung 'fewshot' \(did you mean 'few_shot'\?\)"
    ):
        parse_task(raw)


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    (tmp_path / "tunegate.yaml").write_text("name: t\ndata: [unclosed\n")
    with pytest.raises(TunegateError, match=r"tunegate.yaml:\d+: invalid YAML"):
        load_task(tmp_path)


def test_missing_task_file(tmp_path: Path) -> None:
    with pytest.raises(TunegateError, match="no task file found"):
        load_task(tmp_path)
