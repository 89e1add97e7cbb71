"""Each claim's verdict, for each outcome, on synthetic per-seed values; and on results files."""

from __future__ import annotations

import math

import pytest
from scipy import stats as scipy_stats

from innr.paths import CRITERIA
from innr.report import formats, load, verdicts
from innr.report.decide import OUTCOMES, Comparison, compare, holm_family, power_calculation
from innr.report.load import Criteria
from innr.report.verdicts import Verdict, claim_compression, claim_fidelity, claim_transfer
from innr.stats import one_sided_bound, seeds_for_noninferiority, summary

CLAIM = "FGSM examples crafted on the CNN also fool the rebuilt network"
RATIONALE = {"fidelity": "Why 1.", "compression": "Why 2.", "transfer": "Why 3."}
CRITERIA_ = Criteria("before", "the pilot.", alpha=0.05, power=0.8, margin=0.01,
                     rationale=RATIONALE)


def test_a_verdict_has_one_of_three_outcomes():
    with pytest.raises(ValueError, match="not one of"):
        Verdict(1, "fidelity", "s", "maybe", "c", "r", "x")
    assert OUTCOMES == ("supported", "not supported", "inconclusive")


def test_the_declared_criteria_file_loads():
    c = load.load_criteria(CRITERIA)
    assert 0 < c.alpha < 0.5 and 0 < c.margin < 1 and set(c.rationale) == set(verdicts.CLAIMS)
    assert all(text.endswith(".") for text in c.rationale.values())


