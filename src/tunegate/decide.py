"""From measured evidence to a recommendation: is prompting enough, or must we fine-tune?

Pure functions: `decide(task, evidence)` reads the `tunegate.evidence.Evidence` (the newest
result of each rung on one shared item set, with the data's readiness and the training run) and
returns a `Decision` whose every reason cites its numbers. A rung *meets* a target when its
confidence interval does, *may meet* when only the point estimate does (see
`signals.stats.target_status`). The cheapest rung that meets is chosen, whatever its kind; the
headline names every kind that meets, so it never says prompting fails while a prompt rung meets.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from tunegate.evidence import CurvePoint, Evidence, Readiness, Training
from tunegate.ladder.result import OPTIMIZED, RungResult, prompt_ceiling
from tunegate.outputs import Metric
from tunegate.signals import primary_metric, target_metric
from tunegate.signals.cost import (
    break_even_per_day,
    budget_notes,
    train_price_per_hour,
    training_cost,
)
from tunegate.signals.stats import target_status
from tunegate.spec import Task

Verdict = Literal["prompting suffices", "fine-tune", "not ready", "remote only", "nothing meets"]
Status = Literal["meets", "may meet", "fails", "not measured"]
MIN_TRAIN_EXAMPLES = 100
__all__ = ["CurvePoint", "Decision", "Evidence", "Readiness", "Training", "decide"]
_RANK = {"meets": 0, "may meet": 1, "not measured": 1, "fails": 2}


@dataclass
class RungStatus:
    rung: str
    kind: str
    overall: Status
    targets: dict[str, Status]
    cost_per_month: float | None
    p95_ms: float | None
    primary: Metric | None


@dataclass
class SignalVerdict:
    signal: str
    verdict: Literal["prompting suffices", "fine-tuning needed", "neither meets", "not measured"]
    figure: str


@dataclass
class Gate:
    name: str
    ok: bool | None
    detail: str


@dataclass
class Decision:
    verdict: Verdict
    headline: str
    chosen: str | None
    reasons: list[str]
    rungs: list[RungStatus]
    signals: list[SignalVerdict]
    gates: list[Gate]
    break_even: dict[str, float | None]
    curve_slope: float | None
    flips: list[str]
    ceiling: str | None = None  # the prompt ceiling (ladder.result.prompt_ceiling)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(m: Metric | None) -> str:
    if m is None:
        return "not measured"
    if m.unit == "$":
        return f"${m.value:,.2f} [{m.lo:,.2f}, {m.hi:,.2f}]"
    if m.unit == "ms":
        return f"{m.value:,.0f} ms [{m.lo:,.0f}, {m.hi:,.0f}]"
    return f"{m.value:.3f} [{m.lo:.3f}, {m.hi:.3f}] (n={m.n})"


def rung_status(task: Task, r: RungResult) -> RungStatus:
    """Each target's status for one rung and the worst of them."""
    statuses: dict[str, Status] = {}
    for target, goal in task.targets.model_dump().items():
        if goal is None:
            continue
        name = target_metric(task, target)
        m = r.metric(name) if name else None
        statuses[target] = (
            "not measured"
            if m is None
            else target_status(
                m.value, m.lo, m.hi, float(goal), higher_is_better=target.startswith("min_"), n=m.n
            )
        )
    ranks = [_RANK[s] for s in statuses.values()]
    overall: Status = "may meet" if not ranks else ("meets", "may meet", "fails")[max(ranks)]
    if ranks and all(s == "not measured" for s in statuses.values()):
        overall = "not measured"
    cost, p95 = r.metric("cost.per_month"), r.metric("latency.p95_ms")
    return RungStatus(
        rung=r.rung,
        kind=r.kind,
        overall=overall,
        targets=statuses,
        cost_per_month=cost.value if cost else None,
        p95_ms=p95.value if p95 else None,
        primary=r.metric(primary_metric(task)),
    )


def curve_slope(points: list[CurvePoint]) -> float | None:
    """Least-squares change of the primary metric per doubling of the training data."""
    if len({p.n_train for p in points}) < 2:
        return None
    x = np.log2([p.n_train for p in points])
    y = np.array([p.value for p in points])
    return float(np.polyfit(x, y, 1)[0])


