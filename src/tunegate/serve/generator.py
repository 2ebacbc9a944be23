"""The local generator as the server needs it: raw-text prompts for /v1/completions, and each
request's row visible while its batch decodes, so a request is answered as soon as its own row
ends rather than when the whole batch does. `ServeGenerator` runs on torch,
`LlamaCppServeGenerator` on llama.cpp (both decode a batch together); `serve_generator` picks,
and `SplitGenerator` keeps llama.cpp for everything but the adapters it cannot take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError
from tunegate.models.base import Generation, GenRequest, Progress
from tunegate.models.decode import OnToken, Row
from tunegate.models.llamacpp import LlamaCppGenerator
from tunegate.models.local import LocalGenerator
from tunegate.models.prompts import generation

__all__ = [
    "ENDED",
    "LlamaCppServeGenerator",
    "RawRequest",
    "ServeGenerator",
    "SplitGenerator",
    "serve_generator",
]

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


class SplitGenerator:
    """llama.cpp for the base model and every adapter it can take, the torch engine for those it
    cannot (a DoRA adapter, LoRA on the embeddings: see models/gguf_lora.py), each such adapter
    saying so in one line. The torch model is loaded when the first such adapter arrives, at
    start or through /v1/load_lora_adapter. The engine's one worker calls `generate`: a batch's
    requests run on their own engine, llama.cpp's first."""

    def __init__(self, fast: LlamaCppServeGenerator) -> None:
        self.fast = fast
        self.slow: ServeGenerator | None = None
        self.tokenizer, self.stop_ids = fast.tokenizer, fast.stop_ids
        self.batch_size = fast.batch_size
        self._where: dict[int, tuple[ServeGenerator | LlamaCppServeGenerator, int]] = {}

    @property
    def adapters(self) -> dict[str, Any]:
        """Every served adapter, on either engine."""
        return {**self.fast.adapters, **(self.slow.adapters if self.slow else {})}

    def engine_of(self, adapter: str | None) -> str:
        """The engine that answers `adapter` (None: the base model)."""
        return "torch" if self.slow is not None and adapter in self.slow.adapters else "llamacpp"

    def load_adapter(self, name: str, folder: str | Path) -> None:
        from tunegate.models.engines import say
        from tunegate.models.gguf_lora import AdapterNotConverted

        if name in self.adapters:
            raise TunegateError(f"adapter name {name!r} is empty or already loaded")
        try:
            self.fast.load_adapter(name, folder)
        except AdapterNotConverted as exc:
            say(f"{exc}; the torch engine serves it")
            if self.slow is None:
                self.slow = ServeGenerator(
                    self.fast.folder, name=self.fast.name, batch_size=self.batch_size
                )
            self.slow.load_adapter(name, folder)

    def compile(self, constraint: Any) -> None:
        self.fast.compile(constraint)

    def generate(
        self,
        requests: Sequence[GenRequest],
        progress: Progress | None = None,
        on_token: OnToken | None = None,
    ) -> list[Generation]:
        out: list[Generation | None] = [None] * len(requests)
        groups: dict[str, list[int]] = {"llamacpp": [], "torch": []}
        for i, req in enumerate(requests):
            groups[self.engine_of(req.adapter)].append(i)
        for engine, idx in groups.items():
            gen = self.fast if engine == "llamacpp" else self.slow
            if not idx or gen is None:
                continue
            self._where = {i: (gen, k) for k, i in enumerate(idx)}
            mine = None if on_token is None else _remap(on_token, idx)
            try:
                done = gen.generate([requests[i] for i in idx], progress, mine)
            finally:
                self._where = {}
            for i, g in zip(idx, done, strict=True):
                out[i] = g
        return [g for g in out if g is not None]

    def finish(self, index: int) -> str | None:
        where = self._where.get(index)
        return None if where is None else where[0].finish(where[1])

    def snapshot(self, index: int) -> tuple[Generation, str | None] | None:
        where = self._where.get(index)
        return None if where is None else where[0].snapshot(where[1])


def _remap(on_token: OnToken, idx: list[int]) -> OnToken:
    """`on_token` for a sub-batch: its row k is the batch's request idx[k]."""
    return lambda k, token: on_token(idx[k], token)


def serve_generator(
    engine: str, base: str | None, adapters: dict[str, Any], name: str, batch_size: int
) -> ServeGenerator | SplitGenerator:
    """The server's generator on `engine` (llamacpp or torch). llamacpp falls back to torch with
    one line when it is not usable or the model is not a .gguf; an adapter llama.cpp cannot take
    is served by torch beside it (`SplitGenerator`)."""
    from tunegate.models.engines import choose_engine, say

    if engine == "openai":
        raise TunegateError("serve runs the model itself: --engine is llamacpp or torch")
    choice = choose_engine(engine, base)
    say(choice.note)
    if choice.engine != "llamacpp":
        return ServeGenerator(base, adapters, name=name, batch_size=batch_size)
    fast = LlamaCppServeGenerator(
        base, name=name, quant=choice.quant or "f16", batch_size=batch_size
    )
    split = SplitGenerator(fast)
    for adapter, folder in adapters.items():
        split.load_adapter(adapter, folder)
    return split
