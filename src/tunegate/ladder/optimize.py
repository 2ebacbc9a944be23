"""The prompt search behind the optimized rung, on a dev split carved from train.

The dev split is a stratified, seeded sample of the training rows (`ladder.optimize`); the rest
of train (the pool) is where few-shot examples come from. The search never sees the test split:
it runs on a Context whose dataset holds the pool and no test rows.

Order: first the hand-set rungs' own settings (so the winner is at least as good on dev), then
coordinate ascent from the best so far (k, instruction, selection, spelled-out schema/labels,
order, constrained), each candidate screened on the first dev items; then successive halving:
the better half is scored on twice as many dev items, until the best candidates have been scored
on the whole dev split. The winner is the best on the most dev items reached, ties going to the
cheaper prompt (fewer input tokens). The budget: `max_candidates`, and `max_minutes` of
generation, counted from the stored answers' batch times, so an interrupted search that resumes
(every candidate x dev item answer is cached in the run store) takes the same path. A scoring is
started only when its expected seconds (the seconds per item so far) fit: screening stops at
60% of the budget, the halving at all of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tunegate.data.examples import Example
from tunegate.data.split import Dataset
from tunegate.ladder import cache
from tunegate.ladder.candidates import (
    TASK,
    Candidate,
    build,
    fixed_set,
    moves,
    seeds,
    system_text,
)
from tunegate.ladder.candidates import instructions as builtin_instructions
from tunegate.ladder.context import Context
from tunegate.ladder.dev import carve_dev, levels
from tunegate.ladder.progress import LadderProgress, RungBar
from tunegate.ladder.prompts import shot_turns
from tunegate.ladder.retrieve import Index
from tunegate.ladder.rewrite import remote_rewrites
from tunegate.outputs import ItemOutput

RUN_KIND = "optimize"
RUNG = "optimized"
SCREEN_SHARE = 0.6  # of the time budget, at most this much goes to screening new candidates


@dataclass
class Tried:
    """A candidate and its primary score on each dev item it has answered."""

    candidate: Candidate
    scores: dict[str, float] = field(default_factory=dict)  # dev example id -> score
    input_tokens: float = 0.0  # mean per request
    seconds: float = 0.0  # generation time of its answers (batch share)
    shots: list[str] = field(default_factory=list)  # ids of its fixed examples

    def score(self, ids: Sequence[str]) -> float:
        return sum(self.scores[i] for i in ids) / len(ids) if ids else 0.0

    def to_json(self, dev_ids: Sequence[str]) -> dict[str, Any]:
        n = len(self.scores)
        return {
            "id": self.candidate.id,
            "candidate": self.candidate.to_json(),
            "dev_items": n,
            "dev_score": self.score(dev_ids[:n]),
            "input_tokens": self.input_tokens,
            "seconds": self.seconds,
            "shots": self.shots,
        }


@dataclass
class SearchResult:
    """What the search found: the winner and every candidate tried (as stored)."""

    run_id: str
    winner: Candidate
    instruction: str  # the winner's instruction text
    system: str  # the winner's system prompt (instruction + spelled-out schema / labels)
    shots: list[Example]  # the winner's fixed examples (stratified / diverse selection)
    dev_score: float
    dev_items: int
    candidates: list[dict[str, Any]]
    instructions: dict[str, str]
    dev_ids: list[str]
    spent_s: float
    wall_s: float
    stopped: str  # why the search stopped
    shot_turns: list[list[dict[str, str]]] = field(default_factory=list)  # fixed shots as chat

    def summary_json(self) -> dict[str, Any]:
        return {
            "winner": self.winner.to_json(),
            "winner_id": self.winner.id,
            "instruction": self.instruction,
            "system": self.system,
            "shots": [ex.id for ex in self.shots],
            "shot_turns": self.shot_turns,
            "dev_score": self.dev_score,
            "dev_items": self.dev_items,
            "candidates": self.candidates,
            "instructions": self.instructions,
            "dev_ids": self.dev_ids,
            "spent_s": self.spent_s,
            "wall_s": self.wall_s,
            "stopped": self.stopped,
        }


class Search:
    """One search: the dev context, the store run, and every candidate tried so far."""

    def __init__(self, ctx: Context, generators: Any, bar: RungBar, run_id: str) -> None:
        spec = ctx.task.ladder.optimize
        seed = ctx.task.data.seed if spec.seed is None else spec.seed
        pool, self.dev = carve_dev(ctx.task, ctx.train, spec.max_dev_items, spec.dev_fraction, seed)
        # The search's own context: shots from the pool; no test rows at all. The label set is
        # the full train's (its order is part of the prompt the test split will see).
        self.ctx = Context(ctx.task, ctx.folder, Dataset(pool, []), ctx.store, ctx.embedder)
        self.ctx.__dict__["labels"] = ctx.labels
        self.ctx.__dict__["train_index"] = _pool_index(ctx, pool)
        self.gens = generators
        self.bar = bar
        self.run_id = run_id
        self.budget_s = spec.max_minutes * 60
        self.tried: dict[str, Tried] = {}
        self.texts: dict[str, str] = {}
        self.chunk = ctx.task.ladder.batch_size * 4

    @property
    def spent(self) -> float:
        return sum(t.seconds for t in self.tried.values())

    def fits(self, cand: Candidate, n: int, cap_s: float) -> bool:
        """Whether scoring `cand` on n dev items should stay within `cap_s` seconds of generation,
        by its own seconds per item so far (else the mean of every candidate's)."""
        t = self.tried.get(cand.id)
        mine = t is not None and bool(t.scores)
        items = len(t.scores) if mine and t else sum(len(x.scores) for x in self.tried.values())
        secs = t.seconds if mine and t else self.spent
        per_item = secs / items if items else 0.0
        todo = n - (len(t.scores) if t else 0)
        return self.spent + per_item * todo <= cap_s

    def evaluate(self, cand: Candidate, n: int) -> Tried:
        """Score `cand` on the first n dev items (answers cached in the store)."""
        t = self.tried.setdefault(cand.id, Tried(cand))
        todo = [ex for ex in self.dev[:n] if ex.id not in t.scores]
        if not todo:
            return t
        fixed = fixed_set(self.ctx, cand)
        t.shots = [ex.id for ex in fixed]
        reqs = build(self.ctx, cand, self.texts[cand.instruction], todo, fixed)
        model = self.ctx.model_id
        keys = [cache.request_key(model, RUNG, r) for r in reqs]
        answers = cache.cached(self.ctx.store, keys)
        self.bar.note(cand.id)
        self.bar.advance(sum(1 for k in keys if k in answers), 0)
        missing = [(k, ex.id, r) for k, ex, r in zip(keys, todo, reqs, strict=True)]
        missing = [m for m in missing if m[0] not in answers]
        answers.update(
            cache.generate_missing(
                self.ctx.store,
                self.run_id,
                RUNG,
                lambda: self.gens.get("local"),
                missing,
                self.chunk,
                self.bar.advance,
            )
        )
        gens = [answers[k] for k in keys]
        items = [
            ItemOutput(ex.id, ex.target, g.text, g.input_tokens, g.output_tokens, g.error)
            for ex, g in zip(todo, gens, strict=True)
        ]
        done = len(t.scores)
        t.scores.update(primary_scores(self.ctx, items))
        t.input_tokens = (t.input_tokens * done + sum(g.input_tokens for g in gens)) / len(t.scores)
        t.seconds += sum((g.batch_ms or 0.0) for g in gens) / 1000
        self.ctx.store.put_result(self.run_id, f"candidate.{cand.id}", t.to_json(self.ids))
        return t

    @property
    def ids(self) -> list[str]:
        return [ex.id for ex in self.dev]

    def rank(self, names: Sequence[str], n: int) -> list[Tried]:
        """Candidates scored on the first n dev items, best first (ties: fewer input tokens)."""
        order = list(self.tried)
        scored = [self.tried[c] for c in names if len(self.tried[c].scores) >= n]
        return sorted(
            scored,
            key=lambda t: (
                -t.score(self.ids[:n]),
                t.input_tokens,
                order.index(t.candidate.id),
            ),
        )


def _pool_index(ctx: Context, pool: Sequence[Example]) -> Index:
    """The pool's rows of the whole train index (train is embedded once, and cached on disk,
    for the search and the few-shot rungs alike)."""
    full = ctx.train_index
    first: dict[str, int] = {}
    for i, ex in enumerate(ctx.train):
        first.setdefault(ex.id, i)
    return Index(full.embedder, full.vectors[[first[ex.id] for ex in pool]])


def primary_scores(ctx: Context, items: Sequence[ItemOutput]) -> dict[str, float]:
    """The task's primary metric per item (a failed or unjudged answer scores 0)."""
    from tunegate import signals
    from tunegate.signals import knowledge

    kind = ctx.task.output.type
    ok = [it for it in items if it.error is None]
    out = {it.example_id: 0.0 for it in items}
    if not ok:
        return out
    res = knowledge.measure(
        kind,
        ctx.schema,
        ok,
        labels=signals.task_labels(ctx.task, items, ctx.labels),
        embedder=ctx.embedder if kind == "text" else None,
    )
    primary = signals.primary_metric(ctx.task)
    found = next((s for s in res.scores if s.name == primary), None)
    if found is not None:
        out.update({k: v for k, v in found.values.items() if k in out})
    return out


def search(ctx: Context, generators: Any, console: Any = None) -> SearchResult:
    """Run (or resume, from the cached answers) the prompt search; store and return it."""
    spec = ctx.task.ladder.optimize
    start = time.perf_counter()
    store = ctx.store
    config = {"task": ctx.task.name, "model": ctx.model_id, **spec.model_dump()}
    s = Search(ctx, generators, RungBar(None, None), "")
    lv = levels(len(s.dev))
    config["dev_items"] = len(s.dev)
    s.run_id = store.start_run(RUN_KIND, config)
    try:
        with LadderProgress(console).running() as bars:
            s.bar = bars.rung("optimize (dev)", _planned(spec.max_candidates, lv), 0)
            result = _run(s, spec.max_candidates, lv)
            result.wall_s = time.perf_counter() - start
        if console is not None:
            console.print(
                f"optimize: {len(result.candidates)} candidates on up to {result.dev_items} dev "
                f"items in {result.wall_s:.0f} s ({result.spent_s:.0f} s generating); winner "
                f"{result.winner.id}, dev {result.dev_score:.3f} ({result.stopped})"
            )
        store.put_result(s.run_id, "summary", result.summary_json())
        store.set_status(s.run_id, "done")
    except BaseException as exc:
        store.set_status(s.run_id, "interrupted", f"{type(exc).__name__}: {exc}"[:300])
        raise
    return result


def _planned(max_candidates: int, lv: Sequence[int]) -> int:
    """Candidate x dev item answers the full plan takes (for the progress bar)."""
    total, alive = max_candidates * lv[0], max_candidates
    for lo, hi in zip(lv, lv[1:], strict=False):
        alive = max(1, -(-alive // 2))
        total += alive * (hi - lo)
    return total


def _screen(s: Search, max_candidates: int, n: int) -> str:
    """Seeds, then sweeps of one-setting moves around the best (again when the best changes)."""
    others = [name for name in s.texts if name != TASK]
    queue, swept = seeds(s.ctx), set[str]()
    while len(s.tried) < max_candidates:
        if not queue:
            best = s.rank(list(s.tried), n)[0].candidate
            if best.id in swept:
                return "every one-setting change around the best was tried"
            swept.add(best.id)
            queue = [c for c in moves(s.ctx, best, others) if c.id not in s.tried]
            continue
        cand = queue.pop(0)
        if cand.id in s.tried:
            continue
        if s.tried and not s.fits(cand, n, SCREEN_SHARE * s.budget_s):
            return f"screening stopped at {SCREEN_SHARE:.0%} of max_minutes"
        s.evaluate(cand, n)
    return "max_candidates reached"


def _run(s: Search, max_candidates: int, lv: list[int]) -> SearchResult:
    s.texts = dict(builtin_instructions(s.ctx.task))
    s.texts.update(remote_rewrites(s.ctx, s.gens))
    stopped = _screen(s, max_candidates, lv[0])
    alive = [t.candidate.id for t in s.rank(list(s.tried), lv[0])]
    reached = lv[0]
    for n in lv[1:]:  # a lone survivor still goes on to the whole dev split, budget allowing
        ranked = [t.candidate.id for t in s.rank(alive, reached)]  # by the latest level
        alive = ranked[: max(1, -(-len(ranked) // 2))]
        for cid in alive:
            if not s.fits(s.tried[cid].candidate, n, s.budget_s):
                break
            s.evaluate(s.tried[cid].candidate, n)
        if any(len(s.tried[c].scores) < n for c in alive):
            stopped += "; max_minutes reached during successive halving"
            break
        reached = n
    winner = s.rank(alive, reached)[0]
    by_id = {ex.id: ex for ex in s.ctx.train}
    candidates = sorted(
        (t.to_json(s.ids) for t in s.tried.values()),
        key=lambda d: (-d["dev_items"], -d["dev_score"]),
    )
    return SearchResult(
        run_id=s.run_id,
        winner=winner.candidate,
        instruction=s.texts[winner.candidate.instruction],
        system=system_text(s.ctx, s.texts[winner.candidate.instruction], winner.candidate.spell),
        shots=[by_id[i] for i in winner.shots],
        shot_turns=[shot_turns(s.ctx, by_id[i]) for i in winner.shots],
        # Chosen at `reached` items; reported on every dev item it answered.
        dev_score=winner.score(s.ids[: len(winner.scores)]),
        dev_items=len(winner.scores),
        candidates=candidates,
        instructions=s.texts,
        dev_ids=s.ids,
        spent_s=s.spent,
        wall_s=0.0,
        stopped=stopped,
    )
