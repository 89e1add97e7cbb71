"""innr.stats against scipy's own interval and test functions and against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from innr.stats import paired_test, summary


def test_summary_of_four_values_by_hand():
    s = summary([1.0, 2.0, 3.0, 4.0])
    sd = math.sqrt(((1.5**2) * 2 + (0.5**2) * 2) / 3)  # sample sd, n - 1 = 3 in the denominator
    half = 3.182446305284263 * sd / 2  # t(0.975, 3 df) * sd / sqrt(4)
    assert s["n"] == 4 and s["mean"] == 2.5
    assert s["std"] == pytest.approx(sd, rel=1e-12)
    assert s["ci_low"] == pytest.approx(2.5 - half, rel=1e-12)
    assert s["ci_high"] == pytest.approx(2.5 + half, rel=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5, 10])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_interval_equals_scipys(n, level):
    x = np.random.default_rng(n).normal(0.9, 0.02, n)
    s = summary(x.tolist(), level=level)
    lo, hi = scipy_stats.t.interval(level, n - 1, loc=x.mean(), scale=scipy_stats.sem(x))
    assert s["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert s["std"] == pytest.approx(x.std(ddof=1), rel=1e-12)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((lo, hi), rel=1e-12)


def test_missing_values_are_left_out_not_counted():
    assert summary([1.0, None, 3.0, math.nan, math.inf]) == summary([1.0, 3.0])
    assert summary([None, math.nan])["n"] == 0
    empty = summary([])
    assert set(empty) == {"n", "mean", "std", "ci_low", "ci_high"}
    assert all(math.isnan(empty[k]) for k in ("mean", "std", "ci_low", "ci_high"))
    one = summary([0.5])
    assert one["n"] == 1 and one["mean"] == 0.5
    assert math.isnan(one["std"]) and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])


def test_paired_test_equals_scipys_and_the_formula():
    a = [0.951, 0.948, 0.957, 0.944, 0.955]
    b = [0.947, 0.945, 0.951, 0.941, 0.952]
    ours = paired_test(a, b)
    theirs = scipy_stats.ttest_rel(a, b)
    d = np.subtract(a, b)
    assert ours["n"] == 5
    assert ours["t"] == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours["t"] == pytest.approx(d.mean() / (d.std(ddof=1) / math.sqrt(5)), rel=1e-12)
    assert ours["p"] == pytest.approx(theirs.pvalue, rel=1e-12)
    assert ours["p"] == pytest.approx(2 * scipy_stats.t.sf(abs(ours["t"]), 4), rel=1e-12)


def test_paired_not_unpaired():
    # the seeds move both accuracies together: pairing removes that spread, an unpaired test
    # would see none of the (consistent) difference
    a = [0.90, 0.92, 0.94, 0.96, 0.98]
    b = [x - 0.002 + 0.0001 * i for i, x in enumerate(a)]
    assert paired_test(a, b)["p"] < 1e-3
    assert scipy_stats.ttest_ind(a, b).pvalue > 0.5
    assert paired_test(a, b)["t"] > 0 > paired_test(b, a)["t"]


def test_two_pairs_are_enough_for_a_paired_test():
    ours = paired_test([0.9, 0.8], [0.85, 0.7])
    theirs = scipy_stats.ttest_rel([0.9, 0.8], [0.85, 0.7])
    assert ours["t"] == pytest.approx(theirs.statistic) and ours["p"] == pytest.approx(
        theirs.pvalue)


def test_paired_test_without_variation_or_pairs_is_undefined():
    assert math.isnan(paired_test([0.9, 0.8], [0.8, 0.7])["t"])  # constant difference
    assert math.isnan(paired_test([0.9], [0.8])["p"])
    assert paired_test([0.9], [0.8])["n"] == 1
