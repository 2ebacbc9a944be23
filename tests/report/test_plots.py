"""Each figure renders to inline SVG from plain records; user text stays inert."""

from __future__ import annotations

import numpy as np

from report_store import assert_svg
from tunegate.decide import CurvePoint
from tunegate.outputs import Metric
from tunegate.report import plots


def m(name: str, value: float, half: float, unit: str = "") -> Metric:
    return Metric(name, value, value - half, value + half, 40, unit=unit)


def test_signal_bars_show_values_targets_and_unmeasured() -> None:
    panels = [
        plots.Panel(
            "knowledge",
            [
                plots.Bar("zero_shot", "prompt", m("k", 0.31, 0.05)),
                plots.Bar("finetuned", "finetuned", m("k", 0.88, 0.03)),
            ],  # fmt: skip
            target=0.85,
        ),
        plots.Panel(
            "cost per month",
            [
                plots.Bar("zero_shot", "prompt", m("c", 1.5, 0.1, "$")),
                plots.Bar("finetuned", "finetuned", None),
            ],  # fmt: skip
            unit="$",
        ),
        plots.Panel("style similarity", [plots.Bar("zero_shot", "prompt", None)] * 2),  # dropped
    ]
    svg = assert_svg(plots.signal_bars(panels))
    for text in ("zero_shot", "finetuned", "0.31", "0.88", "$1.50", "not measured", "target 0.85"):
        assert text in svg, text
    assert "style similarity" not in svg
    assert plots.signal_bars([panels[2]]) is None


def test_cost_vs_traffic_marks_traffic_break_even_and_budget() -> None:
    lines = [
        plots.CostLine("few_shot", "prompt", 4e-5),
        plots.CostLine("finetuned", "finetuned", 1e-5, fixed_per_month=3.0),
        plots.CostLine("remote", "remote", 2e-4),
    ]
    svg = assert_svg(
        plots.cost_vs_traffic(lines, 2000, {"remote": 523.0, "few_shot": None}, 50.0, 73.0)
    )
    for text in ("now: 2,000/day", "break-even vs remote: 523/day", "budget $50/month",
                 "one always-on machine $73/month", "finetuned (+ training amortized)"):  # fmt: skip
        assert text in svg, text
    assert plots.cost_vs_traffic([], 2000, {}) is None


def test_latency_and_loss_and_learning_curves() -> None:
    rng = np.random.default_rng(0)
    svg = assert_svg(
        plots.latency_distributions(
            [
                ("zero_shot", "prompt", list(rng.uniform(800, 1200, 10))),
                ("remote", "remote", list(rng.uniform(300, 900, 12))),
                ("rag", "prompt", []),
            ],  # fmt: skip
            slo_ms=1000,
        )
    )
    assert "zero_shot (n=10)" in svg and "remote (n=12)" in svg and "rag" not in svg
    assert "p95 SLO 1,000 ms" in svg
    assert plots.latency_distributions([("a", "prompt", [])]) is None

    loss = [(s, 2.0 / s**0.5) for s in range(1, 41)]
    svg = assert_svg(plots.loss_curve(loss, [(10, 0.9), (20, 0.7)]))
    assert "train loss" in svg and "validation loss" in svg
    assert plots.loss_curve([], []) is None

    marks = [
        plots.CurveMark(250, CurvePoint(250, 0.6, 0.55, 0.65), 1.1),
        plots.CurveMark(500, CurvePoint(500, 0.7, 0.65, 0.75), 0.9),
        plots.CurveMark(1000, None, 0.8),
    ]
    svg = assert_svg(plots.learning_curve(marks, "knowledge.accuracy", 0.1))
    assert "+10.0 points per doubling" in svg and "best validation loss" in svg
    assert plots.learning_curve([plots.CurveMark(10, None, None)], "x", None) is None
