"""Many requests decoded together on llama.cpp: one sequence id per row in a unified KV cache.

The rows' shared prompt prefix is evaluated once on sequence 0 and copied to the others
(`llama_memory_seq_cp`, no recomputation); each row's own suffix is then prefilled, and every
step decodes one token per unfinished row in a single `llama_decode`. Tokens are chosen as in
`decode.decode_batch` (same `_choose`, same xgrammar `BatchMasker`, same finish rules), so a
row's answer is the one it gets alone.

Layout of row s in the KV cache (P = shared prefix):
    seq s: [prefix 0..P-1 (copied from seq 0)] [suffix_s P..len_s-1] [generated ...]
"""

from __future__ import annotations

import ctypes
import time
from typing import Any

from tunegate.errors import TunegateError
from tunegate.models.decode import OnToken, Row, _choose, advance


class BatchContext:
    """A second llama.cpp context on the same model, for up to `rows` sequences at once."""

    def __init__(self, lc: Any, llm: Any, rows: int, n_ctx: int, threads: int) -> None:
        from llama_cpp import _internals

        self.lc = lc
        params = lc.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = 512
        params.n_seq_max = rows
        params.kv_unified = True
        params.n_threads = params.n_threads_batch = threads
        self.ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self.rows = rows
        self.n_ctx = n_ctx
        self.n_batch = 512
        self.vocab = int(llm.n_vocab())
        self.batch = lc.llama_batch_init(self.n_batch, 0, rows)
        self.adapter: Any = ...  # the LoRA set on this context (None: the base)

    def close(self) -> None:
        self.lc.llama_batch_free(self.batch)
        self.ctx.close()

    def use(self, handle: Any) -> None:
        """Apply the LoRA `handle` (None: none) to this context."""
        if handle is self.adapter:
            return
        lc = self.lc
        if handle is None:
            lc.llama_set_adapters_lora(self.ctx.ctx, None, 0, None)
        else:
            handles = (lc.llama_adapter_lora_p_ctypes * 1)(handle)
            if lc.llama_set_adapters_lora(self.ctx.ctx, handles, 1, (ctypes.c_float * 1)(1.0)):
                raise TunegateError("llama.cpp could not apply the adapter")
        self.adapter = handle

    def decode(self, entries: list[tuple[int, int, int, bool]]) -> dict[int, Any]:
        """Evaluate (token, position, seq, want_logits) entries, n_batch at a time; the logits of
        each entry that wanted them, by entry index (copied out)."""
        import numpy as np

        out: dict[int, Any] = {}
        b = self.batch
        for start in range(0, len(entries), self.n_batch):
            part = entries[start : start + self.n_batch]
            for i, (tok, pos, seq, logits) in enumerate(part):
                b.token[i] = tok
                b.pos[i] = pos
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = seq
                b.logits[i] = logits
            b.n_tokens = len(part)
            code = self.lc.llama_decode(self.ctx.ctx, b)
            if code != 0:
                raise TunegateError(f"llama.cpp could not decode a batch (code {code})")
            for i, (_, _, _, logits) in enumerate(part):
                if logits:
                    ptr = self.lc.llama_get_logits_ith(self.ctx.ctx, i)
                    out[start + i] = np.ctypeslib.as_array(ptr, shape=(self.vocab,)).copy()
        return out


def decode_rows(
    bc: BatchContext,
    rows: list[Row],
    stop_ids: frozenset[int],
    vocab_limit: int,
    masker: Any | None,
    on_token: OnToken | None,
) -> int:
    """Decode `rows` together in place (out, finish, first_token_s); the shared prefix length."""
    import numpy as np
    import torch

    mem = bc.lc.llama_get_memory(bc.ctx.ctx)
    bc.lc.llama_memory_clear(mem, True)
    first = rows[0].ids
    p = min(len(r.ids) for r in rows) - 1  # every row runs at least its last prompt token
    for r in rows[1:]:
        k = 0
        while k < p and r.ids[k] == first[k]:
            k += 1
        p = k
    if p > 0:
        bc.decode([(t, i, 0, False) for i, t in enumerate(first[:p])])
        for s in range(1, len(rows)):
            bc.lc.llama_memory_seq_cp(mem, 0, s, -1, -1)
    entries: list[tuple[int, int, int, bool]] = []
    last: dict[int, int] = {}  # row -> entry index of its last prompt token
    for s, r in enumerate(rows):
        suffix = r.ids[p:]
        for j, t in enumerate(suffix):
            entries.append((t, p + j, s, j == len(suffix) - 1))
        last[s] = len(entries) - 1
    got = bc.decode(entries)
    logits = torch.from_numpy(np.stack([got[last[s]] for s in range(len(rows))]))  # (rows, vocab)
    if masker is not None:
        masker.fill(rows)
    while True:
        live = [s for s, r in enumerate(rows) if r.finish is None]
        if not live:
            break
        if vocab_limit < logits.shape[-1]:
            logits[:, vocab_limit:] = float("-inf")
        if masker is not None:
            masker.apply(logits)
        chosen = _choose(logits, rows)
        advance(rows, chosen, stop_ids, on_token, time.perf_counter())
        step: list[tuple[int, int, int, bool]] = []
        owners: list[int] = []
        if masker is not None:
            masker.fill(rows)
        for s in live:
            r = rows[s]
            if r.finish is None:
                step.append((r.out[-1], len(r.ids) + len(r.out) - 1, s, True))
                owners.append(s)
        if not step:
            break
        got = bc.decode(step)
        for i, s in enumerate(owners):
            logits[s] = torch.from_numpy(got[i])
    return p
