"""The local model as a `Generator`: batched, prefix-cached, optionally constrained generation.

One base model in memory, any number of LoRA adapters by name on top of it (requests name theirs;
batches never mix adapters; None is the base). Prompts are rendered with the tokenizer's own chat
template, sorted by length and decoded in batches by `decode.decode_batch`, greedy unless a
request asks for sampling. Long shared prompt prefixes (system prompts, few-shot headers) are
prefilled once and their KV states reused across items, batches and calls.

Token counts: `input_tokens` is the whole rendered prompt; `output_tokens` counts every token the
model produced, the final stop token included (as OpenAI-compatible servers report it); `text`
excludes the stop token.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from tunegate.errors import TunegateError
from tunegate.models.base import Generation, GenRequest, Progress
from tunegate.models.decode import OnToken, Row, Step, compute_prefix, decode_batch
from tunegate.models.kvcache import ATTENTION, Prefix
from tunegate.models.prompts import ChatPrompts, generation, stop_ids

__all__ = ["LocalGenerator", "default_threads"]


def default_threads() -> int:
    """Torch threads for this process, chosen by timing a matrix product with all cores and with
    one (tunegate.threads): on a shared machine, OpenMP threads that outnumber the free
    cores spin and wait on each other (one thread was seen to run 4x faster than two when other
    work loaded both cores). The load average cannot tell: it counts this process's own earlier
    work. `TUNEGATE_THREADS` overrides.
    """
    env = os.environ.get("TUNEGATE_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    from tunegate.threads import tune_threads

    return tune_threads()


def _common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by all `seqs`."""
    first, n = seqs[0], min(len(s) for s in seqs)
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
    return n


