"""The compression frontier in the report: the envelope rule, the standings on synthetic
per-seed accuracies, and the section, figure and README table from results files written with
innr.experiments.frontier's schema (this config's and a companion's)."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from innr.config import ConfigError
from innr.experiments.workbench import budget_label
from innr.paths import CRITERIA
from innr.report import __main__ as cli
from innr.report import decide, load, readme, sentences, tables, verdicts
from innr.report.figures import stored_sizes
from innr.report.load import Criteria
from innr.store import write_json
from tests.test_report import synthetic  # noqa: F401  (the fixture: a report's results)

ALPHA = 0.05
CRITERIA_ = Criteria("before", "the pilot.", alpha=0.05, power=0.8, margin=0.01, rationale={},
                     frontier={"alpha": ALPHA, "declared": "d", "seen_before": "s",
                               "rationale": "r"})
SEEDS = tuple(range(1, 11))
BITS_AT_100 = 10_000  # the CNN's float32 bits in these frames
NOISE = np.random.default_rng(0).normal(0, 0.004, len(SEEDS))
NOISE -= NOISE.mean()  # per-seed variation of mean zero: a method's mean is the one written


def _rows(method: str, budget: float, accuracy, dataset: str = "D", seeds=SEEDS,
          stored: float = 0.99) -> list[dict]:
    """One point's per-seed rows; `stored`: its size as a share of the budget's bits."""
    allowed = int(budget * BITS_AT_100)
    accs = np.broadcast_to(np.asarray(accuracy, dtype=float), (len(seeds),))
    return [{"dataset": dataset, "method": method, "budget": budget, "seed": s,
             "accuracy": float(a), "gap": 0.9 - float(a), "agreement": float(a),
             "cnn_accuracy": 0.9, "stored_bits": int(stored * allowed),
             "stored_bytes": stored * allowed / 8, "budget_bits": allowed, "params": None,
             "decode_seconds": 0.001, "fit_seconds": 2.0,
             "uses_data": method in ("narrow_cnn",)} for s, a in zip(seeds, accs, strict=True)]


def _frame(*rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([r for rs in rows for r in rs], columns=load.FRONTIER_COLUMNS)


def _judge(frame: pd.DataFrame, budget: float) -> verdicts.FrontierVerdict:
    env = decide.envelope(frame)
    return verdicts.frontier_budget(env[env["budget"] == budget], ALPHA)


# --- the envelope ----------------------------------------------------------------------------

def test_the_envelope_takes_the_best_smaller_point_never_a_larger_one():
    frame = _frame(_rows("pruned", 0.25, 0.80), _rows("pruned", 0.5, 0.70),
                   _rows("pruned", 1.0, 0.95, stored=0.2),  # 2,000 bits: would fit 25%'s
                   _rows("low_rank", 0.5, 0.60))
    env = decide.envelope(frame)
    at = env.groupby(["budget", "method"])[["accuracy", "computed_at"]].mean()
    assert at.loc[(0.5, "pruned")].tolist() == pytest.approx([0.80, 0.25])  # the better smaller
    assert at.loc[(0.25, "pruned")].tolist() == pytest.approx([0.80, 0.25])
    assert at.loc[(1.0, "pruned")].tolist() == pytest.approx([0.95, 1.0])  # never the larger
    assert (0.25, "low_rank") not in at.index  # computed at 50% only: absent below it
    assert at.loc[(1.0, "low_rank"), "computed_at"] == 0.5
    assert env.groupby("budget")["allowed_bits"].first().to_dict() == {
        0.25: 2500, 0.5: 5000, 1.0: 10_000}


def test_the_envelope_checks_the_stored_bits_against_the_budget():
    """A point stored above a budget's bits never counts there, even if computed below it."""
    frame = _frame(_rows("pruned", 0.25, 0.80, stored=3.0),  # 7,500 bits: over 25% and 50%
                   _rows("pruned", 0.5, 0.70), _rows("pruned", 1.0, 0.60))
    env = decide.envelope(frame)
    at = env.groupby(["budget", "method"])["computed_at"].first()
    assert (0.25, "pruned") not in at.index
    assert at[0.5, "pruned"] == 0.5 and at[1.0, "pruned"] == 0.25


# --- the standings ---------------------------------------------------------------------------

def test_innr_wins_when_one_method_beats_every_rival_detectably():
    frame = _frame(_rows("innr_best", 0.5, 0.90 + NOISE), _rows("innr_faithful", 0.5, 0.5),
                   _rows("pruned", 0.5, 0.85 + NOISE[::-1]), _rows("quantised", 0.5, 0.87),
                   _rows("narrow_cnn", 0.5, 0.99))
    v = _judge(frame, 0.5)
    assert v.standing == "wins" and v.innr == "innr_best" and v.winner == "innr_best"
    assert v.rival == "quantised"  # the strongest rival
    assert v.margin["mean"] == pytest.approx(0.03)
    assert "INNR wins" in v.sentence and "INNR, best variant (90.00%)" in v.sentence


