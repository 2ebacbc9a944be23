"""The model table: names from the command line and from a task's finished training runs, the
task's schema as the adapters' default format, and nothing else answering."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tunegate.errors import TunegateError
from tunegate.models.base import Constraint
from tunegate.serve import parse_adapter, task_table
from tunegate.store import Store

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def record_training(
    folder: Path, adapter: Path | None, status: str = "done", **config: object
) -> str:
    """A training run in the task's store, as `tunegate train` leaves it."""
    store = Store(folder)
    run = store.start_run("train", {"fraction": 1.0, **config})
    if adapter is not None:
        store.put_artifact(run, "adapter", adapter)
    store.set_status(run, status)
    store.close()
    return run


def make_json_task(root: Path, model: Path) -> Path:
    folder = root / "task"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"input": "x", "output": {"a": "y"}}\n')
    task = {
        "name": "mytask",
        "model": str(model),
        "output": {"type": "json", "schema": SCHEMA},
        "data": {"train": "train.jsonl"},
    }
    (folder / "tunegate.yaml").write_text(yaml.safe_dump(task))
    return folder


def test_task_runs_become_names_and_the_task_name_is_the_latest(
    tmp_path: Path, tiny_llama: Path, tiny_adapter: Path
) -> None:
    folder = make_json_task(tmp_path, tiny_llama)
    empty = task_table(folder)
    assert list(empty.names) == [tiny_llama.name] and empty.base == str(tiny_llama)
    older = record_training(folder, tiny_adapter)
    record_training(folder, tiny_adapter, status="interrupted")  # not served
    record_training(folder, None)  # finished without an adapter on record: not served
    curve = record_training(folder, tiny_adapter, fraction=0.5)  # newest, but a partial run
    extra = tmp_path / "extra"
    table = task_table(folder, [("mine", tiny_adapter)])
    assert set(table.names) == {tiny_llama.name, older, curve, "mytask", "mine"}
    assert table.names["mytask"].adapter == older  # the newest whole-split run
    default = Constraint(json_schema=SCHEMA)
    assert all(table.names[n].default == default for n in (older, curve, "mytask", "mine"))
    assert table.names[tiny_llama.name].default is None
    assert set(table.adapters) == {older, curve, "mine"}  # the alias loads nothing twice
    with pytest.raises(TunegateError, match="not a PEFT adapter folder"):
        task_table(folder, [("bad", extra)])
    with pytest.raises(TunegateError, match="already taken"):
        task_table(folder, [("mytask", tiny_adapter)])


def test_adapter_arguments() -> None:
    assert parse_adapter("v1=runs/a") == ("v1", Path("runs/a"))
    assert parse_adapter(" v2 = /x/y ") == ("v2", Path("/x/y"))
    for bad in ("v1", "=folder", "name="):
        with pytest.raises(TunegateError, match="NAME=FOLDER"):
            parse_adapter(bad)


def test_model_names_are_looked_up_never_opened(tiny_server: str, tmp_path: Path) -> None:
    """A model name that is a real adapter folder on disk still does not exist to the server."""
    import httpx

    for name in (str(tmp_path), "../tiny", "tiny/../tiny", "/etc/passwd"):
        r = httpx.post(
            f"{tiny_server}/v1/chat/completions",
            json={"model": name, "messages": [{"role": "user", "content": "x"}]},
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