def _gates(task: Task, ev: Evidence) -> list[Gate]:
    gates = []
    rd = ev.readiness
    if rd is None:
        gates.append(Gate("data", None, "not checked: run `tunegate check`"))
    else:
        enough = rd.n_train >= MIN_TRAIN_EXAMPLES
        clean = rd.verdict != "fail"
        detail = f"{rd.n_train} training examples (need >= {MIN_TRAIN_EXAMPLES}); check verdict {rd.verdict}"
        if rd.problems:
            detail += ": " + "; ".join(rd.problems[:3])
        gates.append(Gate("data", enough and clean, detail))
    price = train_price_per_hour(task)
    seconds, source = None, ""
    if ev.training is not None:
        seconds, source = ev.training.seconds, "of training here"
    elif rd is not None and rd.train_seconds is not None:
        seconds, source = rd.train_seconds, "of training here (check's estimate)"
    if seconds is not None:
        dollars = training_cost(seconds, price)
        ok, note = budget_notes(task, seconds, dollars)
        detail = f"{seconds / 60:.1f} min {source}, ${dollars:.2f} at ${price:.2f}/h"
        gates.append(Gate("training cycle", ok, detail + (f"; {note}" if note else "")))
    return gates


def _signal_verdicts(task: Task, ev: Evidence) -> list[SignalVerdict]:
    kind = task.output.type
    fmt_name = {"json": "format.schema_valid", "label": "format.valid_label"}.get(
        kind, "format.nonempty"
    )
    plan = [
        ("format", fmt_name, "min_schema_valid_rate", 0.99),
        (
            "knowledge",
            primary_metric(task),
            "min_accuracy" if kind != "text" else "min_similarity",
            None,
        ),
        ("style", "style.similarity", "min_style_similarity", None),
        ("cost", "cost.per_month", "max_cost_per_month", None),
        ("latency", "latency.p95_ms", "max_p95_latency_ms", None),
    ]
    prompt = [r for r in ev.rungs if r.kind == "prompt"]
    tuned = [r for r in ev.rungs if r.kind == "finetuned"]
    out = []
    for signal, name, target, default in plan:
        goal = getattr(task.targets, target, None)
        goal = default if goal is None else goal
        measured = [(r, r.metric(name)) for r in prompt if r.metric(name) is not None]
        if not measured:
            out.append(SignalVerdict(signal, "not measured", f"{name}: no prompt rung measured it"))
            continue
        higher = measured[0][1].higher_is_better  # type: ignore[union-attr]
        best_r, best = max(measured, key=lambda rm: rm[1].value if higher else -rm[1].value)  # type: ignore[union-attr]
        top = prompt_ceiling(ev.rungs, name) if signal == "knowledge" else None
        if top is not None:  # the one prompt-ceiling rule, not the best of these test items
            best_r, best = top, top.metric(name)
        assert best is not None
        label = "prompt ceiling" if best_r.rung == OPTIMIZED else "best prompt rung"
        figure = f"{label} {best_r.rung}: {name} {_fmt(best)}"
        tm = next((t.metric(name) for t in tuned if t.metric(name) is not None), None)
        if tm is not None:
            figure += f"; fine-tuned: {_fmt(tm)}"
        if goal is None:
            real = _real_gain(ev, name, best_r.rung)
            verdict = "fine-tuning needed" if real else "prompting suffices"
            figure += f"; no target set{f' — {real}' if real else ''}"
        else:
            ok = target_status(
                best.value, best.lo, best.hi, goal, higher_is_better=higher, n=best.n
            )
            figure += f"; target {'>=' if higher else '<='} {goal}"
            if ok != "fails":
                verdict = "prompting suffices"
            elif (
                tm is not None
                and target_status(tm.value, tm.lo, tm.hi, goal, higher_is_better=higher, n=tm.n)
                != "fails"
            ):
                verdict = "fine-tuning needed"
            else:
                verdict = "neither meets" if tm is not None else "fine-tuning needed"
        out.append(SignalVerdict(signal, verdict, figure))  # type: ignore[arg-type]
    return out


def _real_gain(ev: Evidence, name: str, prompt_rung: str) -> str | None:
    tuned = {r.rung for r in ev.rungs if r.kind == "finetuned"}
    for c in ev.comparisons:
        if c.name == name and c.real and prompt_rung in (c.a, c.b) and c.better in tuned:
            return f"fine-tuned better by {abs(c.diff):.3f} (p={c.p_value:.3g}, {c.test})"
    return None


def _cost_per_request(r: RungResult) -> float | None:
    m = r.metric("cost.per_request")
    return m.value if m else None


def _break_even(task: Task, ev: Evidence) -> dict[str, float | None]:
    tuned = next((r for r in ev.rungs if r.kind == "finetuned"), None)
    if tuned is None or ev.training is None or _cost_per_request(tuned) is None:
        return {}
    dollars = training_cost(ev.training.seconds, train_price_per_hour(task))
    out: dict[str, float | None] = {}
    for r in ev.rungs:
        base = _cost_per_request(r)
        if r is tuned or base is None:
            continue
        out[r.rung] = break_even_per_day(
            base, _cost_per_request(tuned) or 0.0, dollars, task.traffic.months
        )
    return out


