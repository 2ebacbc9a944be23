"""From queued jobs to an HTTP answer: one JSON body, or a stream of server-sent events.

Both watch the clock (the request's deadline: 408 when it passes) and the client (a disconnect
cancels every job of the request, so the worker stops generating for it at the next token).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from tunegate.serve.engine import Delta, Done, Failed, Job
from tunegate.serve.errors import ApiError
from tunegate.serve.metrics import Metrics
from tunegate.serve.protocol import ChunkIds, usage

__all__ = ["Shape", "collect", "events"]


@dataclass(frozen=True)
class Shape:
    """How one endpoint writes its stream chunks."""

    prefix: str  # id prefix: chatcmpl or cmpl
    chunk: Callable[..., dict[str, Any]]  # protocol.chat_chunk or protocol.completion_chunk
    chat: bool


def _usage(done: Sequence[Done]) -> dict[str, Any]:
    return usage(
        sum(d.generation.input_tokens for d in done), sum(d.generation.output_tokens for d in done)
    )


def _cancel(jobs: Sequence[Job], reason: str) -> None:
    for job in jobs:
        job.cancel(reason)


async def _watch_disconnect(request: Request, jobs: Sequence[Job]) -> None:
    """Cancel `jobs` when the client disconnects (the body has been read: only that is left)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            _cancel(jobs, "disconnect")
            return


async def _next(jobs: Sequence[Job], deadline: float) -> Delta | Done | Failed:
    """The next event of the request, or ApiError 408 when its time is up."""
    sink = jobs[0].sink
    try:
        return await asyncio.wait_for(sink.queue.get(), max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        _cancel(jobs, "timeout")
        raise ApiError(408, "the request timed out on the server", code="timeout") from None


async def collect(
    request: Request, jobs: Sequence[Job], deadline: float
) -> tuple[list[Done], dict[str, Any]]:
    """Wait for every job's answer (in choice order) and the request's usage; raise its error."""
    watcher = asyncio.create_task(_watch_disconnect(request, jobs))
    done: dict[int, Done] = {}
    try:
        while len(done) < len(jobs):
            item = await _next(jobs, deadline)
            if isinstance(item, Failed):
                _cancel(jobs, "abandoned")
                raise item.error
            if isinstance(item, Done):
                done[item.index] = item
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    ordered = [done[i] for i in range(len(jobs))]
    return ordered, _usage(ordered)


def _sse(payload: dict[str, Any] | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n"


async def events(
    request: Request,
    jobs: Sequence[Job],
    deadline: float,
    shape: Shape,
    model: str,
    include_usage: bool,
    metrics: Metrics,
    echo: Sequence[str] = (),
) -> AsyncIterator[str]:
    """The SSE stream of a request: a chunk per piece of text, a finishing chunk per choice,
    the usage chunk when asked for, then `data: [DONE]`. An error after the stream began is
    sent as an `{"error": ...}` event (what OpenAI's clients expect)."""
    ids = ChunkIds(shape.prefix)
    start = time.monotonic()
    sent = [""] * len(jobs)
    first_token = False
    finished: dict[int, Done] = {}
    watcher = asyncio.create_task(_watch_disconnect(request, jobs))

    def chunk(index: int | None, piece: str | None = None, finish: str | None = None,
              use: dict[str, Any] | None = None, role: bool = False) -> str:  # fmt: skip
        if shape.chat:
            delta: dict[str, Any] = {"role": "assistant", "content": ""} if role else {}
            if piece is not None:
                delta["content"] = piece
            return _sse(shape.chunk(ids, model, index, delta, finish, use, include_usage))
        return _sse(shape.chunk(ids, model, index, piece or "", finish, use, include_usage))

    try:
        for i in range(len(jobs)):
            if shape.chat:
                yield chunk(i, role=True)
            elif i < len(echo) and echo[i]:
                yield chunk(i, echo[i])
        while len(finished) < len(jobs):
            try:
                item = await _next(jobs, deadline)
            except ApiError as exc:
                yield _sse(exc.body())
                break
            if isinstance(item, Failed):
                _cancel(jobs, "abandoned")
                yield _sse(item.error.body())
                break
            i = item.index
            if not first_token and item.text:
                first_token = True
                metrics.ttft.observe(time.monotonic() - start)
            if isinstance(item, Delta):
                sent[i] += item.text
                yield chunk(i, item.text)
                continue
            rest = item.text[len(sent[i]) :] if item.text.startswith(sent[i]) else ""
            if rest:
                sent[i] += rest
                yield chunk(i, rest)
            finished[i] = item
            yield chunk(i, finish=item.finish)
        else:
            if include_usage:
                yield chunk(None, use=_usage([finished[i] for i in range(len(jobs))]))
        yield _sse("[DONE]")
    finally:
        watcher.cancel()
        _cancel([j for j in jobs if j.index not in finished], "disconnect")
