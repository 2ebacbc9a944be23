"""decide's record: each rung's target statuses, the per-signal verdicts, the gates, and the
`Decision` that carries them, with the one way a figure is quoted in a reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from tunegate.ladder.result import RungResult
from tunegate.outputs import Metric
from tunegate.signals import primary_metric, target_metric
from tunegate.signals.stats import target_status
from tunegate.spec import Task

Verdict = Literal["prompting suffices", "fine-tune", "not ready", "remote only", "nothing meets"]
Status = Literal["meets", "may meet", "fails", "not measured"]
RANK = {"meets": 0, "may meet": 1, "not measured": 1, "fails": 2}


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


def fmt(m: Metric | None) -> str:
    """A figure as the reasons quote it: value, interval and n."""
    return "not measured" if m is None else m.format(n=True)


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
    ranks = [RANK[s] for s in statuses.values()]
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