def _ranked(statuses: list[RungStatus]) -> list[RungStatus]:
    """Rungs by how well they meet the targets, then by cost per month (cheapest first)."""
    return sorted(
        statuses,
        key=lambda s: (
            _RANK[s.overall],
            math.inf if s.cost_per_month is None else s.cost_per_month,
        ),
    )


def _verdict(
    task: Task, ev: Evidence, statuses: list[RungStatus], gates: list[Gate]
) -> tuple[Verdict, str, str | None, list[str]]:
    """The verdict, its headline, the chosen rung and the reasons that go with them."""
    order = _ranked(statuses)
    meeting = [s for s in order if s.overall == "meets"] or [
        s for s in order if s.overall == "may meet"
    ]
    data_gate = next(g for g in gates if g.name == "data")
    tuned = next((s for s in statuses if s.kind == "finetuned"), None)
    reasons: list[str] = []
    if not meeting:
        if data_gate.ok is False:
            reasons.append(f"data gate: {data_gate.detail}")
            return (
                "not ready",
                "Not ready: no rung meets the targets, and the data is not ready to fine-tune on.",
                None,
                reasons,
            )
        if tuned is None and statuses:
            return (
                "fine-tune",
                "Fine-tune: no prompt rung meets the targets and the data is ready; run `tunegate train`.",
                None,
                reasons,
            )
        return "nothing meets", _nothing_meets(task, order), None, reasons
    pick = meeting[0]
    word = "meets" if pick.overall == "meets" else "may meet"
    prompt = next((s for s in meeting if s.kind == "prompt"), None)
    others = [s.rung for s in meeting[1:]]
    also = f" ({', '.join(others)} also {word})" if others else ""
    if pick.kind == "prompt":
        headline = f"Prompting is enough: {pick.rung} {word} every target at the lowest cost{also}."
        return "prompting suffices", headline, pick.rung, reasons
    if pick.kind == "finetuned":
        if prompt is not None:
            headline = (
                f"Fine-tune, or keep prompting: both {prompt.rung} and the fine-tuned model {word} "
                f"every target; the fine-tuned model is cheaper at your traffic{also}."
            )
        else:
            headline = f"Fine-tune: no prompt rung meets the targets; the fine-tuned model {'does' if word == 'meets' else 'may'}."
        return "fine-tune", headline, pick.rung, reasons
    if prompt is not None:
        headline = (
            f"The remote model is the cheapest that {word} every target; {prompt.rung} also "
            f"{word}{also}."
        )
    else:
        headline = "Only the remote model meets the targets: use it now; distil it into a fine-tuned small model to cut cost."
    return "remote only", headline, pick.rung, reasons


def _nothing_meets(task: Task, order: list[RungStatus]) -> str:
    """Which rung comes closest (fewest failed targets, then the best primary figure)."""
    if not order:
        return "Nothing meets the targets yet: no rung was measured."
    closest = min(
        order,
        key=lambda s: (
            sum(st == "fails" for st in s.targets.values()),
            -(s.primary.value if s.primary else -math.inf),
        ),
    )
    gaps = ", ".join(t for t, st in closest.targets.items() if st == "fails") or "none"
    return f"Nothing meets the targets yet: {closest.rung} comes closest (fails: {gaps})."


def _pair_line(task: Task, ev: Evidence, a: str, b: str) -> str | None:
    """The paired test of two rungs on the primary metric, said plainly."""
    primary = primary_metric(task)
    c = next(
        (x for x in ev.comparisons if x.name == primary and {x.a, x.b} == {a, b}),
        None,
    )
    if c is None:
        return None
    va, vb = (c.a_value, c.b_value) if c.a == a else (c.b_value, c.a_value)
    p = c.p_adjusted if c.p_adjusted is not None else c.p_value
    said = f"{c.better} is better" if c.real else "no real difference"
    return (
        f"{a} {va:.3f} vs {b} {vb:.3f} on {primary} (n={c.n}): {said}, "
        f"{c.test.replace('_', ' ')} p={p:.2g} (Holm-adjusted)"
    )


