"""Rung 2, few-shot: k solved training examples placed before the question as chat turns.

`few_shot` retrieves, for each test item, the k training examples whose inputs are closest by
MiniLM similarity (the closest last, nearest the question; a training row identical to the test
item is never used). `few_shot_fixed` uses the same k examples for every item, chosen once to
cover the most frequent labels (or strata) first.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

from tunegate.data.examples import Example, input_text, stratum
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.prompts import request, with_shots
from tunegate.models.base import GenRequest


def retrieved_shots(
    ctx: Context, examples: Sequence[Example], k: int | None = None
) -> list[list[Example]]:
    """For each example, its k (default ladder.few_shot_k) nearest training examples, least
    similar first."""
    k = ctx.task.ladder.few_shot_k if k is None else k
    positions: dict[str, set[int]] = defaultdict(set)
    for i, t in enumerate(ctx.train):
        positions[t.id].add(i)
    hits = ctx.train_index.search(
        [input_text(ex) for ex in examples], k, [positions.get(ex.id, set()) for ex in examples]
    )
    return [[ctx.train[j] for j in reversed(h)] for h in hits]


def fixed_shots(ctx: Context, k: int | None = None) -> list[Example]:
    """k (default ladder.few_shot_k) training examples, one per stratum (label) in order of
    frequency, seeded within each."""
    k = ctx.task.ladder.few_shot_k if k is None else k
    seed = ctx.task.data.seed
    groups: dict[str | None, list[Example]] = defaultdict(list)
    for ex in ctx.train:
        if ex.target.strip():
            groups[stratum(ctx.task, ex)].append(ex)

    def rank(ex: Example) -> str:
        return hashlib.sha256(f"{seed}:fixed:{ex.id}".encode()).hexdigest()

    order = sorted(groups, key=lambda s: (-len(groups[s]), str(s)))
    queues = {s: sorted(groups[s], key=rank) for s in order}
    shots: list[Example] = []
    while len(shots) < k and any(queues.values()):
        for s in order:
            if queues[s] and len(shots) < k:
                shots.append(queues[s].pop(0))
    return shots


def build_retrieved(
    ctx: Context, examples: Sequence[Example], constrained: bool = False
) -> list[GenRequest]:
    shots = retrieved_shots(ctx, examples)
    return [
        request(ctx, with_shots(ctx, ex, s), constrained)
        for ex, s in zip(examples, shots, strict=True)
    ]


def build_fixed(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    shots = fixed_shots(ctx)
    return [request(ctx, with_shots(ctx, ex, shots)) for ex in examples]


def no_train(ctx: Context) -> str | None:
    if not any(ex.target.strip() for ex in ctx.train):
        return "no labelled training examples to draw shots from"
    return None


RUNG = Rung(
    name="few_shot",
    summary="k training examples retrieved by similarity, free decoding",
    skip=no_train,
    build=build_retrieved,
    parent="zero_shot",
)

FIXED = Rung(
    name="few_shot_fixed",
    summary="the same k training examples for every item, free decoding",
    skip=no_train,
    build=build_fixed,
    parent="zero_shot",
)
