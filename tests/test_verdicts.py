"""Each claim's verdict, for each outcome, on synthetic per-seed values; and on results files."""

from __future__ import annotations

import math

import pytest

from innr.report import verdicts
from innr.report.tables import num, with_interval
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

# verdicts are made inside the tests, not in parametrize (which runs once, at import)
VERDICTS = {
    "fidelity": lambda: claim_fidelity([0.97, 0.975, 0.98], [0.2] * 3),
    "compression": lambda: claim_compression(100, 74, [0.95, 0.96, 0.955],
                                             [0.945, 0.953, 0.951]),
    "transfer": lambda: claim_transfer([0.92, 0.91, 0.93], [0.85, 0.86, 0.84], 0.3,
                                       "original", CLAIM)}
STATEMENTS = {"fidelity": "the weights can be reconstructed faithfully",
              "compression": "the INNR has fewer parameters than the CNN at a small accuracy gap",
              "transfer": CLAIM}


def test_side_places_an_interval_against_a_bar():
    assert side({"ci_low": 0.1, "ci_high": 0.2}) == "above"
    assert side({"ci_low": -0.2, "ci_high": -0.1}) == "below"
    assert side({"ci_low": -0.1, "ci_high": 0.1}) == "spans"
    assert side({"ci_low": 0.0, "ci_high": 0.1}) == "spans"  # touching the bar is not above it
    assert side({"ci_low": -0.1, "ci_high": 0.0}) == "spans"
    assert side({"ci_low": 0.5, "ci_high": 0.7}, bar=0.6) == "spans"
    assert side({"ci_low": math.nan, "ci_high": math.nan}) == "unknown"
    assert side({"ci_low": None, "ci_high": 0.1}) == "unknown"
    assert side({"ci_low": 0.1, "ci_high": math.nan}) == "unknown"
    assert side({"ci_low": math.nan, "ci_high": 0.1}) == "unknown"
    assert side({}) == "unknown"


def test_a_verdict_has_one_of_three_outcomes():
    with pytest.raises(ValueError, match="not one of"):
        Verdict(1, "fidelity", "s", "maybe", "c", "r", "x")
    assert OUTCOMES == ("supported", "not supported", "inconclusive")


# --- claim 1 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("agreement, outcome, phrase", [
    ([0.995, 0.996, 0.997], "supported", ": above the bar of 99% (relative weight error "),
    ([0.97, 0.975, 0.98], "not supported", ": below the bar of 99% (relative weight error "),
    ([0.98, 0.99, 0.999], "inconclusive", ": an interval that contains the bar of 99% ("),
    ([0.995], "inconclusive", " (1 seed, no interval), at or above the bar of 99%."),
])
def test_claim_1_outcomes(agreement, outcome, phrase):
    v = claim_fidelity(agreement, [0.2] * len(agreement))
    assert v.outcome == outcome and v.claim == 1 and v.title == "Claim 1 (fidelity)"
    assert v.sentence.startswith("The rebuilt network predicts the same class as the CNN on ")
    assert phrase in v.sentence and v.sentence.endswith(".")
    s = summary(agreement)
    assert v.numbers["agreement"] == s and v.numbers["bar"] == AGREEMENT_BAR
    assert f"{100 * s['mean']:.1f}%" in v.sentence  # the number the outcome rests on


def test_claim_1_with_one_seed_says_which_side_of_the_bar():
    assert "at or above" in claim_fidelity([0.995], [0.1]).sentence
    assert "at or above" in claim_fidelity([AGREEMENT_BAR], [0.1]).sentence
    assert "below the bar" in claim_fidelity([0.90], [0.1]).sentence


def test_claim_2_states_the_paired_test():
    v = claim_compression(100, 74, [0.95, 0.96, 0.955], [0.945, 0.953, 0.951])
    t = paired_test([0.95, 0.96, 0.955], [0.945, 0.953, 0.951])
    assert f"paired t-test over 3 seeds: t = {num(t['t'])}, p = {num(t['p'])})" in v.sentence


def test_claim_1_states_the_weight_error_and_the_bar():
    v = claim_fidelity([0.97, 0.975, 0.98], [0.2, 0.25, 0.3])
    assert f"relative weight error {with_interval(summary([0.2, 0.25, 0.3]), num)}" in v.sentence
    assert "above 99%;" in v.criterion


def test_claim_1_bar_is_a_parameter():
    assert claim_fidelity([0.97, 0.975, 0.98], [0.2] * 3, bar=0.9).outcome == "supported"


# --- claim 2 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("params_innr, cnn, rebuilt, outcome, phrase", [
    (74, [0.95, 0.96, 0.955], [0.945, 0.953, 0.951], "not supported",
     ", but the rebuilt network is less accurate: the accuracy gap"),
    (74, [0.95, 0.96, 0.955], [0.955, 0.966, 0.959], "supported",
     " and the rebuilt network is more accurate: the accuracy gap"),
    (74, [0.95, 0.96, 0.955], [0.953, 0.955, 0.956], "inconclusive",
     "): no loss detected, but one as large as the interval's upper end is not ruled out."),
    (120, [0.95, 0.96, 0.955], [0.955, 0.966, 0.959], "not supported",
     ": it is not smaller; the accuracy gap"),
    (100, [0.95, 0.96, 0.955], [0.955, 0.966, 0.959], "not supported", ": it is not smaller;"),
    (74, [0.95], [0.96], "inconclusive",
     "): without an interval (fewer than two seeds) nothing is decided."),
])
def test_claim_2_outcomes(params_innr, cnn, rebuilt, outcome, phrase):
    v = claim_compression(100, params_innr, cnn, rebuilt)
    assert v.outcome == outcome and v.claim == 2 and phrase in v.sentence
    assert v.sentence.startswith("The INNR has ") and v.sentence.endswith(".")
    assert "(CNN minus rebuilt)" in v.sentence and "paired t-test over " in v.sentence
    assert v.numbers["ratio"] == params_innr / 100
    assert v.numbers["gap"] == summary([a - b for a, b in zip(cnn, rebuilt, strict=True)])
    assert v.numbers["paired_test"] == paired_test(cnn, rebuilt)  # CNN first: a positive t
    assert f"{params_innr / 100:.1%}" in v.sentence


