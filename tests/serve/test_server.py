"""`tunegate serve TASK` end to end: the command serves the task's trained adapter under the
task's name, with the task's JSON Schema as its default response format, to the openai client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import copy_example
from serve_helpers import client, make_adapter

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def trained_task(tmp_path_factory: pytest.TempPathFactory, embedded_model_path: Path) -> Path:
    """The demo task with one finished training run whose adapter is a (mild) LoRA."""
    from tunegate.store import Store

    root = tmp_path_factory.mktemp("serve-task")
    folder = copy_example("support-tickets", root)
    adapter = make_adapter(embedded_model_path, root / "adapter", seed=5, scale=0.01)
    store = Store(folder)
    run = store.start_run("train", {"fraction": 1.0})
    store.put_artifact(run, "adapter", adapter)
    store.set_status(run, "done")
    store.close()
    return folder


@pytest.fixture(scope="module")
def cli_server(trained_task: Path) -> Iterator[str]:
    """`tunegate serve TASK --port 0` in its own process; yields the URL it prints."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunegate", "serve", str(trained_task), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"on (http://127\.0\.0\.1:\d+)/v1", line)
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain the access log
    try:
        assert found, line
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_task_adapter_answers_schema_valid_json_by_default(
    cli_server: str, trained_task: Path
) -> None:
    import jsonschema

    from tunegate.spec import load_task, output_schema

    spec, folder = load_task(trained_task)
    schema = output_schema(spec, folder)
    assert schema is not None
    oa = client(cli_server)
    names = [m.id for m in oa.models.list().data]
    assert names[0] == "smollm2-135m" and "support-tickets" in names and len(names) == 3
    messages = [
        {"role": "system", "content": spec.prompt.system},
        {"role": "user", "content": "My Ember thermostat shows a blank screen since the update."},
    ]
    out = oa.chat.completions.create(
        model="support-tickets", messages=messages, max_tokens=160, temperature=0
    )
    assert out.choices[0].finish_reason == "stop"
    ticket = json.loads(out.choices[0].message.content)
    jsonschema.validate(ticket, schema)
    assert out.usage.prompt_tokens > 100  # the system prompt was read
    free = oa.chat.completions.create(
        model="support-tickets",
        messages=messages,
        max_tokens=8,
        temperature=0,
        response_format={"type": "text"},  # asking for text turns the default off
    )
    assert not free.choices[0].message.content.startswith('{"category"')
