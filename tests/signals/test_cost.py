"""Cost signal: figures computed by hand for remote and self-hosted rungs, break-even."""

from __future__ import annotations

import pytest

from tunegate.outputs import ItemOutput, RungOutputs
from tunegate.signals import cost
from tunegate.spec import parse_task

TASK = parse_task(
    {
        "name": "t",
        "data": {"train": "x.jsonl"},
        "traffic": {"requests_per_day": 1000, "months": 12},
        "prices": {
            "remote_input_per_1m": 0.15,
            "remote_output_per_1m": 0.60,
            "self_hosted_per_hour": 0.10,
        },
    }
)
DAYS = 365 / 12


def items(n: int, inp: int, out: int) -> list[ItemOutput]:
    return [ItemOutput(str(i), "", "x", input_tokens=inp, output_tokens=out) for i in range(n)]


def by_name(res: cost.SignalResult) -> dict[str, tuple[float, float, float]]:
    return {m.name: (m.value, m.lo, m.hi) for m in res.metrics}


def test_remote_cost_by_hand() -> None:
    its = items(10, 1000, 200)
    m = by_name(cost.measure(TASK, RungOutputs("remote", "big", its, remote=True), its))
    per = (1000 * 0.15 + 200 * 0.60) / 1e6  # $0.00027
    assert m["cost.per_request"][0] == pytest.approx(per)
    assert m["cost.per_1k_requests"][0] == pytest.approx(0.27)
    assert m["cost.per_month"] == pytest.approx((per * 1000 * DAYS,) * 3)
    assert m["cost.input_tokens"][0] == 1000 and m["cost.output_tokens"][0] == 200
    assert "cost.per_month_dedicated" not in m


def test_few_shot_input_inflation_shows_in_the_cost() -> None:
    zero, few = items(5, 100, 20), items(5, 900, 20)
    cz = by_name(cost.measure(TASK, RungOutputs("zero_shot", "m", zero, remote=True), zero))
    cf = by_name(cost.measure(TASK, RungOutputs("few_shot", "m", few, remote=True), few))
    assert cf["cost.per_request"][0] - cz["cost.per_request"][0] == pytest.approx(800 * 0.15 / 1e6)


def test_self_hosted_cost_from_measured_throughput() -> None:
    its = items(4, 300, 50)
    by_rps = by_name(
        cost.measure(TASK, RungOutputs("finetuned", "m", its, requests_per_s=2.0), its)
    )
    by_tok = by_name(
        cost.measure(TASK, RungOutputs("finetuned", "m", its, throughput_tok_s=100.0), its)
    )
    per = 0.10 / (3600 * 2.0)
    assert by_rps["cost.per_request"][0] == pytest.approx(per)
    assert by_tok["cost.per_request"][0] == pytest.approx(per)  # 100 tok/s / 50 tok = 2 req/s
    assert by_rps["cost.per_month"][0] == pytest.approx(per * 1000 * DAYS)
    assert by_rps["cost.per_month_dedicated"][0] == pytest.approx(0.10 * 24 * DAYS)  # one machine
    unpriced = by_name(cost.measure(TASK, RungOutputs("zero_shot", "m", its), its))
    assert "cost.per_request" not in unpriced and "cost.input_tokens" in unpriced


def test_local_interval_follows_output_length() -> None:
    its = [ItemOutput(str(i), "", "x", 100, out) for i, out in enumerate([10, 20, 30, 40, 50, 60])]
    v, lo, hi = by_name(
        cost.measure(TASK, RungOutputs("few_shot", "m", its, requests_per_s=1.0), its)
    )["cost.per_request"]
    assert v == pytest.approx(0.10 / 3600) and lo < v < hi


def test_dedicated_machines_scale_with_traffic() -> None:
    month = 0.10 * 24 * DAYS
    assert cost.dedicated_monthly_cost(0.10, 1.0, 1000) == pytest.approx(month)
    assert cost.dedicated_monthly_cost(0.10, 1.0, 86400 * 2.5) == pytest.approx(3 * month)


def test_monthly_curve_training_cost_and_break_even() -> None:
    assert cost.monthly_cost_curve(0.001, [0, 1000, 2000], fixed_per_month=5) == pytest.approx(
        [5, 0.001 * 1000 * DAYS + 5, 0.001 * 2000 * DAYS + 5]
    )
    train = cost.training_cost(600, 0.10)
    assert train == pytest.approx(0.10 / 6)
    remote_per, ft_per = 0.00027, 0.10 / 7200
    r = cost.break_even_per_day(remote_per, ft_per, train, 12)
    assert r == pytest.approx(train / 12 / (DAYS * (remote_per - ft_per)))
    # at the break-even traffic both monthly costs are equal
    both = cost.monthly_cost(ft_per, r, train / 12), cost.monthly_cost(remote_per, r)
    assert both[0] == pytest.approx(both[1])
    assert cost.break_even_per_day(ft_per, remote_per, train, 12) is None
    assert cost.train_price_per_hour(TASK) == 0.10
