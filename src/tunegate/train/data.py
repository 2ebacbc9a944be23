"""From examples to training tensors: chat template, completion-only labels, batch plans, collation.

Each example is rendered with the tokenizer's own chat template: the prompt (system + user turns in
the run's prompt form, train/prompt.py, with the generation prompt) and then the answer. Only the answer's tokens (through the end-of-turn
token) carry loss. A batch plan is a list of micro-batches (lists of example indices) derived
from (seed, epoch) alone, so a resumed run replays the same order from any step.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from tunegate.data.examples import Example
from tunegate.errors import TunegateError
from tunegate.spec import Task
from tunegate.train.prompt import PromptForm, prompt_form

log = logging.getLogger(__name__)
GROUP_MEGABATCH = 50  # grouped batching sorts windows of this many micro-batches by length


@dataclass(frozen=True)
class Encoded:
    """One tokenized example: `ids[:prompt_len]` is the prompt, the rest the answer (with loss)."""

    ids: tuple[int, ...]
    prompt_len: int

    @property
    def n_answer(self) -> int:
        return len(self.ids) - self.prompt_len


@dataclass(frozen=True)
class EncodeReport:
    """What encoding did to the examples, for the warning and the run's record."""

    total: int
    kept: int
    overlong: int
    truncated: int
    dropped: int
    empty_target: int
    longest: int

    def warning(self, max_length: int) -> str | None:
        parts = []
        if self.overlong:
            what = f"truncated {self.truncated}" if self.truncated else ""
            if self.dropped:
                what += (", " if what else "") + f"dropped {self.dropped}"
            parts.append(
                f"{self.overlong} of {self.total} examples exceed max_length {max_length} tokens "
                f"(longest {self.longest}); {what}"
            )
        if self.empty_target:
            parts.append(f"{self.empty_target} examples with an empty answer left out")
        return "; ".join(parts) or None


def encode_one(tokenizer: Any, messages: list[dict[str, str]], answer: str) -> Encoded:
    """Tokenize prompt + answer with the chat template; mark where the answer starts.

    The answer runs through the first end-of-sequence token after the prompt; anything the
    template adds after it (a newline) carries no loss and is not kept.
    """
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": answer}], tokenize=False
    )
    cut = len(prompt)
    if not full.startswith(prompt):  # a template that rewrites earlier turns: longest common prefix
        cut = next(
            (i for i, (a, b) in enumerate(zip(prompt, full, strict=False)) if a != b), len(prompt)
        )
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = enc["input_ids"]
    starts = [s for s, _ in enc["offset_mapping"]]
    prompt_len = next((i for i, s in enumerate(starts) if s >= cut), len(ids))
    eos = tokenizer.eos_token_id
    if eos is not None and eos in ids[prompt_len:]:
        ids = ids[: ids.index(eos, prompt_len) + 1]
    return Encoded(ids=tuple(ids), prompt_len=prompt_len)


def encode_examples(
    task: Task,
    examples: Sequence[Example],
    tokenizer: Any,
    max_length: int,
    overlong: str = "truncate",
    prompt: PromptForm | None = None,
) -> tuple[list[Encoded], EncodeReport]:
    """Encode every example in `prompt`'s form (default: the task's full prompt); truncate or drop
    those over max_length (counted in the report)."""
    form = prompt or prompt_form(task, "full")
    out: list[Encoded] = []
    n_over = n_trunc = n_drop = n_empty = longest = 0
    for ex in examples:
        if not ex.target.strip():
            n_empty += 1
            continue
        enc = encode_one(tokenizer, form.messages(task, ex), ex.target)
        longest = max(longest, len(enc.ids))
        if len(enc.ids) > max_length:
            n_over += 1
            if overlong == "drop" or enc.prompt_len >= max_length:
                n_drop += 1
                continue
            enc = Encoded(ids=enc.ids[:max_length], prompt_len=enc.prompt_len)
            n_trunc += 1
        out.append(enc)
    report = EncodeReport(len(examples), len(out), n_over, n_trunc, n_drop, n_empty, longest)
    return out, report


