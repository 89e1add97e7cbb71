"""Each claim's verdict, for each outcome, on synthetic per-seed values; and on results files."""

from __future__ import annotations

import math

import pytest

from innr.report import verdicts
from innr.report.verdicts import (
    AGREEMENT_BAR,
    OUTCOMES,
    Verdict,
    claim_compression,
    claim_fidelity,
    claim_transfer,
    side,
)
from innr.stats import paired_test, summary

CLAIM = "FGSM examples crafted on the CNN also fool the rebuilt network"


def test_side_places_an_interval_against_a_bar():
    assert side({"ci_low": 0.1, "ci_high": 0.2}) == "above"
    assert side({"ci_low": -0.2, "ci_high": -0.1}) == "below"
    assert side({"ci_low": -0.1, "ci_high": 0.1}) == "spans"
    assert side({"ci_low": 0.0, "ci_high": 0.1}) == "spans"  # touching the bar is not above it
    assert side({"ci_low": -0.1, "ci_high": 0.0}) == "spans"
    assert side({"ci_low": 0.5, "ci_high": 0.7}, bar=0.6) == "spans"
    assert side({"ci_low": math.nan, "ci_high": math.nan}) == "unknown"
    assert side({"ci_low": None, "ci_high": 0.1}) == "unknown"
    assert side({}) == "unknown"


def test_a_verdict_has_one_of_three_outcomes():
    with pytest.raises(ValueError, match="not one of"):
        Verdict(1, "fidelity", "s", "maybe", "c", "r", "x")
    assert OUTCOMES == ("supported", "not supported", "inconclusive")


# --- claim 1 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("agreement, outcome, phrase", [
    ([0.995, 0.996, 0.997], "supported", "above the bar of 99%"),
    ([0.97, 0.975, 0.98], "not supported", "below the bar of 99%"),
    ([0.98, 0.99, 0.999], "inconclusive", "contains the bar"),
    ([0.995], "inconclusive", "1 seed, no interval"),
])
def test_claim_1_outcomes(agreement, outcome, phrase):
    v = claim_fidelity(agreement, [0.2] * len(agreement))
    assert v.outcome == outcome and v.claim == 1 and v.title == "Claim 1 (fidelity)"
    assert phrase in v.sentence
    s = summary(agreement)
    assert v.numbers["agreement"] == s and v.numbers["bar"] == AGREEMENT_BAR
    assert f"{100 * s['mean']:.1f}%" in v.sentence  # the number the outcome rests on


def test_claim_1_with_one_seed_says_which_side_of_the_bar():
    assert "at or above" in claim_fidelity([0.995], [0.1]).sentence
    assert "below the bar" in claim_fidelity([0.90], [0.1]).sentence


def test_claim_1_bar_is_a_parameter():
    assert claim_fidelity([0.97, 0.975, 0.98], [0.2] * 3, bar=0.9).outcome == "supported"


# --- claim 2 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("params_innr, cnn, rebuilt, outcome, phrase", [
    (74, [0.95, 0.96, 0.955], [0.945, 0.953, 0.951], "not supported", "less accurate"),
    (74, [0.95, 0.96, 0.955], [0.955, 0.966, 0.959], "supported", "more accurate"),
    (74, [0.95, 0.96, 0.955], [0.953, 0.955, 0.956], "inconclusive", "no loss detected"),
    (120, [0.95, 0.96, 0.955], [0.955, 0.966, 0.959], "not supported", "not smaller"),
    (100, [0.95, 0.96, 0.955], [0.955, 0.966, 0.959], "not supported", "not smaller"),
    (74, [0.95], [0.96], "inconclusive", "fewer than two seeds"),
])
def test_claim_2_outcomes(params_innr, cnn, rebuilt, outcome, phrase):
    v = claim_compression(100, params_innr, cnn, rebuilt)
    assert v.outcome == outcome and v.claim == 2 and phrase in v.sentence
    assert v.numbers["ratio"] == params_innr / 100
    assert v.numbers["gap"] == summary([a - b for a, b in zip(cnn, rebuilt, strict=True)])
    assert v.numbers["paired_test"] == paired_test(cnn, rebuilt)  # CNN first: a positive t
    assert f"{params_innr / 100:.1%}" in v.sentence


def test_claim_2_gap_is_cnn_minus_rebuilt():
    v = claim_compression(100, 74, [0.95, 0.96, 0.955], [0.945, 0.953, 0.951])
    assert v.numbers["gap"]["mean"] > 0 and v.numbers["paired_test"]["t"] > 0


# --- claim 3 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rebuilt, control, outcome, phrase", [
    ([0.92, 0.91, 0.93], [0.85, 0.86, 0.84], "supported", "beyond what any CNN"),
    ([0.80, 0.81, 0.79], [0.85, 0.86, 0.84], "not supported", "less than to an independent"),
    ([0.92, 0.80, 0.86], [0.85, 0.86, 0.84], "inconclusive", "not detectably more"),
    ([0.92], [0.85], "inconclusive", "at least two seeds"),
])
def test_claim_3_outcomes(rebuilt, control, outcome, phrase):
    v = claim_transfer(rebuilt, control, 0.3, "original", CLAIM)
    assert v.outcome == outcome and v.claim == 3 and phrase in v.sentence
    assert v.numbers["diff"] == summary([a - b for a, b in zip(rebuilt, control, strict=True)])
    assert v.numbers["rebuilt"] == summary(rebuilt) and v.numbers["control"] == summary(control)
    assert "eps 0.3 (original protocol)" in v.sentence and v.statement == CLAIM


def test_claim_3_pairs_by_seed():
    # the same rates paired or shuffled: paired, the difference is constant and clearly positive
    rebuilt, control = [0.70, 0.80, 0.90], [0.65, 0.75, 0.85]
    assert claim_transfer(rebuilt, control, 0.3, "original", CLAIM).outcome == "supported"
    assert claim_transfer(rebuilt, control[::-1], 0.3, "original", CLAIM).outcome == (
        "inconclusive")


# --- from results files ------------------------------------------------------------------------

def test_judge_reads_the_verdicts_from_results(quick_results):
    from innr.config import load_config
    from innr.paths import ORIGINAL_STUDY, QUICK_CONFIG
    from innr.report import load

    res = load.load_results(load_config(QUICK_CONFIG), quick_results.parent)
    found = verdicts.judge(res, load.load_original(ORIGINAL_STUDY))
    assert [v.claim for v in found.values()] == [1, 2, 3]
    fidelity = [r["metrics"]["top1_agreement"] for r in res.ok("fidelity")]
    assert found["fidelity"].numbers["agreement"] == summary(fidelity)
    rates = load.transfer_at(res, "original", 0.3)
    assert found["transfer"].numbers["rebuilt"] == summary(rates[("forward", "rebuilt")])