def test_a_criteria_file_with_a_missing_key_or_bad_value_stops(tmp_path):
    from innr.config import ConfigError

    text = CRITERIA.read_text()
    (tmp_path / "a.toml").write_text(text.replace("alpha = 0.05", "alpha = 0.7"))
    with pytest.raises(ConfigError, match="alpha must lie"):
        load.load_criteria(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text(text.replace("margin = 0.01", ""))
    with pytest.raises(ConfigError, match="missing"):
        load.load_criteria(tmp_path / "b.toml")
    with pytest.raises(ConfigError, match="not found"):
        load.load_criteria(tmp_path / "none.toml")


# --- comparisons -----------------------------------------------------------------------------

def test_compare_tests_the_paired_difference_one_sided_both_ways():
    a, b = [0.91, 0.93, 0.92, 0.95], [0.90, 0.90, 0.91, 0.92]
    c = compare("x", a, b)
    d = [x - y for x, y in zip(a, b, strict=True)]
    assert c.diff == summary(d)
    assert c.p_for == pytest.approx(scipy_stats.ttest_1samp(d, 0, alternative="greater").pvalue)
    assert c.p_against == pytest.approx(1 - c.p_for)
    assert c.outcome(0.05) == "supported"
    assert compare("x", b, a).outcome(0.05) == "not supported"


def test_holm_family_adjusts_each_direction_over_the_family():
    family = holm_family([Comparison("a", {}, 0.01, 0.99), Comparison("b", {}, 0.04, 0.96),
                          Comparison("c", {}, 0.03, 0.97)])
    assert [c.p_for_holm for c in family] == pytest.approx([0.03, 0.06, 0.06])
    assert [c.outcome(0.05, adjusted=True) for c in family] == [
        "supported", "inconclusive", "inconclusive"]
    assert [c.outcome(0.05) for c in family] == ["supported"] * 3  # raw p-values


# --- claim 1 ---------------------------------------------------------------------------------

def fidelity_seed(agree: float, kl: float, control=(0.95, 0.05), pruned=(0.99, 0.01),
                  noise=(0.90, 0.2), rel_l2: float = 0.25) -> dict:
    return {"top1_agreement": agree, "mean_kl": kl, "weight_rel_l2": rel_l2,
            **{f"{n}_top1_agreement": v[0] for n, v in
               (("control", control), ("pruned", pruned), ("noise", noise))},
            **{f"{n}_mean_kl": v[1] for n, v in
               (("control", control), ("pruned", pruned), ("noise", noise))}}


def seeds_of(values, **kwargs) -> list[dict]:
    return [fidelity_seed(a, k, **kwargs) for a, k in values]


@pytest.mark.parametrize("values, outcome", [
    ([(0.97, 0.03), (0.975, 0.025), (0.98, 0.02)], "supported"),  # closer on both
    ([(0.97, 0.03), (0.975, 0.07), (0.98, 0.06)], "inconclusive"),  # KL undecided
    ([(0.93, 0.03), (0.94, 0.025), (0.92, 0.02)], "not supported"),  # control agrees more
    ([(0.97, 0.08), (0.975, 0.09), (0.98, 0.085)], "not supported"),  # control has lower KL
])
def test_claim_1_outcomes(values, outcome):
    v = claim_fidelity(seeds_of(values), CRITERIA_)
    assert v.outcome == outcome and v.claim == 1 and v.title == "Claim 1 (fidelity)"
    assert v.statement == "the weights can be reconstructed faithfully"
    assert v.rationale == RATIONALE["fidelity"] and v.sentence.endswith(".")
    agree = [a for a, _ in values]
    assert v.numbers["agree_rebuilt"] == summary(agree)
    assert f"{100 * summary(agree)['mean']:.1f}%" in v.sentence
    assert "an independently trained CNN of the same recipe" in v.criterion


def test_claim_1_both_measures_must_be_closer():
    # agreement clearly better, KL clearly worse: one 'not supported' decides
    v = claim_fidelity(seeds_of([(0.99, 0.08), (0.995, 0.09), (0.99, 0.085)]), CRITERIA_)
    assert v.numbers["agreement"].outcome(0.05) == "supported"
    assert v.numbers["kl"].outcome(0.05) == "not supported" and v.outcome == "not supported"


def test_claim_1_secondary_yardsticks_have_their_own_verdicts():
    v = claim_fidelity(seeds_of([(0.97, 0.03), (0.975, 0.025), (0.98, 0.02)]), CRITERIA_)
    pruned, noise = v.secondary
    assert pruned.role == "yardstick: pruning" and pruned.outcome == "not supported"
    assert noise.role == "yardstick: random error" and noise.outcome == "supported"
    assert pruned.title == "Claim 1 (fidelity), yardstick: pruning"
    assert pruned.statement.endswith("?") and "pruned" in pruned.criterion
    assert v.numbers["rel_l2"] == summary([0.25] * 3)


# --- claim 2 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("params_innr, rebuilt, outcome, ending", [
    (74, [0.948, 0.957, 0.952], "supported", ": the loss is within the margin."),
    (74, [0.930, 0.938, 0.934], "not supported", ": the loss exceeds the margin."),
    (74, [0.935, 0.958, 0.945], "inconclusive", ": the seeds cannot place the loss on either "
                                                "side."),
    (100, [0.948, 0.957, 0.952], "not supported", ": the INNR is not smaller."),
])
def test_claim_2_outcomes(params_innr, rebuilt, outcome, ending):
    cnn = [0.95, 0.96, 0.955]
    v = claim_compression(100, params_innr, cnn, rebuilt, [0.94, 0.95, 0.945], CRITERIA_)
    assert v.outcome == outcome and v.claim == 2 and v.sentence.endswith(ending)
    gaps = [a - b for a, b in zip(cnn, rebuilt, strict=True)]
    assert v.numbers["gap"] == summary(gaps)
    assert v.numbers["upper"] == pytest.approx(one_sided_bound(gaps, 0.95))
    assert v.numbers["lower"] == pytest.approx(one_sided_bound(gaps, 0.95, upper=False))
    assert v.numbers["margin"] == 0.01 and v.rationale == RATIONALE["compression"]
    assert f"{params_innr / 100:.1%}" in v.sentence and "1.00%" in v.sentence


def test_claim_2_margin_decides_not_zero():
    # a gap detectably above zero but detectably below the margin is supported
    cnn, rebuilt = [0.95, 0.96, 0.955, 0.958], [0.946, 0.9565, 0.951, 0.9545]
    v = claim_compression(100, 74, cnn, rebuilt, rebuilt, CRITERIA_)
    assert v.numbers["gap"]["ci_low"] > 0 and v.outcome == "supported"
    strict = Criteria("b", "p.", 0.05, 0.8, 0.001, RATIONALE)
    assert claim_compression(100, 74, cnn, rebuilt, rebuilt, strict).outcome == "not supported"


