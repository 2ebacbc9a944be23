"""The batching loop under load: requests that arrive together share a batch, a full queue
answers 429 with Retry-After, a request past its timeout is stopped, and a client killed
mid-stream stops its generation and leaves the server healthy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from serve_helpers import chat_body, client, metrics, serving, sse_events, tiny_table


def _post_all(url: str, bodies: list[dict], stagger_s: float = 0.0) -> list[httpx.Response]:
    def post(i_body: tuple[int, dict]) -> httpx.Response:
        time.sleep(i_body[0] * stagger_s)
        return httpx.post(f"{url}/v1/chat/completions", json=i_body[1], timeout=60)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, enumerate(bodies)))


def _wait_for(url: str, key: str, value: float, timeout_s: float = 10.0) -> dict[str, float]:
    deadline = time.time() + timeout_s
    while True:
        now = metrics(url)
        if now.get(key, 0) >= value or time.time() > deadline:
            return now
        time.sleep(0.05)


def test_concurrent_requests_decode_in_one_batch(tiny_llama: Path) -> None:
    with serving(tiny_table(tiny_llama), max_batch=8, batch_wait_ms=50) as (url, _):
        bodies = [
            chat_body(messages=[{"role": "user", "content": f"question {i}"}], max_tokens=20)
            for i in range(6)
        ]
        answers = _post_all(url, bodies)
        assert [r.status_code for r in answers] == [200] * 6
        m = metrics(url)
    assert m["tunegate_batch_size_sum"] == 6  # every request decoded exactly once
    assert m["tunegate_batch_size_count"] < 6  # ... in fewer batches than requests
    assert m['tunegate_batch_size_bucket{le="1.0"}'] < m["tunegate_batch_size_count"]


def test_a_short_request_is_answered_before_its_batch_ends(tiny_llama: Path) -> None:
    with serving(tiny_table(tiny_llama), max_tokens_cap=900, batch_wait_ms=100) as (url, _):
        with ThreadPoolExecutor(2) as pool:
            long = pool.submit(_post_all, url, [chat_body(max_tokens=900)])
            short = pool.submit(_post_all, url, [chat_body(max_tokens=3)], 0.02)
            assert short.result()[0].json()["usage"]["completion_tokens"] == 3
            assert not long.done()  # its row is still decoding in the same batch
            assert long.result()[0].json()["usage"]["completion_tokens"] == 900
        m = metrics(url)
    assert m["tunegate_batch_size_count"] == 1 and m["tunegate_batch_size_sum"] == 2


def test_full_queue_answers_429_with_retry_after(tiny_llama: Path) -> None:
    import openai
    import pytest

    with serving(tiny_table(tiny_llama), max_batch=1, queue=2, max_tokens_cap=600) as (url, _):
        with ThreadPoolExecutor(2) as pool:
            busy = pool.submit(_post_all, url, [chat_body(max_tokens=600)])
            _wait_for(url, "tunegate_running_requests", 1)
            queued = pool.submit(_post_all, url, [chat_body(max_tokens=2) for _ in range(2)])
            _wait_for(url, "tunegate_queue_depth", 2)
            refused = httpx.post(f"{url}/v1/chat/completions", json=chat_body(max_tokens=2))
            with pytest.raises(openai.RateLimitError) as raised:
                client(url).chat.completions.create(**chat_body(max_tokens=2))
            assert busy.result()[0].status_code == 200
            assert [r.status_code for r in queued.result()] == [200, 200]
        assert (
            metrics(url)['tunegate_requests_total{endpoint="/v1/chat/completions",status="429"}']
            == 2
        )
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "queue_full"
    assert raised.value.response.headers["retry-after"].isdigit()


def test_timeout_stops_the_work_and_answers_408(tiny_llama: Path) -> None:
    with serving(tiny_table(tiny_llama), max_tokens_cap=900, timeout_s=0.3) as (url, _):
        r = httpx.post(f"{url}/v1/chat/completions", json=chat_body(max_tokens=900))
        assert r.status_code == 408 and r.json()["error"]["code"] == "timeout"
        stream = httpx.post(
            f"{url}/v1/chat/completions", json=chat_body(max_tokens=900, stream=True)
        )
        events = sse_events(stream.text)
        assert events[-1] == "[DONE]" and events[-2]["error"]["code"] == "timeout"
        m = _wait_for(url, 'tunegate_cancelled_requests_total{reason="timeout"}', 2)
        assert m['tunegate_cancelled_requests_total{reason="timeout"}'] == 2
        assert m["tunegate_cancelled_request_tokens_total"] < 2 * 900  # stopped early
        assert httpx.get(f"{url}/health").status_code == 200


CLIENT = textwrap.dedent(
    """
    import sys
    from openai import OpenAI
    oa = OpenAI(base_url=sys.argv[1] + "/v1", api_key="none", max_retries=0)
    stream = oa.chat.completions.create(model="tiny", max_tokens=900, stream=True,
                                        messages=[{"role": "user", "content": "go on"}])
    for chunk in stream:
        print("chunk", flush=True)
    """
)


def test_client_killed_mid_stream_cancels_its_generation(tiny_llama: Path) -> None:
    with serving(tiny_table(tiny_llama), max_tokens_cap=900) as (url, _):
        proc = subprocess.Popen(
            [sys.executable, "-c", CLIENT, url], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        for _ in range(3):  # the stream is flowing
            assert proc.stdout.readline() == "chunk\n"
        proc.kill()  # SIGKILL: no goodbye, the socket just closes
        proc.wait()
        key = 'tunegate_cancelled_requests_total{reason="disconnect"}'
        m = _wait_for(url, key, 1)
        assert m[key] == 1
        assert 3 <= m["tunegate_cancelled_request_tokens_total"] < 900  # stopped early
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        again = client(url).chat.completions.create(**chat_body(max_tokens=5))
        assert again.choices[0].finish_reason == "length"
        assert metrics(url)['tunegate_requests_total{endpoint="/health",status="200"}'] == 1
