"""The report's decisions on synthetic numbers, without results files or sentences: each rule of
innr.report.decide, one outcome at a time."""

from __future__ import annotations

import math

import pytest

from innr.report import decide
from innr.report.decide import Comparison
from innr.stats import holm, one_sided_bound, summary

ALPHA = 0.05
SUPPORTED, AGAINST, NEITHER = (Comparison("x", {}, 0.01, 0.99), Comparison("x", {}, 0.99, 0.01),
                               Comparison("x", {}, 0.30, 0.70))


# --- claim 1 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("agreement, kl, outcome", [
    (SUPPORTED, SUPPORTED, "supported"),
    (SUPPORTED, NEITHER, "inconclusive"),
    (NEITHER, SUPPORTED, "inconclusive"),
    (SUPPORTED, AGAINST, "not supported"),  # one measure against decides
    (AGAINST, NEITHER, "not supported"),
])
def test_closer_on_both_needs_both_measures(agreement, kl, outcome):
    assert decide.closer_on_both(agreement, kl, ALPHA) == outcome


# --- claim 2 -------------------------------------------------------------------------------------

CLOSE = [0.002, 0.003, 0.0025, 0.0028]  # a gap well inside a margin of 1 point
FAR = [0.030, 0.032, 0.031, 0.033]  # well above it
WIDE = [0.0, 0.02, -0.01, 0.03]  # the bounds straddle it


@pytest.mark.parametrize("params_innr, gaps, outcome, reason", [
    (74, CLOSE, "supported", "within the margin"),
    (74, FAR, "not supported", "exceeds the margin"),
    (74, WIDE, "inconclusive", "undecided"),
    (100, CLOSE, "not supported", "not smaller"),  # the size decides first
    (74, CLOSE[:1], "inconclusive", "undecided"),  # one seed: no bound
])
def test_noninferiority_decides_by_the_bounds_against_the_margin(params_innr, gaps, outcome,
                                                                 reason):
    d = decide.noninferiority(100, params_innr, gaps, 0.01, ALPHA)
    assert (d.outcome, d.reason) == (outcome, reason)
    assert d.ratio == params_innr / 100 and d.gap == summary(gaps) and d.margin == 0.01
    if len(gaps) > 1:
        assert d.upper == pytest.approx(one_sided_bound(gaps, 0.95, upper=True))
        assert d.lower == pytest.approx(one_sided_bound(gaps, 0.95, upper=False))


def test_every_noninferiority_reason_has_an_outcome():
    reasons = {decide.noninferiority(100, p, g, 0.01, ALPHA).reason
               for p, g in ((74, CLOSE), (74, FAR), (74, WIDE), (100, CLOSE))}
    assert reasons == {"within the margin", "exceeds the margin", "undecided", "not smaller"}


# --- the ablation --------------------------------------------------------------------------------

def test_ablation_pairs_put_the_arm_whose_smaller_gap_is_better_first():
    arms = ["pruned", "faithful", "base", "plus_permute", "plus_noise", "best",
            "minus_permute"]
    assert decide.ablation_pairs(arms) == [
        ("best", "faithful"), ("best", "pruned"), ("plus_permute", "base"),
        ("plus_noise", "base"), ("best", "minus_permute")]
    assert decide.ablation_pairs(["base", "best"]) == []


@pytest.mark.parametrize("upper, target, outcome", [
    (0.002, 0.003, "met"), (0.003, 0.003, "met"),  # at most the target
    (0.004, 0.003, "missed"), (math.nan, 0.003, "missed"),  # no bound cannot meet it
    (0.002, None, "no target")])
def test_the_target_is_met_by_the_upper_bound(upper, target, outcome):
    assert decide.target_outcome(upper, target) == outcome


# --- the frontier --------------------------------------------------------------------------------

SEEDS = (1, 2, 3, 4, 5)
WOBBLE = (0.002, -0.001, 0.0, 0.001, -0.002)


def accuracies(**means: float) -> dict[str, dict[int, float]]:
    """method -> seed -> accuracy: each method's mean plus a wobble that differs by method."""
    return {m: {s: mu + WOBBLE[(i * k) % len(SEEDS)] for i, s in enumerate(SEEDS)}
            for k, (m, mu) in enumerate(means.items(), 1)}


def test_duels_pair_by_seed_and_adjust_over_every_pair():
    acc = accuracies(a=0.9, b=0.8, r=0.85, q=0.7)
    acc["q"] = {s: v for s, v in acc["q"].items() if s != 1}  # q lacks seed 1
    found = decide.duels(acc, ["a", "b"], ["r", "q"])
    assert [(d.innr, d.rival) for d in found] == [("a", "r"), ("a", "q"), ("b", "r"),
                                                  ("b", "q")]
    assert found[1].diff["n"] == 4
    assert [d.p_holm for d in found] == pytest.approx(holm([d.p for d in found]))