def test_claim_2_sets_the_pruned_cnn_beside_it():
    cnn, rebuilt = [0.95, 0.96, 0.955], [0.948, 0.957, 0.952]
    worse = claim_compression(100, 74, cnn, rebuilt, [0.90, 0.91, 0.905], CRITERIA_)
    better = claim_compression(100, 74, cnn, rebuilt, [0.951, 0.9605, 0.9555], CRITERIA_)
    assert worse.secondary[0].outcome == "supported"  # the INNR loses less than pruning
    assert better.secondary[0].outcome == "not supported"
    assert worse.secondary[0].role == "yardstick: pruning"


def test_power_calculation_from_the_pilot():
    pilot = {"seeds": [1, 2, 3, 4], "accuracy_original": [0.95, 0.96, 0.955, 0.957],
             "accuracy_rebuilt": [0.946, 0.955, 0.953, 0.951]}
    gaps = [a - b for a, b in zip(pilot["accuracy_original"], pilot["accuracy_rebuilt"],
                                  strict=True)]
    p = power_calculation(pilot, CRITERIA_)
    s = summary(gaps)
    assert p["gap"] == s and p["seeds_needed"] == seeds_for_noninferiority(
        s["std"], 0.01, s["mean"], 0.05, 0.8)
    assert power_calculation(None, CRITERIA_) is None
    assert power_calculation({**pilot, "seeds": [1]}, CRITERIA_) is None


# --- claim 3 ---------------------------------------------------------------------------------

def transfer_seed(rebuilt: float, control: float, eps=(0.1, 0.3), noise_acc: float = 0.9,
                  fgsm_acc: float = 0.5) -> dict:
    m = {}
    for p in ("original", "pixel"):
        for e in (0.0, *eps):
            key = f"forward_{p}_eps{e:g}"
            m |= {f"{key}_transfer_rebuilt": rebuilt + e / 10,
                  f"{key}_transfer_control": control + e / 10,
                  f"{key}_transfer_clean_rebuilt": rebuilt,
                  f"{key}_transfer_clean_control": control,
                  f"{key}_acc_rebuilt": fgsm_acc}
            if e > 0:
                m[f"noise_{p}_eps{e:g}_acc_rebuilt"] = noise_acc
    return m


def judge_transfer(seeds: list[dict], criteria: Criteria = CRITERIA_) -> Verdict:
    return claim_transfer(seeds, (0.0, 0.1, 0.3), ("original", "pixel"), "original", CLAIM,
                          criteria)


@pytest.mark.parametrize("pairs, outcome, ending", [
    ([(0.92, 0.85), (0.91, 0.86), (0.93, 0.84)], "supported", "more than to the control."),
    ([(0.80, 0.85), (0.81, 0.87), (0.79, 0.83)], "not supported", "less than to the control."),
    ([(0.92, 0.85), (0.80, 0.86), (0.86, 0.84)], "inconclusive",
     "but not detectably more than to the control."),
])
def test_claim_3_outcomes(pairs, outcome, ending):
    v = judge_transfer([transfer_seed(r, c) for r, c in pairs])
    assert v.outcome == outcome and v.claim == 3 and v.sentence.endswith(ending)
    assert v.statement == CLAIM and v.numbers["eps"] == [0.1, 0.3]  # eps 0 left out
    means = [(r + 0.02) - (c + 0.02) for r, c in pairs]  # mean over eps of +e/10: 0.02
    assert v.numbers["comparison"].diff["mean"] == pytest.approx(summary(means)["mean"])
    assert "Averaged over eps 0.1, 0.3 (original protocol)" in v.sentence


def test_claim_3_pairs_by_seed():
    seeds = [transfer_seed(r, c) for r, c in [(0.70, 0.65), (0.80, 0.74), (0.90, 0.86)]]
    assert judge_transfer(seeds).outcome == "supported"
    shuffled = [transfer_seed(r, c) for r, c in [(0.70, 0.86), (0.80, 0.74), (0.90, 0.65)]]
    assert judge_transfer(shuffled).outcome == "inconclusive"


