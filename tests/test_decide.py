"""The decision on constructed evidence: one test per branch, each reason citing its numbers."""

from __future__ import annotations

import pytest

from tunegate.decide import (
    CurvePoint,
    Evidence,
    Readiness,
    Training,
    curve_slope,
    decide,
)
from tunegate.ladder.result import RungResult
from tunegate.outputs import Metric, RungOutputs
from tunegate.signals.stats import Comparison
from tunegate.spec import parse_task

TASK = parse_task(
    {
        "name": "t",
        "inputs": ["text"],
        "prompt": {"user": "{text}"},
        "output": {"type": "label", "field": "label"},
        "data": {"train": "x"},
        "targets": {"min_accuracy": 0.8, "max_p95_latency_ms": 1000, "max_cost_per_month": 50},
        "traffic": {"requests_per_day": 10000, "months": 12},
        "prices": {"self_hosted_per_hour": 1.0},
    }
)
READY = Readiness("ok", 2000)


def m(name: str, value: float, half: float = 0.03, n: int = 300, unit: str = "") -> Metric:
    higher = not (name.startswith(("cost.", "latency.")))
    return Metric(name, value, value - half, value + half, n, higher_is_better=higher, unit=unit)


def rung(
    name: str, kind: str, acc: float, cost: float, p95: float = 300, per_req: float | None = None
) -> RungResult:
    metrics = [
        m("knowledge.accuracy", acc),
        m("format.valid_label", 1.0, 0.0),
        m("cost.per_month", cost, cost * 0.05, unit="$"),
        m("cost.per_request", per_req if per_req is not None else cost / 304_000, 0.0, unit="$"),
        m("latency.p95_ms", p95, 20, unit="ms"),
    ]
    return RungResult(name, "", RungOutputs(name, "m", []), [], metrics=metrics, kind=kind)  # type: ignore[arg-type]


def test_prompting_suffices_picks_cheapest_meeting_prompt_rung() -> None:
    ev = Evidence(
        rungs=[
            rung("zero_shot", "prompt", 0.5, 5),
            rung("few_shot", "prompt", 0.9, 12),
            rung("remote", "remote", 0.95, 40),
        ],
        readiness=READY,
    )
    d = decide(TASK, ev)
    assert d.verdict == "prompting suffices" and d.chosen == "few_shot"
    assert any("few_shot: knowledge.accuracy 0.900 [0.870, 0.930] (n=300)" in r for r in d.reasons)
    knowledge = next(s for s in d.signals if s.signal == "knowledge")
    assert knowledge.verdict == "prompting suffices"


def test_fine_tune_when_only_the_adapter_meets() -> None:
    ev = Evidence(
        rungs=[
            rung("constrained", "prompt", 0.3, 5, per_req=2e-5),
            rung("finetuned", "finetuned", 0.88, 6, per_req=1e-5),
            rung("remote", "remote", 0.9, 400, per_req=1.3e-3),
        ],
        comparisons=[
            Comparison(
                "knowledge.accuracy",
                "constrained",
                "finetuned",
                300,
                0.3,
                0.88,
                0.58,
                0.5,
                0.65,
                1e-9,
                "mcnemar",
                True,
                "finetuned",
            )
        ],
        readiness=READY,
        training=Training(
            seconds=600,
            curve=[
                CurvePoint(500, 0.7, 0.65, 0.75),
                CurvePoint(1000, 0.8, 0.75, 0.85),
                CurvePoint(2000, 0.88, 0.84, 0.92),
            ],
        ),
    )
    d = decide(TASK, ev)
    assert d.verdict == "fine-tune" and d.chosen == "finetuned"
    assert next(s for s in d.signals if s.signal == "knowledge").verdict == "fine-tuning needed"
    assert d.curve_slope is not None and abs(d.curve_slope - 0.09) < 1e-9
    assert any("per doubling" in r for r in d.reasons)
    # remote costs more per request: fine-tuning pays off above a finite traffic
    assert d.break_even["remote"] is not None and d.break_even["remote"] < 10_000
    assert any("prompting would suffice" in f for f in d.flips)
    assert any(g.name == "training cycle" and "$0.17" in g.detail for g in d.gates)