def test_innr_wins_when_one_method_beats_every_rival():
    s = decide.standing(accuracies(a=0.9, b=0.5, r=0.85, q=0.8), ["a", "b"], ["r", "q"], ALPHA)
    assert (s.standing, s.innr, s.rival, s.strongest, s.winner) == ("wins", "a", "r", "r", "a")
    assert s.margin == s.duel("r").diff and s.margin["mean"] == pytest.approx(0.05, abs=0.01)
    assert s.beaten_by == 0 and not s.weak


def test_innr_loses_to_the_closest_of_the_rivals_that_beat_it():
    s = decide.standing(accuracies(a=0.8, b=0.7, r=0.83, q=0.9, w=0.5), ["a", "b"],
                        ["r", "q", "w"], ALPHA)
    assert (s.standing, s.innr, s.rival, s.strongest, s.winner) == ("loses", "a", "r", "q", "q")
    assert s.beaten_by == 2 and s.margin == s.duel("q").diff  # the margin: to the strongest


def test_innr_level_with_a_rival_is_on_the_frontier():
    acc = accuracies(a=0.85, r=0.85, q=0.8)
    acc["r"] = {k: v + 0.0005 for k, v in acc["a"].items()}  # level with a, every seed
    acc["r"][1] += 0.003
    s = decide.standing(acc, ["a"], ["r", "q"], ALPHA)
    assert s.standing == "on the frontier" and s.winner == "r"
    assert {d.rival: d.outcome(ALPHA) for d in s.duels}["q"] == "better"


@pytest.mark.parametrize("innrs, rivals", [([], ["r"]), (["a"], []), (["one"], ["r"])])
def test_innr_is_untested_without_a_pair_of_two_seeds(innrs, rivals):
    acc = {**accuracies(a=0.9, r=0.8), "one": {1: 0.95}}
    s = decide.standing(acc, innrs, rivals, ALPHA)
    assert s.standing == "untested" and s.beaten_by == 0 and s.margin["n"] < 2
    assert s.innr == (innrs[0] if innrs else None) and s.innrs == tuple(innrs)


def test_the_standing_keeps_every_method_summary_the_references_too():
    acc = accuracies(a=0.9, r=0.8, narrow=0.99)
    s = decide.standing(acc, ["a"], ["r"], ALPHA)
    assert s.accuracy["narrow"] == summary(list(acc["narrow"].values()))
    assert s.winner == "a"  # the reference is never the winner


# --- the amended frontier rule: a standing per INNR method ([frontier.amendment]) ---------------

MARGIN = 0.005


def shifted(base: dict[int, float], by: float, wobble: float = 0.0) -> dict[int, float]:
    """`base` moved by `by` on every seed, plus `wobble` times a fixed pattern of mean zero."""
    pattern = (1.0, -1.0, 0.5, -0.5, 0.0)
    return {s: v + by + wobble * pattern[i % 5] for i, (s, v) in enumerate(base.items())}


BASE = {s: 0.90 + 0.01 * k for k, s in enumerate(SEEDS)}  # the CNNs differ, the seeds pair


def test_equivalence_is_decided_on_the_interval_never_on_the_mean():
    inside = [0.001, -0.001, 0.0005, -0.0005, 0.0]
    assert decide.equivalent(inside, MARGIN, ALPHA)
    wide = [0.02, -0.02, 0.01, -0.01, 0.001]  # mean 0.0002, inside; its interval is not
    assert abs(summary(wide)["mean"]) < MARGIN and not decide.equivalent(wide, MARGIN, ALPHA)
    near = [0.0046, 0.0025, 0.0049, 0.0030, 0.0049]  # mean inside, upper end past the margin
    upper = summary(near, 1 - 2 * ALPHA)["ci_high"]
    assert upper > MARGIN and not decide.equivalent(near, MARGIN, ALPHA)
    assert not decide.equivalent([0.0], MARGIN, ALPHA)  # one seed: no interval
    assert decide.equivalent([0.001] * 3, MARGIN, ALPHA)  # every seed the same: exact


def test_equivalence_uses_the_two_one_sided_tests_level():
    """1 - 2 alpha (90%), not 95%: an interval inside at 90% but not at 95% is level."""
    d = [0.0030, 0.0005, 0.0020, -0.0005, 0.0010]
    assert summary(d, 0.95)["ci_high"] > 0.0026 > summary(d, 0.90)["ci_high"]
    assert decide.equivalent(d, 0.0026, ALPHA)


