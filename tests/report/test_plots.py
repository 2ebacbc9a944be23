"""Each figure renders to inline SVG from plain records; user text stays inert."""

from __future__ import annotations

import json
import re

import numpy as np

from conftest import datasets_dir
from tunegate.decide import CurvePoint
from tunegate.outputs import Metric
from tunegate.report import plots


def m(name: str, value: float, half: float, unit: str = "") -> Metric:
    return Metric(name, value, value - half, value + half, 40, unit=unit)


def assert_svg(p: plots.Plot | None) -> str:
    assert p is not None
    assert p.svg.startswith("<svg") and p.svg.rstrip().endswith("</svg>")
    assert "<?xml" not in p.svg and "DOCTYPE" not in p.svg
    return p.svg


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


def test_confusion_matrix_of_77_banking_labels_keeps_the_top_ones() -> None:
    labels = json.loads((datasets_dir("banking77") / "categories.json").read_text())
    assert len(labels) == 77
    rng = np.random.default_rng(1)
    counts = np.zeros((77, 78), dtype=int)
    for i in range(77):
        counts[i, i] = rng.integers(2, 8)
    # a few labels confused a lot: they must be among the shown ones
    for a, b in ((3, 4), (10, 11), (40, 41)):
        counts[a, b] += 9
    counts[20, 77] += 5  # answers that were not a label
    keep = plots.top_labels(labels, counts, 15)
    assert len(keep) == 15 and {3, 4, 10, 11, 40, 41, 20} <= set(keep)
    svg = assert_svg(plots.confusion_matrix("label", "constrained", labels, counts.tolist(), 15))
    assert "(other 62)" in svg and "(not a label)" in svg
    assert plots.label(labels[3], 22) in svg  # long labels are shortened
    dropped = next(i for i in range(77) if i not in keep)
    assert f">{plots.label(labels[dropped], 22)}</text>" not in svg


def test_user_text_in_a_figure_is_escaped_and_not_mathtext() -> None:
    labels = ["<script>alert(1)</script>", "costs $5 or $6", "plain"]
    counts = [[3, 1, 0, 0], [0, 2, 0, 1], [0, 0, 4, 0]]
    svg = assert_svg(plots.confusion_matrix("field", "r<b>", labels, counts))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "costs $5 or $6" in svg  # shown literally, not parsed as math


def test_several_figures_have_distinct_ids() -> None:
    counts = [[3, 1, 0], [1, 2, 0]]
    a = assert_svg(plots.confusion_matrix("f", "r", ["x", "y"], counts, key="confusion-0"))
    b = assert_svg(plots.confusion_matrix("f", "r", ["x", "y"], counts, key="confusion-1"))
    ids_a = set(re.findall(r'id="([^"]+)"', a))
    ids_b = set(re.findall(r'id="([^"]+)"', b))
    assert ids_a and not (ids_a & ids_b)
    refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', a))
    assert refs and refs <= ids_a  # every internal reference still resolves
