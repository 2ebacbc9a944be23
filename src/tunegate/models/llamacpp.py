"""The small model on llama.cpp, in-process through llama-cpp-python: the engine a CPU team deploys.

Same contract as the torch engine (`LocalGenerator`): the prompt is the tokenizer's own chat
template, tokenized by the same Hugging Face tokenizer, and its ids go to llama.cpp as they are,
so both engines read identical prompts. Each step's logits come back from llama.cpp and the
token is chosen here as in `decode.py`: greedy (argmax) at temperature 0, seeded torch sampling
otherwise, xgrammar masks for constraints (the one grammar engine of tunegate, also used by the
torch engine and the server), the same stop tokens and the same token counting.

`generate` decodes up to `batch_size` requests together (models/llamacpp_batch.py: one sequence
per row in a unified KV cache, the rows' shared prefix evaluated once). `time_one` (and a chunk
of one) runs alone on the main context, which keeps the previous prompt: the next request reuses
its longest common prefix (a ladder rung's system prompt and few-shot header). Both report the
reused prefix as `extra["cached_tokens"]`.

The weights: the model's GGUF (the embedded Q4_1 file by default), re-quantized once by llama.cpp
(`llama_model_quantize`) to `quant` and cached under tunegate's cache folder; `quant="source"`
uses the file as it is. LoRA adapters are converted once to GGUF (models/gguf_lora.py) and
switched per request on the one context (a switch drops the cached prefix).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError
from tunegate.models.base import Generation, GenRequest, Progress
from tunegate.models.decode import OnToken, Row, _choose, advance
from tunegate.models.gguf_weights import (
    DEFAULT_QUANT,
    QUANTS,
    engine_gguf,
    source_gguf,
)
from tunegate.models.gguf_weights import llama_cpp as _llama_cpp
from tunegate.models.prompts import ChatPrompts, generation, stop_ids, token_budget

__all__ = ["DEFAULT_QUANT", "QUANTS", "LlamaCppGenerator", "engine_gguf", "source_gguf"]


class LlamaCppGenerator(ChatPrompts):
    """Generate with llama.cpp in this process (+ GGUF-converted LoRA adapters by name).

    `model`: a .gguf file or None (the embedded SmolLM2-135M-Instruct). `adapters`: name -> PEFT
    adapter folder. `quant`: the weights llama.cpp runs (see `engine_gguf`). `threads`: llama.cpp
    threads (default: as for the torch engine). `n_ctx`: context (default: the model's).
    """

    engine = "llamacpp"

    def __init__(
        self,
        model: str | Path | None = None,
        adapters: Mapping[str, str | Path] | None = None,
        *,
        name: str | None = None,
        quant: str = DEFAULT_QUANT,
        threads: int | None = None,
        n_ctx: int | None = None,
        prefix_cache: bool = True,
        batch_size: int = 16,
    ) -> None:
        from transformers import GenerationConfig

        from tunegate.models.local import default_threads
        from tunegate.models.resolve import load_tokenizer, model_label, resolve_model

        lc = _llama_cpp()
        source = source_gguf(model)
        self.folder = resolve_model(str(source))  # the HF tokenizer, config and LoRA base
        self.name = name or model_label(None if model is None else str(model))
        self.quant = quant
        self.path = engine_gguf(source, quant)
        self.tokenizer = load_tokenizer(self.folder)
        try:
            gen_config = GenerationConfig.from_pretrained(self.folder)
        except OSError:
            gen_config = None
        self.stop_ids = stop_ids(self.tokenizer, gen_config)
        self.threads = threads or default_threads()
        self.batch_size = batch_size  # rows decoded together by `generate`
        self._batch_ctx: Any = None
        self.prefix_cache = prefix_cache
        self.llm = lc.Llama(
            model_path=str(self.path),
            n_ctx=n_ctx or 0,
            n_batch=512,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            verbose=False,
        )
        self.max_positions = int(self.llm.n_ctx())
        self.vocab_size = int(self.llm.n_vocab())
        self._vocab_limit = len(self.tokenizer)
        self._lc = lc
        self.adapters: dict[str, Path] = {}
        self._lora: dict[str, Any] = {}
        self._active: str | None = None
        self._grammars: Any = None
        for adapter_name, folder in (adapters or {}).items():
            self.load_adapter(adapter_name, folder)

    @property
    def kv_tokens(self) -> int:
        """Tokens the batch context's unified KV cache holds (prompt + budget of every row of a
        chunk): the model's context, or 384 a row when more rows are decoded together (the
        server's 32), so that a full batch is one chunk rather than a full one and a small one."""
        return max(self.max_positions, 384 * self.batch_size)

    def label(self) -> str:
        """Engine and weights, for tables and cache keys (e.g. `llamacpp:q8_0`)."""
        return f"llamacpp:{self.quant}"

    # ---- the Generator protocol -------------------------------------------------------------

    def generate(
        self,
        requests: Sequence[GenRequest],
        progress: Progress | None = None,
        on_token: OnToken | None = None,
    ) -> list[Generation]:
        """Answer the requests in chunks of `batch_size` decoded together (grouped by adapter, in
        prompt order so that a chunk shares the longest prefix), in input order. `batch_ms` is the
        chunk's wall time shared out."""
        results: list[Generation | None] = [None] * len(requests)
        encoded: dict[int, list[int]] = {}
        for i, req in enumerate(requests):
            ids, error = self._encode(req)
            if error is not None:
                results[i] = Generation(text="", input_tokens=len(ids), error=error)
            else:
                encoded[i] = ids
        order = sorted(encoded, key=lambda i: (requests[i].adapter or "", encoded[i]))
        for chunk in self._chunks(order, requests, encoded):
            t0 = time.perf_counter()
            if len(chunk) == 1:
                i = chunk[0]
                gen, _ = self._answer(i, requests[i], encoded[i], on_token)
                done = {i: gen}
            else:
                done = self._answer_batch(chunk, requests, encoded, on_token)
            share = (time.perf_counter() - t0) * 1000 / len(chunk)
            for i, gen in done.items():
                gen.batch_ms = share
                results[i] = gen
            if progress is not None:
                progress(len(chunk), sum(g.output_tokens for g in done.values()))
        return [g if g is not None else Generation(text="", error="not generated") for g in results]

    def _chunks(
        self, order: list[int], requests: Sequence[GenRequest], encoded: dict[int, list[int]]
    ) -> list[list[int]]:
        """Consecutive requests of one adapter, at most `batch_size` and what the KV cache holds
        (each row's prompt + budget counted whole) per chunk."""
        chunks: list[list[int]] = []
        used = 0
        for i in order:
            need = len(encoded[i]) + token_budget(requests[i])
            last = chunks[-1] if chunks else None
            if (
                last is None
                or len(last) >= self.batch_size
                or requests[last[0]].adapter != requests[i].adapter
                or used + need > self.kv_tokens
            ):
                chunks.append([i])
                used = need
            else:
                last.append(i)
                used += need
        return chunks

    def _answer_batch(
        self,
        chunk: list[int],
        requests: Sequence[GenRequest],
        encoded: dict[int, list[int]],
        on_token: OnToken | None,
    ) -> dict[int, Generation]:
        """Decode a chunk together (models/llamacpp_batch.py)."""
        from tunegate.models.llamacpp_batch import BatchContext, decode_rows

        bc = self._batch_ctx
        if bc is None or bc.rows < self.batch_size or bc.n_ctx < self.kv_tokens:
            if bc is not None:
                bc.close()
            self._batch_ctx = BatchContext(
                self._lc, self.llm, self.batch_size, self.kv_tokens, self.threads
            )
        adapter = requests[chunk[0]].adapter
        self._batch_ctx.use(None if adapter is None else self._lora[adapter])
        rows = [self._row(i, requests[i], encoded[i]) for i in chunk]
        masker = None
        if any(r.matcher is not None for r in rows):
            from tunegate.models.constrain import BatchMasker

            masker = BatchMasker(self.grammars(), len(rows))
        shared = decode_rows(
            self._batch_ctx, rows, frozenset(self.stop_ids), self._vocab_limit, masker, on_token
        )
        return {r.index: self._generation(r, shared) for r in rows}

    def time_one(self, request: GenRequest) -> Generation:
        """Answer one request alone: latency from before the chat template to the decoded text,
        time to first token; a prompt prefix cached by the previous request is reused."""
        t0 = time.perf_counter()
        ids, error = self._encode(request)
        if error is not None:
            return Generation(text="", input_tokens=len(ids), error=error)
        gen, first = self._answer(0, request, ids, None)
        end = time.perf_counter()
        gen.latency_ms = (end - t0) * 1000
        gen.ttft_ms = ((first or end) - t0) * 1000
        return gen

    def load_adapter(self, name: str, folder: str | Path) -> None:
        """Convert (once, cached beside it) and load a PEFT adapter, addressable as `name`."""
        from tunegate.models.gguf_lora import AdapterNotConverted, lora_gguf

        if not name or name in self.adapters:
            raise TunegateError(f"adapter name {name!r} is empty or already loaded")
        if not (Path(folder) / "adapter_config.json").exists():
            raise TunegateError(
                f"adapter {name!r}: not a PEFT adapter folder (no adapter_config.json)", str(folder)
            )
        try:
            path = lora_gguf(folder, self.folder)
        except AdapterNotConverted as exc:
            raise AdapterNotConverted(f"adapter {name!r} cannot run on llama.cpp: {exc}") from exc
        handle = self._lc.llama_adapter_lora_init(self.llm.model, str(path).encode())
        if not handle:
            raise AdapterNotConverted(f"llama.cpp could not load adapter {name!r}", str(path))
        self._lora[name] = handle
        self.adapters[name] = Path(folder)

    def clear_cache(self) -> None:
        """Forget the cached prompt (the next request prefills from scratch)."""
        self.llm.reset()

    # ---- internals --------------------------------------------------------------------------

    def _use(self, adapter: str | None) -> None:
        """Make `adapter` (None: the base) the context's only LoRA; the cached prompt goes."""
        if adapter == self._active:
            return
        lc = self._lc
        if adapter is None:
            lc.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
        else:
            handles = (lc.llama_adapter_lora_p_ctypes * 1)(self._lora[adapter])
            scales = (ctypes.c_float * 1)(1.0)
            if lc.llama_set_adapters_lora(self.llm.ctx, handles, 1, scales):
                raise TunegateError(f"llama.cpp could not apply adapter {adapter!r}")
        self.llm.reset()
        self._active = adapter

    def _prefill(self, ids: list[int]) -> int:
        """Evaluate `ids` after the longest prefix already in the KV cache; its length."""
        llm = self.llm
        keep = 0
        if self.prefix_cache:
            cached = llm.input_ids[: llm.n_tokens]
            limit = min(len(cached), len(ids) - 1)  # the last prompt token always runs (logits)
            while keep < limit and cached[keep] == ids[keep]:
                keep += 1
        llm.n_tokens = keep
        llm.eval(ids[keep:])  # drops the KV entries past `keep` first
        return keep

    def _logits(self) -> Any:
        import numpy as np
        import torch

        view = np.ctypeslib.as_array(self.llm._ctx.get_logits_ith(-1), shape=(self.vocab_size,))
        logits = torch.from_numpy(view.copy()).unsqueeze(0)  # (1, vocab)
        if self._vocab_limit < self.vocab_size:
            logits[:, self._vocab_limit :] = float("-inf")
        return logits

    def _answer(
        self, index: int, req: GenRequest, ids: list[int], on_token: OnToken | None
    ) -> tuple[Generation, float | None]:
        """Decode one request like `decode.decode_batch` does for a batch of one row."""
        row = self._row(index, req, ids)
        masker = None
        if row.matcher is not None:
            from tunegate.models.constrain import BatchMasker

            masker = BatchMasker(self.grammars(), 1)
        self._use(req.adapter)
        cached = self._prefill(ids)
        stops = frozenset(self.stop_ids)
        if masker is not None:
            masker.fill([row])
        while row.finish is None:
            logits = self._logits()
            if masker is not None:
                masker.apply(logits)
            advance([row], _choose(logits, [row]), stops, on_token, time.perf_counter())
            if masker is not None:
                masker.fill([row])
            if row.finish is None:
                self.llm.eval([row.out[-1]])
        return self._generation(row, cached), row.first_token_s

    def _generation(self, row: Row, cached: int) -> Generation:
        return generation(row, self.tokenizer, self.stop_ids, cached)