def decide(task: Task, ev: Evidence) -> Decision:
    """The recommendation, with per-signal verdicts, gates, break-even and what would flip it."""
    statuses = [rung_status(task, r) for r in ev.rungs]
    gates = _gates(task, ev)
    primary = primary_metric(task)
    verdict, headline, chosen, reasons = _verdict(task, ev, statuses, gates)
    top = prompt_ceiling(ev.rungs, primary)
    best_prompt = next((s for s in statuses if top and s.rung == top.rung), None)
    tuned = next((s for s in statuses if s.kind == "finetuned"), None)
    order = _ranked(statuses)
    if not task.targets.model_dump(exclude_none=True):
        reasons.append(
            "no targets are set in tunegate.yaml: every rung 'may meet'; set targets for a firm verdict"
        )
    for s in order[:4]:
        gaps = ", ".join(f"{t} {st}" for t, st in s.targets.items()) or "no targets"
        cost = (
            f"${s.cost_per_month:,.2f}/month"
            if s.cost_per_month is not None
            else "cost not measured"
        )
        reasons.append(f"{s.rung}: {primary} {_fmt(s.primary)}; {cost}; {gaps}")
    pick = next((s for s in statuses if s.rung == chosen), None)
    if pick is not None and pick.overall == "may meet":
        reasons.append(
            f"{pick.rung} only may meet: its interval straddles a target; more test items would settle it"
        )
    if top is not None and tuned is not None:
        line = _pair_line(task, ev, top.rung, tuned.rung)
        if line:
            reasons.append(f"prompt ceiling vs fine-tuned: {line}")
    if chosen and tuned is not None and chosen not in (tuned.rung, top.rung if top else None):
        line = _pair_line(task, ev, chosen, tuned.rung)
        if line:
            reasons.append(f"chosen vs fine-tuned: {line}")
    if best_prompt is not None and best_prompt.rung == OPTIMIZED:
        hand = [s for s in statuses if s.kind == "prompt" and s.primary and s.rung != OPTIMIZED]
        best_hand = max(hand, key=lambda s: s.primary.value, default=None)  # type: ignore[union-attr]
        reasons.append(
            f"prompt ceiling: {OPTIMIZED} (a prompt search on a dev split of train) reaches "
            f"{primary} {_fmt(best_prompt.primary)}"
            + (
                f"; the best hand-set prompt, {best_hand.rung}: {_fmt(best_hand.primary)}"
                if best_hand
                else ""
            )
        )
    slope = curve_slope(ev.training.curve) if ev.training else None
    if slope is not None:
        reasons.append(
            f"learning curve: more data would add about {100 * slope:+.1f} points of {primary} per doubling"
        )
    for e in ev.excluded:
        reasons.append(f"left out: {e.rung}: {e.detail}; measure it with `{e.command}`")
    flips = _flips(task, ev, statuses, best_prompt, tuned, verdict, chosen)
    return Decision(
        verdict=verdict,
        headline=headline,
        chosen=chosen,
        reasons=reasons,
        rungs=statuses,
        signals=_signal_verdicts(task, ev),
        gates=gates,
        break_even=_break_even(task, ev),
        curve_slope=slope,
        flips=flips,
        ceiling=top.rung if top else None,
    )


def _flips(
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
    if verdict != "prompting suffices" and best_prompt and best_prompt.primary and goal is not None:
        out.append(
            f"with {target} <= {best_prompt.primary.lo:.3f} (the lower bound of {best_prompt.rung}), "
            "prompting would suffice"
        )
    if verdict in ("fine-tune", "prompting suffices") and goal is not None and chosen:
        pick = next((s for s in statuses if s.rung == chosen), None)
        if pick and pick.primary:
            out.append(
                f"raising {target} above {pick.primary.hi:.3f} (the upper bound of {pick.rung}) "
                f"would rule out {pick.rung}"
            )
    for rung, per_day in _break_even(task, ev).items():
        if per_day is None:
            out.append(f"the fine-tuned model never becomes cheaper than {rung} at these prices")
        else:
            side = "above" if task.traffic.requests_per_day < per_day else "at and above"
            amount = f"{per_day:,.1f}" if per_day < 10 else f"{per_day:,.0f}"
            when = "from 1 request/day up" if per_day <= 1 else f"{side} {amount} requests/day"
            out.append(
                f"{when} the fine-tuned model is cheaper than {rung} "
                f"(training amortized over {task.traffic.months} months; now {task.traffic.requests_per_day:,.0f}/day)"
            )
    if verdict == "nothing meets" and goal is not None:
        out.extend(_what_would_help(task, ev, tuned, target, goal))
    remote = next((s for s in statuses if s.kind == "remote"), None)
    if remote and tuned and remote.cost_per_month and tuned.cost_per_month:
        ratio = remote.cost_per_month / tuned.cost_per_month
        if ratio > 1:
            out.append(
                f"remote prices would have to fall {ratio:,.1f}x to match the fine-tuned model's cost"
            )
    return out


def _what_would_help(
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