def test_claim_3_secondary_family_is_each_eps_clean_rates_and_noise_with_holm():
    seeds = [transfer_seed(r, c, noise_acc=n)
             for r, c, n in [(0.92, 0.85, 0.9), (0.91, 0.86, 0.88), (0.93, 0.84, 0.91)]]
    v = judge_transfer(seeds)
    labels = [c.label for c in v.secondary]
    assert len(labels) == 2 * 2 + 1 + 2 * 2  # eps x protocol, clean, noise per eps x protocol
    assert sum("clean-correct" in x for x in labels) == 1
    assert sum("under noise minus under FGSM" in x for x in labels) == 4
    assert all(math.isfinite(c.p_for_holm) and c.p_for_holm >= c.p_for for c in v.secondary)
    noise = [c for c in v.secondary if "noise" in c.label]
    assert all(c.diff["mean"] == pytest.approx((0.9 + 0.88 + 0.91) / 3 - 0.5) for c in noise)
    assert all(c.outcome(0.05, adjusted=True) == "supported" for c in noise)


def test_claim_3_without_noise_records_leaves_the_noise_rows_out():
    seeds = [transfer_seed(r, c) for r, c in [(0.92, 0.85), (0.91, 0.86)]]
    for s in seeds:
        for k in [k for k in s if k.startswith("noise_")]:
            del s[k]
    assert not any("noise" in c.label for c in judge_transfer(seeds).secondary)


def test_claim_3_leaves_out_seeds_whose_clean_rate_is_undefined():
    # no clean-correct image fooled the source: the rate is NaN, stored as null (None)
    pairs = [(0.92, 0.85), (0.91, 0.86), (0.93, 0.84)]
    seeds = [transfer_seed(r, c) for r, c in pairs]
    seeds[0]["forward_original_eps0.3_transfer_clean_rebuilt"] = None
    clean = [c for c in judge_transfer(seeds).secondary if "clean-correct" in c.label]
    assert len(clean) == 1 and clean[0].diff["mean"] == pytest.approx(
        summary([r - c for r, c in pairs[1:]])["mean"])  # over the two seeds left
    seeds[1]["forward_original_eps0.1_transfer_clean_control"] = float("nan")
    v = judge_transfer(seeds)  # one seed left: no clean comparison, the rest stands
    assert not any("clean-correct" in c.label for c in v.secondary)
    assert len(v.secondary) == 2 * 2 + 2 * 2 and v.outcome == "supported"


def test_pairs_must_be_complete():
    with pytest.raises(ValueError):
        claim_compression(100, 74, [0.9, 0.8], [0.7], [0.7], CRITERIA_)
    with pytest.raises(ValueError):
        compare("x", [0.9, 0.8], [0.7])


# --- every verdict's text ----------------------------------------------------------------------

VERDICTS = {
    "fidelity": lambda: claim_fidelity(seeds_of([(0.97, 0.03), (0.975, 0.025)]), CRITERIA_),
    "compression": lambda: claim_compression(100, 74, [0.95, 0.96], [0.948, 0.957],
                                             [0.94, 0.95], CRITERIA_),
    "transfer": lambda: judge_transfer([transfer_seed(0.92, 0.85), transfer_seed(0.91, 0.86)])}


@pytest.mark.parametrize("experiment", VERDICTS)
def test_each_verdict_states_its_criterion_with_all_three_outcomes(experiment):
    v = VERDICTS[experiment]()
    assert v.experiment == experiment and v.role == "primary"
    assert v.criterion.startswith("Supported if ") and "; not supported if " in v.criterion
    assert v.criterion.endswith("; inconclusive otherwise.")
    for text in (v.sentence, v.criterion, v.rationale):
        assert text[0].isupper() and text.endswith(".")


