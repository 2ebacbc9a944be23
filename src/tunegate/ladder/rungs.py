"""All rungs, cheapest first, and the choice of which ones a diagnose runs."""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.errors import TunegateError, suggest
from tunegate.ladder import (
    constrained,
    few_shot,
    finetuned,
    optimized,
    rag,
    remote_rung,
    zero_shot,
)
from tunegate.ladder.base import Rung
from tunegate.ladder.context import Context
from tunegate.spec import RUNG_NAMES

RUNGS: dict[str, Rung] = {
    r.name: r
    for r in (
        zero_shot.RUNG,
        few_shot.FIXED,
        few_shot.RUNG,
        constrained.RUNG,
        constrained.FEW_SHOT,
        rag.RUNG,
        optimized.RUNG,
        finetuned.RUNG,
        remote_rung.RUNG,
    )
}
assert tuple(RUNGS) == RUNG_NAMES, "spec.RUNG_NAMES and the ladder's rungs must agree"


def parse_rungs(text: str | None) -> list[str] | None:
    """`--rungs a,b` as a list of known names (None: not given); unknown names are an error."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in RUNGS:
            raise TunegateError(
                f"unknown rung {n!r}{suggest(n, RUNGS)}; expected one of {', '.join(RUNGS)}",
                "--rungs",
            )
    return names


def select(ctx: Context, names: Sequence[str] | None = None) -> tuple[list[Rung], dict[str, str]]:
    """The rungs to run (given names, else task.ladder.rungs, else all but the optional ones) in
    ladder order, and the ones skipped with their one-line reasons."""
    wanted = list(names) if names is not None else ctx.task.ladder.rungs
    chosen = [RUNGS[n] for n in RUNGS if wanted is None or n in wanted]
    run, skipped = [], {}
    for rung in chosen:
        reason = rung.optional if wanted is None else None
        reason = reason or rung.skip(ctx)
        if reason is None:
            run.append(rung)
        else:
            skipped[rung.name] = reason
    return run, skipped
