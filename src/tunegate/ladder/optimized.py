"""The optimized rung: the prompt ceiling. Before the ladder runs, a budgeted search on a dev
split carved from train picks the best prompt candidate (`tunegate.ladder.optimize`); the rung
then answers the test split once with the winner, like every other rung, so its signals,
intervals and paired tests come from the same runner.

Similar-selection winners retrieve their shots from all of train (as the few-shot rung does);
stratified / diverse winners use exactly the examples the search scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunegate.data.examples import Example
from tunegate.errors import TunegateError
from tunegate.ladder import candidates
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.ladder.dev import carve_dev
from tunegate.ladder.few_shot import no_train
from tunegate.ladder.optimize import SearchResult, search
from tunegate.models.base import GenRequest

NAME = "optimized"


def prepare(ctx: Context, generators: Any, console: Any) -> dict[str, Any]:
    result = search(ctx, generators, console)
    ctx.prepared[NAME] = result
    return {
        "optimize_run": result.run_id,
        "optimized": result.winner.id,
        "optimized_dev_score": result.dev_score,
    }


def winner(ctx: Context) -> SearchResult:
    found = ctx.prepared.get(NAME)
    if not isinstance(found, SearchResult):
        raise RuntimeError("the optimized rung's search has not run (Rung.prepare)")
    return found


def build(ctx: Context, examples: Sequence[Example]) -> list[GenRequest]:
    res = winner(ctx)
    return candidates.build(ctx, res.winner, res.instruction, examples, res.shots)


def skip(ctx: Context) -> str | None:
    reason = no_train(ctx)
    if reason:
        return reason
    spec = ctx.task.ladder.optimize
    seed = ctx.task.data.seed if spec.seed is None else spec.seed
    try:
        carve_dev(ctx.task, ctx.train, spec.max_dev_items, spec.dev_fraction, seed)
    except TunegateError as exc:
        return exc.message
    return None


RUNG = Rung(
    name=NAME,
    summary="the best prompt found on a dev split of train (instruction, shots, constraint)",
    skip=skip,
    build=build,
    parent="few_shot_constrained",
    prepare=prepare,
    optional="runs only when named (a search of up to ladder.optimize.max_minutes): "
    "--rungs ...,optimized or ladder.rungs",
)
