"""RemoteGenerator against a real OpenAI-compatible HTTP server on 127.0.0.1 (the `openai` client).

Faults (429, 500, timeouts, non-JSON and broken bodies, empty completions) are injected by the
server; they must be retried or recorded per item, never raised.
"""

from __future__ import annotations

import json

import pytest

from openai_stub import Script, serve
from tunegate.errors import TunegateError
from tunegate.models.base import Constraint, GenRequest
from tunegate.models.remote import RemoteGenerator, response_format
from tunegate.spec import RemoteSpec

SCHEMA = {
    "type": "object",
    "properties": {"category": {"type": "string"}},
    "required": ["category"],
    "additionalProperties": False,
}


def _echo(prompt: str, body: dict) -> str:
    return f"answer to {prompt}"


def _spec(url: str, **kw: object) -> RemoteSpec:
    args: dict[str, object] = {"base_url": url, "model": "stub-model", "api_key_env": "STUB_KEY"}
    return RemoteSpec.model_validate({**args, **kw})


def _req(text: str, constraint: Constraint | None = None) -> GenRequest:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]
    return GenRequest(messages=messages, max_tokens=16, constraint=constraint)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STUB_KEY", "sk-test-secret-123")
    return "sk-test-secret-123"


def test_answers_in_order_with_usage_and_bounded_concurrency(key: str) -> None:
    script = Script(answer=_echo, delay_s=0.05)
    with serve(script) as url:
        gen = RemoteGenerator(_spec(url, concurrency=3))
        done: list[int] = []
        out = gen.generate([_req(f"q{i}") for i in range(10)], progress=lambda n, t: done.append(n))
    assert [g.text for g in out] == [f"answer to q{i}" for i in range(10)]
    assert all(g.error is None for g in out)
    assert out[0].output_tokens == 3 and out[0].input_tokens == 3  # the stub counts words
    assert all(g.batch_ms and g.batch_ms > 0 for g in out)
    assert sum(done) == 10
    assert 1 < script.max_inflight <= 3
    assert set(script.auth) == {f"Bearer {key}"}
    assert script.seen[0]["model"] == "stub-model" and script.seen[0]["max_tokens"] == 16
    assert "response_format" not in script.seen[0]


def test_faults_are_retried_until_they_pass(key: str) -> None:
    faults = {"a": ["429", "500"], "b": ["nonjson"], "c": ["badjson", "empty"], "d": ["timeout"]}
    script = Script(answer=_echo, faults=faults, timeout_sleep_s=1.5)
    with serve(script) as url:
        gen = RemoteGenerator(_spec(url, retries=3, timeout_s=0.5, concurrency=4), backoff_s=0.01)
        out = gen.generate([_req(p) for p in "abcde"])
    assert [g.text for g in out] == [f"answer to {p}" for p in "abcde"]
    assert [g.error for g in out] == [None] * 5
    assert [g.extra["attempts"] for g in out] == [3, 2, 3, 2, 1]


def test_persistent_faults_become_item_errors_never_exceptions(key: str) -> None:
    faults = {"bad": ["500"] * 10, "slow": ["timeout"] * 10}
    script = Script(answer=_echo, faults=faults, timeout_sleep_s=1.0)
    with serve(script) as url:
        gen = RemoteGenerator(_spec(url, retries=2, timeout_s=0.3), backoff_s=0.01)
        out = gen.generate([_req("ok"), _req("bad"), _req("slow")])
        timed = gen.time_one(_req("bad"))
    assert out[0].text == "answer to ok" and out[0].error is None
    assert out[1].error == "HTTP 500 after 3 attempt(s)" and out[1].text == ""
    assert out[2].error == "timeout after 3 attempt(s)"
    assert timed.error == "HTTP 500 after 3 attempt(s)"
    assert all(key not in (g.error or "") for g in [*out, timed])


def test_client_errors_are_not_retried(key: str) -> None:
    script = Script(answer=_echo, faults={"x": ["404"]})
    with serve(script) as url:
        out = RemoteGenerator(_spec(url), backoff_s=0.01).generate([_req("x")])[0]
    assert out.error is not None and out.error.startswith("HTTP 404")
    assert out.extra["attempts"] == 1 and len(script.seen) == 1


def test_schema_constraint_sends_response_format_and_falls_back_when_refused(key: str) -> None:
    script = Script(answer=lambda p, b: json.dumps({"category": p}), refuse_formats={"json_schema"})
    constraint = Constraint(json_schema=SCHEMA)
    with serve(script) as url:
        gen = RemoteGenerator(_spec(url), backoff_s=0.01)
        first = gen.generate([_req("billing", constraint)])[0]
        second = gen.generate([_req("login", constraint)])[0]
    assert json.loads(first.text) == {"category": "billing"}
    assert first.extra["format"] == "json_object" and second.extra["format"] == "json_object"
    kinds = [(s.get("response_format") or {}).get("type") for s in script.seen]
    assert kinds == ["json_schema", "json_object", "json_object"]  # the refusal is remembered
    assert script.seen[0]["response_format"]["json_schema"] == {
        "name": "output",
        "schema": SCHEMA,
        "strict": True,
    }


def test_label_constraint_is_asked_as_an_enum_object_and_unwrapped(key: str) -> None:
    script = Script(answer=lambda p, b: json.dumps({"label": "card_lost"}))
    with serve(script) as url:
        gen = RemoteGenerator(_spec(url))
        out = gen.generate([_req("I lost my card", Constraint(labels=("card_lost", "refund")))])[0]
    assert out.text == "card_lost"
    sent = script.seen[0]["response_format"]["json_schema"]["schema"]
    assert sent["properties"]["label"]["enum"] == ["card_lost", "refund"]


def test_response_format_levels() -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}}
    fmt = response_format(Constraint(json_schema=loose))
    assert fmt is not None and fmt["json_schema"]["strict"] is False
    assert response_format(Constraint(json_schema=loose), "json_object") == {"type": "json_object"}
    assert response_format(Constraint(any_json=True)) == {"type": "json_object"}
    assert response_format(Constraint(json_schema=loose), "none") is None
    assert response_format(None) is None


def test_time_one_streams_and_measures_ttft(key: str) -> None:
    script = Script(answer=lambda p, b: "one two three four five")
    with serve(script) as url:
        g = RemoteGenerator(_spec(url)).time_one(_req("hi"))
    assert g.text == "one two three four five" and g.error is None
    assert g.latency_ms is not None and g.ttft_ms is not None and 0 < g.ttft_ms <= g.latency_ms
    assert g.output_tokens == 5
    assert script.seen[0]["stream"] is True


def test_missing_key_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUB_KEY", raising=False)
    with pytest.raises(TunegateError, match="environment variable STUB_KEY is not set"):
        RemoteGenerator(_spec("http://127.0.0.1:9/v1"))
    gen = RemoteGenerator(_spec("http://127.0.0.1:9/v1", api_key_env=None, retries=0, timeout_s=1))
    out = gen.generate([_req("x")])[0]  # nothing listens on port 9: a connection error, recorded
    assert out.error is not None and out.error.startswith("connection error")