def test_not_ready_when_data_fails_and_no_prompt_rung_meets() -> None:
    ev = Evidence(
        rungs=[rung("zero_shot", "prompt", 0.2, 5)],
        readiness=Readiness("fail", 40, ["12 targets are not valid JSON"]),
    )
    d = decide(TASK, ev)
    assert d.verdict == "not ready" and d.chosen is None
    gate = next(g for g in d.gates if g.name == "data")
    assert gate.ok is False and "40 training examples" in gate.detail
    assert "not valid JSON" in gate.detail


def test_too_little_data_is_not_ready_even_when_clean() -> None:
    ev = Evidence(rungs=[rung("zero_shot", "prompt", 0.2, 5)], readiness=Readiness("ok", 30))
    assert decide(TASK, ev).verdict == "not ready"


def test_remote_only() -> None:
    ev = Evidence(
        rungs=[
            rung("zero_shot", "prompt", 0.3, 5),
            rung("finetuned", "finetuned", 0.6, 6),
            rung("remote", "remote", 0.92, 45),
        ],
        readiness=READY,
        training=Training(seconds=600),
    )
    d = decide(TASK, ev)
    assert d.verdict == "remote only" and d.chosen == "remote"
    assert any("remote prices would have to fall" in f for f in d.flips)


def test_nothing_meets() -> None:
    ev = Evidence(
        rungs=[
            rung("zero_shot", "prompt", 0.3, 5),
            rung("finetuned", "finetuned", 0.5, 6),
            rung("remote", "remote", 0.95, 900),  # accurate but over the cost target
        ],
        readiness=READY,
        training=Training(seconds=600),
    )
    d = decide(TASK, ev)
    assert d.verdict == "nothing meets" and d.chosen is None
    remote = next(s for s in d.rungs if s.rung == "remote")
    assert remote.targets["max_cost_per_month"] == "fails"


def test_untrained_with_ready_data_recommends_training() -> None:
    ev = Evidence(rungs=[rung("zero_shot", "prompt", 0.3, 5)], readiness=READY)
    d = decide(TASK, ev)
    assert d.verdict == "fine-tune" and d.chosen is None
    assert "tunegate train" in d.headline


def test_may_meet_when_interval_straddles_target() -> None:
    ev = Evidence(rungs=[rung("few_shot", "prompt", 0.81, 12)], readiness=READY)
    d = decide(TASK, ev)
    assert d.verdict == "prompting suffices"
    assert d.rungs[0].overall == "may meet"
    assert any("only may meet" in r for r in d.reasons)


def test_curve_slope_needs_two_sizes() -> None:
    assert curve_slope([CurvePoint(100, 0.5, 0.4, 0.6)]) is None
    slope = curve_slope([CurvePoint(100, 0.5, 0.4, 0.6), CurvePoint(200, 0.6, 0.5, 0.7)])
    assert slope is not None and abs(slope - 0.1) < 1e-9


def test_raising_the_target_past_the_chosen_rung_is_named_as_a_flip() -> None:
    ev = Evidence(
        rungs=[
            rung("zero_shot", "prompt", 0.5, 5),
            rung("finetuned", "finetuned", 0.9, 6),
        ],
        readiness=READY,
    )
    d = decide(TASK, ev)
    assert d.chosen == "finetuned"
    assert (
        "raising min_accuracy above 0.930 (the upper bound of finetuned) would rule out finetuned"
        in d.flips
    )
    assert not any("rule out zero_shot" in f for f in d.flips)


def test_the_optimized_rung_is_the_prompt_ceiling_when_present() -> None:
    """The searched prompt (chosen on dev) stands for prompting, even when a hand-set rung
    happens to score higher on the test items; without it, the best prompt rung does."""
    hand = rung("few_shot", "prompt", 0.62, 12)
    searched = rung("optimized", "prompt", 0.60, 12)
    tuned = rung("finetuned", "finetuned", 0.9, 8)
    d = decide(TASK, Evidence(rungs=[hand, searched, tuned], readiness=READY))
    assert d.verdict == "fine-tune"
    knowledge = next(s for s in d.signals if s.signal == "knowledge")
    assert knowledge.figure.startswith("prompt ceiling optimized: knowledge.accuracy 0.600")
    assert any(
        r.startswith("prompt ceiling: optimized") and "few_shot: 0.620" in r for r in d.reasons
    )
    assert any("with min_accuracy <= 0.570 (the lower bound of optimized)" in f for f in d.flips)
    d = decide(TASK, Evidence(rungs=[hand, tuned], readiness=READY))
    knowledge = next(s for s in d.signals if s.signal == "knowledge")
    assert knowledge.figure.startswith("best prompt rung few_shot")
    assert any("the lower bound of few_shot" in f for f in d.flips)