class LocalGenerator(ChatPrompts):
    """Generate with a local HF model (+ LoRA adapters by name) on the CPU.

    `model`: an HF folder, a .gguf file or None (the embedded SmolLM2-135M-Instruct).
    `adapters`: name -> PEFT adapter folder, all loaded once onto the one base.
    `batch_size`: rows decoded together. `min_prefix`: shortest shared prefix worth caching.
    `prefill_tokens`: padded prompt tokens per prefill pass (rows of similar length together).
    `ignore_eos` (benchmarks only): unconstrained requests always produce max_tokens tokens.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        adapters: Mapping[str, str | Path] | None = None,
        *,
        name: str | None = None,
        batch_size: int = 16,
        threads: int | None = None,
        dtype: str = "float32",
        prefix_cache: bool = True,
        min_prefix: int = 16,
        prefix_slots: int = 8,
        prefill_tokens: int = 1024,
        ignore_eos: bool = False,
    ) -> None:
        import torch

        from tunegate.models.resolve import load_causal_lm, model_label, resolve_model

        if batch_size < 1:
            raise TunegateError(f"batch_size must be at least 1, got {batch_size}")
        self.threads = threads or default_threads()
        torch.set_num_threads(self.threads)
        path = resolve_model(None if model is None else str(model))
        self.path = path
        self.name = name or model_label(None if model is None else str(model))
        base, self.tokenizer = load_causal_lm(path, dtype=dtype)
        self.batch_size = batch_size
        self.prefix_cache = prefix_cache
        self.min_prefix = min_prefix
        self._prefix_slots = prefix_slots
        self._prefixes: OrderedDict[tuple[str | None, tuple[int, ...]], Prefix] = OrderedDict()
        self.model = base  # PEFT injects LoRA layers into this same module tree
        self.adapters: dict[str, Path] = {}
        self._peft_names: dict[str, str] = {}  # request name -> PEFT's name (no "." allowed)
        self._peft: Any = None
        for adapter_name, folder in (adapters or {}).items():
            self.load_adapter(adapter_name, folder)
        self.model.set_attn_implementation(ATTENTION)  # shared-prefix attention (kvcache.py)
        self.vocab_size = int(self.model.config.vocab_size)
        self.max_positions = int(getattr(self.model.config, "max_position_embeddings", 0) or 0)
        self.stop_ids = stop_ids(self.tokenizer, self.model.generation_config)
        self._step = Step(
            frozenset(self.stop_ids),
            int(self.tokenizer.pad_token_id or 0),
            vocab_limit=len(self.tokenizer),
            prefill_tokens=prefill_tokens,
            ignore_eos=ignore_eos,
        )
        self._grammars: Any = None

    # ---- the Generator protocol -------------------------------------------------------------

    def generate(
        self,
        requests: Sequence[GenRequest],
        progress: Progress | None = None,
        on_token: OnToken | None = None,
    ) -> list[Generation]:
        """Answer all requests in batches (grouped by adapter, sorted by length), in input order.

        `on_token(index, token_id)` sees each token as it is chosen; returning False cancels that
        request (for streaming and disconnects in the server).
        """
        import torch

        results: list[Generation | None] = [None] * len(requests)
        encoded: dict[int, list[int]] = {}
        for i, req in enumerate(requests):
            ids, error = self._encode(req)
            if error is not None:
                results[i] = Generation(text="", input_tokens=len(ids), error=error)
            else:
                encoded[i] = ids
        groups: dict[str | None, list[int]] = {}
        for i in encoded:
            groups.setdefault(requests[i].adapter, []).append(i)
        with torch.inference_mode():
            for adapter, idx in groups.items():
                idx.sort(key=lambda i: -len(encoded[i]))
                shared = _common_prefix([encoded[i] for i in idx])
                with self._using(adapter):
                    for start in range(0, len(idx), self.batch_size):
                        chunk = idx[start : start + self.batch_size]
                        done = self._run_batch(requests, encoded, chunk, adapter, shared, on_token)
                        for i, gen in done.items():
                            results[i] = gen
                        if progress is not None:
                            progress(len(chunk), sum(g.output_tokens for g in done.values()))
        return [g if g is not None else Generation(text="", error="not generated") for g in results]

    def time_one(self, request: GenRequest) -> Generation:
        """Answer one request alone; latency and time to first token as a user of `serve` sees them.

        The clock starts before the chat template is applied and stops after the text is decoded.
        A prompt prefix already cached by earlier calls (the system prompt) is reused, as the
        server does; `extra["cached_tokens"]` says how many prompt tokens that covered.
        """
        import torch

        t0 = time.perf_counter()
        ids, error = self._encode(request)
        if error is not None:
            return Generation(text="", input_tokens=len(ids), error=error)
        with torch.inference_mode(), self._using(request.adapter):
            prefix = self._cached_prefix(request.adapter, ids) if self.prefix_cache else None
            row = self._row(0, request, ids)
            decode_batch(self.model, [row], prefix, self._step, self._masker([row]))
            gen = self._generation(row, prefix)
        end = time.perf_counter()
        gen.latency_ms = (end - t0) * 1000
        gen.ttft_ms = ((row.first_token_s or end) - t0) * 1000
        return gen

    def load_adapter(self, name: str, folder: str | Path) -> None:
        """Load a PEFT LoRA adapter onto the shared base, addressable as `name` in requests."""
        if not name or name in self.adapters:
            raise TunegateError(f"adapter name {name!r} is empty or already loaded")
        # PEFT refuses module names with "." (adapter paths as names, like `.tunegate/train/...`)
        key = f"adapter_{len(self.adapters)}"
        self._peft = _attach(
            self._peft if self._peft is not None else self.model, name, folder, key
        )
        self.adapters[name] = Path(folder)
        self._peft_names[name] = key

    @property
    def ignore_eos(self) -> bool:
        """Benchmarks only: when True, unconstrained requests always produce max_tokens tokens."""
        return self._step.ignore_eos

    @ignore_eos.setter
    def ignore_eos(self, value: bool) -> None:
        self._step = dataclasses.replace(self._step, ignore_eos=value)

    def clear_cache(self) -> None:
        """Forget every cached prompt prefix (they are recomputed on next use)."""
        self._prefixes.clear()

    # ---- internals --------------------------------------------------------------------------

    def _masker(self, rows: list[Row]) -> Any:
        if all(r.matcher is None for r in rows):
            return None
        from tunegate.models.constrain import BatchMasker

        return BatchMasker(self.grammars(), len(rows))

    def _run_batch(
        self,
        requests: Sequence[GenRequest],
        encoded: dict[int, list[int]],
        chunk: list[int],
        adapter: str | None,
        shared: int,
        on_token: OnToken | None,
    ) -> dict[int, Generation]:
        ids = [encoded[i] for i in chunk]
        prefix = None
        if self.prefix_cache and len(chunk) == 1:
            prefix = self._cached_prefix(adapter, ids[0])  # reuse only: nothing shared to store
        elif self.prefix_cache:
            own = _common_prefix(ids)  # at least `shared`; longer when this batch agrees further
            length = own if own >= shared + self.min_prefix else shared
            length = min(length, min(len(x) for x in ids) - 1)
            if length >= self.min_prefix:
                prefix = self._get_prefix(adapter, tuple(ids[0][:length]))
        rows = [self._row(i, requests[i], encoded[i]) for i in chunk]
        t0 = time.perf_counter()
        decode_batch(self.model, rows, prefix, self._step, self._masker(rows), on_token)
        share_ms = (time.perf_counter() - t0) * 1000 / len(rows)
        out = {}
        for r in rows:
            gen = self._generation(r, prefix)
            gen.batch_ms = share_ms
            out[r.index] = gen
        return out

    def _generation(self, row: Row, prefix: Prefix | None) -> Generation:
        cached = len(prefix) if prefix is not None else 0
        return generation(row, self.tokenizer, self.stop_ids, cached)

    def _get_prefix(self, adapter: str | None, ids: tuple[int, ...]) -> Prefix:
        """The KV states of `ids` from the LRU store, computed (or extended) when missing."""
        key = (adapter, ids)
        if key in self._prefixes:
            self._prefixes.move_to_end(key)
            return self._prefixes[key]
        base = self._longest_cached(adapter, ids)
        prefix = compute_prefix(self.model, ids, base)
        self._prefixes[key] = prefix
        while len(self._prefixes) > self._prefix_slots:
            self._prefixes.popitem(last=False)
        return prefix

    def _longest_cached(self, adapter: str | None, ids: Sequence[int]) -> Prefix | None:
        best: Prefix | None = None
        for (a, p_ids), p in self._prefixes.items():
            if (
                a == adapter
                and len(p_ids) <= len(ids)
                and tuple(ids[: len(p_ids)]) == p_ids
                and (best is None or len(p) > len(best))
            ):
                best = p
        return best

    def _cached_prefix(self, adapter: str | None, ids: list[int]) -> Prefix | None:
        best = self._longest_cached(adapter, ids[:-1])
        if best is not None:
            self._prefixes.move_to_end((adapter, best.ids))
        return best

    def _using(self, adapter: str | None) -> Any:
        """A context in which the model runs with `adapter` active (None: the bare base)."""
        if self._peft is None:
            return nullcontext()
        if adapter is None:
            return self._peft.disable_adapter()
        return _active(self._peft, self._peft_names[adapter])


@contextmanager
def _active(peft_model: Any, adapter: str) -> Iterator[None]:
    peft_model.set_adapter(adapter)
    yield


def _attach(model: Any, name: str, folder: str | Path, key: str) -> Any:
    """Add adapter `name` (PEFT's name `key`) to a PeftModel, or wrap a plain model in one."""
    from peft import PeftModel

    path = Path(folder)
    if not (path / "adapter_config.json").exists():
        raise TunegateError(
            f"adapter {name!r}: not a PEFT adapter folder (no adapter_config.json)", str(path)
        )
    try:
        if isinstance(model, PeftModel):
            model.load_adapter(path, adapter_name=key)
        else:
            model = PeftModel.from_pretrained(model, path, adapter_name=key)
    except (ValueError, OSError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TunegateError(
            f"adapter {name!r} does not fit this model: {first}", str(path)
        ) from exc
    model.eval()
    return model