def test_judge_reads_the_verdicts_from_results(quick_results):
    from innr.config import load_config
    from innr.paths import ORIGINAL_STUDY, QUICK_CONFIG

    res = load.load_results(load_config(QUICK_CONFIG), quick_results.parent)
    found = verdicts.judge(res, load.load_original(ORIGINAL_STUDY), CRITERIA_)
    assert [v.claim for v in found.values()] == [1, 2, 3]
    fidelity = [r["metrics"]["top1_agreement"] for r in res.ok("fidelity")]
    assert found["fidelity"].numbers["agree_rebuilt"] == summary(fidelity)
    control = [r["metrics"]["control_top1_agreement"] for r in res.ok("fidelity")]
    assert found["fidelity"].numbers["agree_other"] == summary(control)
    eps = [e for e in res.config.attack.eps if e > 0]
    rates = [sum(r["metrics"][f"forward_original_eps{e:g}_transfer_rebuilt"] for e in eps)
             / len(eps) for r in res.ok("transfer")]
    assert found["transfer"].numbers["rebuilt"] == summary(rates)
    gaps = [r["metrics"]["accuracy_gap"] for r in res.ok("compression")]
    assert found["compression"].numbers["gap"]["mean"] == pytest.approx(summary(gaps)["mean"])


# --- the ablation -------------------------------------------------------------------------

def _arms(gaps: dict[str, list[float]], budget: float = 0.5):
    import pandas as pd

    return pd.DataFrame([{"arm": arm, "budget": budget, "seed": 100 + i, "accuracy_gap": g}
                         for arm, values in gaps.items() for i, g in enumerate(values)])


def test_the_declared_ablation_targets_load():
    c = load.load_criteria(CRITERIA)
    assert c.ablation["targets"] == {0.25: 0.01, 0.5: 0.003}
    assert c.ablation["seen_before"] and c.ablation["rationale"]


@pytest.mark.parametrize("best, target, outcome", [
    ([0.001, 0.002, 0.0015, 0.001, 0.002], 0.003, "met"),
    ([0.004, 0.005, 0.0045, 0.004, 0.005], 0.003, "missed"),
    ([0.004, 0.005, 0.0045, 0.004, 0.005], None, "no target"),
])
def test_the_best_combination_against_its_target(best, target, outcome):
    frame = _arms({"best": best, "base": [g + 0.01 for g in best]})
    v = verdicts.ablation_budget(frame, 0.5, ["permute"], target, alpha=0.05)
    assert v.outcome == outcome
    assert v.upper == pytest.approx(one_sided_bound(best, 0.95, upper=True))
    if outcome == "missed":
        assert f"missed by {formats.pct_points(v.upper - target)}" in v.sentence
    assert "50% of the CNN's bits" in v.sentence and "base + permute" in v.sentence


def test_ablation_comparisons_are_signed_and_holm_corrected():
    rng = [0.0003, -0.0002, 0.0001, 0.0004, -0.0001, 0.0002]
    other = [0.0001, 0.0002, -0.0003, 0.0, 0.0003, -0.0001]  # paired differences that vary
    best = [0.002 + r for r in rng]
    frame = _arms({
        "pruned": [0.001 + r for r in other],               # pruning: smaller gap than best
        "base": [0.010 + r for r in rng],
        "plus_permute": [0.004 + r for r in other],         # helps the base
        "plus_noise": [0.0101 - r for r in rng],            # no detectable change
        "best": best,
        "minus_permute": [0.009 + r for r in other],        # removing it hurts
    })
    v = verdicts.ablation_budget(frame, 0.5, ["permute"], 0.003, alpha=0.05)
    by = {c.label: c for c in v.comparisons}
    assert by["best combination vs pruned CNN (same bits)"].outcome(0.05, True) == \
        "not supported"
    assert by["base + permute vs base"].outcome(0.05, True) == "supported"
    assert by["base + noise vs base"].outcome(0.05, True) == "inconclusive"
    assert by["best vs best - permute (permute in the combination)"].outcome(0.05, True) == \
        "supported"
    # Holm: every adjusted p at least the raw one, over the whole family of this budget
    assert len(v.comparisons) == 4
    assert all(c.p_for_holm >= c.p_for for c in v.comparisons if math.isfinite(c.p_for))


def test_ablation_pairs_only_the_seeds_both_arms_have():
    frame = _arms({"best": [0.002, 0.003, 0.001, 0.002], "faithful": [0.01, 0.02]})
    v = verdicts.ablation_budget(frame, 0.25, [], None, alpha=0.05)
    (c,) = v.comparisons
    assert c.diff["n"] == 2 and c.diff["mean"] == pytest.approx(((0.01 - 0.002)
                                                                 + (0.02 - 0.003)) / 2)
    assert "no idea beat the base" in v.sentence