@pytest.mark.parametrize(
    ("train_seconds", "said"),
    [
        # $0.017 at $1/h, amortized over 12 months: cheaper at any traffic, no "above 0 requests/day"
        (60, "from 1 request/day up the fine-tuned model is cheaper than constrained"),
        # ten times that: 5.07 requests/day, not rounded to 5 (nor 1.4 to "1 requests/day")
        (600, "at and above 5.1 requests/day the fine-tuned model is cheaper than constrained"),
    ],
)
def test_break_even_is_said_plainly(train_seconds: float, said: str) -> None:
    ev = Evidence(
        rungs=[
            rung("constrained", "prompt", 0.4, 30, per_req=1e-4),
            rung("finetuned", "finetuned", 0.6, 10, per_req=1e-5),
        ],
        readiness=READY,
        training=Training(seconds=train_seconds),
    )
    flips = decide(TASK, ev).flips
    assert any(f.startswith(said) for f in flips), flips


def test_when_a_prompt_rung_and_the_adapter_both_meet_the_headline_says_both() -> None:
    """The cheapest that meets is chosen; the headline never says no prompt rung meets."""
    ev = Evidence(
        rungs=[
            rung("few_shot_constrained", "prompt", 0.93, 40),
            rung("finetuned", "finetuned", 0.90, 8),
        ],
        readiness=READY,
    )
    d = decide(TASK, ev)
    assert d.verdict == "fine-tune" and d.chosen == "finetuned"
    assert "no prompt rung meets" not in d.headline
    assert "both few_shot_constrained and the fine-tuned model meet" in d.headline
    assert d.ceiling == "few_shot_constrained"


def test_min_accuracy_is_judged_on_the_named_primary_metric() -> None:
    """A task that names its primary metric is held to `min_accuracy` on that same figure."""
    raw = TASK.model_dump(by_alias=True)
    raw["output"].update(type="json", primary_metric="knowledge.pair_f1", schema={"type": "object"})
    task = parse_task({k: v for k, v in raw.items() if v is not None})
    r = RungResult(
        "constrained", "", RungOutputs("constrained", "m", []), [],
        metrics=[m("knowledge.pair_f1", 0.9), m("knowledge.field_accuracy", 0.2)],
    )  # fmt: skip
    d = decide(task, Evidence(rungs=[r], readiness=READY))
    assert d.rungs[0].targets["min_accuracy"] == "meets"


def test_a_ceiling_that_fails_only_on_latency_is_named_with_that_target() -> None:
    """banking77 as measured (docs/benchmarks.md): the few-shot ceiling is the more accurate but
    misses the p95 target; the flip names the p95, the reasons name the ceiling, and the
    break-even traffic is one line for every prompt rung."""
    ev = Evidence(
        rungs=[
            rung("zero_shot", "prompt", 0.02, 7, p95=2600, per_req=2e-5),
            rung("few_shot_fixed", "prompt", 0.02, 7, p95=2100, per_req=2e-5),
            rung("constrained", "prompt", 0.02, 5, p95=1100, per_req=1.5e-5),
            rung("few_shot_constrained", "prompt", 0.93, 12, p95=2270, per_req=4e-5),
            rung("finetuned", "finetuned", 0.90, 1, p95=480, per_req=3e-6),
        ],
        readiness=READY,
        training=Training(seconds=1200),
    )
    d = decide(TASK, ev)
    assert d.verdict == "fine-tune" and d.ceiling == "few_shot_constrained"
    assert any(r.startswith("few_shot_constrained: knowledge.accuracy 0.930") for r in d.reasons)
    flip = next(f for f in d.flips if "prompting would suffice" in f)
    assert flip.startswith("with max_p95_latency_ms >= 2,290 (the upper bound of few_shot_")
    assert "min_accuracy" not in flip
    cheaper = [f for f in d.flips if "is cheaper than" in f]
    assert len(cheaper) == 1 and all(r in cheaper[0] for r in ("zero_shot", "few_shot_constrained"))
