"""What would change the recommendation: the learning curve's slope, the break-even traffic, and
the target, price or traffic at which the verdict flips."""

from __future__ import annotations

import math

import numpy as np

from tunegate.decide.record import RungStatus, Verdict
from tunegate.evidence import CurvePoint, Evidence
from tunegate.ladder.result import RungResult
from tunegate.signals import target_metric
from tunegate.signals.cost import break_even_per_day, train_price_per_hour, training_cost
from tunegate.spec import Task


def curve_slope(points: list[CurvePoint]) -> float | None:
    """Least-squares change of the primary metric per doubling of the training data."""
    if len({p.n_train for p in points}) < 2:
        return None
    x = np.log2([p.n_train for p in points])
    y = np.array([p.value for p in points])
    return float(np.polyfit(x, y, 1)[0])


def cost_per_request(r: RungResult) -> float | None:
    m = r.metric("cost.per_request")
    return m.value if m else None


def break_even(task: Task, ev: Evidence) -> dict[str, float | None]:
    tuned = next((r for r in ev.rungs if r.kind == "finetuned"), None)
    if tuned is None or ev.training is None or cost_per_request(tuned) is None:
        return {}
    dollars = training_cost(ev.training.seconds, train_price_per_hour(task))
    out: dict[str, float | None] = {}
    for r in ev.rungs:
        base = cost_per_request(r)
        if r is tuned or base is None:
            continue
        out[r.rung] = break_even_per_day(
            base, cost_per_request(tuned) or 0.0, dollars, task.traffic.months
        )
    return out


def what_would_flip(
    task: Task,
    ev: Evidence,
    statuses: list[RungStatus],
    best_prompt: RungStatus | None,
    tuned: RungStatus | None,
    verdict: Verdict,
    chosen: str | None = None,
) -> list[str]:
    """The traffic, price or target at which the recommendation would change."""
    out = []
    target = "min_similarity" if task.output.type == "text" else "min_accuracy"
    goal = getattr(task.targets, target)
    relaxed = _relaxed(task, ev, best_prompt) if best_prompt else None
    if verdict != "prompting suffices" and best_prompt and relaxed:
        out.append(f"with {relaxed}, prompting would suffice")
    if verdict in ("fine-tune", "prompting suffices") and goal is not None and chosen:
        pick = next((s for s in statuses if s.rung == chosen), None)
        if pick and pick.primary:
            out.append(
                f"raising {target} above {pick.primary.hi:.3f} (the upper bound of {pick.rung}) "
                f"would rule out {pick.rung}"
            )
    out.extend(_break_even_lines(task, ev))
    if verdict == "nothing meets" and goal is not None:
        out.extend(what_would_help(task, ev, tuned, target, goal))
    remote = next((s for s in statuses if s.kind == "remote"), None)
    if remote and tuned and remote.cost_per_month and tuned.cost_per_month:
        ratio = remote.cost_per_month / tuned.cost_per_month
        if ratio > 1:
            out.append(
                f"remote prices would have to fall {ratio:,.1f}x to match the fine-tuned model's cost"
            )
    return out


def _relaxed(task: Task, ev: Evidence, status: RungStatus) -> str | None:
    """Each target `status`'s rung does not yet meet, at the value its interval would meet
    ("min_accuracy <= 0.745 (the lower bound of few_shot)"); None when one is not measured."""
    r = ev.rung(status.rung)
    parts = []
    for target, st in status.targets.items():
        if st == "meets":
            continue
        name = target_metric(task, target)
        m = r.metric(name) if r is not None and name else None
        if m is None:
            return None
        low = target.startswith("min_")
        bound = m.lo if low else m.hi
        said = (
            f"{bound:,.0f}"
            if m.unit == "ms"
            else f"{bound:,.2f}"
            if m.unit == "$"
            else f"{bound:.3f}"
        )
        side = "lower" if low else "upper"
        parts.append(f"{target} {'<=' if low else '>='} {said} (the {side} bound of {status.rung})")
    return " and ".join(parts) or None


def _break_even_lines(task: Task, ev: Evidence) -> list[str]:
    """The traffic from which the adapter is cheaper than each other rung, said once."""

    def when(per_day: float) -> str:
        if per_day <= 1:
            return "from 1 request/day up"
        side = "above" if task.traffic.requests_per_day < per_day else "at and above"
        return (
            f"{side} {per_day:,.1f} requests/day"
            if per_day < 10
            else f"{side} {per_day:,.0f} requests/day"
        )

    amortized = (
        f"(training amortized over {task.traffic.months} months; "
        f"now {task.traffic.requests_per_day:,.0f}/day)"
    )
    points = break_even(task, ev)
    never = [rung for rung, d in points.items() if d is None]
    some = {rung: d for rung, d in points.items() if d is not None}
    out = []
    if some and all(d <= 1 for d in some.values()):
        out.append(
            f"from 1 request/day up the fine-tuned model is cheaper than {_and(list(some))} {amortized}"
        )
    elif len(some) == 1:
        ((rung, d),) = some.items()
        out.append(f"{when(d)} the fine-tuned model is cheaper than {rung} {amortized}")
    elif some:
        each = ", ".join(f"{rung} {when(d)}" for rung, d in some.items())
        out.append(f"the fine-tuned model is cheaper than {each} {amortized}")
    if never:
        out.append(f"the fine-tuned model never becomes cheaper than {_and(never)} at these prices")
    return out


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def what_would_help(
    task: Task, ev: Evidence, tuned: RungStatus | None, target: str, goal: float
) -> list[str]:
    """When nothing meets: what more training or more data could change, from the evidence."""
    out = []
    slope = curve_slope(ev.training.curve) if ev.training else None
    if tuned is not None and tuned.primary is not None:
        gap = goal - tuned.primary.value
        out.append(
            f"the fine-tuned rung is {gap:+.3f} from {target} {goal}: train longer (a larger "
            "`minutes` budget or `--steps`) and diagnose it again"
        )
        if slope is not None and slope > 0:
            out.append(
                f"by the learning curve, about {math.ceil(max(gap, 0) / slope)} doublings of the "
                "training data would close that gap"
            )
    if slope is None:
        out.append("a learning curve (`tunegate train --curve`) would show whether more data helps")
    return out