def test_claim_2_gap_is_cnn_minus_rebuilt():
    v = claim_compression(100, 74, [0.95, 0.96, 0.955], [0.945, 0.953, 0.951])
    assert v.numbers["gap"]["mean"] > 0 and v.numbers["paired_test"]["t"] > 0


# --- claim 3 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("rebuilt, control, outcome, ending", [
    ([0.92, 0.91, 0.93], [0.85, 0.86, 0.84], "supported",
     ": they transfer beyond what any CNN of this recipe shows."),
    ([0.80, 0.81, 0.79], [0.85, 0.86, 0.84], "not supported",
     ": they transfer less than to an independent CNN."),
    ([0.92, 0.80, 0.86], [0.85, 0.86, 0.84], "inconclusive",
     ": they transfer, but not detectably more than to any CNN of this recipe."),
    ([0.92], [0.85], "inconclusive", ": an interval needs at least two seeds."),
])
def test_claim_3_outcomes(rebuilt, control, outcome, ending):
    v = claim_transfer(rebuilt, control, 0.3, "original", CLAIM)
    assert v.outcome == outcome and v.claim == 3 and v.sentence.endswith(ending)
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


@pytest.mark.parametrize("experiment", VERDICTS)
def test_each_verdict_is_a_statement_and_sentences(experiment):
    v = VERDICTS[experiment]()
    assert v.statement == STATEMENTS[experiment] and v.experiment == experiment
    assert set(v.numbers) == {"fidelity": {"agreement", "rel_l2", "bar"},
                              "compression": {"params_cnn", "params_innr", "ratio", "gap",
                                              "paired_test"},
                              "transfer": {"eps", "protocol", "rebuilt", "control",
                                           "diff"}}[experiment]
    for text in (v.sentence, v.criterion, v.rationale):
        assert text[0].isupper() and text.endswith(".") and not text.isupper()


def test_pairs_must_be_complete():
    with pytest.raises(ValueError):
        claim_transfer([0.9, 0.8], [0.7], 0.3, "original", CLAIM)
    with pytest.raises(ValueError):
        claim_compression(100, 74, [0.9, 0.8], [0.7])


@pytest.mark.parametrize("experiment", VERDICTS)
def test_each_criterion_states_all_three_outcomes_at_the_intervals_level(experiment):
    v = VERDICTS[experiment]()
    assert v.criterion.startswith("Supported if the ")
    assert f" the {verdicts.LEVEL} t-interval " in v.criterion
    assert "; not supported if " in v.criterion and v.criterion.endswith(
        "; inconclusive otherwise.")
    assert v.sentence.endswith(".") and v.rationale.endswith(".")


def synthetic_transfer(protocols=("original", "pixel"), eps=(0.0, 0.1, 0.25)):
    """Transfer records of one seed; the pixel protocol at eps 0.2 besides the others'."""
    from innr.config import AttackConfig, Config
    from innr.report.load import Results

    records = [{"direction": "forward", "protocol": p, "eps": e, "source": "original",
                "target": t, "accuracy": 0.5, "transfer_rate": None if t == "original" else 0.5}
               for p in protocols for e in (eps if p != "pixel" else (0.2,))
               for t in ("original", "rebuilt", "control")]
    config = Config(name="t", attack=AttackConfig(eps=eps, protocols=protocols))
    run = {"seed": 1, "status": "ok", "details": {"records": records}}
    return Results("t", None, (1,), config, {"transfer": [run]})


class Study:
    def __init__(self, protocol: str, eps: float):
        self.attack = {"protocol": protocol, "eps": eps, "claim": CLAIM}


@pytest.mark.parametrize("study, point", [
    (Study("original", 0.1), ("original", 0.1)),  # the original's, when it was run
    (Study("pixel", 0.1), ("pixel", 0.2)),
    (Study("original", 0.3), ("original", 0.25)),  # else the closest eps
    (Study("original", 0.04), ("original", 0.0)),
    (Study("other", 0.1), ("original", 0.1))])  # else the first protocol run
def test_claim_3_is_judged_at_the_originals_point_or_the_closest(study, point):
    assert verdicts.transfer_point(synthetic_transfer(), study) == point
    swapped = verdicts.transfer_point(synthetic_transfer(("pixel", "original")), study)
    assert swapped[0] == ("pixel" if study.attack["protocol"] == "other" else point[0])


def test_judge_computes_each_verdict_that_has_results():
    res = synthetic_transfer()
    found = verdicts.judge(res, Study("original", 0.1))
    assert found["fidelity"] is None and found["compression"] is None
    expected = claim_transfer([0.5], [0.5], 0.1, "original", CLAIM)
    assert found["transfer"] == expected