def test_innr_is_on_the_frontier_when_no_rival_beats_it_detectably():
    frame = _frame(_rows("innr_best", 0.5, 0.85 + NOISE), _rows("pruned", 0.5, 0.85 + 0.001),
                   _rows("quantised", 0.5, 0.80))
    v = _judge(frame, 0.5)
    assert v.standing == "on the frontier" and v.innr == "innr_best" and v.winner == "pruned"
    outcomes = {d.rival: d.outcome(ALPHA) for d in v.duels}
    assert outcomes == {"pruned": "no detectable difference", "quantised": "better"}


def test_a_frontier_standing_below_zero_only_undetected_after_holm_is_weak():
    # 3 seeds, a consistent 1-point loss (unadjusted interval below zero) against one rival,
    # among enough pairs that Holm leaves it undetected
    seeds = (1, 2, 3)
    noise = np.array([0.004, -0.004, 0.0])  # a 1.3-point loss, t(2) = 5.6: p = 0.03
    level = np.array([-0.003, 0.001, 0.002])  # rivals level with INNR (large p)
    rivals = [_rows(m, 0.5, 0.837 + level * k, seeds=seeds)
              for k, m in enumerate(("low_rank", "quantised_mean", "pruned_quantised"), 1)]
    frame = _frame(_rows("innr_best", 0.5, 0.837 + noise, seeds=seeds),
                   _rows("pruned", 0.5, 0.85, seeds=seeds), *rivals)
    v = _judge(frame, 0.5)
    assert v.standing == "on the frontier" and v.margin["ci_high"] < 0
    assert v.weak and v.standing_shown == "on the frontier (weak)" and "weak" in v.sentence
    strong = _judge(_frame(_rows("innr_best", 0.5, 0.85 + NOISE),
                           _rows("pruned", 0.5, 0.85 + NOISE[::-1])), 0.5)
    assert strong.standing == "on the frontier" and not strong.weak


def test_weak_is_decided_on_the_interval_not_on_the_mean():
    """A mean below zero whose unadjusted interval reaches above it is not weak."""
    frame = _frame(_rows("innr_best", 0.5, 0.849 + 3 * NOISE), _rows("pruned", 0.5, 0.85))
    v = _judge(frame, 0.5)
    assert v.standing == "on the frontier" and v.margin["mean"] < 0 < v.margin["ci_high"]
    assert not v.weak and v.standing_shown == "on the frontier"


def test_innr_loses_by_the_smallest_margin_of_its_best_method():
    frame = _frame(_rows("innr_best", 0.5, 0.80 + NOISE), _rows("innr_faithful", 0.5, 0.70),
                   _rows("pruned", 0.5, 0.83), _rows("quantised", 0.5, 0.90 + NOISE[::-1]),
                   _rows("low_rank", 0.5, 0.50))
    v = _judge(frame, 0.5)
    assert v.standing == "loses" and v.innr == "innr_best" and v.winner == "quantised"
    assert v.rival == "pruned"  # beats it by 3 points; quantised by 10
    assert "beaten detectably by 2 of the 3 data-free rivals" in v.sentence
    assert "the closest of those is pruned (83.00%), a difference of -3.00%" in v.sentence
    assert v.margin["mean"] == pytest.approx(-0.10)  # the table's margin: to the strongest


def test_holm_decides_over_every_innr_rival_pair_of_the_budget():
    """A loss detectable alone (two-sided p < alpha) but not after Holm over the family."""
    diff = 0.004 + 0.75 * np.array([0.0, 0.01, -0.01, 0.005, -0.005, 0.008, -0.008, 0.002,
                                     -0.002, 0])
    p = scipy_stats.ttest_rel(0.8 - diff, np.full(10, 0.8)).pvalue
    assert ALPHA / 3 < p < ALPHA  # alone: a detectable loss; one of three duels: not
    frame = _frame(_rows("innr_best", 0.5, 0.8 - diff), _rows("pruned", 0.5, 0.8),
                   _rows("low_rank", 0.5, 0.8 - diff + NOISE),  # no difference on average
                   _rows("quantised", 0.5, 0.8 - diff + NOISE[::-1]))
    v = _judge(frame, 0.5)
    pruned = next(d for d in v.duels if d.rival == "pruned")
    assert pruned.p == pytest.approx(p) and pruned.p_holm == pytest.approx(min(1, 3 * p))
    assert v.standing == "on the frontier"
    alone = _judge(_frame(_rows("innr_best", 0.5, 0.8 - diff), _rows("pruned", 0.5, 0.8)), 0.5)
    assert alone.standing == "loses"


def test_a_difference_that_never_varies_is_tested_as_certain():
    """Every seed the same difference: t is infinite (p = 0); no difference at all: p = 1."""
    assert decide.two_sided_p([0.8, 0.7, 0.9], [0.81, 0.71, 0.91]) == 0.0
    assert decide.two_sided_p([0.8, 0.7], [0.8, 0.7]) == 1.0
    assert np.isnan(decide.two_sided_p([0.8], [0.7]))
    frame = _frame(_rows("innr_best", 0.5, 0.8), _rows("pruned", 0.5, 0.81))
    assert _judge(frame, 0.5).standing == "loses"


