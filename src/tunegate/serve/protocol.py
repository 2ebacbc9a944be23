"""The OpenAI request bodies the server accepts, as strict pydantic models, and the response
objects (completions, stream chunks, model list) it sends back.

Strict on purpose: a wrong type is a 400 naming the field, not a silent coercion, and an argument
the server does not implement (tools, logprobs, penalties...) is refused as "unrecognized" rather
than ignored, as OpenAI's own API does.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatRequest",
    "CompletionRequest",
    "chat_chunk",
    "chat_completion",
    "completion_chunk",
    "text_completion",
    "usage",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class TextPart(_Body):
    """One part of a message's content; only text parts are understood."""

    type: Literal["text"]
    text: str


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class JsonSchemaFormat(_Body):
    name: str = Field(default="output", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class FormatText(_Body):
    type: Literal["text"]


class FormatJsonObject(_Body):
    type: Literal["json_object"]


class FormatJsonSchema(_Body):
    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


ResponseFormat = Annotated[
    FormatText | FormatJsonObject | FormatJsonSchema, Field(discriminator="type")
]


class StreamOptions(_Body):
    include_usage: bool = False


Stop = str | Annotated[list[str], Field(max_length=4)] | None


class _Sampling(_Body):
    model: str = Field(description="A name from GET /v1/models: the base model or an adapter.")
    max_tokens: int | None = Field(
        default=None, ge=1, description="Most tokens to generate (omitted: the server's cap)."
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: int | None = Field(default=None, ge=1, le=1, description="Only one choice is generated.")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    stop: Stop = Field(default=None, description="Up to 4 strings that end the answer.")
    seed: int | None = Field(
        default=None,
        ge=-(2**63),
        le=2**63 - 1,
        description="Sampling seed, a signed 64-bit integer (as OpenAI's API takes).",
    )
    user: str | None = None


class ChatRequest(_Sampling):
    """POST /v1/chat/completions."""

    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    response_format: ResponseFormat | None = Field(
        default=None,
        description="json_schema or json_object: enforced by constrained decoding. Omitted: "
        "an adapter's task schema when it has one.",
    )


class CompletionRequest(_Sampling):
    """POST /v1/completions: raw text continuation (no chat template)."""

    prompt: str | Annotated[list[str], Field(min_length=1, max_length=64)]
    echo: bool | None = False


class LoadLoraRequest(BaseModel):
    """POST /v1/load_lora_adapter, as vLLM takes it: serve the PEFT adapter at `lora_path` (a
    folder on the server's disk) as the model `lora_name`. Unknown fields are ignored, as
    vLLM's clients may send more."""

    model_config = ConfigDict(extra="ignore", strict=True)

    lora_name: str = Field(min_length=1, max_length=256)
    lora_path: str = Field(min_length=1, max_length=4096)


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def chat_completion(
    model: str, choices: list[tuple[str, str]], use: dict[str, Any]
) -> dict[str, Any]:
    """A chat.completion object; `choices` are (text, finish_reason) in index order."""
    return {
        "id": _id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
            for i, (text, finish) in enumerate(choices)
        ],
        "usage": use,
    }


def text_completion(
    model: str, choices: list[tuple[str, str]], use: dict[str, Any]
) -> dict[str, Any]:
    """A text_completion object; `choices` are (text, finish_reason) in index order."""
    return {
        "id": _id("cmpl"),
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {"index": i, "text": text, "logprobs": None, "finish_reason": finish}
            for i, (text, finish) in enumerate(choices)
        ],
        "usage": use,
    }


class ChunkIds:
    """The id and creation time every chunk of one stream shares."""

    def __init__(self, prefix: str) -> None:
        self.id = _id(prefix)
        self.created = int(time.time())


def chat_chunk(
    ids: ChunkIds,
    model: str,
    index: int | None,
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    use: dict[str, Any] | None = None,
    with_usage: bool = False,
) -> dict[str, Any]:
    """A chat.completion.chunk; `index` None is the final usage chunk (no choices)."""
    chunk: dict[str, Any] = {
        "id": ids.id,
        "object": "chat.completion.chunk",
        "created": ids.created,
        "model": model,
        "system_fingerprint": None,
        "choices": []
        if index is None
        else [{"index": index, "delta": delta or {}, "logprobs": None, "finish_reason": finish}],
    }
    if with_usage:
        chunk["usage"] = use
    return chunk


def completion_chunk(
    ids: ChunkIds,
    model: str,
    index: int | None,
    text: str = "",
    finish: str | None = None,
    use: dict[str, Any] | None = None,
    with_usage: bool = False,
) -> dict[str, Any]:
    """A streamed text_completion; `index` None is the final usage chunk (no choices)."""
    chunk: dict[str, Any] = {
        "id": ids.id,
        "object": "text_completion",
        "created": ids.created,
        "model": model,
        "system_fingerprint": None,
        "choices": []
        if index is None
        else [{"index": index, "text": text, "logprobs": None, "finish_reason": finish}],
    }
    if with_usage:
        chunk["usage"] = use
    return chunk
