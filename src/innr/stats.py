"""Statistics over seeds: mean, standard deviation, t-intervals and a paired test."""

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
