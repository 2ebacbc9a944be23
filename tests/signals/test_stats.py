"""Intervals and paired tests against published values and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunegate.signals.stats import (
    bootstrap_ci,
    bootstrap_weighted_ci,
    compare_binary,
    compare_continuous,
    mcnemar,
    paired_permutation_p,
    quantile,
    target_status,
    unpaired_quantile_diff,
    wilson,
)


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_wilson_matches_published_and_formula() -> None:
    p, lo, hi = wilson(8, 10)
    assert p == 0.8
    assert lo == pytest.approx(0.4902, abs=1e-4)  # published Wilson 95% CI for 8/10
    assert hi == pytest.approx(0.9433, abs=1e-4)
    for k, n in [(0, 10), (3, 7), (45, 200), (200, 200)]:
        _, lo, hi = wilson(k, n)
        assert (lo, hi) == pytest.approx(wilson_by_hand(k, n), abs=1e-9)
    assert wilson(0, 10)[2] == pytest.approx(0.2775, abs=1e-4)


def test_wilson_rejects_empty_and_impossible_counts() -> None:
    with pytest.raises(ValueError):
        wilson(0, 0)
    with pytest.raises(ValueError):
        wilson(11, 10)


def test_bootstrap_mean_is_seeded_and_covers_the_mean() -> None:
    x = np.arange(1, 21, dtype=float)
    point, lo, hi = bootstrap_ci(x)
    assert point == 10.5
    assert 7.0 < lo < 10.5 < hi < 14.0
    assert bootstrap_ci(x) == (point, lo, hi)
    assert bootstrap_ci(x, seed=1) != (point, lo, hi)
    assert bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0, 3.0)
    assert bootstrap_ci([7.0]) == (7.0, 7.0, 7.0)


def test_bootstrap_quantile_and_item_statistics() -> None:
    x = np.arange(1, 101, dtype=float)
    point, lo, hi = bootstrap_ci(x, quantile(0.95))
    assert point == pytest.approx(95.05)
    assert lo < point <= hi <= 100
    # a weighted mean through the item-weight bootstrap agrees with the plain bootstrap's spread
    p, lo2, hi2 = bootstrap_weighted_ci(100, lambda w: (w @ x) / w.sum(axis=1))
    assert p == 50.5 and lo2 < 50.5 < hi2
    _, lo3, hi3 = bootstrap_ci(x)
    assert abs((hi2 - lo2) - (hi3 - lo3)) < 3


def test_mcnemar_exact_on_a_constructed_table() -> None:
    # 10 pairs where only A passes, 2 where only B passes, 30 where both pass.
    a = [True] * 10 + [False] * 2 + [True] * 30
    b = [False] * 10 + [True] * 2 + [True] * 30
    res = mcnemar(a, b)
    assert (res.b, res.c, res.exact) == (10, 2, True)
    # two-sided exact binomial: 2 * P(X <= 2 | n=12, p=1/2) = 2 * (1 + 12 + 66) / 4096
    assert res.p_value == pytest.approx(158 / 4096)


def test_mcnemar_chi_square_for_many_discordant_pairs() -> None:
    a = [True] * 30 + [False] * 10
    b = [False] * 30 + [True] * 10
    res = mcnemar(a, b)
    assert not res.exact
    stat = (abs(30 - 10) - 1) ** 2 / 40
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(stat / 2)))
    assert mcnemar([True, False], [True, False]).p_value == 1.0


def test_paired_permutation_is_exact_for_small_samples() -> None:
    # all five differences +1: of the 32 sign flips, only all-plus and all-minus are as extreme
    assert paired_permutation_p([0.0] * 5, [1.0] * 5) == pytest.approx(2 / 32)
    assert paired_permutation_p([1.0, 2.0], [1.0, 2.0]) == 1.0


def test_compare_calls_a_difference_real_only_when_the_test_says_so() -> None:
    a = [False] * 15 + [True] * 25
    b = [True] * 15 + [True] * 25
    c = compare_binary("knowledge.accuracy", "zero", "tuned", a, b, higher_is_better=True)
    assert c.real and c.better == "tuned" and c.diff == pytest.approx(15 / 40)
    assert c.lo > 0 and c.test == "mcnemar_exact"
    small = compare_binary("x", "zero", "tuned", [False, True], [True, True], higher_is_better=True)
    assert not small.real and small.better is None and small.p_value == 1.0
    rng = np.random.default_rng(0)
    base = rng.normal(size=40)
    worse = compare_continuous("latency", "a", "b", base, base + 1, higher_is_better=False)
    assert worse.real and worse.better == "a" and worse.diff == pytest.approx(1.0)


def test_unpaired_quantile_difference() -> None:
    fast, slow = np.arange(100, 120, dtype=float), np.arange(300, 320, dtype=float)
    d, lo, hi, p = unpaired_quantile_diff(fast, slow, 0.95)
    assert d == pytest.approx(200.0) and lo > 0 and p < 0.05
    d, lo, hi, p = unpaired_quantile_diff(fast, fast, 0.5)
    assert d == 0 and lo <= 0 <= hi and p == 1.0


def test_target_status_by_the_ci_rule() -> None:
    assert target_status(0.8, 0.7, 0.9, 0.6, higher_is_better=True) == "meets"
    assert target_status(0.8, 0.7, 0.9, 0.75, higher_is_better=True) == "may meet"
    assert target_status(0.8, 0.7, 0.9, 0.85, higher_is_better=True) == "fails"
    assert target_status(400, 350, 450, 500, higher_is_better=False) == "meets"
    assert target_status(400, 350, 450, 420, higher_is_better=False) == "may meet"
    assert target_status(400, 350, 450, 380, higher_is_better=False) == "fails"
    assert target_status(400, 400, 400, 500, higher_is_better=False, n=1) == "may meet"


def test_holm_adjust_matches_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    from tunegate.signals.stats import holm_adjust

    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 17):  # few calls: statsmodels' Holm runs gc.collect() on each
        for _ in range(3):
            p = rng.uniform(0, 1, n) ** 3
            p[rng.integers(0, n)] = p[0]  # ties
            expected = multipletests(p, method="holm")[1]
            assert np.allclose(holm_adjust(p.tolist()), expected)
    assert holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
