"""Any OpenAI-compatible chat-completions endpoint as a `Generator` (vLLM, TGI, Ollama, OpenAI...).

Requests run on a thread pool of `concurrency` workers through the `openai` package (its own
retries off: ours treat every fault alike). A timeout, a connection error, a 429, a 5xx or a
body that is not a chat completion is retried with exponential backoff (honouring Retry-After);
a request that still fails becomes a `Generation` with `error` set, so one bad item never stops
a run. A constrained request asks for a JSON-Schema `response_format`; a server that refuses it
(400) is asked again with `json_object`, then with no format, and the fallback is remembered.
The API key is read from the environment variable the task names and is never logged.

A request naming an `adapter` goes to that adapter: `load_adapter(name, folder)` asks the server
to load the PEFT folder through vLLM's runtime LoRA API (`POST /v1/load_lora_adapter` with
`lora_name` and `lora_path`; vLLM needs `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`, and the folder
must be readable by the server), which `tunegate serve` implements too; an adapter the server
already lists in `/v1/models` is used as it is. Requests then name the adapter as their model.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError
from tunegate.models.base import Constraint, Generation, GenRequest, Progress
from tunegate.spec import RemoteSpec

__all__ = ["RemoteGenerator", "api_key", "response_format"]

# Ways to ask for structured output, strongest first; a 400 moves one step down.
_FORMATS = ("json_schema", "json_object", "none")
_LABEL_KEY = "label"


class _Retryable(Exception):
    """A fault worth another attempt (timeout, 429, 5xx, a body that is not a completion)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Refused(Exception):
    """The server refused the request itself (4xx other than 429): retrying will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def api_key(spec: RemoteSpec) -> str:
    """The key from the environment variable named in the task ("none" when the task names none).

    Raises a one-line error naming the variable (never its value) when it is unset.
    """
    if not spec.api_key_env:
        return "none"
    key = os.environ.get(spec.api_key_env, "")
    if not key:
        raise TunegateError(
            f"environment variable {spec.api_key_env} is not set; it must hold the key for "
            f"{spec.base_url} (or set remote.api_key_env: null for an endpoint without a key)",
            "remote.api_key_env",
        )
    return key


def _label_schema(labels: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {_LABEL_KEY: {"type": "string", "enum": list(labels)}},
        "required": [_LABEL_KEY],
        "additionalProperties": False,
    }


def _max_tokens(req: GenRequest) -> int:
    """The request's max_tokens, raised for a label constraint so that the label and the JSON
    object around it (how a schema asks for a label) are never cut short (a token is >= 1 byte)."""
    labels = req.constraint.labels if req.constraint is not None else None
    if not labels:
        return req.max_tokens
    wrapper = len(json.dumps({_LABEL_KEY: ""}).encode())
    return max(req.max_tokens, max(len(lab.encode()) for lab in labels) + wrapper + 1)


def _strict_ok(schema: dict[str, Any]) -> bool:
    """OpenAI's strict mode needs every property required and no additional properties."""
    if schema.get("type") != "object":
        return False
    props = schema.get("properties", {})
    return schema.get("additionalProperties") is False and set(schema.get("required", [])) == set(
        props
    )


def response_format(
    constraint: Constraint | None, level: str = "json_schema"
) -> dict[str, Any] | None:
    """The `response_format` asking for `constraint` at a fallback level (None: ask for nothing)."""
    if constraint is None or level == "none":
        return None
    if level == "json_object" or constraint.any_json:
        return {"type": "json_object"}
    schema = (
        constraint.json_schema
        if constraint.json_schema is not None
        else _label_schema(constraint.labels or ())
    )
    return {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema, "strict": _strict_ok(schema)},
    }


def _unwrap_label(text: str, constraint: Constraint | None) -> str:
    """A label request answered as {"label": x} (how a schema asks for a label) becomes x."""
    if constraint is None or constraint.labels is None:
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(value, dict) and isinstance(value.get(_LABEL_KEY), str):
        return str(value[_LABEL_KEY])
    return text.strip()


