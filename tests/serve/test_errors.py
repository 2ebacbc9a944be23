"""Bad input gets an OpenAI-style error object with a 4xx status, never a 500 or a crash: each
case by hand, then schemathesis generating requests from the server's own OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serve_helpers import chat_body, client, serving, tiny_table

CAP = 8


@pytest.fixture(scope="module")
def small_server(tiny_llama: Path) -> Iterator[str]:
    """A tiny server with an 8-token cap, so generated requests that reach the model are quick."""
    with serving(tiny_table(tiny_llama), max_tokens_cap=CAP) as (url, _):
        yield url


def _error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


def _chat(url: str, body: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)


BAD_CHAT: list[tuple[str, Any, int, str | None, str | None]] = [
    # (case, body, status, param, code)
    ("not an object", [1, 2], 400, None, None),
    ("unknown model", chat_body(model="../../etc/passwd"), 404, "model", "model_not_found"),
    ("messages not a list", chat_body(messages="hi"), 400, "messages", None),
    ("empty messages", chat_body(messages=[]), 400, "messages", None),
    ("message without content", chat_body(messages=[{"role": "user"}]), 400, None, None),
    ("unknown role", chat_body(messages=[{"role": "robot", "content": "x"}]), 400, None, None),
    ("max_tokens a string", chat_body(max_tokens="ten"), 400, "max_tokens", None),
    ("max_tokens zero", chat_body(max_tokens=0), 400, "max_tokens", None),
    ("max_tokens over the cap", chat_body(max_tokens=CAP + 1), 400, "max_tokens", None),
    ("temperature a string", chat_body(temperature="hot"), 400, "temperature", None),
    ("stream not a bool", chat_body(stream="yes"), 400, "stream", None),
    ("two choices", chat_body(n=2), 400, "n", None),
    ("seed past 64 bits", chat_body(seed=2**64, temperature=1.0), 400, "seed", None),
    ("unsupported argument", chat_body(tools=[]), 400, "tools", None),
    ("unknown format", chat_body(response_format={"type": "xml"}), 400, None, None),
    (
        "invalid schema",
        chat_body(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object", "properties": 5}},
            }
        ),
        400,
        "response_format",
        None,
    ),
    (
        "schema the grammar compiler refuses",
        chat_body(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"$ref": "#/$defs/missing"}},
            }
        ),
        400,
        "response_format",
        None,
    ),
    (
        "schema feature the grammar would not enforce",
        chat_body(
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"not": {"type": "string"}}},
            }
        ),
        400,
        "response_format",
        None,
    ),
    (
        "prompt past the context",
        chat_body(messages=[{"role": "user", "content": "word " * 1100}], max_tokens=CAP),
        400,
        "messages",
        "context_length_exceeded",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [case[1:] for case in BAD_CHAT],
    ids=[case[0] for case in BAD_CHAT],
)
def test_bad_chat_requests_get_4xx_error_objects(
    small_server: str, body: Any, status: int, param: str | None, code: str | None
) -> None:
    err = _error(_chat(small_server, body), status)
    if isinstance(body, dict) and "'not':" in str(body.get("response_format")):
        assert "`not` at #" in err["message"]  # the unenforceable feature, named
    if param is not None:
        assert err["param"] == param
    if code is not None:
        assert err["code"] == code


def test_malformed_bodies_routes_and_methods(small_server: str) -> None:
    url = small_server
    headers = {"content-type": "application/json"}
    bad = httpx.post(f"{url}/v1/chat/completions", content=b'{"model": "tiny", ', headers=headers)
    assert _error(bad, 400)["code"] == "invalid_json"
    assert _error(httpx.post(f"{url}/v1/chat/completions", content=b"\xff\xfe"), 400)
    assert _error(httpx.post(f"{url}/v1/completions", json={"model": "tiny", "prompt": ""}), 400)
    long = {"model": "tiny", "prompt": "word " * 1100, "max_tokens": CAP}
    assert _error(httpx.post(f"{url}/v1/completions", json=long), 400)["code"] == (
        "context_length_exceeded"
    )
    assert _error(httpx.get(f"{url}/v1/nothing/here"), 404)
    assert _error(httpx.get(f"{url}/v1/chat/completions"), 405)
    assert _error(httpx.get(f"{url}/v1/models/unknown"), 404)["code"] == "model_not_found"
    assert httpx.get(f"{url}/health").status_code == 200


def test_the_openai_client_raises_its_own_error_types(small_server: str) -> None:
    import openai

    oa = client(small_server)
    with pytest.raises(openai.NotFoundError):
        oa.chat.completions.create(**chat_body(model="gpt-4o"))
    with pytest.raises(openai.BadRequestError, match="max_tokens is too large"):
        oa.chat.completions.create(**chat_body(max_tokens=10_000))


def test_schemathesis_finds_no_server_error(small_server: str) -> None:
    """Requests generated from /openapi.json, valid and invalid: every answer is below 500, and
    every error carries the error object."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{small_server}/openapi.json")
    seen: list[int] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=schema.as_strategy(generation_mode=mode))
        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(base_url=small_server, timeout=30)
            seen.append(response.status_code)
            assert response.status_code < 500, (case.path, case.body, response.text)
            if response.status_code >= 400:
                assert set(response.json()["error"]) == {"message", "type", "param", "code"}

        check()
    assert any(s == 200 for s in seen) and any(400 <= s < 500 for s in seen)
    assert httpx.get(f"{small_server}/health").status_code == 200


def test_the_largest_seeds_sample(small_server: str) -> None:
    for seed in (2**63 - 1, -(2**63)):
        r = _chat(small_server, chat_body(seed=seed, temperature=1.0, max_tokens=2))
        assert r.status_code == 200, r.text