def test_the_narrow_cnn_is_never_in_a_verdict():
    """It uses the data: never the winner, never a rival, and its lead changes nothing."""
    frame = _frame(_rows("innr_best", 0.5, 0.85 + NOISE), _rows("pruned", 0.5, 0.80),
                   _rows("narrow_cnn", 0.5, 0.99 + NOISE[::-1] / 4))
    v = _judge(frame, 0.5)
    assert v.standing == "wins" and v.winner == "innr_best"
    assert all("narrow_cnn" not in (d.innr, d.rival) for d in v.duels)
    assert v.reference["mean"] == pytest.approx(0.99, abs=1e-3)
    assert "never judged" in v.sentence
    assert verdicts.method_groups(frame)[2] == ["narrow_cnn"]


def test_a_method_absent_at_a_budget_is_left_out_there():
    frame = _frame(_rows("innr_faithful", 0.75, 0.88 + NOISE), _rows("innr_best", 0.25, 0.6),
                   _rows("innr_best", 0.75, 0.7), _rows("pruned", 0.25, 0.7 + NOISE),
                   _rows("pruned", 0.75, 0.8), _rows("quantised", 0.75, 0.82 + NOISE[::-1]))
    low = _judge(frame, 0.25)  # no faithful SIREN and no quantisation fits at 25% here
    assert {d.innr for d in low.duels} == {"innr_best"} and {d.rival for d in low.duels} == {
        "pruned"}
    assert low.standing == "loses" and "innr_faithful" not in low.accuracy
    high = _judge(frame, 0.75)
    assert high.standing == "wins" and high.innr == "innr_faithful"
    env = decide.envelope(frame)
    table = load_table(env, [v for v in (low, high)])
    faithful = next(r for g in table.groups for r in g if r[0] == "INNR, faithful")
    assert faithful[1:3] == ["--", r"\textbf{88.00}"]  # absent; the winner at 75%


def load_table(env, judged):
    from innr.report import tables

    return tables.frontier_accuracy(env, verdicts.method_groups(env),
                                    {v.budget: v.winner for v in judged}, verdicts.method_label)


def test_an_innr_method_with_one_seed_is_untested():
    frame = _frame(_rows("innr_quantised", 0.5, 0.95, seeds=SEEDS[:1]),
                   _rows("pruned", 0.5, 0.80 + NOISE))
    v = _judge(frame, 0.5)
    assert v.standing == "untested" and v.duels[0].outcome(ALPHA) == "untested"
    assert "two seeds in common" in v.sentence
    # a rival with one seed: untested against it, so INNR cannot win, but the rest stands
    frame = _frame(_rows("innr_best", 0.5, 0.95 + NOISE), _rows("pruned", 0.5, 0.80 + NOISE),
                   _rows("quantised", 0.5, 0.99, seeds=SEEDS[:1]))
    v = _judge(frame, 0.5)
    assert v.standing == "on the frontier" and v.winner == "quantised"
    assert {d.rival: d.outcome(ALPHA) for d in v.duels} == {"pruned": "better",
                                                           "quantised": "untested"}


def test_the_summary_says_plainly_where_innr_stands():
    frame = _frame(_rows("innr_best", 0.25, 0.6 + NOISE), _rows("pruned", 0.25, 0.7),
                   _rows("innr_best", 0.5, 0.8 + NOISE), _rows("pruned", 0.5, 0.8))
    judged = [_judge(frame, 0.25), _judge(frame, 0.5)]
    assert sentences.frontier_summary(judged) == (
        "By the published rule, INNR wins at no budget on any dataset: on D it is on the "
        "frontier at 50% and loses at 25%.")
    win = _frame(_rows("innr_best", 0.5, 0.9 + NOISE), _rows("pruned", 0.5, 0.8, dataset="D"))
    assert sentences.frontier_summary([_judge(win, 0.5)]) == (
        "By the published rule, on D INNR wins at every budget.")


# --- the amended rule: choices on validation, a standing per INNR method ----------------------

MARGIN = 0.005
AMENDED = {**CRITERIA_.frontier, "amendment": {
    "alpha": ALPHA, "margins": {"D": MARGIN}, "sizes": "coded", "budgets": (0.25, 0.5),
    "declared": "d2", "seen_before": "s2", "rationale": "r2"}}


def _valid(method: str, budget: float, score: float, dataset: str = "D") -> list[dict]:
    """A point's validation records on two selection seeds, of mean `score`."""
    return [{"dataset": dataset, "method": method, "budget": budget, "seed": s,
             "val_accuracy": score + d} for s, d in ((101, 0.001), (102, -0.001))]


