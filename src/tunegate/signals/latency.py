"""Signal 5, latency: how long a user waits, per request, against the task's SLO.

p50 and p95 of total latency and of time to first token, from requests timed one at a time
(`RungOutputs.latencies_ms`, `ttft_ms`), each with a seeded bootstrap interval. A target is
met when the interval's upper bound is within it, may be met when only the point estimate is.
"""

from __future__ import annotations

from collections.abc import Sequence

from tunegate.outputs import Metric, RungOutputs
from tunegate.signals.scores import metric_of
from tunegate.signals.stats import Status, bootstrap_ci, quantile, target_status

QUANTILES = {"p50": 0.50, "p95": 0.95}


def percentile_metric(name: str, values: Sequence[float], q: float) -> Metric:
    """The q-quantile of `values` (ms) with its bootstrap interval."""
    return metric_of(
        name, bootstrap_ci(values, quantile(q)), len(values), higher_is_better=False, unit="ms"
    )


def measure(outputs: RungOutputs) -> list[Metric]:
    """latency.p50_ms, latency.p95_ms, latency.ttft_p50_ms, latency.ttft_p95_ms (those timed)."""
    out = []
    for label, q in QUANTILES.items():
        if outputs.latencies_ms:
            out.append(percentile_metric(f"latency.{label}_ms", outputs.latencies_ms, q))
    for label, q in QUANTILES.items():
        if outputs.ttft_ms:
            out.append(percentile_metric(f"latency.ttft_{label}_ms", outputs.ttft_ms, q))
    return out


def slo_status(metrics: Sequence[Metric], max_p95_ms: float) -> Status | None:
    """meets / may meet / fails for the p95 target; None when latency was not timed."""
    for m in metrics:
        if m.name == "latency.p95_ms":
            return target_status(m.value, m.lo, m.hi, max_p95_ms, higher_is_better=False, n=m.n)
    return None
