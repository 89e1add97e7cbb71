"""How the report prints a number (innr.report.formats): every table, sentence and README line
goes through these, so each format is pinned here."""

from __future__ import annotations

import math

import numpy as np
import pytest

from innr.report import formats
from innr.stats import summary


@pytest.mark.parametrize("x, digits, text", [
    (0.7812, 1, "78.1%"), (0.7812, 2, "78.12%"), (1, 0, "100%"), (np.float64(0.5), 1, "50.0%"),
    (None, 1, "n/a"), (math.nan, 1, "n/a"), (math.inf, 2, "n/a"), ("0.5", 1, "n/a")])
def test_pct(x, digits, text):
    assert formats.pct(x, digits) == text


@pytest.mark.parametrize("x, text", [
    (12345, "12,345"), (12345.0, "12,345"), (0.65, "0.650"), (1234.5, "1,234"),
    (0.000123, "0.000123"), (math.nan, "n/a"), (None, "n/a")])
def test_num(x, text):
    assert formats.num(x) == text


def test_exact_writes_config_values_as_the_toml_does():
    assert [formats.exact(x) for x in (0.0005, 3239, "sgd", True, None, 1e-4)] == [
        "0.0005", "3,239", "sgd", "True", "None", "0.0001"]


def test_p_values_budgets_sizes_and_ratios():
    assert [formats.p_text(p) for p in (0.0004, 0.0123, 0.5, math.nan)] == [
        "< 0.001", "0.012", "0.50", "n/a"]
    assert [formats.budget_text(b) for b in (0.25, 0.7425, 1.0)] == ["25%", "74.25%", "100%"]
    assert formats.kilobytes(8 * 2345) == "2.35" and formats.speedup(2.5) == "2.50x"
    assert formats.pct_points(0.0123) == "1.23%" and formats.printed(0.94411) == "94.411%"
    assert formats.LEVEL == "95%"


def test_intervals_need_two_seeds():
    two, one = summary([0.97, 0.98]), summary([0.97])
    low, high = formats.pct(two["ci_low"]), formats.pct(two["ci_high"])
    assert formats.interval(two) == f"[{low}, {high}]" and formats.interval(one) == "n/a"
    assert formats.with_interval(two) == f"97.5% (95% CI [{low}, {high}])"
    assert formats.with_interval(one) == "97.0%"
    assert formats.mean_interval(two) == f"97.5% [{low}, {high}]"
    assert formats.mean_interval(one, formats.pct_points) == "97.00%"