@pytest.mark.parametrize("innr, rivals, standing", [
    # detectably below one rival: loses, whatever it does against the others
    (shifted(BASE, -0.02, 0.002), {"r": BASE, "q": shifted(BASE, -0.1)}, "loses"),
    # detectably above every rival
    (shifted(BASE, 0.02, 0.002), {"r": BASE, "q": shifted(BASE, -0.1)}, "beats"),
    # no rival detectably better, the interval against the strongest inside the margin
    (shifted(BASE, 0.0005, 0.002), {"r": BASE, "q": shifted(BASE, -0.1)}, "level with"),
    # no rival detectably better, the interval too wide to show it level
    (shifted(BASE, 0.0, 0.02), {"r": BASE, "q": shifted(BASE, -0.1)}, "inconclusive"),
])
def test_each_amended_standing(innr, rivals, standing):
    acc = {"i": innr, **rivals}
    s = decide.method_standing(acc, "i", list(rivals), "r", ALPHA, MARGIN)
    assert s.standing == standing and s.strongest == "r"
    assert s.beaten_by == (("r",) if standing == "loses" else ())
    assert s.difference == summary([innr[k] - BASE[k] for k in SEEDS])
    assert s.equivalence == summary([innr[k] - BASE[k] for k in SEEDS], 0.90)


def test_a_detectable_loss_inside_the_margin_still_loses():
    """Loses comes first: a consistent loss of 0.1 point is detected though within 0.5."""
    innr = shifted(BASE, -0.001, 0.0001)
    s = decide.method_standing({"i": innr, "r": BASE}, "i", ["r"], "r", ALPHA, MARGIN)
    assert decide.equivalent([innr[k] - BASE[k] for k in SEEDS], MARGIN, ALPHA)
    assert s.standing == "loses"


def test_better_than_some_rivals_and_level_with_the_strongest_is_level_not_beats():
    acc = {"i": shifted(BASE, 0.0005, 0.002), "r": BASE, "q": shifted(BASE, -0.1)}
    s = decide.method_standing(acc, "i", ["r", "q"], "r", ALPHA, MARGIN)
    assert {d.rival: d.outcome(ALPHA) for d in s.duels} == {
        "r": "no detectable difference", "q": "better"}
    assert s.standing == "level with"


def test_a_rival_without_two_shared_seeds_keeps_a_method_from_beating_every_one():
    acc = {"i": shifted(BASE, 0.02, 0.002), "r": BASE, "one": {SEEDS[0]: 0.5}}
    s = decide.method_standing(acc, "i", ["r", "one"], "r", ALPHA, MARGIN)
    assert [d.outcome(ALPHA) for d in s.duels] == ["better", "untested"]
    assert s.standing == "inconclusive"  # not beating every one; 2 points apart: not level


@pytest.mark.parametrize("rivals, strongest", [([], None), (["one"], "one")])
def test_a_method_with_no_tested_rival_is_untested(rivals, strongest):
    acc = {"i": BASE, "one": {SEEDS[0]: 0.5}}
    s = decide.method_standing(acc, "i", rivals, strongest, ALPHA, MARGIN)
    assert s.standing == "untested" and s.beaten_by == ()


def test_the_amended_rule_adjusts_over_one_methods_rivals_only():
    """Holm over this method's rivals: the other INNR methods' duels do not dilute it."""
    acc = {"i": shifted(BASE, -0.004, 0.004), "r": BASE, "q": shifted(BASE, -0.1)}
    s = decide.method_standing(acc, "i", ["r", "q"], "r", ALPHA, MARGIN)
    assert [d.p_holm for d in s.duels] == pytest.approx(holm([d.p for d in s.duels]))
    assert len(s.duels) == 2


def test_the_strongest_is_chosen_by_its_score_in_the_given_order_on_a_tie():
    assert decide.strongest({"a": 0.8, "b": 0.9, "c": 0.9}, ["a", "b", "c"]) == "b"
    assert decide.strongest({"a": 0.8}, []) is None


def test_an_amended_standing_outside_the_list_is_refused():
    with pytest.raises(ValueError, match="standing"):
        decide.MethodStanding("i", "wins", None, summary([]), summary([]), (), ())


def test_a_network_s_frontier_takes_its_dataset_s_margin():
    margins = {"MNIST": 0.005, "Fashion-MNIST": 0.01}
    assert decide.margin_of(margins, "Fashion-MNIST") == 0.01
    assert decide.margin_of(margins, "Fashion-MNIST, ResNet") == 0.01
    assert decide.margin_of(margins, "MNIST, BN-CNN (quick)") == 0.005
    assert math.isnan(decide.margin_of(margins, "CIFAR-10, ResNet"))
