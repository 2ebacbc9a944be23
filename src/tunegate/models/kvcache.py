"""KV cache for one batch: a shared prompt prefix stored once, and each row's own tokens after it.

Two costs dominate batched decoding on a CPU with a long shared system prompt, and both are
memory traffic, not arithmetic:
- transformers' `DynamicCache` grows by `torch.cat` at every step, copying the whole cache per
  layer per token. `SlabCache` allocates each layer's buffer once and writes in place.
- each row would hold its own copy of the prefix's keys/values, and attention would read all B
  copies at every step. Here the prefix is kept once, batch 1 (a `Prefix`), and the attention
  function `prefix_attention` scores every row's queries against it in one matrix product, then
  against the row's own keys, with one softmax over both (exact, not an approximation).

The attention function is registered with transformers under `ATTENTION` and reads the prefix
from the `tunegate_prefix` keyword the decode loop passes to the model's forward; without it, it
is plain SDPA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.cache_utils import Cache, CacheLayerMixin
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

ATTENTION = "tunegate_prefix"


@dataclass(frozen=True)
class Prefix:
    """The KV states of a token prefix shared by many prompts: per layer (1, kv_heads, P, dim)."""

    ids: tuple[int, ...]
    keys: tuple[torch.Tensor, ...]
    values: tuple[torch.Tensor, ...]

    def __len__(self) -> int:
        return len(self.ids)


class SlabLayer(CacheLayerMixin):
    """One layer's own (post-prefix) keys/values in a fixed buffer; `length` positions filled."""

    is_compileable = False
    is_croppable = False
    is_sliding = False

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        b, h, _, d = key_states.shape
        self.keys = key_states.new_empty((b, h, self.capacity, d))
        self.values = value_states.new_empty((b, h, self.capacity, value_states.shape[-1]))
        self.is_initialized = True

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        assert self.keys is not None and self.values is not None
        n, q = self.length, key_states.shape[-2]
        if n + q > self.capacity:
            raise RuntimeError(f"KV cache full: {n} + {q} > {self.capacity}")
        self.keys[:, :, n : n + q] = key_states
        self.values[:, :, n : n + q] = value_states
        self.length = n + q
        return self.keys[:, :, : n + q], self.values[:, :, : n + q]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.length + query_length, 0

    def get_seq_length(self) -> int:
        return self.length

    def get_max_length(self) -> int:
        return self.capacity

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.is_initialized and self.keys is not None and self.values is not None:
            n = self.length
            self.keys = _select(self.keys, indices, n)
            self.values = _select(self.values, indices, n)


def _select(buf: torch.Tensor, rows: torch.Tensor, filled: int) -> torch.Tensor:
    """Keep `rows` of a (B, H, capacity, D) buffer, copying only its filled part."""
    out = buf.new_empty((len(rows), *buf.shape[1:]))
    out[:, :, :filled] = buf[:, :, :filled].index_select(0, rows)
    return out


class SlabCache(Cache):
    """A `Cache` of `SlabLayer`s, one per decoder layer, each holding `capacity` own positions."""

    def __init__(self, num_layers: int, capacity: int) -> None:
        self.slabs = [SlabLayer(capacity) for _ in range(num_layers)]
        super().__init__(layers=list(self.slabs))

    def put_rows(self, batch: int, rows: torch.Tensor, end: int, part: SlabCache) -> None:
        """Copy `part`'s filled states (its rows = our `rows`) right-aligned to end at `end`.

        Lets rows of similar length be prefilled apart (less padding) and then decoded together.
        Positions no part writes stay zero and masked; every layer's length becomes `end`.
        """
        for mine, theirs in zip(self.slabs, part.slabs, strict=True):
            assert theirs.keys is not None and theirs.values is not None
            if not mine.is_initialized:
                _, h, _, d = theirs.keys.shape
                mine.keys = theirs.keys.new_zeros((batch, h, mine.capacity, d))
                mine.values = theirs.values.new_zeros((batch, h, mine.capacity, d))
                mine.is_initialized = True
            assert mine.keys is not None and mine.values is not None
            n = theirs.length
            mine.keys[rows, :, end - n : end] = theirs.keys[:, :, :n]
            mine.values[rows, :, end - n : end] = theirs.values[:, :, :n]
            mine.length = end


def extend_prefix(prefix: Prefix | None, cache: SlabCache, ids: tuple[int, ...]) -> Prefix:
    """A new `Prefix` for `ids`: `prefix`'s states followed by a batch-1 cache's own states."""
    keys, values = [], []
    for i, layer in enumerate(cache.slabs):
        assert layer.keys is not None and layer.values is not None
        n = layer.get_seq_length()
        k, v = layer.keys[:1, :, :n], layer.values[:1, :, :n]
        if prefix is not None:
            k, v = torch.cat([prefix.keys[i], k], dim=2), torch.cat([prefix.values[i], v], dim=2)
        keys.append(k.contiguous())
        values.append(v.contiguous())
    return Prefix(ids, tuple(keys), tuple(values))


def prefix_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention over a shared batch-1 prefix plus each row's own keys, one softmax over both.

    query (B, Hq, q, D); key/value (B, Hkv, n, D) are the rows' own states; the prefix's
    (1, Hkv, P, D) come from `kwargs["tunegate_prefix"]`. attention_mask is SDPA's boolean
    (B, 1, q, n) over the own part (True = attend) or None (causal, no padding).
    Returns (B, q, Hq, D) as transformers' attention functions do.
    """
    prefix: Prefix | None = kwargs.get("tunegate_prefix")
    if prefix is None:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    pk, pv = prefix.keys[module.layer_idx][0], prefix.values[module.layer_idx][0]  # (Hkv, P, D)
    b, hq, q, d = query.shape
    hkv, n, p = key.shape[1], key.shape[2], pk.shape[1]
    rep = hq // hkv
    scale = scaling if scaling is not None else d**-0.5
    qg = query.reshape(b, hkv, rep * q, d)  # query head h = kv_head * rep + r
    # Prefix scores: every row's queries against the one prefix copy, a single GEMM per kv head.
    flat = qg.transpose(0, 1).reshape(hkv, b * rep * q, d)
    s_pre = torch.bmm(flat, pk.transpose(1, 2)).view(hkv, b, rep * q, p).transpose(0, 1)
    s_own = torch.matmul(qg, key.transpose(2, 3))  # (B, Hkv, rep*q, n)
    if attention_mask is None and q > 1:
        attention_mask = torch.ones(q, n, dtype=torch.bool).tril(n - q)[None, None]
    if attention_mask is not None:
        m = attention_mask.expand(b, 1, q, n).unsqueeze(2).expand(b, 1, rep, q, n)
        s_own = s_own.masked_fill(~m.reshape(b, 1, rep * q, n), float("-inf"))
    probs = torch.softmax(torch.cat([s_pre, s_own], dim=-1) * scale, dim=-1)
    p_pre, p_own = probs[..., :p], probs[..., p:]
    flat_p = p_pre.transpose(0, 1).reshape(hkv, b * rep * q, p)
    out = torch.bmm(flat_p, pv).view(hkv, b, rep * q, d).transpose(0, 1)
    out = out + torch.matmul(p_own, value)  # (B, Hkv, rep*q, D)
    return out.reshape(b, hq, q, d).transpose(1, 2).contiguous(), None


AttentionInterface.register(ATTENTION, prefix_attention)
AttentionMaskInterface.register(ATTENTION, sdpa_mask)
