"""Latency signal: percentiles on known lists and the SLO rule."""

from __future__ import annotations

import pytest

from tunegate.outputs import RungOutputs
from tunegate.signals import latency


def test_percentiles_on_known_lists() -> None:
    out = RungOutputs(
        "r", "m", [], latencies_ms=[float(x) for x in range(1, 101)], ttft_ms=[10.0, 20.0, 30.0]
    )
    m = {x.name: x for x in latency.measure(out)}
    assert m["latency.p50_ms"].value == pytest.approx(50.5)
    assert m["latency.p95_ms"].value == pytest.approx(95.05)
    assert m["latency.p95_ms"].lo < 95.05 <= m["latency.p95_ms"].hi <= 100
    assert m["latency.ttft_p50_ms"].value == 20.0 and m["latency.ttft_p50_ms"].n == 3
    assert m["latency.ttft_p95_ms"].value == pytest.approx(29.0)
    assert not m["latency.p95_ms"].higher_is_better
    assert latency.measure(RungOutputs("r", "m", [])) == []


def test_slo_status_meets_may_meet_fails() -> None:
    out = RungOutputs("r", "m", [], latencies_ms=[float(x) for x in range(1, 101)])
    metrics = latency.measure(out)
    hi = next(m.hi for m in metrics if m.name == "latency.p95_ms")
    assert latency.slo_status(metrics, 200) == "meets"
    assert latency.slo_status(metrics, (95.05 + hi) / 2) == "may meet"
    assert latency.slo_status(metrics, 90) == "fails"
    assert latency.slo_status([], 90) is None
