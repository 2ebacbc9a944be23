"""From measured evidence to a recommendation: is prompting enough, or must we fine-tune?

Pure functions: `decide(task, evidence)` reads what check, diagnose and train stored (gathered
into an `Evidence` by `tunegate.report.gather`) and returns a `Decision` whose every reason
cites its numbers. A rung *meets* a target when its confidence interval does, *may meet* when
only the point estimate does (see `signals.stats.target_status`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from tunegate.outputs import Metric
from tunegate.signals import TARGET_METRICS, primary_metric
from tunegate.signals.cost import (
    break_even_per_day,
    budget_notes,
    train_price_per_hour,
    training_cost,
)
from tunegate.signals.stats import Comparison, target_status
from tunegate.spec import Task

Verdict = Literal["prompting suffices", "fine-tune", "not ready", "remote only", "nothing meets"]
Status = Literal["meets", "may meet", "fails", "not measured"]
MIN_TRAIN_EXAMPLES = 100
OPTIMIZED = "optimized"  # the searched prompt: the prompt ceiling when it ran
_RANK = {"meets": 0, "may meet": 1, "not measured": 1, "fails": 2}


@dataclass
class RungResult:
    """One rung as diagnose measured it; `kind` is prompt, finetuned or remote."""

    rung: str
    kind: Literal["prompt", "finetuned", "remote"]
    metrics: list[Metric]
    skipped: str | None = None

    def get(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)


@dataclass
class Readiness:
    """What `tunegate check` concluded: its verdict, the train size and its problems."""

    verdict: Literal["ok", "warn", "fail"]
    n_train: int
    problems: list[str] = field(default_factory=list)
    train_seconds: float | None = None  # check's estimate of one training run here


@dataclass
class CurvePoint:
    """The fine-tuned rung's primary metric when trained on `n_train` examples."""

    n_train: int
    value: float
    lo: float
    hi: float


@dataclass
class Training:
    """The training run behind the fine-tuned rung and the learning curve, if any."""

    seconds: float
    curve: list[CurvePoint] = field(default_factory=list)


@dataclass
class Evidence:
    rungs: list[RungResult]
    comparisons: list[Comparison] = field(default_factory=list)
    readiness: Readiness | None = None
    training: Training | None = None


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
        name = TARGET_METRICS.get(target, {}).get(task.output.type)
        m = r.get(name) if name else None
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
    cost, p95 = r.get("cost.per_month"), r.get("latency.p95_ms")
    return RungStatus(
        rung=r.rung,
        kind=r.kind,
        overall=overall,
        targets=statuses,
        cost_per_month=cost.value if cost else None,
        p95_ms=p95.value if p95 else None,
        primary=r.get(primary_metric(task)),
    )


def prompt_ceiling(statuses: list[RungStatus]) -> RungStatus | None:
    """How far prompting gets: the optimized rung when it ran (its prompt was chosen on a dev
    split, so its test figure is not picked by the test items), else the best prompt rung."""
    measured = [s for s in statuses if s.kind == "prompt" and s.primary]
    searched = next((s for s in measured if s.rung == OPTIMIZED), None)
    if searched is not None:
        return searched
    return max(measured, key=lambda s: s.primary.value, default=None)  # type: ignore[union-attr]


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
    prompt = [r for r in ev.rungs if r.kind == "prompt" and not r.skipped]
    tuned = [r for r in ev.rungs if r.kind == "finetuned" and not r.skipped]
    out = []
    for signal, name, target, default in plan:
        goal = getattr(task.targets, target, None)
        goal = default if goal is None else goal
        measured = [(r, r.get(name)) for r in prompt if r.get(name) is not None]
        if not measured:
            out.append(SignalVerdict(signal, "not measured", f"{name}: no prompt rung measured it"))
            continue
        higher = measured[0][1].higher_is_better  # type: ignore[union-attr]
        best_r, best = max(measured, key=lambda rm: rm[1].value if higher else -rm[1].value)  # type: ignore[union-attr]
        ceiling = next((rm for rm in measured if rm[0].rung == OPTIMIZED), None)
        if signal == "knowledge" and ceiling is not None:
            best_r, best = ceiling  # chosen on dev, not on these test items: the fair ceiling
        assert best is not None
        label = "prompt ceiling" if best_r.rung == OPTIMIZED else "best prompt rung"
        figure = f"{label} {best_r.rung}: {name} {_fmt(best)}"
        tm = next((t.get(name) for t in tuned if t.get(name) is not None), None)
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
    m = r.get("cost.per_request")
    return m.value if m else None


