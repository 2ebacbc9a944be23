"""Confidence intervals and paired tests: every figure gets an interval, every rung-vs-rung
difference a test, so a difference is called real only when the data support it.

Proportions use the Wilson interval; means and quantiles a seeded percentile bootstrap;
paired pass/fail outcomes McNemar's test (exact binomial when few pairs disagree); paired
continuous scores a sign-flip permutation test with a bootstrap interval of the mean difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np

CONFIDENCE = 0.95
N_RESAMPLES = 2000
SEED = 0
EXACT_BELOW = 25  # McNemar: exact binomial test when discordant pairs are fewer than this

Status = Literal["meets", "may meet", "fails"]
Values = Sequence[float] | np.ndarray


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Proportion k/n with its Wilson score interval: (p, lo, hi)."""
    from scipy.stats import binomtest

    if n <= 0:
        raise ValueError("wilson interval needs n > 0")
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is outside 0..{n}")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return k / n, float(ci.low), float(ci.high)


def bootstrap_ci(
    values: Values,
    statistic: Callable[..., Any] = np.mean,
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float, float]:
    """A statistic of `values` with its seeded percentile-bootstrap interval: (point, lo, hi).

    `statistic(x, axis=...)` must be vectorized like numpy's (np.mean, np.std, `quantile(q)`).
    With a single value the interval collapses to it (n=1 says how little that means).
    """
    from scipy.stats import bootstrap

    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("bootstrap needs at least one value")
    point = float(statistic(x, axis=0))
    if x.size == 1 or np.all(x == x[0]):
        return point, point, point
    res = bootstrap(
        (x,),
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    ci = res.confidence_interval
    return point, float(min(ci.low, point)), float(max(ci.high, point))


def quantile(q: float) -> Callable[..., Any]:
    """A vectorized statistic for `bootstrap_ci`: the q-quantile (linear interpolation)."""

    def stat(x: np.ndarray, axis: int = -1) -> Any:
        return np.quantile(x, q, axis=axis)

    return stat


def bootstrap_weighted_ci(
    n: int,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
    chunk: int = 250,
) -> tuple[float, float, float]:
    """Any statistic of n items with a percentile-bootstrap interval, computed vectorized.

    For figures that are not a mean of per-item values (macro-F1, AUC): `statistic(w)` takes a
    (B, n) matrix of item weights (how often each item is drawn in each resample) and returns B
    values; all-ones weights give the point estimate. Non-finite resamples (a class absent) are
    dropped.
    """
    if n <= 0:
        raise ValueError("bootstrap needs at least one item")
    point = float(statistic(np.ones((1, n)))[0])
    if n == 1:
        return point, point, point
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        draws = rng.integers(0, n, (size, n)) + np.arange(size)[:, None] * n
        weights = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
        parts.append(statistic(weights.astype(float)))
    stats = np.concatenate(parts)
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return point, point, point
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return point, float(min(lo, point)), float(max(hi, point))


@dataclass(frozen=True)
class McNemar:
    """Paired pass/fail: b = pairs where only A passed, c = only B passed."""

    b: int
    c: int
    p_value: float
    exact: bool


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> McNemar:
    """McNemar's test on paired outcomes: exact binomial below 25 discordant pairs, else the
    chi-square statistic with continuity correction (1 degree of freedom)."""
    from scipy.stats import binomtest, chi2

    if len(a) != len(b):
        raise ValueError("mcnemar needs paired outcomes of equal length")
    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    d = only_a + only_b
    if d == 0:
        return McNemar(only_a, only_b, 1.0, True)
    if d < EXACT_BELOW:
        p = binomtest(min(only_a, only_b), d, 0.5).pvalue
        return McNemar(only_a, only_b, float(min(1.0, p)), True)
    stat = (abs(only_a - only_b) - 1) ** 2 / d
    return McNemar(only_a, only_b, float(chi2.sf(stat, 1)), False)


def paired_permutation_p(
    a: Values, b: Values, *, n_resamples: int = N_RESAMPLES, seed: int = SEED
) -> float:
    """Two-sided p-value of mean(b - a) == 0 by randomly flipping each pair's sign (exact when
    2^n <= n_resamples)."""
    from scipy.stats import permutation_test

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size != y.size:
        raise ValueError("paired test needs equal lengths")
    if x.size == 0 or np.all(x == y):
        return 1.0

    def stat(u: np.ndarray, v: np.ndarray, axis: int = -1) -> Any:
        return np.mean(v - u, axis=axis)

    res = permutation_test(
        (x, y),
        stat,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        rng=np.random.default_rng(seed),
    )
    return float(min(1.0, res.pvalue))


def bootstrap_diff_p(diffs: np.ndarray) -> float:
    """Two-sided bootstrap p-value that a statistic's difference is zero, from its resamples."""
    if diffs.size == 0:
        return 1.0
    below = float(np.mean(diffs <= 0))
    above = float(np.mean(diffs >= 0))
    return min(1.0, 2 * min(below, above))


def unpaired_quantile_diff(
    a: Sequence[float],
    b: Sequence[float],
    q: float,
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float, float, float]:
    """Difference of q-quantiles (b - a) of two independent samples: (diff, lo, hi, p).

    For latencies, timed on separate requests and so not paired by item.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        raise ValueError("quantile difference needs values on both sides")
    rng = np.random.default_rng(seed)
    qa = np.quantile(x[rng.integers(0, x.size, (n_resamples, x.size))], q, axis=1)
    qb = np.quantile(y[rng.integers(0, y.size, (n_resamples, y.size))], q, axis=1)
    diffs = qb - qa
    point = float(np.quantile(y, q) - np.quantile(x, q))
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha])
    p = 1.0 if x.size < 2 or y.size < 2 else bootstrap_diff_p(diffs)
    return point, float(min(lo, point)), float(max(hi, point)), p


@dataclass(frozen=True)
class Comparison:
    """Rung B against rung A on one metric: the effect (b - a) with its 95% CI and p-value.

    `real` is True only when p < 0.05; `better` then names the better rung (else None).
    """

    name: str
    a: str
    b: str
    n: int
    a_value: float
    b_value: float
    diff: float
    lo: float
    hi: float
    p_value: float
    test: str
    real: bool
    better: str | None
    higher_is_better: bool = True
    p_adjusted: float | None = None  # Holm-adjusted within its family; `real` then uses it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def verdict(
    name: str,
    a: str,
    b: str,
    a_value: float,
    b_value: float,
    ci: tuple[float, float, float],
    p_value: float,
    *,
    n: int,
    test: str,
    higher_is_better: bool = True,
    alpha: float = 0.05,
) -> Comparison:
    """Package an effect (b - a), its interval and p-value; call it real only when p < alpha."""
    diff, lo, hi = ci
    real = p_value < alpha and diff != 0
    better = None
    if real:
        better = b if (diff > 0) == higher_is_better else a
    return Comparison(
        name, a, b, n, a_value, b_value, diff, lo, hi, p_value, test, real, better, higher_is_better
    )


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order.

    Written out (five lines) rather than taken from statsmodels' `multipletests`, whose Holm
    branch calls `gc.collect()` on every call: 0.2 s each with torch loaded, 8 s per report.
    tests/signals/test_stats.py checks it against statsmodels."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return [float(x) for x in out]


def holm(comparisons: Sequence[Comparison], alpha: float = 0.05) -> list[Comparison]:
    """Holm-adjust the p-values of each family (the comparisons of one metric across rung
    pairs), then call a difference real only when its adjusted p-value is below `alpha`."""
    out = list(comparisons)
    families: dict[str, list[int]] = {}
    for i, c in enumerate(out):
        families.setdefault(c.name, []).append(i)
    for idx in families.values():
        adjusted = holm_adjust([out[i].p_value for i in idx])
        for i, p in zip(idx, adjusted, strict=True):
            c = out[i]
            real = bool(p < alpha and c.diff != 0)
            better = (c.b if (c.diff > 0) == c.higher_is_better else c.a) if real else None
            out[i] = replace(c, p_adjusted=p, real=real, better=better)
    return out


def compare_binary(
    name: str, a: str, b: str, xa: Sequence[bool], xb: Sequence[bool], *, higher_is_better: bool
) -> Comparison:
    """Paired pass/fail outcomes of two rungs on the same items: McNemar + bootstrap CI."""
    test = mcnemar(xa, xb)
    va, vb = np.asarray(xa, dtype=float), np.asarray(xb, dtype=float)
    ci = bootstrap_ci(vb - va)
    kind = "mcnemar_exact" if test.exact else "mcnemar_chi2"
    return verdict(
        name,
        a,
        b,
        float(va.mean()),
        float(vb.mean()),
        ci,
        test.p_value,
        n=len(va),
        test=kind,
        higher_is_better=higher_is_better,
    )


def compare_continuous(
    name: str, a: str, b: str, xa: Sequence[float], xb: Sequence[float], *, higher_is_better: bool
) -> Comparison:
    """Paired continuous scores on the same items: permutation p + bootstrap CI of the mean."""
    va, vb = np.asarray(xa, dtype=float), np.asarray(xb, dtype=float)
    ci = bootstrap_ci(vb - va)
    p = paired_permutation_p(va, vb)
    return verdict(
        name,
        a,
        b,
        float(va.mean()),
        float(vb.mean()),
        ci,
        p,
        n=len(va),
        test="paired_permutation",
        higher_is_better=higher_is_better,
    )


def target_status(
    value: float, lo: float, hi: float, target: float, *, higher_is_better: bool, n: int = 2
) -> Status:
    """The CI rule: meets when the interval's conservative bound meets the target, may meet
    when only the point estimate does, fails otherwise. One observation never 'meets'."""
    if higher_is_better:
        conservative, point_ok = lo >= target, value >= target
    else:
        conservative, point_ok = hi <= target, value <= target
    if conservative and point_ok and n >= 2:
        return "meets"
    return "may meet" if point_ok else "fails"
