"""The ASGI layer in front of the app: API key, body size limit, and per-request metrics.

Runs before FastAPI parses anything, so an unauthenticated or oversized request costs almost
nothing: the key is checked from the headers, and the body is read (and counted) only after it,
then replayed to the app. Every answered request is counted by endpoint and status, and timed
to its last byte (streams included).
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tunegate.serve.errors import ApiError
from tunegate.serve.metrics import Metrics

__all__ = ["ENDPOINTS", "Guard"]

ENDPOINTS = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/models",
    "/health",
    "/metrics",
    "/openapi.json",
)
OPEN = ("/health",)  # answered without a key (load balancers probe it)


class Guard:
    """Check the Bearer token (when a key is set), cap the body, count and time responses."""

    def __init__(self, app: ASGIApp, key: str | None, max_body: int, metrics: Metrics) -> None:
        self.app = app
        self.key = key
        self.max_body = max_body
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        endpoint = (
            path
            if path in ENDPOINTS
            else "/v1/models/{model}"
            if path.startswith("/v1/models/")
            else "other"
        )
        start = time.perf_counter()
        status = 0

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.metrics.latency.labels(endpoint).observe(time.perf_counter() - start)

        try:
            error = self._refuse(scope, path)
            if error is None:
                body, error = await _read_body(receive, scope, self.max_body)
            if error is not None:
                await error.response()(scope, receive, counted)
                return
            await self.app(scope, _replay(body, receive), counted)
        finally:
            self.metrics.requests.labels(endpoint, str(status or 499)).inc()

    def _refuse(self, scope: Scope, path: str) -> ApiError | None:
        if not self.key or path in OPEN:
            return None
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"")
        scheme, _, token = given.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(
            token.strip(), self.key.encode("utf-8")
        ):
            return None
        return ApiError(
            401,
            "missing or incorrect API key: send it as 'Authorization: Bearer <key>'",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def _read_body(
    receive: Receive, scope: Scope, limit: int
) -> tuple[bytes | None, ApiError | None]:
    """The whole request body, or a 413 as soon as it is known to exceed `limit` bytes."""
    too_big = ApiError(413, f"request body exceeds {limit} bytes", code="body_too_large")
    headers = dict(scope.get("headers") or [])
    length = headers.get(b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None, too_big
    if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
        return None, None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, None  # disconnected before the body arrived: let the app see it
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, too_big
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes | None, receive: Receive) -> Receive:
    """A receive that hands out `body` once, then passes through (disconnect notices)."""
    if body is None:
        return receive
    pending: list[dict[str, Any]] = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
