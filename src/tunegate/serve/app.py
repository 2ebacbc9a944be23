"""The FastAPI app: OpenAI's chat and text completion endpoints, the model list, health and
metrics, over one `Engine`.

A handler only checks the request against the server's limits and the model table, turns it
into `GenRequest`s, queues them and writes the answer; generation happens in the engine's
worker thread. Every refusal is an `ApiError` (errors.py).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tunegate.errors import TunegateError
from tunegate.models.base import Constraint, GenRequest
from tunegate.serve import errors
from tunegate.serve.answer import Shape, collect, events
from tunegate.serve.config import ServeConfig
from tunegate.serve.engine import Engine, Job, Sink
from tunegate.serve.errors import ApiError
from tunegate.serve.generator import RawRequest
from tunegate.serve.guard import Guard
from tunegate.serve.metrics import CONTENT_TYPE, Metrics
from tunegate.serve.protocol import (
    ChatRequest,
    CompletionRequest,
    FormatJsonObject,
    FormatJsonSchema,
    FormatText,
    LoadLoraRequest,
    chat_chunk,
    chat_completion,
    completion_chunk,
    text_completion,
)
from tunegate.serve.table import ModelTable, Served

__all__ = ["build_app"]

MIN_TEMPERATURE = 1e-4  # below this, sampling is greedy decoding (and cannot overflow)
MIN_TOP_P = 1e-6  # below this (down to float32's zero), top_p keeps the most likely token
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": what, "content": {"application/json": {}}}
    for code, what in (
        (400, "invalid request (OpenAI error object)"),
        (401, "missing or wrong API key"),
        (404, "unknown model"),
        (408, "timed out on the server"),
        (413, "body too large"),
        (429, "queue full; see Retry-After"),
    )
}
CHAT = Shape("chatcmpl", chat_chunk, chat=True)
TEXT = Shape("cmpl", completion_chunk, chat=False)


def build_app(engine: Engine, table: ModelTable, config: ServeConfig, metrics: Metrics) -> FastAPI:
    """The app over a started (or about to start) `engine` serving the names in `table`."""
    from tunegate import __version__

    app = FastAPI(
        title="tunegate serve",
        version=__version__,
        description="OpenAI-compatible completions from a local model and its LoRA adapters.",
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    app.add_middleware(Guard, key=config.key(), max_body=config.max_body_bytes, metrics=metrics)
    cap = config.max_tokens_cap

    def served(name: str) -> Served:
        entry = table.lookup(name)
        if entry is None:
            raise ApiError(
                404,
                f"the model {name!r} does not exist here; GET /v1/models lists the served ones",
                param="model",
                code="model_not_found",
            )
        return entry

    def max_tokens(asked: int | None) -> int:
        if asked is not None and asked > cap:
            raise ApiError(
                400,
                f"max_tokens is too large: {asked}; this server allows at most {cap}",
                param="max_tokens",
            )
        return asked or cap

    def sampling(body: ChatRequest | CompletionRequest) -> dict[str, Any]:
        # omitted: greedy, as tunegate's ladder measured the model (OpenAI's default is 1)
        temperature = body.temperature or 0.0
        if temperature < MIN_TEMPERATURE:
            temperature = 0.0
        seed = body.seed if body.seed is not None else secrets.randbits(62)
        top_p = max(MIN_TOP_P, body.top_p) if body.top_p is not None else 1.0
        return {"temperature": temperature, "top_p": top_p, "seed": seed}

    async def answer(
        request: Request,
        body: ChatRequest | CompletionRequest,
        reqs: list[GenRequest],
        shape: Shape,
        echo: list[str],
    ) -> Any:
        deadline = time.monotonic() + config.timeout_s
        sink = Sink()
        stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
        jobs = [
            Job(r, sink, body.model, deadline, index=i, stream=bool(body.stream), stop=stop)
            for i, r in enumerate(reqs)
        ]
        engine.submit(jobs)
        if body.stream:
            include = bool(body.stream_options and body.stream_options.include_usage)
            stream = events(request, jobs, deadline, shape, body.model, include, metrics, echo)
            return StreamingResponse(
                stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
            )
        done, use = await collect(request, jobs, deadline)
        texts = [(echo[i] if i < len(echo) else "") + d.text for i, d in enumerate(done)]
        choices = [(t, d.finish) for t, d in zip(texts, done, strict=True)]
        build = chat_completion if shape.chat else text_completion
        return build(body.model, choices, use)

    @app.post("/v1/chat/completions", responses=_ERRORS)
    async def chat_completions(body: ChatRequest, request: Request) -> Any:
        """Chat completion; `response_format` json_schema / json_object is enforced."""
        entry = served(body.model)
        messages = [
            {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
            for m in body.messages
        ]
        req = GenRequest(
            messages=messages,
            max_tokens=max_tokens(body.max_completion_tokens or body.max_tokens),
            constraint=constraint(body, entry),
            adapter=entry.adapter,
            **sampling(body),
        )
        return await answer(request, body, [req], CHAT, [])

    @app.post("/v1/completions", responses=_ERRORS)
    async def completions(body: CompletionRequest, request: Request) -> Any:
        """Text completion: each prompt is continued as is (no chat template)."""
        entry = served(body.model)
        prompts = [body.prompt] if isinstance(body.prompt, str) else list(body.prompt)
        if any(not p for p in prompts):
            raise ApiError(400, "prompt must not be empty", param="prompt")
        n = max_tokens(body.max_tokens if body.max_tokens is not None else min(16, cap))
        kw = {"max_tokens": n, "adapter": entry.adapter, **sampling(body)}
        reqs: list[GenRequest] = [RawRequest(messages=[], prompt=p, **kw) for p in prompts]
        return await answer(request, body, reqs, TEXT, prompts if body.echo else [])

    @app.post("/v1/load_lora_adapter", responses=_ERRORS)
    async def load_lora_adapter(body: LoadLoraRequest) -> PlainTextResponse:
        """Serve one more PEFT adapter (a folder on this machine) as `lora_name`, as vLLM's
        runtime LoRA API does; loaded on the worker thread between batches."""
        if not config.lora_api:
            raise ApiError(403, "this server was started with --no-lora-api", code="forbidden")
        await load_adapter(engine, table, body.lora_name, body.lora_path)
        return PlainTextResponse(f"Success: LoRA adapter '{body.lora_name}' added successfully.")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        """The names a request's `model` may take."""
        return {"object": "list", "data": [_model(n) for n in table.names]}

    @app.get("/v1/models/{model}", responses=_ERRORS)
    async def model(model: str) -> dict[str, Any]:
        served(model)
        return _model(model)

    @app.get("/health")
    async def health() -> JSONResponse:
        """200 while the batching worker runs; 503 otherwise."""
        ok = engine.healthy
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "queue": engine.depth},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Counters and histograms in Prometheus text format."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    _describe_models(app, table, cap)
    return app