def _classify(exc: Exception) -> _Retryable | _Refused:
    """Map an exception raised while calling or reading the endpoint to _Retryable / _Refused."""
    import openai

    if isinstance(exc, _Retryable | _Refused):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return _Retryable("timeout")
    if isinstance(exc, openai.APIConnectionError):
        return _Retryable(f"connection error: {exc}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429 or status >= 500 or status == 408:
            after = exc.response.headers.get("retry-after")
            try:
                wait = float(after) if after is not None else None
            except ValueError:
                wait = None
            return _Retryable(f"HTTP {status}", retry_after=wait)
        return _Refused(f"HTTP {status}: {_short(exc.message)}", status)
    # Anything else came from reading the body (not JSON, no choices, no content...).
    return _Retryable(f"bad response body: {type(exc).__name__}: {_short(str(exc))}")


def _short(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


@dataclass
class _Answer:
    text: str
    input_tokens: int
    output_tokens: int
    ttft_ms: float | None = None


class RemoteGenerator:
    """Answer `GenRequest`s with an OpenAI-compatible endpoint (`spec`: the task's `remote:`)."""

    def __init__(
        self, spec: RemoteSpec, *, backoff_s: float = 0.5, max_backoff_s: float = 20.0
    ) -> None:
        from openai import OpenAI

        self.spec = spec
        self.name = f"remote:{spec.model}"
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._client = OpenAI(
            base_url=spec.base_url, api_key=api_key(spec), timeout=spec.timeout_s, max_retries=0
        )
        self._level = 0  # index into _FORMATS; only ever moves down
        self._lock = threading.Lock()
        self.adapters: dict[str, str] = {}  # request's adapter name -> the server's model name

    def load_adapter(
        self, name: str, folder: str | Path, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Have the server serve the PEFT adapter `folder`, addressable as `name` in requests.

        Its model name on the server is the adapter's run id (the folder's parent for a
        tunegate `.../<run>/adapter`); loaded unless the server already lists it. Faults are
        retried like requests; a refusal is one TunegateError saying what the server said.
        """
        path = Path(folder).expanduser().resolve()
        if not (path / "adapter_config.json").is_file():
            raise TunegateError(
                f"adapter {name!r}: not a PEFT adapter folder (no adapter_config.json)", str(path)
            )
        served = f"tunegate-{path.parent.name if path.name == 'adapter' else path.name}"
        if served not in self._served_models(sleep):
            body = {"lora_name": served, "lora_path": str(path)}
            self._retrying(lambda: self._post("load_lora_adapter", body), sleep)
        self.adapters[name] = served

    def _served_models(self, sleep: Callable[[float], None]) -> set[str]:
        page = self._retrying(lambda: self._client.models.list(), sleep)
        return {m.id for m in page.data}

    def _post(self, path: str, body: dict[str, Any]) -> None:
        import httpx

        try:
            r = self._client.post(f"/{path}", body=body, cast_to=httpx.Response)
        except Exception as exc:
            mapped = _classify(exc)
            if isinstance(mapped, _Refused) and "already been loaded" in str(mapped):
                return  # loaded meanwhile (vLLM answers 400 then)
            raise mapped from exc
        if r.status_code >= 400:  # pragma: no cover - the client raises for these
            raise _Refused(f"HTTP {r.status_code}: {_short(r.text)}", r.status_code)

    def _retrying(self, fn: Callable[[], Any], sleep: Callable[[float], None]) -> Any:
        """`fn()` with the requests' retries and backoff; a last fault is one TunegateError."""
        attempts = 0
        while True:
            attempts += 1
            try:
                return fn()
            except Exception as exc:
                mapped = _classify(exc)
                if isinstance(mapped, _Refused) or attempts > self.spec.retries:
                    raise TunegateError(
                        f"{self.spec.base_url} could not load the adapter: {mapped} "
                        f"(after {attempts} attempt(s))"
                    ) from exc
                wait = self.backoff_s * 2 ** (attempts - 1)
                if isinstance(mapped, _Retryable) and mapped.retry_after is not None:
                    wait = max(wait, mapped.retry_after)
                sleep(min(wait, self.max_backoff_s))

    # one call ----------------------------------------------------------------
    def _params(self, req: GenRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.spec.model if req.adapter is None else self.adapters[req.adapter],
            "messages": req.messages,
            "max_tokens": _max_tokens(req),
            "temperature": req.temperature,
            "top_p": req.top_p,
        }
        if req.temperature > 0:
            params["seed"] = req.seed
        fmt = response_format(req.constraint, _FORMATS[self._level])
        if fmt is not None:
            params["response_format"] = fmt
        return params

    def _check(self, req: GenRequest) -> None:
        if req.adapter is not None and req.adapter not in self.adapters:
            known = ", ".join(sorted(self.adapters)) or "none loaded"
            raise TunegateError(f"unknown adapter {req.adapter!r} (adapters: {known})")

    def _call(self, req: GenRequest, stream: bool) -> _Answer:
        params = self._params(req)
        try:
            if stream:
                return self._streamed(params)
            resp = self._client.chat.completions.create(**params)
            if isinstance(resp, str):  # the client hands back a body that is not JSON as text
                raise _Retryable(f"bad response body: not JSON: {_short(resp, 60)!r}")
            if not resp.choices or not isinstance(resp.choices[0].message.content, str):
                raise _Retryable("bad response body: no message content")
            text = resp.choices[0].message.content
            usage = getattr(resp, "usage", None)
            return _Answer(
                text,
                int(getattr(usage, "prompt_tokens", 0) or 0),
                int(getattr(usage, "completion_tokens", 0) or 0),
            )
        except Exception as exc:
            mapped = _classify(exc)
            if (
                isinstance(mapped, _Refused)
                and mapped.status == 400
                and "response_format" in params
            ):
                self._downgrade(params["response_format"])
                return self._call(req, stream)
            raise mapped from exc

    def _streamed(self, params: dict[str, Any]) -> _Answer:
        start = time.perf_counter()
        ttft: float | None = None
        parts: list[str] = []
        usage = None
        stream = self._client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        for chunk in stream:
            if getattr(chunk, "usage", None) is not None:
                usage = chunk.usage
            for choice in chunk.choices or []:
                piece = choice.delta.content if choice.delta is not None else None
                if piece:
                    if ttft is None:
                        ttft = (time.perf_counter() - start) * 1000
                    parts.append(piece)
        return _Answer(
            "".join(parts),
            int(getattr(usage, "prompt_tokens", 0) or 0),
            int(getattr(usage, "completion_tokens", 0) or 0),
            ttft,
        )

    def _downgrade(self, refused: dict[str, Any]) -> None:
        with self._lock:
            level = _FORMATS.index(refused["type"]) if refused["type"] in _FORMATS else 0
            self._level = max(self._level, level + 1)

    def _with_retries(
        self, req: GenRequest, stream: bool, sleep: Callable[[float], None]
    ) -> Generation:
        attempts = 0
        last = ""
        while True:
            attempts += 1
            start = time.perf_counter()
            try:
                ans = self._call(req, stream)
            except _Retryable as exc:
                last = str(exc)
                if attempts > self.spec.retries:
                    break
                wait = self.backoff_s * 2 ** (attempts - 1) * (1 + 0.25 * random.random())
                if exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
                sleep(min(wait, self.max_backoff_s))
                continue
            except _Refused as exc:
                last = str(exc)
                break
            latency = (time.perf_counter() - start) * 1000
            return Generation(
                text=_unwrap_label(ans.text, req.constraint),
                input_tokens=ans.input_tokens,
                output_tokens=ans.output_tokens,
                latency_ms=latency if stream else None,
                ttft_ms=ans.ttft_ms if stream else None,
                extra={
                    "attempts": attempts,
                    "format": _FORMATS[self._level] if req.constraint else "none",
                },
            )
        return Generation(
            text="", error=f"{last} after {attempts} attempt(s)", extra={"attempts": attempts}
        )

    # the Generator protocol --------------------------------------------------
    def generate(
        self, requests: Sequence[GenRequest], progress: Progress | None = None
    ) -> list[Generation]:
        """Answer all requests, `concurrency` at a time; results in input order."""
        if not requests:
            return []
        for req in requests:
            self._check(req)
        out: list[Generation | None] = [None] * len(requests)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.spec.concurrency) as pool:
            futures = {
                pool.submit(self._with_retries, req, False, time.sleep): i
                for i, req in enumerate(requests)
            }
            for fut in as_completed(futures):
                gen = fut.result()
                out[futures[fut]] = gen
                if progress is not None:
                    progress(1, gen.output_tokens)
        share = (time.perf_counter() - start) * 1000 / len(requests)
        for g in out:
            assert g is not None
            g.batch_ms = share
        return [g for g in out if g is not None]

    def time_one(self, request: GenRequest) -> Generation:
        """One streamed request alone: total latency and time to the first content token."""
        self._check(request)
        return self._with_retries(request, True, time.sleep)
