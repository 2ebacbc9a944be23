"""The optimized rung's search space: one prompt candidate, and how it turns examples into
requests.

A candidate is an instruction (the task's own system prompt, a built-in rewrite of it, or a
rewrite by the remote model), whether the output schema / label list is spelled out in it, k
solved training examples (k in 0, 2, 4, 8) chosen by similarity to the item, by label coverage
(stratified) or by diversity (MiniLM embeddings), their order, and constrained decoding or not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np

from tunegate.data.examples import Example, to_messages
from tunegate.ladder.context import Context
from tunegate.ladder.few_shot import fixed_shots, retrieved_shots
from tunegate.ladder.prompts import (
    LABELS_HINT,
    LABELS_PLACEHOLDER,
    request,
    shot_turns,
    unconstrainable,
)
from tunegate.models.base import GenRequest
from tunegate.spec import Task

Selection = Literal["similar", "stratified", "diverse"]
K_VALUES = (0, 2, 4, 8)
SELECTIONS: tuple[Selection, ...] = ("similar", "stratified", "diverse")
SCHEMA_HINT = "Answer with one JSON object that follows this JSON Schema: {schema}"
TASK = "task"  # the task's own instruction


@dataclass(frozen=True)
class Candidate:
    """One point of the search space (k=0 has no selection or order: they are normalized)."""

    instruction: str = TASK  # the name of an instruction variant
    spell: bool = False  # schema (json) or label list (label) spelled out in the instruction
    k: int = 0
    select: Selection = "similar"
    reverse: bool = False  # similar: nearest first (default nearest last); fixed: reversed
    constrained: bool = False

    def normal(self) -> Candidate:
        return replace(self, select="similar", reverse=False) if self.k == 0 else self

    @property
    def id(self) -> str:
        c = self.normal()
        parts = [c.instruction, "spelled" if c.spell else "plain", f"k{c.k}"]
        if c.k:
            parts += [c.select, "reversed" if c.reverse else "ordered"]
        parts.append("constrained" if c.constrained else "free")
        return "/".join(parts)

    def to_json(self) -> dict[str, Any]:
        return asdict(self.normal())

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Candidate:
        return cls(**d)


def instructions(task: Task) -> dict[str, str]:
    """Built-in rewrites of the task's instruction (used when no remote model is configured)."""
    own = task.prompt.system.strip()
    base = own or task.description.strip() or _generic(task)
    out = {TASK: task.prompt.system}
    out["expert"] = f"You are a meticulous expert annotator. {base}"
    out["direct"] = f"{base}\n\n{_only(task)}"
    desc = task.description.strip()
    if desc and desc != own:
        out["described"] = f"{desc} {_only(task)}"
    return out


def _generic(task: Task) -> str:
    return {
        "label": "Classify the input.",
        "json": "Turn the input into a JSON object.",
        "text": "Answer the input.",
    }[task.output.type]


def _only(task: Task) -> str:
    return {
        "label": "Reply with the label only: no explanation, no punctuation.",
        "json": "Reply with the JSON object only: no explanation, no code fence.",
        "text": "Reply with the answer only.",
    }[task.output.type]


def spellable(ctx: Context) -> bool:
    """Whether the output has a schema or a label list that can be spelled out."""
    return ctx.schema is not None or bool(ctx.labels)


def system_text(ctx: Context, instruction: str, spell: bool) -> str:
    """The system prompt of a candidate: its instruction, plus the schema / labels if spelled."""
    if ctx.labels and LABELS_PLACEHOLDER in instruction:
        return instruction.replace(LABELS_PLACEHOLDER, ", ".join(ctx.labels))
    if not spell:
        return instruction
    if ctx.labels:
        hint = LABELS_HINT.format(labels=", ".join(ctx.labels))
    elif ctx.schema is not None:
        hint = SCHEMA_HINT.format(schema=json.dumps(ctx.schema, separators=(",", ":")))
    else:
        return instruction
    return f"{instruction}\n\n{hint}" if instruction else hint