def plan_epoch(
    lengths: Sequence[int], batch_size: int, batching: str, seed: int, epoch: int
) -> list[list[int]]:
    """Micro-batches of example indices for one epoch, from (seed, epoch) alone.

    packed and padded: a seeded shuffle cut into batches. grouped: windows of the shuffle sorted by
    length, so rows padded together are alike, then the batches themselves shuffled.
    """
    rng = random.Random(f"{seed}:{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if batching == "grouped":
        window = batch_size * GROUP_MEGABATCH
        order = [
            i
            for w in range(0, len(order), window)
            for i in sorted(order[w : w + window], key=lambda i: -lengths[i])
        ]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if batching == "grouped":
        rng.shuffle(batches)
    return batches


def shared_prefix_len(encoded: Sequence[Encoded], minimum: int = 4) -> int:
    """Tokens every example's prompt starts with (system prompt, template header), or 0.

    Capped so each example keeps at least one prompt token of its own: the position before the
    first answer token then always belongs to the example.
    """
    if not encoded:
        return 0
    first = encoded[0].ids
    n = min(e.prompt_len for e in encoded) - 1
    for e in encoded[1:]:
        n = min(n, next((i for i in range(n) if e.ids[i] != first[i]), n))
    return n if n >= minimum else 0


@dataclass
class Batch:
    """Model inputs for one micro-batch.

    input_ids, position_ids: (B, T). attention_mask: (B, T) when padded; None when packed (B = 1,
    positions restart at 0 for each example, from which transformers builds a block-diagonal
    mask); or, when packed with a shared prefix, an explicit (1, 1, T, T) boolean mask: the
    prefix's `shared` tokens come once, and every example attends to them and to itself only.
    select: (N,) flat indices into B*T of positions whose next token is an answer token; labels:
    (N,) those tokens. spans: (row, start, length) of each example's own tokens, for the cache.
    """

    input_ids: torch.Tensor
    position_ids: torch.Tensor
    attention_mask: torch.Tensor | None
    select: torch.Tensor
    labels: torch.Tensor
    spans: list[tuple[int, int, int]]
    keys: list[int]
    real_tokens: int
    packed: bool = True
    shared: int = 0

    @property
    def n_labels(self) -> int:
        return int(self.labels.numel())


def _packed(encoded: Sequence[Encoded], shared: int) -> tuple[list[int], list[int], list[int]]:
    """(ids, positions, start of each example's own tokens) for one packed row."""
    ids = list(encoded[0].ids[:shared])
    pos = list(range(shared))
    starts = []
    for e in encoded:
        starts.append(len(ids))
        ids.extend(e.ids[shared:])
        pos.extend(range(shared, len(e.ids)))
    return ids, pos, starts


def _shared_mask(
    encoded: Sequence[Encoded], shared: int, starts: list[int], width: int
) -> torch.Tensor:
    mask = torch.zeros((width, width), dtype=torch.bool)
    mask[:shared, :shared] = torch.ones((shared, shared), dtype=torch.bool).tril()
    for e, o in zip(encoded, starts, strict=True):
        n = len(e.ids) - shared
        mask[o : o + n, :shared] = True
        mask[o : o + n, o : o + n] = torch.ones((n, n), dtype=torch.bool).tril()
    return mask[None, None]


def collate(
    encoded: Sequence[Encoded], keys: Sequence[int], packed: bool, pad_id: int, shared: int = 0
) -> Batch:
    """Build a Batch from encoded examples (`keys` identify them in the prefix cache).

    `shared` (packed only): the examples' common first tokens, placed once at the row's start.
    """
    lengths = [len(e.ids) for e in encoded]
    shared = shared if packed else 0
    mask: torch.Tensor | None = None
    if packed:
        ids, pos, offsets = _packed(encoded, shared)
        width = len(ids)
        input_ids = torch.tensor([ids], dtype=torch.long)
        position_ids = torch.tensor([pos], dtype=torch.long)
        if shared:
            mask = _shared_mask(encoded, shared, offsets, width)
        starts = [(0, o) for o in offsets]
    else:
        width = max(lengths)
        input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for r, e in enumerate(encoded):
            input_ids[r, : len(e.ids)] = torch.tensor(e.ids)
            mask[r, : len(e.ids)] = 1
        position_ids = torch.arange(width).unsqueeze(0).expand(len(encoded), width).contiguous()
        starts = [(r, 0) for r in range(len(encoded))]
    select: list[int] = []
    labels: list[int] = []
    for (row, start), e in zip(starts, encoded, strict=True):
        base = row * width + start - shared  # flat index of the example's token 0 (maybe virtual)
        select.extend(base + t - 1 for t in range(e.prompt_len, len(e.ids)))
        labels.extend(e.ids[e.prompt_len :])
    spans = [(row, start, n - shared) for (row, start), n in zip(starts, lengths, strict=True)]
    return Batch(
        input_ids=input_ids,
        position_ids=position_ids,
        attention_mask=mask,
        select=torch.tensor(select, dtype=torch.long),
        labels=torch.tensor(labels, dtype=torch.long),
        spans=spans,
        keys=list(keys),
        real_tokens=sum(lengths),
        packed=packed,
        shared=shared,
    )


def check_not_empty(n_train: int, n_source: int, where: str) -> None:
    if n_train == 0:
        raise TunegateError(
            f"no training examples left (the train split had {n_source}; after the test and validation "
            "hold-outs, empty answers and over-long rows none remain)",
            where,
        )
