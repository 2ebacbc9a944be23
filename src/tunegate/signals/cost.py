"""Signal 4, cost at scale: what a request costs, and a month of them at the task's traffic.

Tokens per request (input and output; few-shot and retrieval inflate the input). Remote rungs
pay per token (`task.prices.remote_*_per_1m`). Local rungs pay for a machine by the hour
(`task.prices.self_hosted_per_hour`): at full use a request costs $/hour divided by requests
per hour measured in batch mode; `cost.per_month_dedicated` is the honest floor when the
machine stays on (as many machines as the traffic needs, at least one).

The pure helpers (`monthly_cost`, `monthly_cost_curve`, `training_cost`, `break_even_per_day`)
serve the report's plot and the decision's amortization of training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.signals.scores import SignalResult, item_keys, metric_of, scored
from tunegate.signals.stats import bootstrap_ci
from tunegate.spec import Prices, Task

DAYS_PER_MONTH = 365 / 12
HOURS_PER_MONTH = 24 * DAYS_PER_MONTH


@dataclass(frozen=True)
class RequestCost:
    """Dollars per request with its 95% CI, and how it was priced."""

    value: float
    lo: float
    hi: float
    n: int
    basis: str  # "remote tokens" | "self-hosted throughput"


def remote_cost(input_tokens: float, output_tokens: float, prices: Prices) -> float:
    """$ for one remote request of these token counts."""
    return (
        input_tokens * prices.remote_input_per_1m + output_tokens * prices.remote_output_per_1m
    ) / 1e6


def self_hosted_cost(price_per_hour: float, requests_per_s: float) -> float:
    """$ per request on a machine at `price_per_hour` serving `requests_per_s` at full use."""
    if requests_per_s <= 0:
        raise ValueError("requests_per_s must be positive")
    return price_per_hour / (3600.0 * requests_per_s)


def capacity_requests_per_s(outputs: RungOutputs, items: Sequence[ItemOutput]) -> float | None:
    """Measured batch throughput in requests/s: given, or output tok/s / mean output tokens."""
    if outputs.requests_per_s:
        return outputs.requests_per_s
    mean_out = float(np.mean([it.output_tokens for it in items])) if items else 0.0
    if outputs.throughput_tok_s and mean_out > 0:
        return outputs.throughput_tok_s / mean_out
    return None


def request_cost(
    task: Task, outputs: RungOutputs, items: Sequence[ItemOutput]
) -> RequestCost | None:
    """Cost per request of this rung, or None when it cannot be priced (no tokens or throughput).

    Remote: the mean of each item's token price. Local: $/hour over measured requests/hour; its
    interval follows the uncertainty of the mean output length (a request's machine time is taken
    as proportional to its output tokens).
    """
    if not items:
        return None
    ins = np.array([it.input_tokens for it in items], dtype=float)
    outs = np.array([it.output_tokens for it in items], dtype=float)
    if outputs.remote:
        if not (ins.any() or outs.any()):
            return None
        per = [remote_cost(i, o, task.prices) for i, o in zip(ins, outs, strict=True)]
        v, lo, hi = bootstrap_ci(per)
        return RequestCost(v, lo, hi, len(per), "remote tokens")
    rps = capacity_requests_per_s(outputs, items)
    if rps is None:
        return None
    base = self_hosted_cost(task.prices.self_hosted_per_hour, rps)
    mean_out = float(outs.mean())
    per = list(base * outs / mean_out) if mean_out > 0 else [base] * len(items)
    v, lo, hi = bootstrap_ci(per)
    return RequestCost(v, lo, hi, len(per), "self-hosted throughput")


def monthly_cost(
    cost_per_request: float, requests_per_day: float, fixed_per_month: float = 0.0
) -> float:
    """$ per month at a traffic, plus any fixed monthly cost (e.g. amortized training)."""
    return cost_per_request * requests_per_day * DAYS_PER_MONTH + fixed_per_month


def monthly_cost_curve(
    cost_per_request: float, traffic_per_day: Sequence[float], fixed_per_month: float = 0.0
) -> list[float]:
    """`monthly_cost` over a range of traffics (for the cost-vs-traffic plot)."""
    return [monthly_cost(cost_per_request, t, fixed_per_month) for t in traffic_per_day]


def dedicated_monthly_cost(
    price_per_hour: float, capacity_rps: float, requests_per_day: float
) -> float:
    """$ per month for always-on machines: enough of them for the average load, at least one."""
    if capacity_rps <= 0:
        raise ValueError("capacity_rps must be positive")
    machines = max(1, math.ceil(requests_per_day / 86400.0 / capacity_rps))
    return machines * price_per_hour * HOURS_PER_MONTH


def train_price_per_hour(task: Task) -> float:
    """$ per hour of the training machine (defaults to the serving machine's price)."""
    p = task.prices
    return p.train_per_hour if p.train_per_hour is not None else p.self_hosted_per_hour


def training_cost(seconds: float, price_per_hour: float) -> float:
    """$ for a training run of `seconds` on a machine at `price_per_hour`."""
    return max(0.0, seconds) / 3600.0 * price_per_hour


def budget_notes(task: Task, seconds: float, dollars: float) -> tuple[bool, str]:
    """(within the task's `budget`, a note): what a training run of `seconds` costing `dollars`
    exceeds, "within the task's budget", or "" when the task sets no budget."""
    b = task.budget
    over = []
    if b.max_train_minutes is not None and seconds / 60 > b.max_train_minutes:
        over.append(f"over budget.max_train_minutes {b.max_train_minutes:g}")
    if b.max_train_cost is not None and dollars > b.max_train_cost:
        over.append(f"over budget.max_train_cost ${b.max_train_cost:g}")
    if over:
        return False, ", ".join(over)
    if b.max_train_minutes is None and b.max_train_cost is None:
        return True, ""
    return True, "within the task's budget"


def amortized_per_month(training_dollars: float, months: int) -> float:
    """A training cost spread evenly over `months` of serving."""
    return training_dollars / months


def break_even_per_day(
    baseline_per_request: float,
    finetuned_per_request: float,
    training_dollars: float,
    months: int,
) -> float | None:
    """Requests per day above which fine-tuned (per-request cost + training amortized over
    `months`) costs less per month than the baseline (remote or few-shot); None if never.

    Solves r * D * c_ft + T / months = r * D * c_base for r (D = days per month).
    """
    saving = baseline_per_request - finetuned_per_request
    if saving <= 0:
        return None
    return amortized_per_month(training_dollars, months) / (DAYS_PER_MONTH * saving)


def measure(task: Task, outputs: RungOutputs, items: Sequence[ItemOutput]) -> SignalResult:
    """Token and cost figures for one rung's (error-free) items."""
    res = SignalResult()
    keys = item_keys(items)
    ins = [it.input_tokens for it in items]
    outs = [it.output_tokens for it in items]
    if any(ins) or any(outs):
        res.add(
            scored(
                "cost.input_tokens", keys, ins, binary=False, higher_is_better=False, unit="tokens"
            )
        )
        res.add(
            scored(
                "cost.output_tokens",
                keys,
                outs,
                binary=False,
                higher_is_better=False,
                unit="tokens",
            )
        )
    rc = request_cost(task, outputs, items)
    if rc is None:
        return res
    day = task.traffic.requests_per_day

    def dollars(name: str, ci: tuple[float, float, float]) -> None:
        res.metrics.append(metric_of(name, ci, rc.n, higher_is_better=False, unit="$"))

    dollars("cost.per_request", (rc.value, rc.lo, rc.hi))
    dollars("cost.per_1k_requests", (1000 * rc.value, 1000 * rc.lo, 1000 * rc.hi))
    dollars(
        "cost.per_month",
        (monthly_cost(rc.value, day), monthly_cost(rc.lo, day), monthly_cost(rc.hi, day)),
    )
    rps = capacity_requests_per_s(outputs, items)
    if not outputs.remote and rps:
        dedicated = dedicated_monthly_cost(task.prices.self_hosted_per_hour, rps, day)
        dollars("cost.per_month_dedicated", (dedicated, dedicated, dedicated))
        res.metrics.append(metric_of("cost.requests_per_s", (rps, rps, rps), rc.n, unit="req/s"))
    return res