def diverse_shots(ctx: Context, k: int) -> list[Example]:
    """k labelled training examples spread out in MiniLM space: the one nearest the centroid,
    then each time the one farthest from those already chosen (max-min cosine distance)."""
    labelled = [i for i, ex in enumerate(ctx.train) if ex.target.strip()]
    if not labelled or k <= 0:
        return []
    vecs = ctx.train_index.vectors[labelled]  # (n, d), unit rows
    centroid = vecs.mean(axis=0)
    chosen = [int(np.argmax(vecs @ centroid))]
    nearest = vecs @ vecs[chosen[0]]  # (n,) highest similarity to any chosen one
    while len(chosen) < min(k, len(labelled)):
        nxt = int(np.argmin(nearest))
        if nxt in chosen:
            break
        chosen.append(nxt)
        nearest = np.maximum(nearest, vecs @ vecs[nxt])
    return [ctx.train[labelled[i]] for i in chosen]


def fixed_set(ctx: Context, cand: Candidate) -> list[Example]:
    """The same-for-every-item examples of a stratified or diverse candidate (else none)."""
    c = cand.normal()
    if c.k == 0 or c.select == "similar":
        return []
    return fixed_shots(ctx, c.k) if c.select == "stratified" else diverse_shots(ctx, c.k)


def messages(
    ctx: Context, system: str, ex: Example, shots: Sequence[Example]
) -> list[dict[str, str]]:
    """System prompt, the shots as user/assistant exchanges, then the example itself."""
    query = to_messages(ctx.task, ex, None if system == ctx.task.prompt.system else system)
    head = [m for m in query if m["role"] == "system"]
    tail = [m for m in query if m["role"] != "system"]
    return [*head, *(t for s in shots for t in shot_turns(ctx, s)), *tail]


def build(
    ctx: Context,
    cand: Candidate,
    instruction: str,
    examples: Sequence[Example],
    fixed: Sequence[Example] | None = None,
) -> list[GenRequest]:
    """One request per example for a candidate (`fixed`: its stored fixed shots, if any)."""
    c = cand.normal()
    system = system_text(ctx, instruction, c.spell)
    if c.k == 0:
        shots: list[list[Example]] = [[] for _ in examples]
    elif c.select == "similar":
        shots = retrieved_shots(ctx, examples, c.k)
    else:
        same = list(fixed) if fixed is not None else fixed_set(ctx, c)
        shots = [same for _ in examples]
    if c.reverse:
        shots = [list(reversed(s)) for s in shots]
    return [
        request(ctx, messages(ctx, system, ex, s), c.constrained)
        for ex, s in zip(examples, shots, strict=True)
    ]


def seeds(ctx: Context) -> list[Candidate]:
    """The hand-set rungs' settings, the likely best first: few-shot constrained, constrained,
    few-shot, zero-shot, few-shot fixed (labels are spelled out for a label task, as there)."""
    k = ctx.task.ladder.few_shot_k
    spell = bool(ctx.labels)
    can = unconstrainable(ctx) is None
    shots = bool(any(ex.target.strip() for ex in ctx.train))
    out = []
    if can and shots:
        out.append(Candidate(TASK, spell, k, constrained=True))
    if can:
        out.append(Candidate(TASK, spell, 0, constrained=True))
    if shots:
        out.append(Candidate(TASK, spell, k))
    out.append(Candidate(TASK, spell, 0))
    if shots:
        out.append(Candidate(TASK, spell, k, "stratified"))
    return out


def moves(ctx: Context, best: Candidate, names: Sequence[str]) -> list[Candidate]:
    """Neighbours of `best`, one setting changed, in the order they are tried."""
    out = [Candidate(**{**best.to_json(), "k": k}) for k in K_VALUES if k != best.k]
    out += [Candidate(**{**best.to_json(), "instruction": n}) for n in names]
    if best.k:
        out += [Candidate(**{**best.to_json(), "select": s}) for s in SELECTIONS]
    if spellable(ctx):
        out.append(Candidate(**{**best.to_json(), "spell": not best.spell}))
    if best.k:
        out.append(Candidate(**{**best.to_json(), "reverse": not best.reverse}))
    if unconstrainable(ctx) is None:
        out.append(Candidate(**{**best.to_json(), "constrained": not best.constrained}))
    return [c.normal() for c in out]
