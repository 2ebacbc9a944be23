"""The decode loop for one batch: prefill prompts after a shared prefix, then a token per step.

Written over `model(input_ids, attention_mask, position_ids, cache)` rather than `generate` so
that a cached prefix can seed every row, grammar masks apply per row at each step, finished rows
leave the batch, and the time of each row's first token is known.

Layout of row i (P = shared prefix, S = longest suffix, left padding between them):
    [prefix (P)] [pad x (S - len_i)] [suffix_i] [generated ...]
Positions continue from P through the suffix, so every row sees the same positions as it would
alone; pads are masked out and never attended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from tunegate.models.kvcache import Prefix, SlabCache, extend_prefix

OnToken = Callable[[int, int], bool]
"""Called as on_token(request_index, token_id) for each new token; return False to cancel it."""


@dataclass
class Row:
    """One sequence being decoded, and what came out of it."""

    index: int
    ids: list[int]
    max_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    matcher: Any | None = None  # an xgrammar GrammarMatcher, or None when unconstrained
    labels: tuple[str, ...] | None = None  # a label constraint's labels, to canonicalize the text
    out: list[int] = field(default_factory=list)
    finish: str | None = None  # "stop", "length", "grammar" or "cancelled"
    first_token_s: float | None = None
    rng: torch.Generator | None = None


@dataclass
class Step:
    """Per-batch settings the loop needs from the generator."""

    stop_ids: frozenset[int]
    pad_id: int
    vocab_limit: int | None = None  # ids at or past this (model vocab padding) are never chosen
    compact_at: float = 0.25  # drop finished rows once this share of the batch has finished
    prefill_tokens: int = 1024  # padded prompt tokens per prefill forward pass
    ignore_eos: bool = False  # benchmarks: unconstrained rows run to max_tokens


def _choose(logits: torch.Tensor, rows: list[Row]) -> list[int]:
    """Greedy for rows at temperature 0; seeded temperature/top-p sampling for the rest."""
    chosen = logits.argmax(dim=-1).tolist()
    for i, r in enumerate(rows):
        if r.temperature <= 0:
            continue
        if r.rng is None:
            r.rng = torch.Generator().manual_seed(r.seed)
        probs = torch.softmax(logits[i].float() / r.temperature, dim=-1)
        if r.top_p < 1.0:
            p_sorted, order = probs.sort(descending=True)
            keep = p_sorted.cumsum(0) - p_sorted < r.top_p  # always keeps the top token
            probs = torch.zeros_like(probs).scatter_(0, order[keep], p_sorted[keep])
        chosen[i] = int(torch.multinomial(probs, 1, generator=r.rng).item())
    return chosen


def advance(
    rows: list[Row],
    chosen: list[int],
    stop_ids: frozenset[int],
    on_token: OnToken | None,
    now: float,
    ignore_eos: bool = False,
) -> None:
    """One step's bookkeeping, the same on every engine: each unfinished row takes its chosen
    token and ends on a grammar refusal, a stop token, its token budget or a cancel."""
    for r, tok in zip(rows, chosen, strict=True):
        if r.finish is not None:
            continue
        if r.first_token_s is None:
            r.first_token_s = now
        r.out.append(tok)
        if r.matcher is not None and not r.matcher.accept_token(tok):
            r.finish = "grammar"  # cannot happen with a correct mask; end the row safely
        elif tok in stop_ids and not (ignore_eos and r.matcher is None):
            r.finish = "stop"
        elif len(r.out) >= r.max_tokens:
            r.finish = "length"
        if on_token is not None and not on_token(r.index, tok):
            r.finish = "cancelled"


def decode_batch(
    model: Any,
    rows: list[Row],
    prefix: Prefix | None,
    step: Step,
    masker: Any | None = None,
    on_token: OnToken | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> None:
    """Decode `rows` together in place (their `out`, `finish`, `first_token_s` get filled).

    `masker` (constrain.BatchMasker) restricts rows that carry a grammar matcher.
    """
    p = len(prefix) if prefix is not None else 0
    n = len(rows)
    suffixes = [r.ids[p:] for r in rows]
    s = max(len(x) for x in suffixes)
    max_new = max(r.max_tokens for r in rows)
    extra = {} if prefix is None else {"tunegate_prefix": prefix}
    mask = torch.zeros((n, s + max_new), dtype=torch.long)  # over each row's own positions
    for i, suf in enumerate(suffixes):
        mask[i, s - len(suf) : s] = 1
    next_pos = torch.tensor([len(r.ids) for r in rows], dtype=torch.long)
    cache = SlabCache(model.config.num_hidden_layers, s + max_new)
    logits = _prefill(model, suffixes, p, step, cache, extra)
    live = list(range(n))  # row indices still in the batch, in batch order
    length = s
    if masker is not None:
        masker.fill(rows)
    for t in range(max_new):
        batch_rows = [rows[i] for i in live]
        if step.vocab_limit is not None and step.vocab_limit < logits.shape[-1]:
            logits[:, step.vocab_limit :] = float("-inf")
        if masker is not None:
            masker.apply(logits)
        chosen = _choose(logits, batch_rows)
        advance(batch_rows, chosen, step.stop_ids, on_token, clock(), step.ignore_eos)
        if masker is not None:
            masker.fill(batch_rows)  # next step's masks; ends rows whose grammar can only stop
        if all(r.finish is not None for r in batch_rows) or t == max_new - 1:
            break
        done = [j for j, r in enumerate(batch_rows) if r.finish is not None]
        if done and len(done) >= step.compact_at * len(batch_rows):
            keep = torch.tensor([j for j, r in enumerate(batch_rows) if r.finish is None])
            cache.batch_select_indices(keep)
            mask = mask.index_select(0, keep)
            next_pos = next_pos.index_select(0, keep)
            live = [live[j] for j in keep.tolist()]
            if masker is not None:
                masker.select(keep)
            chosen = [chosen[j] for j in keep.tolist()]
        mask[:, length] = 1
        length += 1
        out = model(
            input_ids=torch.tensor(chosen, dtype=torch.long).unsqueeze(1),
            attention_mask=mask[:, :length],
            position_ids=next_pos.unsqueeze(1),
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
            **extra,
        )
        next_pos += 1
        logits = out.logits[:, -1, :]


def _prefill(
    model: Any,
    suffixes: list[list[int]],
    p: int,
    step: Step,
    cache: SlabCache,
    extra: dict[str, Any],
) -> torch.Tensor:
    """Run every row's prompt suffix into `cache`; the last position's logits, (n, vocab).

    Rows are prefilled in groups of similar length (at most `step.prefill_tokens` padded
    tokens a group) so that a short prompt is not padded to the batch's longest.
    """
    n, s = len(suffixes), max(len(x) for x in suffixes)
    order = sorted(range(n), key=lambda i: -len(suffixes[i]))
    logits: torch.Tensor | None = None
    start = 0
    while start < n:
        width = len(suffixes[order[start]])
        size = max(1, min(n - start, step.prefill_tokens // width))
        group = order[start : start + size]
        start += size
        ids = torch.full((size, width), step.pad_id, dtype=torch.long)
        mask = torch.zeros((size, width), dtype=torch.long)
        positions = torch.ones((size, width), dtype=torch.long)
        for j, i in enumerate(group):
            k = len(suffixes[i])
            ids[j, width - k :] = torch.tensor(suffixes[i], dtype=torch.long)
            mask[j, width - k :] = 1
            positions[j, width - k :] = torch.arange(p, p + k)
        part = SlabCache(model.config.num_hidden_layers, width)
        out = model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            cache=part,
            use_cache=True,
            logits_to_keep=1,
            **extra,
        )
        rows = torch.tensor(group, dtype=torch.long)
        cache.put_rows(n, rows, s, part)
        if logits is None:
            logits = out.logits.new_empty((n, out.logits.shape[-1]))
        logits[rows] = out.logits[:, -1, :]
    assert logits is not None
    return logits


def compute_prefix(model: Any, ids: tuple[int, ...], base: Prefix | None = None) -> Prefix:
    """KV states of `ids` (batch 1), extending `base` when it is a prefix of `ids`."""
    start = len(base) if base is not None else 0
    cache = SlabCache(model.config.num_hidden_layers, len(ids) - start)
    rest = torch.tensor([ids[start:]], dtype=torch.long)
    extra = {} if base is None else {"tunegate_prefix": base}
    model(
        input_ids=rest,
        attention_mask=torch.ones_like(rest),
        position_ids=torch.arange(start, len(ids)).unsqueeze(0),
        cache=cache,
        use_cache=True,
        logits_to_keep=1,
        **extra,
    )
    return extend_prefix(base, cache, ids)
