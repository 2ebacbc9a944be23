"""Security in front of the app: the API key as a Bearer token, the refusal to listen beyond
loopback without one, and the body size limit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serve_helpers import chat_body, client, serving, tiny_table
from tunegate.errors import TunegateError
from tunegate.serve import ServeConfig, is_loopback


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "example.com"))


def test_non_loopback_without_a_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUNEGATE_API_KEY", raising=False)
    with pytest.raises(TunegateError, match="refusing to bind 0.0.0.0 without an API key"):
        ServeConfig(host="0.0.0.0").check_bind()
    ServeConfig(host="0.0.0.0", api_key="k").check_bind()
    monkeypatch.setenv("TUNEGATE_API_KEY", "from-env")
    ServeConfig(host="0.0.0.0").check_bind()
    assert ServeConfig().key() == "from-env"


def test_cli_refuses_in_one_line_before_loading_anything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TUNEGATE_API_KEY"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    proc = subprocess.run(
        [sys.executable, "-m", "tunegate", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to bind 0.0.0.0 without an API key" in lines[0]
    assert "--api-key" in lines[0] and "TUNEGATE_API_KEY" in lines[0]


@pytest.fixture(scope="module")
def keyed_server(tiny_llama: Path) -> Iterator[str]:
    with serving(tiny_table(tiny_llama), api_key="s3cret", max_body_bytes=4000) as (url, _):
        yield url


def test_requests_without_the_bearer_token_get_401(keyed_server: str) -> None:
    import openai

    url = keyed_server
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        r = httpx.post(f"{url}/v1/chat/completions", json=chat_body(max_tokens=2), headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        assert r.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{url}/v1/models").status_code == 401
    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{url}/health").status_code == 200  # probes need no key
    with pytest.raises(openai.AuthenticationError):
        client(url, key="wrong").models.list()
    ok = client(url, key="s3cret").chat.completions.create(**chat_body(max_tokens=2))
    assert ok.choices[0].message.content is not None


def test_bodies_over_the_limit_get_413(keyed_server: str) -> None:
    url, auth = keyed_server, {"Authorization": "Bearer s3cret"}
    big = chat_body(messages=[{"role": "user", "content": "x" * 5000}])
    r = httpx.post(f"{url}/v1/chat/completions", json=big, headers=auth)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"model": "tiny", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}]}'

    r = httpx.post(f"{url}/v1/chat/completions", content=chunks(), headers=auth)
    assert r.status_code == 413
    small = httpx.post(f"{url}/v1/chat/completions", json=chat_body(max_tokens=2), headers=auth)
    assert small.status_code == 200
