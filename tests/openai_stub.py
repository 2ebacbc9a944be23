"""A real OpenAI-compatible chat-completions server on 127.0.0.1 for tests, answering from a script.

`serve(script)` starts uvicorn on a free port in a thread and yields its base URL. The script
answers each request from its last user message and can inject faults per message, one per
attempt: an HTTP status ("429", "500", "404"...), "timeout" (sleeps past the client's timeout),
"nonjson" (an HTML body), "badjson" (a JSON content type with a broken body), "empty" (a
completion without choices).
`refuse_formats` makes the server answer 400 to any request carrying those response_format types.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse


@dataclass
class Script:
    answer: Callable[[str, dict[str, Any]], str]
    faults: dict[str, list[str]] = field(default_factory=dict)
    refuse_formats: set[str] = field(default_factory=set)
    timeout_sleep_s: float = 2.0
    delay_s: float = 0.0
    seen: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    inflight: int = 0
    max_inflight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault_for(self, prompt: str) -> str | None:
        with self.lock:
            queue = self.faults.get(prompt)
            return queue.pop(0) if queue else None


def _completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
    prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(text.split()),
            "total_tokens": prompt_tokens + len(text.split()),
        },
    }


def _chunks(text: str, body: dict[str, Any]) -> Iterator[str]:
    base = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": body["model"],
    }
    words = text.split(" ")
    for i, w in enumerate(words):
        piece = w if i == 0 else " " + w
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        yield json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    yield json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    usage = _completion(text, body)["usage"]
    yield json.dumps({**base, "choices": [], "usage": usage})


def make_app(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        with script.lock:
            script.seen.append(body)
            script.auth.append(request.headers.get("authorization", ""))
            script.inflight += 1
            script.max_inflight = max(script.max_inflight, script.inflight)
        try:
            if script.delay_s:
                await asyncio.sleep(script.delay_s)
            return await _answer(body)
        finally:
            with script.lock:
                script.inflight -= 1

    async def _answer(body: dict[str, Any]) -> Response:
        prompt = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        fmt = (body.get("response_format") or {}).get("type")
        if fmt in script.refuse_formats:
            return JSONResponse({"error": {"message": f"response_format {fmt} not supported"}}, 400)
        fault = script.fault_for(prompt)
        if fault is not None and fault.isdigit():
            headers = {"retry-after": "0"} if fault == "429" else {}
            return JSONResponse({"error": {"message": "injected"}}, int(fault), headers=headers)
        if fault == "timeout":
            await asyncio.sleep(script.timeout_sleep_s)
        if fault == "nonjson":
            return PlainTextResponse("<html>bad gateway</html>", 200)
        if fault == "badjson":
            return Response('{"choices": [', media_type="application/json")
        if fault == "empty":
            return JSONResponse({"id": "x", "object": "chat.completion", "choices": []})
        text = script.answer(prompt, body)
        if body.get("stream"):

            def events() -> Iterator[str]:
                for chunk in _chunks(text, body):
                    yield f"data: {chunk}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse(_completion(text, body))

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(script: Script) -> Iterator[str]:
    """Run the stub on 127.0.0.1:<free port>; yield its base URL (…/v1); stop it on exit."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(make_app(script), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("stub OpenAI server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
