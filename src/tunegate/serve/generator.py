"""The local generator as the server needs it: raw-text prompts for /v1/completions, and each
request's row visible while its batch decodes, so a request is answered as soon as its own row
ends rather than when the whole batch does. `ServeGenerator` runs on torch,
`LlamaCppServeGenerator` on llama.cpp (both decode a batch together); `serve_generator` picks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tunegate.errors import TunegateError
from tunegate.models.base import Generation, GenRequest, Progress
from tunegate.models.decode import OnToken, Row
from tunegate.models.llamacpp import LlamaCppGenerator
from tunegate.models.local import LocalGenerator
from tunegate.models.prompts import generation

__all__ = ["ENDED", "LlamaCppServeGenerator", "RawRequest", "ServeGenerator", "serve_generator"]

ENDED = ("stop", "length", "grammar")  # a row's own end (not "cancelled")


@dataclass(frozen=True)
class RawRequest(GenRequest):
    """A /v1/completions request: `prompt` is tokenized as is, without the chat template."""

    prompt: str = ""


class _ServeRows:
    """What the server adds to either engine's generator (listed first among the bases, so its
    `super()` is the engine): raw prompts (`RawRequest`) and each request's row mid-batch."""

    rows: dict[int, Row]
    tokenizer: Any
    stop_ids: list[int]

    def generate(
        self,
        requests: Sequence[GenRequest],
        progress: Progress | None = None,
        on_token: OnToken | None = None,
    ) -> list[Generation]:
        self.rows = {}
        try:
            return super().generate(requests, progress, on_token)  # type: ignore[misc]
        finally:
            self.rows = {}

    def finish(self, index: int) -> str | None:
        """Why request `index`'s row ended (None: it runs, or is not in this call)."""
        row = self.rows.get(index)
        return None if row is None else row.finish

    def snapshot(self, index: int) -> tuple[Generation, str | None] | None:
        """Request `index` of the running `generate` call as decoded so far, with its row's
        finish ("stop", "length", "grammar", "cancelled" or None while it runs)."""
        row = self.rows.get(index)
        if row is None:
            return None
        return generation(row, self.tokenizer, self.stop_ids, 0), row.finish

    def _row(self, index: int, req: GenRequest, ids: list[int]) -> Row:
        row: Row = super()._row(index, req, ids)  # type: ignore[misc]
        self.rows[index] = row
        return row

    def _encode(self, req: GenRequest) -> tuple[list[int], str | None]:
        if not isinstance(req, RawRequest):
            return super()._encode(req)  # type: ignore[misc]
        return _raw_ids(self, req)


class ServeGenerator(_ServeRows, LocalGenerator):
    """`LocalGenerator` (torch) as the server needs it."""


class LlamaCppServeGenerator(_ServeRows, LlamaCppGenerator):
    """`LlamaCppGenerator` (llama.cpp) as the server needs it."""


def _raw_ids(gen: Any, req: RawRequest) -> tuple[list[int], str | None]:
    """A raw prompt's ids (the tokenizer's own special tokens added), or why it cannot run."""
    from tunegate.models.prompts import over_context

    if req.adapter is not None and req.adapter not in gen.adapters:
        raise TunegateError(f"unknown adapter {req.adapter!r}")
    ids = list(gen.tokenizer(req.prompt, add_special_tokens=True)["input_ids"])
    if not ids:
        return ids, "the prompt is empty"
    return ids, over_context(ids, req.max_tokens, gen.max_positions)


def serve_generator(
    engine: str, base: str | None, adapters: dict[str, Any], name: str, batch_size: int
) -> ServeGenerator | LlamaCppServeGenerator:
    """The server's generator on `engine` (llamacpp or torch); llamacpp falls back to torch with
    one line when it is not usable, the model is not a .gguf, or an adapter cannot be
    converted."""
    from tunegate.models.engines import choose_engine, say
    from tunegate.models.gguf_lora import AdapterNotConverted

    if engine == "openai":
        raise TunegateError("serve runs the model itself: --engine is llamacpp or torch")
    choice = choose_engine(engine, base)
    say(choice.note)
    if choice.engine == "llamacpp":
        try:
            return LlamaCppServeGenerator(base, adapters, name=name, quant=choice.quant or "f16")
        except AdapterNotConverted as exc:
            say(f"{exc}; serving with the torch engine")
    return ServeGenerator(base, adapters, name=name, batch_size=batch_size)