def _break_even(task: Task, ev: Evidence) -> dict[str, float | None]:
    tuned = next((r for r in ev.rungs if r.kind == "finetuned" and not r.skipped), None)
    if tuned is None or ev.training is None or _cost_per_request(tuned) is None:
        return {}
    dollars = training_cost(ev.training.seconds, train_price_per_hour(task))
    out: dict[str, float | None] = {}
    for r in ev.rungs:
        base = _cost_per_request(r)
        if r is tuned or r.skipped or base is None:
            continue
        out[r.rung] = break_even_per_day(
            base, _cost_per_request(tuned) or 0.0, dollars, task.traffic.months
        )
    return out


def decide(task: Task, ev: Evidence) -> Decision:
    """The recommendation, with per-signal verdicts, gates, break-even and what would flip it."""
    statuses = [rung_status(task, r) for r in ev.rungs if not r.skipped]
    gates = _gates(task, ev)
    data_gate = next(g for g in gates if g.name == "data")
    order = sorted(
        statuses,
        key=lambda s: (
            _RANK[s.overall],
            math.inf if s.cost_per_month is None else s.cost_per_month,
        ),
    )
    meeting = [s for s in order if s.overall == "meets"] or [
        s for s in order if s.overall == "may meet"
    ]
    sure = bool(meeting) and meeting[0].overall == "meets"
    primary = primary_metric(task)
    reasons: list[str] = []
    chosen: str | None = None
    best_prompt = prompt_ceiling(statuses)
    tuned = next((s for s in statuses if s.kind == "finetuned"), None)
    if meeting and meeting[0].kind == "prompt":
        verdict: Verdict = "prompting suffices"
        chosen = meeting[0].rung
        headline = f"Prompting is enough: {chosen} {'meets' if sure else 'may meet'} every target at the lowest cost."
    elif meeting and meeting[0].kind == "finetuned":
        verdict, chosen = "fine-tune", meeting[0].rung
        headline = f"Fine-tune: no prompt rung meets the targets; the fine-tuned model {'does' if sure else 'may'}."
    elif data_gate.ok is False:
        verdict = "not ready"
        headline = "Not ready: no prompt rung meets the targets, and the data is not ready to fine-tune on."
        reasons.append(f"data gate: {data_gate.detail}")
    elif meeting and meeting[0].kind == "remote":
        verdict, chosen = "remote only", meeting[0].rung
        headline = "Only the remote model meets the targets: use it now; distil it into a fine-tuned small model to cut cost."
    elif tuned is None and statuses:
        verdict = "fine-tune"
        headline = "Fine-tune: prompting does not reach the targets and the data is ready; run `tunegate train`."
    else:
        verdict = "nothing meets"
        headline = "Nothing meets the targets yet: see the closest rung's gaps below."
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
    if not sure and meeting:
        reasons.append(
            f"{meeting[0].rung} only may meet: its interval straddles a target; more test items would settle it"
        )
    if best_prompt is not None and best_prompt.rung == OPTIMIZED:
        hand = [s for s in statuses if s.kind == "prompt" and s.primary and s.rung != OPTIMIZED]
        top = max(hand, key=lambda s: s.primary.value, default=None)  # type: ignore[union-attr]
        reasons.append(
            f"prompt ceiling: {OPTIMIZED} (a prompt search on a dev split of train) reaches "
            f"{primary} {_fmt(best_prompt.primary)}"
            + (f"; the best hand-set prompt, {top.rung}: {_fmt(top.primary)}" if top else "")
        )
    slope = curve_slope(ev.training.curve) if ev.training else None
    if slope is not None:
        reasons.append(
            f"learning curve: more data would add about {100 * slope:+.1f} points of {primary} per doubling"
        )
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
    remote = next((s for s in statuses if s.kind == "remote"), None)
    if remote and tuned and remote.cost_per_month and tuned.cost_per_month:
        ratio = remote.cost_per_month / tuned.cost_per_month
        if ratio > 1:
            out.append(
                f"remote prices would have to fall {ratio:,.1f}x to match the fine-tuned model's cost"
            )
    return out
