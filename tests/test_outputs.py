"""Metric.format: the one way a figure is quoted in text."""

from __future__ import annotations

from tunegate.outputs import Metric


def test_each_unit_is_quoted_its_own_way() -> None:
    assert Metric("cost.per_month", 1234.5, 1000, 1500.25, 40, unit="$").format() == (
        "$1,234.50 [1,000.00, 1,500.25]"
    )
    assert Metric("latency.p95_ms", 812.4, 700, 1900.6, 40, unit="ms").format(n=True) == (
        "812 ms [700, 1,901]"
    )
    m = Metric("knowledge.accuracy", 0.8125, 0.7, 0.9, 64)
    assert m.format() == "0.812 [0.700, 0.900]"
    assert m.format(n=True) == "0.812 [0.700, 0.900] (n=64)"