def _vframe(*rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([r for rs in rows for r in rs], columns=load.VALIDATION_COLUMNS)


def _judge_amended(frame, validation, budget, margin=MARGIN) -> verdicts.FrontierVerdict:
    env = decide.envelope(frame, validation, coded=True)
    return verdicts.frontier_budget_amended(env[env["budget"] == budget], ALPHA, margin)


def test_the_amended_envelope_chooses_on_validation_never_on_test():
    frame = _frame(_rows("pruned", 0.25, 0.80), _rows("pruned", 0.5, 0.70),
                   _rows("low_rank", 0.25, 0.9), _rows("low_rank", 0.5, 0.6))
    valid = _vframe(_valid("pruned", 0.25, 0.70), _valid("pruned", 0.5, 0.75),
                    _valid("low_rank", 0.5, 0.5))  # low rank at 25%: no validation record
    env = decide.envelope(frame, valid)
    at = env.groupby(["budget", "method"])[["computed_at", "chosen_by"]].first()
    assert at.loc[(0.5, "pruned")].tolist() == pytest.approx([0.5, 0.75])  # test says 25%
    assert at.loc[(0.5, "low_rank")].tolist() == pytest.approx([0.5, 0.5])  # never unvalidated
    assert (0.25, "low_rank") not in at.index
    assert decide.envelope(frame).groupby(["budget", "method"])["computed_at"].first()[
        0.5, "pruned"] == 0.25  # the published rule: by test accuracy


def test_the_amended_envelope_sizes_by_coded_bytes():
    rows = _rows("pruned", 0.25, 0.8, stored=1.5)  # raw bits over the budget's
    for r in rows:
        r["bytes_coded"] = 0.9 * r["budget_bits"] / 8  # the coded file fits
    frame, valid = _frame(rows), _vframe(_valid("pruned", 0.25, 0.8))
    assert decide.envelope(frame, valid, coded=False).empty
    assert len(decide.envelope(frame, valid, coded=True)) == len(SEEDS)


def test_the_headline_method_and_the_strongest_rival_are_chosen_on_validation():
    frame = _frame(_rows("innr_best", 0.5, 0.90 + NOISE), _rows("innr_quantised", 0.5, 0.70),
                   _rows("pruned", 0.5, 0.88 + NOISE[::-1]), _rows("quantised", 0.5, 0.89),
                   _rows("narrow_cnn", 0.5, 0.99))
    valid = _vframe(_valid("innr_best", 0.5, 0.6), _valid("innr_quantised", 0.5, 0.8),
                    _valid("pruned", 0.5, 0.9), _valid("quantised", 0.5, 0.7),
                    _valid("narrow_cnn", 0.5, 0.95))
    v = _judge_amended(frame, valid, 0.5)
    assert (v.rule, v.innr, v.rival, v.strongest) == (
        "amended", "innr_quantised", "pruned", "pruned")
    assert v.standing == "loses" and v.winner == "innr_best"  # winner: by test, shown only
    by = {s.innr: s for s in v.standings}
    assert by["innr_best"].standing == "beats" and by["innr_quantised"].standing == "loses"
    assert v.margin == by["innr_quantised"].difference
    assert "headline INNR method" in v.sentence and "INNR, best variant beats" in v.sentence
    assert "never judged" in v.sentence  # the narrow CNN beside it
    assert all("narrow_cnn" not in (d.innr, d.rival) for d in v.duels)


def test_level_with_the_strongest_rival_needs_the_declared_margin():
    frame = _frame(_rows("innr_best", 0.5, 0.85 + NOISE / 4), _rows("pruned", 0.5, 0.85),
                   _rows("quantised", 0.5, 0.70))
    valid = _vframe(_valid("innr_best", 0.5, 0.8), _valid("pruned", 0.5, 0.9),
                    _valid("quantised", 0.5, 0.5))
    assert _judge_amended(frame, valid, 0.5).standing == "level with"
    undeclared = _judge_amended(frame, valid, 0.5, margin=float("nan"))
    assert undeclared.standing == "inconclusive"  # no margin declared: never level


def test_a_run_without_validation_records_is_judged_by_the_published_rule():
    frame = _frame(_rows("innr_best", 0.5, 0.90 + NOISE), _rows("pruned", 0.5, 0.85))
    criteria = dataclasses.replace(CRITERIA_, frontier=AMENDED)
    published = load.Frontier("D", "d", frame, [], [], {"config_hash": "h"})
    [v] = verdicts.judge_frontier([published], criteria)
    assert v.rule == "published" and v.standing == "wins"
    amended = dataclasses.replace(published, validation=_vframe(
        _valid("innr_best", 0.5, 0.9), _valid("pruned", 0.5, 0.8)))
    r = verdicts.frontier_rule(amended, criteria)
    assert (r.rule, r.alpha, r.margin) == ("amended", ALPHA, MARGIN)
    [w] = verdicts.judge_frontier([amended], criteria)
    assert w.rule == "amended" and w.standing == "beats" and w.innr == "innr_best"


def test_the_amended_tables_and_summary():
    frame = _frame(_rows("innr_best", 0.25, 0.6 + NOISE), _rows("pruned", 0.25, 0.7),
                   _rows("innr_best", 0.5, 0.85 + NOISE / 4), _rows("pruned", 0.5, 0.85))
    valid = _vframe(*[_valid(m, b, 0.8 + b / 10) for m in ("innr_best", "pruned")
                      for b in (0.25, 0.5)])
    judged = [_judge_amended(frame, valid, b) for b in (0.25, 0.5)]
    assert [v.standing for v in judged] == ["loses", "level with"]
    table = tables.frontier_standings(judged, verdicts.method_label)
    assert table.groups[0][1][:4] == ["50%", "pruned", "85.00%", "INNR, best variant"]
    assert table.groups[0][1][-1] == "level with"
    assert tables.frontier_methods(judged, verdicts.method_label).groups == [
        [["INNR, best variant", "loses", "level with"]]]
    assert sentences.frontier_summary(judged) == (
        "On D some INNR method is level with or better than every data-free rival at 50%; "
        "the headline method loses at 25% and is level with the rivals at 50%.")
    # where the strongest rival is itself level with the CNN, the summary says a tie is all
    # that could be shown there; a rival level with it elsewhere changes nothing
    tie = ("On D some INNR method is level with or better than every data-free rival at 50%, "
           "and at each of them the strongest rival is itself level with the CNN it "
           "compresses, so that a tie is all any method could show; the headline method")
    assert sentences.frontier_summary(judged, {"D": {"pruned": [0.5]}}).startswith(tie)
    for elsewhere in ({"D": {"pruned": [0.25]}}, {"D": {"innr_best": [0.5]}},
                      {"E": {"pruned": [0.5]}}):
        assert "a tie is all" not in sentences.frontier_summary(judged, elsewhere)
    # a budget where no INNR method has a point is said so, not called untested
    none = dataclasses.replace(judged[0], budget=0.1, innr=None, standing="untested",
                               standings=())
    assert sentences.frontier_summary([none, *judged]).endswith(
        "the headline method loses at 25% and is level with the rivals at 50% (no INNR method "
        "has a point at 10%).")
    assert sentences.frontier_summary([none]).endswith(
        "the headline method has no point: no INNR method has one at 10%.")
    more = [*judged, dataclasses.replace(judged[1], budget=0.75)]
    assert ("rival at 50%, 75%, and at 50% the strongest rival is itself level with the CNN"
            in sentences.frontier_summary(more, {"D": {"pruned": [0.5]}}))
    assert "INNR does best against the strongest rival at 50%" in sentences.frontier_best(
        "D", judged, verdicts.method_label)


def test_where_a_method_is_level_with_the_cnn():
    frame = _frame(_rows("quantised", 0.25, 0.80), _rows("quantised", 0.5, 0.9 + NOISE / 10),
                   _rows("pruned", 0.25, 0.85), _rows("pruned", 0.5, 0.9 + 3 * NOISE))
    valid = _vframe(*[_valid(m, b, 0.8 + b / 10) for m in ("quantised", "pruned")
                      for b in (0.25, 0.5)])
    rule = verdicts.FrontierRule("amended", ALPHA, MARGIN, decide.envelope(frame, valid))
    found = verdicts.lossless(rule)  # the gap: CNN (90%) minus the method
    assert found == {"pruned": [], "quantised": [0.5]}  # pruned: its interval is too wide
    assert sentences.frontier_lossless("D", found, [0.25, 0.5], MARGIN, ALPHA,
                                       verdicts.method_label) == (
        "On D, level with the CNN (the 90% interval of the accuracy gap inside +/-0.50%): "
        "quantised from 50%; pruned at no budget.")
    # many methods level nowhere share one clause; none level anywhere says so
    many = {"quantised": [0.5], "pruned": [], "low_rank": [], "pruned_quantised": [0.25]}
    assert sentences.frontier_lossless("D", many, [0.25, 0.5], MARGIN, ALPHA,
                                       verdicts.method_label).endswith(
        "quantised from 50%; pruned + int8 at 25%; the other 2 methods at no budget.")
    assert sentences.frontier_lossless("D", {"pruned": [], "low_rank": []}, [0.25, 0.5],
                                       MARGIN, ALPHA, verdicts.method_label).endswith(
        "+/-0.50%): no method at any budget.")


def test_the_declared_frontier_criteria_load():
    c = load.load_criteria(CRITERIA)
    assert c.frontier["alpha"] == 0.05 and c.frontier["rationale"] and c.frontier["declared"]
    amended = c.frontier["amendment"]  # issue 26: declared before the amended frontier runs
    assert amended["declared"].startswith("2026-12-03") and amended["sizes"] == "coded"
    assert amended["budgets"][0] == 0.01 and 0.7425 in amended["budgets"]
    assert set(amended["margins"]) == {"MNIST", "Fashion-MNIST"}


def test_an_amendment_out_of_range_stops(tmp_path):
    text = CRITERIA.read_text()
    for good, bad in [("sizes = \"coded\"", "sizes = \"bytes\""),
                      ("\"MNIST\" = 0.005", "\"MNIST\" = -0.005")]:
        (tmp_path / "c.toml").write_text(text.replace(good, bad))
        with pytest.raises(ConfigError, match="amendment"):
            load.load_criteria(tmp_path / "c.toml")


# --- the report, from results files ----------------------------------------------------------

COMPANION = "synthcomp"


def _write_frontier(root, name: str, label: str, companions: list[str], shift: float,
                    validation: bool = False) -> None:
    """innr.experiments.frontier's files for config `name` under `root`: every point, one
    failed, one that does not fit, and the index; with `validation`, each point's validation
    accuracy on two selection seeds (the amended rule's records)."""
    plan = {"innr_faithful": (0.75,), "innr_best": (0.25, 0.5, 0.75), "pruned": (0.25, 0.5, 0.75),
            "quantised": (0.25, 0.5, 0.75), "narrow_cnn": (0.5,)}
    paths, selection = [], []
    for k, (method, budgets) in enumerate(plan.items()):
        for budget in budgets:
            for i, seed in enumerate(SEEDS[:4]):
                point = {"dataset": name, "method": method, "budget": budget, "seed": seed}
                acc = {"innr_faithful": 0.6, "innr_best": 0.5 + budget / 2, "pruned": 0.7,
                       "quantised": 0.75, "narrow_cnn": 0.95}[method] + shift + NOISE[i - k]
                body = {"status": "ok", "fits": True, "accuracy_original": 0.9,
                        "accuracy_rebuilt": acc, "accuracy_gap": 0.9 - acc,
                        "top1_agreement": acc, "snr_db": 10.0,
                        "weight_rel_l2": 0.95 if method == "innr_faithful" else 0.5,
                        "stored_bits": int(0.95 * budget * BITS_AT_100),
                        "budget_bits": int(budget * BITS_AT_100), "params": None,
                        "decode_seconds": 0.00123, "fit_seconds": 4.5,
                        "uses_data": method == "narrow_cnn", "config_hash": "h",
                        "provenance": {"device": "cpu", "cpu_count": 2,
                                       "cpu_capability": "AVX2", "git_commit": "c" * 40}}
                if method == "pruned":
                    body["bytes_coded"] = None if seed == SEEDS[1] else 0.9 * budget * 1250
                if method == "quantised" and budget == 0.25:
                    body = {"status": "ok", "fits": False, "budget_bits": 2500,
                            "config_hash": "h"}
                if method == "pruned" and budget == 0.75 and seed == SEEDS[0]:
                    body = {"status": "failed", "error": "RuntimeError: boom_& 50%"}
                rel = f"frontier/{method}/{budget_label(budget)}_seed{seed}.json"
                clock = {"started": f"t{k}", "job_seconds": 10.0 + k}  # a job a method
                write_json(root / name / rel, {"point": point, **body, **clock, "complete": True})
                paths.append(rel)
            for selection_seed in (101, 102) if validation else ():
                rel = (f"frontier/{load.VALIDATION}/{method}/{budget_label(budget)}"
                       f"_seed{selection_seed}.json")
                write_json(root / name / rel,
                           {"point": {**point, "seed": selection_seed}, "status": "ok",
                            "fits": True, "val_accuracy": acc - 0.01 * (method == "quantised"),
                            "config_hash": "h", "started": f"s{k}", "job_seconds": 1.0,
                            "complete": True})
                selection.append(rel)
    write_json(root / name / "frontier" / "index.json", {
        "points": paths, "selection_points": selection, "failed": [], "config_hash": "h",
        "wall_seconds": 75.0,
        "frontier": {"label": label, "companions": companions, "predictor_bits": 8},
        "complete": True})


def test_the_validation_records_are_read_from_the_index(tmp_path):
    """Each selection point the index lists: read when current and ok, missing otherwise."""
    listed = [f"frontier/{load.VALIDATION}/pruned/50_seed{s}.json" for s in (101, 102, 103)]
    point = {"dataset": "d", "method": "pruned", "budget": 0.5}
    write_json(tmp_path / listed[0], {"point": {**point, "seed": 101}, "status": "ok",
                                      "fits": True, "val_accuracy": 0.8, "config_hash": "h",
                                      "complete": True})
    write_json(tmp_path / listed[1], {"point": {**point, "seed": 102}, "status": "ok",
                                      "val_accuracy": 0.7, "config_hash": "old",
                                      "complete": True})
    write_json(tmp_path / "frontier" / "index.json", {
        "points": [], "selection_points": listed, "config_hash": "h", "frontier": {},
        "complete": True})
    f = load.load_frontier(tmp_path, "d", "D")
    assert f.validation.to_dict("records") == [{"dataset": "D", "method": "pruned",
                                                "budget": 0.5, "seed": 101,
                                                "val_accuracy": 0.8}]
    assert f.missing == listed[1:]  # another config's file, and none at all


@pytest.fixture(scope="module")
def with_frontier(synthetic, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("frontier")
    results = tmp / "results"
    shutil.copytree(synthetic["results"], results)
    _write_frontier(results, "synth", "Synth-MNIST", [COMPANION], 0.0)
    _write_frontier(results, COMPANION, "Synth-Fashion", [], -0.2, validation=True)
    dirs = {**synthetic["dirs"], "build_dir": tmp / "build", "figures_dir": tmp / "figures"}
    tex = cli.build(synthetic["config"], results, pdf=False, **dirs)
    return {"results": results, "text": tex.read_text(), "dirs": dirs,
            "config": synthetic["config"]}


def test_the_companions_are_found_beside_the_results(with_frontier):
    res = load.load_results(load_config_of(with_frontier), with_frontier["results"])
    found = res.frontiers()
    assert [f.label for f in found] == ["Synth-MNIST", "Synth-Fashion"]
    assert [f.name for f in found] == ["synth", COMPANION]
    own = found[0]
    assert len(own.failed) == 1 and own.failed[0]["method"] == "pruned"
    assert not (own.points["method"].eq("quantised") & own.points["budget"].eq(0.25)).any()
    assert len(own.points) == 4 * (1 + 3 + 3 + 2 + 1) - 1  # ok, fitting points only
    coded = own.points.loc[own.points["method"] == "pruned", "bytes_coded"]
    assert coded.isna().sum() == 3 and coded.dtype == float  # None: nothing coded


def test_each_frontier_is_read_once_and_a_shared_label_is_renamed_in_a_copy(
        with_frontier, tmp_path, monkeypatch):
    results = tmp_path / "results"
    shutil.copytree(with_frontier["results"], results)
    _write_frontier(results, COMPANION, "Synth-MNIST", [], -0.2)  # the own config's label
    res = load.load_results(load_config_of(with_frontier), results)
    reads = []
    real = load.load_frontier
    monkeypatch.setattr(load, "load_frontier", lambda root, *a: reads.append(root) or real(
        root, *a))
    first, second = res.frontiers(), res.frontiers()
    assert len(reads) == 2  # the own frontier and the companion's, once each
    assert res.frontier() is first[0]
    assert [f.label for f in second] == ["Synth-MNIST", f"Synth-MNIST ({COMPANION})"]
    renamed = second[1]
    assert set(renamed.points["dataset"]) == {f"Synth-MNIST ({COMPANION})"}
    assert res._frontier(COMPANION).label == "Synth-MNIST"  # the one read stays as it was


def load_config_of(ctx):
    from innr.config import load_config

    return load_config(ctx["config"])


def test_the_report_has_the_frontier_section(with_frontier):
    text = with_frontier["text"]
    section = text.split(r"\section{The compression frontier}")[1].split(r"\section{")[0]
    assert "has not run" not in section
    plain = section.replace(r"\%", "%")
    assert "25% & pruned & 69.77% & INNR, best variant & 62.40% &" in plain  # a row a budget
    assert "Synth-MNIST: the standings, judged by the published rule" in plain
    assert "Synth-Fashion: the standings, judged by the amended rule" in plain
    assert "Each dataset by its own" in plain  # one with validation records, one without
    assert ("On Synth-MNIST (the published rule) INNR wins at 75%, is on the frontier at 50% "
            "and loses at 25%; on Synth-Fashion ") in plain
    assert "each INNR method's own standing at each budget" in plain  # Synth-Fashion's
    assert r"\paragraph{Synth-MNIST, 25\%" not in section  # a table, not a paragraph a budget
    words = text.split(r"\section{The frontier's standings in words}")[1]
    assert r"\paragraph{Synth-MNIST, 25\%: loses.}" in words  # in the appendix, with its tests
    assert r"\paragraph{Synth-Fashion, 75\%: beats.}" in words
    assert "after 3 epochs; the last epoch still added" in plain
    # each job's own clock, summed: Synth-MNIST's 5 (one a method), Synth-Fashion's 5 + 5
    words = " ".join(plain.split())
    assert "cccccccccccc; its 5 jobs took 60.0 s in all, each timed by its own clock" in words
    assert "its 10 jobs (the selection sweep's among them) took 65.0 s in all" in words
    assert "the last one, which wrote the index, took 75.0 s)." in words
    assert ("13.51%]). On Synth-Fashion, learned little at every budget and seed" in words)
    cost = text.split(r"\section{Compute cost}")[1].replace(r"\%", "%")
    assert "Where each frontier's time went" in cost
    assert "synth & test & pruned & 1 & 12.0 s & 20% & not recorded" in cost
    assert ("squared norm recovered; a predictor of zeros gives 1): INNR, faithful. Table"
            in words)  # not a k-bit predictor: no word on rounding
    assert r"RuntimeError: boom\_\& 50\%" in section  # the failed point, escaped
    assert r"\includegraphics[width=\linewidth]" in section and "frontier.pdf" in section
    assert "narrow CNN (uses data)" in section
    assert r"Section~\ref{sec:frontier}" in text.split(r"\end{abstract}")[0]
    assert r"\bibitem{strumpler}" in text and r"\cite{coin}" in section
    assert r"\paragraph{Amended criteria, for the frontier's next run.}" in section
    assert r"MNIST 0.5\%; Fashion-MNIST 0.5\%" in section
    assert "frontier-raw.pdf" in section  # the raw-bit frontier beside the coded one
    for name in ("frontier", "frontier-raw"):
        for suffix in (".pdf", ".png"):
            assert (with_frontier["dirs"]["figures_dir"] / f"{name}{suffix}").stat().st_size > 1000


def test_the_frontier_is_drawn_at_coded_bytes_and_beside_it_at_raw_bits():
    points = pd.DataFrame({"stored_bytes": [100.0, 200.0], "bytes_coded": [60.0, None]})
    assert list(stored_sizes(points)) == [60.0, 200.0]  # a point without a coded file: raw
    assert list(stored_sizes(points, "raw")) == [100.0, 200.0]


def test_the_report_renders_without_frontier_results(synthetic):  # noqa: F811
    text = synthetic["text"]
    section = text.split(r"\section{The compression frontier}")[1].split(r"\section{")[0]
    assert "has not run for this configuration" in section
    assert "sec:frontier" not in text.split(r"\end{abstract}")[0]
    assert not (synthetic["dirs"]["figures_dir"] / "frontier.pdf").exists()


def test_the_readme_block_has_the_frontier_table_only_with_results(with_frontier, synthetic):  # noqa: F811
    def block(results) -> str:
        return readme.block(with_frontier["config"], results, with_frontier["dirs"]["bench"],
                            with_frontier["dirs"]["original"])

    text = block(with_frontier["results"])
    assert "compression frontier" in text and "| Synth-Fashion | 25% |" in text
    assert "Points failed or missing: 2" in text
    # each dataset's rule says how it tests: Synth-MNIST's published one, Synth-Fashion's amended
    assert "two-sided paired tests, Holm per budget; each INNR method judged on its own" in text
    assert "compression frontier" not in block(synthetic["results"])


def test_the_list_of_methods_names_each_k_bit_familys_widths():
    from innr.report import paper

    families = paper._families(["innr_best", "innr_best_b2", "innr_best_b8", "pruned",
                                "pruned_quantised", "pruned_quantised_b3", "low_rank_b4",
                                "innr_residual_b1"])
    assert families == {"innr_bits": "2 and 8", "residual_bits": "1", "pruned_bits": "3",
                        "low_rank_bits": "4"}
    assert set(paper._families(["innr_best", "pruned"]).values()) == {""}


def test_each_innr_method_has_a_line_of_its_own():
    from matplotlib.colors import to_hex

    from innr.report import figures
    innr = ["innr_faithful", "innr_best", "innr_quantised",
            *(f"innr_best_b{k}" for k in (2, 4, 6, 8)),
            *(f"innr_residual_b{k}" for k in (1, 2, 3))]
    looks = {(to_hex(figures.innr_style(m)["color"]), figures.innr_style(m)["marker"])
             for m in innr}
    assert len(looks) == len(innr)


def test_the_methods_on_fewer_seeds_are_named_once_per_count():
    from innr.report.paper import fewer_seeds
    per_method = {"pruned": 10, "narrow_cnn": 5, "innr_faithful": 5, "innr_best_b2": 3,
                  "innr_best": 10}
    assert fewer_seeds(per_method, 10, verdicts.method_label) == (
        "5 for 2 methods: INNR, faithful; narrow CNN (uses data); "
        "and the first 3 for INNR, best variant, 2-bit")
    assert fewer_seeds({"pruned": 10}, 10, verdicts.method_label) == ""


def test_the_innr_methods_that_learned_little_are_named_with_where_to_look():
    f = load.Frontier("D", "d", _frame(), [], [], {"config_hash": "h"})
    f.weight_errors = {("innr_best_b2", 0.1, 1): 0.99, ("innr_best_b2", 0.5, 1): 0.9,
                       ("innr_best_b4", 0.1, 1): 0.99, ("innr_best_b4", 0.5, 1): 0.89,
                       ("innr_faithful", 0.1, 1): 1.0, ("pruned", 0.1, 1): 1.0}
    assert verdicts.learned_nothing(f) == ["innr_faithful", "innr_best_b2"]  # INNRs only
    assert [m for m in ("innr_faithful", "innr_best", "innr_quantised", "innr_best_b2",
                        "innr_residual_b1") if verdicts.rounds_predictor(m)] == [
        "innr_quantised", "innr_best_b2", "innr_residual_b1"]
    text = sentences.frontier_learned_nothing("D", ["innr_best_b2"], 0.9, verdicts.method_label,
                                              rounded=True)
    assert text.startswith("On D, learned little at every budget and seed (a relative L2 error "
                           "of the rebuilt weights of 0.9 or more, so under 19% of their "
                           "squared norm recovered; a predictor of zeros gives 1): INNR, best "
                           "variant, 2-bit. A k-bit predictor rounds every tensor")
    assert "k-bit" not in sentences.frontier_learned_nothing(
        "D", ["innr_faithful"], 0.9, verdicts.method_label, rounded=False)
    assert sentences.frontier_learned_nothing("D", [], 0.9, verdicts.method_label, True) == ""


def test_every_data_track_method_has_a_label():
    from innr.experiments.datatrack import TRACK
    assert set(verdicts.DATA_TRACK_LABELS) == set(TRACK)
    assert verdicts.method_label("qat") == "quantisation-aware training"
    assert verdicts.method_label("pruned_quantised") == "pruned + int8"
