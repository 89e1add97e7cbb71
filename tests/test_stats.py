"""innr.stats against scipy's own interval and test functions and against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from innr.stats import (
    holm,
    one_sided_bound,
    one_sided_test,
    paired_test,
    seeds_for_noninferiority,
    summary,
    variance_components,
    welch,
)


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


# --- one-sided bounds and tests, Holm, power, variance components ------------------------------

def test_one_sided_bound_is_the_t_quantile_above_or_below_the_mean():
    x = [0.004, 0.006, 0.002, 0.005, 0.003]
    mean, sd, n = np.mean(x), np.std(x, ddof=1), len(x)
    half = scipy_stats.t.ppf(0.95, n - 1) * sd / math.sqrt(n)  # 2.132 * sd / sqrt(5)
    assert one_sided_bound(x) == pytest.approx(mean + half)
    assert one_sided_bound(x, upper=False) == pytest.approx(mean - half)
    # narrower than the two-sided 95% interval's end, wider than the 90% one's would not be
    assert one_sided_bound(x) < summary(x)["ci_high"]
    assert one_sided_bound(x) == pytest.approx(summary(x, level=0.90)["ci_high"])
    assert math.isnan(one_sided_bound([0.1]))


def test_one_sided_test_equals_scipy_and_halves_the_two_sided_p():
    d = [0.02, 0.03, 0.01, 0.04, 0.025]
    ours = one_sided_test(d, greater=True)
    assert ours["p"] == pytest.approx(scipy_stats.ttest_1samp(d, 0, alternative="greater").pvalue)
    assert ours["p"] == pytest.approx(scipy_stats.ttest_1samp(d, 0).pvalue / 2)
    assert one_sided_test(d, greater=False)["p"] == pytest.approx(1 - ours["p"])
    # against a non-zero null: the margin of a non-inferiority test
    assert one_sided_test(d, greater=False, null=0.05)["p"] < 0.01
    assert math.isnan(one_sided_test([0.1, 0.1])["p"]) and one_sided_test([0.1])["n"] == 1


def test_holm_worked_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    out = holm([0.01, math.nan, 0.02])  # NaN is not a test: m = 2
    assert out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02) and math.isnan(out[1])


@pytest.mark.parametrize(("effect", "n"), [(0.5, 27), (1.0, 8), (2.0, 4)])
def test_seeds_for_noninferiority_match_published_sample_sizes(effect, n):
    # one-sided one-sample t-test, alpha 0.05, power 0.8 (G*Power's table: d = 0.5 -> 27,
    # d = 1 -> 8, d = 2 -> 4)
    assert seeds_for_noninferiority(sd=1.0, margin=effect) == n
    assert seeds_for_noninferiority(sd=0.01, margin=0.01 * effect) == n  # scale-free
    # a true gap closer to the margin needs more seeds
    assert seeds_for_noninferiority(sd=1.0, margin=effect, expected=0.25 * effect) > n


def test_seeds_for_noninferiority_gives_up_when_the_gap_is_past_the_margin():
    assert seeds_for_noninferiority(sd=1.0, margin=0.5, expected=0.6, most=50) == 51
    with pytest.raises(ValueError, match="positive"):
        seeds_for_noninferiority(sd=0.0, margin=1.0)


def test_variance_components_worked_by_hand():
    # means 2 and 6: MSW = 4 / 2 = 2, MSB = 2 * (4 + 4) / 1 = 16 -> between (16 - 2) / 2 = 7
    out = variance_components([[1, 3], [5, 7]])
    assert out["within"]["value"] == pytest.approx(2.0)
    assert out["between"]["value"] == pytest.approx(7.0)
    assert out["within_share"] == pytest.approx(2 / 9)
    w = out["within"]  # exact chi-square interval with a * (k - 1) = 2 degrees of freedom
    assert w["ci_low"] == pytest.approx(2 * 2 / scipy_stats.chi2.ppf(0.975, 2))
    assert w["ci_high"] == pytest.approx(2 * 2 / scipy_stats.chi2.ppf(0.025, 2))
    assert out["between"]["ci_low"] < 7 < out["between"]["ci_high"]


def test_variance_components_without_between_variance_and_bad_shapes():
    out = variance_components([[1, 3], [3, 1], [2, 2]])  # equal means: all within
    assert out["between"]["value"] == 0 and out["within_share"] == 1
    with pytest.raises(ValueError):
        variance_components([[1, 2], [3]])
    with pytest.raises(ValueError):
        variance_components([[1, 2]])


@pytest.mark.parametrize("n_a, n_b", [(2, 2), (5, 10), (10, 3)])
def test_welch_equals_scipys_test_and_interval(n_a, n_b):
    rng = np.random.default_rng(n_a * 100 + n_b)
    a, b = rng.normal(1.0, 0.5, n_a), rng.normal(0.7, 2.0, n_b)
    ours = welch(a, b, level=0.9)
    theirs = scipy_stats.ttest_ind(a, b, equal_var=False)
    ci = theirs.confidence_interval(0.9)
    assert ours["p"] == pytest.approx(theirs.pvalue, rel=1e-10)
    assert ours["difference"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)
    assert (ours["ci_low"], ours["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_welch_is_unpaired_and_exact_without_variation():
    # b is a shifted by a constant: paired, the shift is certain; unpaired, it is lost in the
    # spread of each sample
    a, b = [1.0, 2.0, 3.0], [1.1, 2.1, 3.1]
    assert welch(a, b)["p"] > 0.5 and welch(a, b)["ci_low"] < 0 < welch(a, b)["ci_high"]
    assert welch([2.0, 2.0], [2.0, 2.0, 2.0])["p"] == 1.0
    same = welch([2.0, 2.0], [3.0, 3.0])
    assert (same["difference"], same["p"], same["ci_low"]) == (-1.0, 0.0, -1.0)
    one = welch([1.0], [1.0, 2.0])
    assert math.isnan(one["p"]) and one["difference"] == -0.5
