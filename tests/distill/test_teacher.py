"""The teacher's side without a model: reading unlabeled inputs, the output contract every
answer must keep, the endpoint's model list, and labelling a label task through a real
OpenAI-compatible server on 127.0.0.1 that refuses `json_schema`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ladder_fakes import context, make_task
from openai_stub import Script, serve
from tunegate.distill import derive, teacher
from tunegate.errors import TunegateError
from tunegate.spec import load_task
from tunegate.store import Store


def test_inputs_keep_one_copy_of_each_and_ignore_any_target(tmp_path: Path) -> None:
    task, _ = load_task(make_task(tmp_path, "label", docs=False))
    path = tmp_path / "in.jsonl"
    rows = [{"message": "a"}, {"message": "b", "ticket": "billing"}, {"message": "a"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = teacher.read_inputs(task, path)
    assert [ex.inputs["message"] for ex in got] == ["a", "b"]
    assert all(ex.target == "" for ex in got)
    assert got[1].source == f"{path}:2"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"message": ""}\n', "empty input: there is nothing to label"),
        ("[1, 2]\n", "expected a JSON object, got list"),
        ("", "no inputs in the file"),
    ],
)
def test_bad_inputs_are_one_line_naming_the_row(tmp_path: Path, text: str, why: str) -> None:
    task, _ = load_task(make_task(tmp_path, "label", docs=False))
    path = tmp_path / "in.jsonl"
    path.write_text(text)
    with pytest.raises(TunegateError) as raised:
        teacher.read_inputs(task, path)
    assert why in raised.value.message


def test_the_contract_of_each_output_type(tmp_path: Path) -> None:
    check = teacher.contract(context(make_task(tmp_path / "j", "json", docs=False)))
    assert check('{"urgency": "low", "category": "login"}') == (
        '{"urgency": "low", "category": "login"}',
        None,
    )
    assert check("not json")[1] == "not JSON"
    assert check('{"category": "weather", "urgency": "low"}')[1] == (
        "breaks the schema at category: 'weather' is not one of ['billing', 'login', 'shipping']"
    )
    labels = teacher.contract(context(make_task(tmp_path / "l", "label", docs=False)))
    assert labels(" Billing\n") == ("billing", None)
    assert labels("weather")[1] == "not one of the task's labels"


def test_teacher_spec_takes_the_only_served_model_and_the_tasks_settings(tmp_path: Path) -> None:
    with serve(Script(answer=lambda p, b: "")) as url:
        remote = {"base_url": url, "model": "big", "api_key_env": None, "timeout_s": 7}
        task, _ = load_task(make_task(tmp_path, "label", docs=False, extra={"remote": remote}))
        same = teacher.teacher_spec(task, url + "/", None, None)
        assert (same.model, same.timeout_s, same.api_key_env) == ("big", 7, None)
        with pytest.raises(TunegateError) as raised:  # the stub lists no models
            teacher.teacher_spec(task, "http://127.0.0.1:9/v1", None, None)
    assert "cannot reach the teacher" in raised.value.message


def test_label_task_is_labelled_through_a_server_that_refuses_json_schema(tmp_path: Path) -> None:
    folder = make_task(tmp_path, "label", docs=False)
    ctx = context(folder)
    inputs_path = tmp_path / "in.jsonl"
    msgs = ["refund my invoice", "cannot login", "where is the parcel", "hello"]
    inputs_path.write_text("".join(json.dumps({"message": m}) + "\n" for m in msgs))
    inputs = teacher.read_inputs(ctx.task, inputs_path)

    def answer(prompt: str, body: dict) -> str:
        word = {"invoice": "billing", "login": "login", "parcel": "shipping"}
        label = next((v for k, v in word.items() if k in prompt), "weather")
        return json.dumps({"label": label}) if body.get("response_format") else label

    script = Script(answer=answer, refuse_formats={"json_schema"})
    with serve(script) as url:
        spec = teacher.teacher_spec(ctx.task, url, "big", None)
        store = Store(tmp_path / "out")
        from tunegate.models.remote import RemoteGenerator

        got = teacher.label(ctx, spec, inputs, store, None, lambda: RemoteGenerator(spec))
        again = teacher.label(ctx, spec, inputs, store, None, lambda: RemoteGenerator(spec))
    formats = [s.get("response_format", {}).get("type") for s in script.seen]
    assert formats[0] == "json_schema" and formats[-1] == "json_object"  # refused, asked with less
    assert [ex.target for ex in got.examples] == ["billing", "login", "shipping"]
    assert [(ex.inputs["message"], why) for ex, _, why in got.invalid] == [
        ("hello", "not one of the task's labels")
    ]
    assert again.cached == 4 and [ex.target for ex in again.examples] == [
        "billing",
        "login",
        "shipping",
    ]
    rows = derive.jsonl(ctx.task, got.examples).splitlines()
    assert json.loads(rows[0]) == {"message": "refund my invoice", "ticket": "billing"}