async def load_adapter(engine: Engine, table: ModelTable, name: str, path: str) -> None:
    """Load adapter `path` as `name` on the engine's generator, then add it to the table."""
    import asyncio
    from pathlib import Path

    folder = Path(path).expanduser()
    if table.lookup(name) is not None:
        raise ApiError(400, f"the lora adapter {name!r} has already been loaded", param="lora_name")
    if not (folder / "adapter_config.json").is_file():
        raise ApiError(
            400, f"no PEFT adapter (adapter_config.json) in {str(folder)!r}", param="lora_path"
        )
    generator = engine.generator
    try:
        await asyncio.wrap_future(engine.call(lambda: generator.load_adapter(name, folder)))
        table.add_adapter(name, folder)
    except TunegateError as exc:
        raise ApiError(400, exc.message, param="lora_path") from exc


def constraint(body: ChatRequest, entry: Served) -> Constraint | None:
    """The decoding constraint a chat request asks for (its model's default when it asks none)."""
    fmt = body.response_format
    if fmt is None:
        return entry.default
    if isinstance(fmt, FormatText):
        return None
    if isinstance(fmt, FormatJsonObject):
        return Constraint(any_json=True)
    assert isinstance(fmt, FormatJsonSchema)
    schema = fmt.json_schema.json_schema
    if schema is None:
        return Constraint(any_json=True)
    from tunegate.spec import check_schema

    try:
        check_schema(schema, "response_format.json_schema.schema")
    except TunegateError as exc:
        raise ApiError(400, str(exc), param="response_format") from exc
    return Constraint(json_schema=schema)


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "tunegate"}


def _describe_models(app: FastAPI, table: ModelTable, cap: int) -> None:
    """Publish the served model names and the max_tokens cap in the OpenAPI document."""
    plain = FastAPI.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = plain(app)
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("ChatRequest", "CompletionRequest"):
            props = schemas.get(name, {}).get("properties", {})
            if "model" in props:
                props["model"]["enum"] = sorted(table.names)
            for key in ("max_tokens", "max_completion_tokens"):
                for option in props.get(key, {}).get("anyOf", []):
                    if option.get("type") == "integer":
                        option["maximum"] = cap
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
