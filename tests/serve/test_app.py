"""The endpoints through the openai client: completions, streams and their chunk shapes, adapters
by name, structured output, text completions, the model list, health and metrics."""

from __future__ import annotations

import json

import httpx

from serve_helpers import chat_body, client, metrics, sse_events

MESSAGES = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "hello"}]


def test_chat_completion_and_the_same_answer_streamed(tiny_server: str) -> None:
    oa = client(tiny_server)
    full = oa.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=12, temperature=0)
    assert full.object == "chat.completion" and full.model == "tiny"
    (choice,) = full.choices
    assert choice.message.role == "assistant" and choice.finish_reason == "length"
    assert choice.message.content
    assert full.usage.completion_tokens == 12 and full.usage.prompt_tokens > 5
    assert full.usage.total_tokens == full.usage.prompt_tokens + 12

    chunks = list(
        oa.chat.completions.create(
            model="tiny",
            messages=MESSAGES,
            max_tokens=12,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    first, *middle, last_choice, usage = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert all(c.choices[0].finish_reason is None and c.usage is None for c in middle)
    assert len(middle) >= 2  # text arrives in pieces, as it is generated
    assert last_choice.choices[0].finish_reason == "length"
    assert usage.choices == [] and usage.usage.completion_tokens == 12
    assert usage.usage.prompt_tokens == full.usage.prompt_tokens
    streamed = "".join(c.choices[0].delta.content or "" for c in middle)
    assert streamed == choice.message.content  # greedy: the stream is the same answer


def test_raw_stream_ends_with_done_and_no_usage_unless_asked(tiny_server: str) -> None:
    r = httpx.post(
        f"{tiny_server}/v1/chat/completions",
        json=chat_body(max_tokens=3, stream=True, temperature=0),
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    assert all("usage" not in e for e in events[:-1])
    assert [e["choices"][0]["finish_reason"] for e in events[:-1]][-1] == "length"


def test_adapter_by_name_changes_the_answer(tiny_server: str) -> None:
    oa = client(tiny_server)
    names = [m.id for m in oa.models.list().data]
    assert names == ["tiny", "tiny-lora"]
    assert oa.models.retrieve("tiny-lora").id == "tiny-lora"
    texts = {
        name: oa.chat.completions.create(model=name, messages=MESSAGES, max_tokens=8, temperature=0)
        .choices[0]
        .message.content
        for name in names
    }
    assert texts["tiny"] != texts["tiny-lora"]


def test_json_schema_and_json_object_are_enforced(tiny_server: str) -> None:
    """Even a random tiny model writes schema-valid JSON when decoding is constrained."""
    import jsonschema

    schema = {
        "type": "object",
        "properties": {"n": {"enum": [1, 2, 3]}, "ok": {"type": "boolean"}},
        "required": ["n", "ok"],
        "additionalProperties": False,
    }
    oa = client(tiny_server)
    out = oa.chat.completions.create(
        model="tiny-lora",
        messages=MESSAGES,
        max_tokens=64,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": schema}},
    )
    assert out.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(out.choices[0].message.content), schema)
    obj = oa.chat.completions.create(
        model="tiny",
        messages=MESSAGES,
        max_tokens=64,
        temperature=0,
        response_format={"type": "json_object"},
    )
    content = obj.choices[0].message.content
    if obj.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(content), dict)
    else:  # cut by max_tokens: still a prefix of a JSON object
        assert content.startswith("{")


def test_stop_strings_end_the_answer_and_are_not_sent(tiny_server: str) -> None:
    oa = client(tiny_server)
    base = oa.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=20, temperature=0)
    text = base.choices[0].message.content
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    cut = text[: text.index(stop)]
    out = oa.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=20, temperature=0, stop=[stop]
    )
    assert out.choices[0].message.content == cut and out.choices[0].finish_reason == "stop"
    stream = oa.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=20, temperature=0, stop=stop, stream=True
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces) == cut


def test_text_completions_continue_the_raw_prompt(tiny_server: str) -> None:
    oa = client(tiny_server)
    out = oa.completions.create(
        model="tiny", prompt=["Once upon a time", "The cat"], max_tokens=5, temperature=0
    )
    assert out.object == "text_completion" and [c.index for c in out.choices] == [0, 1]
    assert all(c.finish_reason == "length" and c.text for c in out.choices)
    assert out.usage.completion_tokens == 10
    echo = oa.completions.create(model="tiny", prompt="The cat", max_tokens=5, echo=True)
    assert echo.choices[0].text == "The cat" + out.choices[1].text
    streamed = list(
        oa.completions.create(model="tiny", prompt="The cat", max_tokens=5, stream=True)
    )
    assert {c.object for c in streamed} == {"text_completion"}
    assert "".join(c.choices[0].text for c in streamed) == out.choices[1].text
    assert streamed[-1].choices[0].finish_reason == "length"


def test_health_and_metrics_record_tokens_and_latency(tiny_server: str) -> None:
    health = httpx.get(f"{tiny_server}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    before = metrics(tiny_server)
    client(tiny_server).chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=4)
    after = metrics(tiny_server)
    key = 'tunegate_completion_tokens_total{model="tiny"}'
    assert after[key] - before.get(key, 0) == 4
    ok = 'tunegate_requests_total{endpoint="/v1/chat/completions",status="200"}'
    assert after[ok] - before.get(ok, 0) == 1
    lat = 'tunegate_request_latency_seconds_count{endpoint="/v1/chat/completions"}'
    assert after[lat] - before.get(lat, 0) == 1
    assert after["tunegate_queue_depth"] == 0
