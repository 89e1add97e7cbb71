"""Statistics over seeds: means with t-intervals and one-sided bounds, paired and two-sample
(Welch) tests, Holm's adjustment, the seeds a non-inferiority test needs, and the random-effects
split of fit noise."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


def summary(values: Sequence[float], level: float = 0.95) -> dict:
    """n, mean, sample std and the two-sided t confidence interval of the mean."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return {"n": 0, "mean": math.nan, "std": math.nan, "ci_low": math.nan,
                "ci_high": math.nan}
    mean = float(x.mean())
    if n == 1:
        return {"n": 1, "mean": mean, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def paired_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """Paired t-test of a vs b over seeds (two-sided); NaN with fewer than two pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or np.allclose(a - b, (a - b)[0]):
        # scipy's statistic is undefined when the differences do not vary
        return {"n": len(a), "t": math.nan, "p": math.nan}
    res = stats.ttest_rel(a, b)
    return {"n": len(a), "t": float(res.statistic), "p": float(res.pvalue)}


def welch(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> dict:
    """Two-sample (Welch) t-interval and two-sided test of mean(a) - mean(b), for two samples
    that do not pair (a rerun on another machine is a new draw of each seed). Two values in each
    are needed; when neither sample varies the difference is exact (p 0 when it is not zero, 1
    when it is), since the t statistic is undefined."""
    x = np.asarray([v for v in a if v is not None and math.isfinite(v)], dtype=float)
    y = np.asarray([v for v in b if v is not None and math.isfinite(v)], dtype=float)
    diff = float(x.mean() - y.mean()) if len(x) and len(y) else math.nan
    out = {"n_a": len(x), "n_b": len(y), "difference": diff, "ci_low": math.nan,
           "ci_high": math.nan, "p": math.nan}
    if len(x) < 2 or len(y) < 2:
        return out
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    if va + vb == 0:
        return {**out, "ci_low": diff, "ci_high": diff, "p": 0.0 if diff != 0 else 1.0}
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(x) - 1) + vb ** 2 / (len(y) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    p = float(2 * stats.t.sf(abs(diff) / se, df))
    return {**out, "ci_low": diff - half, "ci_high": diff + half, "p": p, "df": float(df)}


def one_sided_bound(values: Sequence[float], level: float = 0.95, upper: bool = True) -> float:
    """The one-sided t confidence bound of the mean: the mean lies below it (upper) or above it
    (lower) with confidence `level`; NaN with fewer than two finite values."""
    s = summary(values)
    if s["n"] < 2:
        return math.nan
    half = float(stats.t.ppf(level, s["n"] - 1)) * s["std"] / math.sqrt(s["n"])
    return s["mean"] + half if upper else s["mean"] - half


def one_sided_test(differences: Sequence[float], greater: bool = True, null: float = 0.0
                   ) -> dict:
    """One-sample t-test of paired differences against `null`, one-sided: H1 mean > null
    (greater) or mean < null. NaN with fewer than two pairs or without variation."""
    d = np.asarray([v for v in differences if v is not None and math.isfinite(v)], dtype=float)
    if len(d) < 2 or np.allclose(d, d[0]):
        return {"n": len(d), "t": math.nan, "p": math.nan}
    res = stats.ttest_1samp(d, null, alternative="greater" if greater else "less")
    return {"n": len(d), "t": float(res.statistic), "p": float(res.pvalue)}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: the adjusted p-values, in the given order (NaN stays NaN
    and does not count as a test)."""
    p = np.asarray(pvalues, dtype=float)
    finite = np.flatnonzero(np.isfinite(p))
    adjusted = np.full(len(p), math.nan)
    m, running = len(finite), 0.0
    for rank, i in enumerate(finite[np.argsort(p[finite], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def seeds_for_noninferiority(sd: float, margin: float, expected: float = 0.0,
                             alpha: float = 0.05, power: float = 0.8,
                             most: int = 1000) -> int:
    """The fewest seeds (>= 2) for which a one-sided paired t-test at `alpha` shows that the
    mean difference lies below `margin` with probability `power`, when its true value is
    `expected` and the per-seed differences have standard deviation `sd` (noncentral t).
    Returns `most` + 1 when even `most` seeds would not do (expected >= margin)."""
    if not sd > 0:
        raise ValueError(f"the per-seed standard deviation must be positive, got {sd}")
    for n in range(2, most + 1):
        df = n - 1
        critical = stats.t.ppf(1 - alpha, df)
        shift = (margin - expected) / (sd / math.sqrt(n))
        if 1 - stats.nct.cdf(critical, df, shift) >= power:
            return n
    return most + 1


def variance_components(groups: Sequence[Sequence[float]], level: float = 0.95) -> dict:
    """One-way random-effects split of values grouped by CNN (each group: the fits of one CNN
    with different SIREN seeds): the variance between CNNs and within a CNN, with intervals.

    Balanced groups of k >= 2 values. Within: MSW, exact chi-square interval. Between:
    (MSB - MSW) / k (floored at 0), with Satterthwaite's approximate chi-square interval.
    """
    x = [np.asarray(g, dtype=float) for g in groups]
    a, k = len(x), len(x[0]) if x else 0
    if a < 2 or k < 2 or any(len(g) != k for g in x):
        raise ValueError("variance_components needs >= 2 groups of the same size >= 2")
    means = np.array([g.mean() for g in x])
    msw = float(sum(((g - g.mean()) ** 2).sum() for g in x)) / (a * (k - 1))
    msb = float(k * ((means - means.mean()) ** 2).sum()) / (a - 1)
    tail = (1 - level) / 2
    df_w = a * (k - 1)
    within = {"value": msw,
              "ci_low": df_w * msw / float(stats.chi2.ppf(1 - tail, df_w)),
              "ci_high": df_w * msw / float(stats.chi2.ppf(tail, df_w)), "df": df_w}
    between_value = max(0.0, (msb - msw) / k)
    if between_value > 0:
        df_b = (k * between_value) ** 2 / (msb ** 2 / (a - 1) + msw ** 2 / df_w)
        between = {"value": between_value,
                   "ci_low": df_b * between_value / float(stats.chi2.ppf(1 - tail, df_b)),
                   "ci_high": df_b * between_value / float(stats.chi2.ppf(tail, df_b)),
                   "df": float(df_b)}
    else:
        between = {"value": 0.0, "ci_low": 0.0, "ci_high": math.nan, "df": math.nan}
    total = between["value"] + within["value"]
    return {"groups": a, "per_group": k, "between": between, "within": within,
            "within_share": within["value"] / total if total > 0 else math.nan}
