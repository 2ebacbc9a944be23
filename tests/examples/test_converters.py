"""The banking77 and NLU++ converters on the shared data (skipped when it is absent)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import EXAMPLES, datasets_dir
from tunegate.check.run import run_check
from tunegate.data.split import load_dataset
from tunegate.spec import load_task


def convert(name: str, tmp_path: Path, *extra: str) -> Path:
    """Copy the example's task file to tmp_path and convert the shared data into it."""
    src = datasets_dir(name)
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(EXAMPLES / name / "tunegate.yaml", folder)
    script = EXAMPLES / name / "convert.py"
    assert script.read_text(encoding="utf-8").startswith(f"# python examples/{name}/convert.py")
    subprocess.run(
        [sys.executable, str(script), "--src", str(src), "--out", str(folder / "data"), *extra],
        check=True,
        capture_output=True,
    )
    return folder


def test_banking77(tmp_path: Path) -> None:
    folder = convert("banking77", tmp_path)
    task, path = load_task(folder)
    labels = json.loads((datasets_dir("banking77") / "categories.json").read_text(encoding="utf-8"))
    assert task.output.type == "label" and task.output.labels == labels and len(labels) == 77
    data = load_dataset(task, path)
    assert len(data.train) == 10_003 and len(data.test) == 300
    assert {ex.target for ex in data.train} == set(labels)
    first = json.loads((folder / "data/train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first == {"text": "I am still waiting on my card?", "category": "card_arrival"}


def test_nlupp(tmp_path: Path) -> None:
    folder = convert("nlupp", tmp_path, "--schema", str(tmp_path / "nlupp" / "schema.json"))
    schema_path = folder / "schema.json"
    assert schema_path.read_bytes() == (EXAMPLES / "nlupp/schema.json").read_bytes()
    task, path = load_task(folder)
    data = load_dataset(task, path)
    assert len(data.train) == 1867 and len(data.test) == 202
    validator = jsonschema.Draft202012Validator(json.loads(schema_path.read_text(encoding="utf-8")))
    for ex in [*data.train, *data.test]:
        target = json.loads(ex.target)
        validator.validate(target)
        for span in target["slots"].values():  # slot values are spans of the message
            assert span in ex.inputs["text"]
    assert {ex.inputs["text"] for ex in data.test}.isdisjoint(
        {ex.inputs["text"] for ex in data.train}
    )
    assert "`transfer_payment_deposit`" in (folder / "data/docs/ontology.md").read_text(
        encoding="utf-8"
    )


@pytest.mark.slow
def test_check_on_banking77(tmp_path: Path) -> None:
    folder = convert("banking77", tmp_path)
    task, path = load_task(folder)
    report = run_check(task, path)
    assert report.verdict != "fail", [
        (i.name, i.reason) for i in report.items if i.status == "fail"
    ]
    assert report.rows == {"train": 10_003, "test": 300, "test_file": 3_080}
    assert report.item("labels.imbalance").value < 10
