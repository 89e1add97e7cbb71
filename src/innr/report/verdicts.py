"""The verdict on each claim of the original study, computed from per-seed results and the
criteria declared in experiments/criteria.toml; and, beyond the claims, the ablation's verdict
per budget and INNR's standing on the compression frontier per dataset and budget.

A Verdict is one object: the claim, its outcome (supported / not supported / inconclusive), the
criterion and why it was chosen, one sentence that states the result with its numbers, the
numbers themselves, and the secondary comparisons that stand beside the primary test. The
template and the README print it as it is; they decide nothing.

Each primary test is one-sided at the declared alpha and paired over seeds (each seed's CNN with
its own rebuilt network and its own control). Every `claim_*` function is a pure function of
per-seed values, so each outcome can be tested on synthetic numbers; `judge` extracts those
values from the results files.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from innr.report import load
from innr.report.formats import CI_LEVEL, num, p_text, pct, with_interval
from innr.report.formats import pct_points as points
from innr.report.load import Criteria, OriginalStudy, Results
from innr.stats import (
    holm,
    one_sided_bound,
    one_sided_test,
    paired_test,
    seeds_for_noninferiority,
    summary,
)

OUTCOMES = ("supported", "not supported", "inconclusive")
CLAIMS = {"fidelity": 1, "compression": 2, "transfer": 3}  # the experiment that tests each claim
YARDSTICKS = {"control": "an independently trained CNN of the same recipe",
              "pruned": "the CNN magnitude-pruned to the INNR's parameter count",
              "noise": "the CNN plus Gaussian noise as large as the INNR's weight error"}
SHORT = {"control": "control CNN", "pruned": "pruned CNN", "noise": "noisy CNN"}


@dataclass(frozen=True)
class Comparison:
    """One paired comparison over seeds: the per-seed differences, signed so that positive
    favours the claim, tested one-sided both ways (p_for: the claim's side)."""

    label: str
    diff: dict  # innr.stats.summary of the differences
    p_for: float
    p_against: float
    p_for_holm: float = math.nan  # within a family of secondary comparisons
    p_against_holm: float = math.nan

    def outcome(self, alpha: float, adjusted: bool = False) -> str:
        p_for, p_against = ((self.p_for_holm, self.p_against_holm) if adjusted
                            else (self.p_for, self.p_against))
        return ("supported" if p_for < alpha else "not supported" if p_against < alpha
                else "inconclusive")


def compare(label: str, favour: Sequence[float], against: Sequence[float]) -> Comparison:
    """Paired comparison of `favour` - `against` per seed."""
    d = [a - b for a, b in zip(favour, against, strict=True)]
    return Comparison(label, summary(d), one_sided_test(d, greater=True)["p"],
                      one_sided_test(d, greater=False)["p"])


def holm_family(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The comparisons with Holm-adjusted p-values, each direction adjusted over the family."""
    p_for = holm([c.p_for for c in comparisons])
    p_against = holm([c.p_against for c in comparisons])
    return [Comparison(c.label, c.diff, c.p_for, c.p_against, f, a)
            for c, f, a in zip(comparisons, p_for, p_against, strict=True)]


@dataclass(frozen=True)
class Verdict:
    claim: int  # 1, 2 or 3
    experiment: str  # the script that tests it: fidelity, compression, transfer
    statement: str  # the claim as the original makes it (or the secondary question)
    outcome: str  # one of OUTCOMES
    criterion: str  # the rule that decides the outcome
    rationale: str  # why that rule
    sentence: str  # the result, with its numbers, in one sentence
    numbers: dict = field(default_factory=dict)  # what the sentence states, unformatted
    secondary: tuple = ()  # Verdicts on secondary questions, or Comparisons (Holm family)
    role: str = "primary"  # or the name of the secondary question

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {OUTCOMES}")

    @property
    def title(self) -> str:
        base = title(self.experiment)
        return base if self.role == "primary" else f"{base}, {self.role}"


def title(experiment: str) -> str:
    """How the code, README and report name a claim: 'Claim 2 (compression)'."""
    return f"Claim {CLAIMS[experiment]} ({experiment})"


# --- claim 1: the weights are reconstructed faithfully ------------------------------------------

def closer(other: str, agree_rebuilt: Sequence[float], agree_other: Sequence[float],
           kl_rebuilt: Sequence[float], kl_other: Sequence[float], alpha: float,
           role: str = "primary", rationale: str = "") -> Verdict:
    """Is the rebuilt network closer to the CNN than `other` (a key of YARDSTICKS) is, on both
    top-1 agreement (higher is closer) and mean KL from the CNN (lower is closer)?"""
    name = SHORT[other]
    agree = compare(f"top-1 agreement, rebuilt minus {name}", agree_rebuilt, agree_other)
    kl = compare(f"mean KL, {name} minus rebuilt", kl_other, kl_rebuilt)
    both = [agree.outcome(alpha), kl.outcome(alpha)]
    outcome = ("supported" if both == ["supported"] * 2
               else "not supported" if "not supported" in both else "inconclusive")
    ending = {"supported": "the rebuilt network is closer to the CNN on both.",
              "not supported": f"{YARDSTICKS[other]} is closer to the CNN on at least one.",
              "inconclusive": "neither is detectably closer on both."}[outcome]
    sentence = (f"Top-1 agreement with the CNN: rebuilt {with_interval(summary(agree_rebuilt))}, "
                f"{name} {with_interval(summary(agree_other))}, paired difference "
                f"{with_interval(agree.diff)} (one-sided p = {p_text(agree.p_for)}); mean KL "
                f"from the CNN: rebuilt {with_interval(summary(kl_rebuilt), num)}, {name} "
                f"{with_interval(summary(kl_other), num)} (one-sided p = {p_text(kl.p_for)}): "
                + ending)
    return Verdict(
        1, "fidelity",
        ("the weights can be reconstructed faithfully" if role == "primary" else
         f"is the rebuilt network closer to the CNN than {YARDSTICKS[other]}?"),
        outcome,
        criterion=(f"Supported if the rebuilt network is closer to the CNN than {YARDSTICKS[other]}"
                   f" on both top-1 agreement and mean KL divergence (one-sided paired t-tests "
                   f"over seeds, each at alpha = {num(alpha, 2)}); not supported if the "
                   f"{name} is significantly closer on either; inconclusive otherwise."),
        rationale=rationale, sentence=sentence,
        numbers={"other": other, "agreement": agree, "kl": kl,
                 "agree_rebuilt": summary(agree_rebuilt), "agree_other": summary(agree_other)},
        role=role)


def claim_fidelity(m: Sequence[dict], criteria: Criteria) -> Verdict:
    """Primary: closer to the CNN than the control CNN; secondary: than the pruned CNN and than
    the CNN plus noise of the INNR's error size. `m`: per-seed fidelity metrics."""
    def metric(key: str) -> list[float]:
        return [x[key] for x in m]

    def against(other: str, role: str, rationale: str = "") -> Verdict:
        return closer(other, metric("top1_agreement"), metric(f"{other}_top1_agreement"),
                      metric("mean_kl"), metric(f"{other}_mean_kl"), criteria.alpha, role,
                      rationale)

    secondary = (
        against("pruned", "yardstick: pruning",
                "The simplest compression that keeps as many numbers as the INNR has "
                "parameters (their positions aside), with no data and no fine-tuning."),
        against("noise", "yardstick: random error",
                "Whether the INNR's error, at its size, harms the outputs more or less than "
                "random error of the same norm."))
    primary = against("control", "primary", criteria.rationale["fidelity"])
    return dataclasses.replace(primary, secondary=secondary, numbers={
        **primary.numbers, "rel_l2": summary(metric("weight_rel_l2"))})


# --- claim 2: fewer parameters at a small accuracy gap ------------------------------------------

def power_calculation(pilot: dict | None, criteria: Criteria) -> dict | None:
    """The seeds claim 2's test needs, from the pilot's per-seed gaps: its spread and mean
    taken as the truth (None without a pilot of at least two seeds)."""
    if pilot is None or len(pilot["seeds"]) < 2:
        return None
    gaps = summary([a - b for a, b in zip(pilot["accuracy_original"], pilot["accuracy_rebuilt"],
                                          strict=True)])
    if not gaps["std"] > 0:
        return None
    return {"pilot_seeds": pilot["seeds"], "gap": gaps, "margin": criteria.margin,
            "alpha": criteria.alpha, "power": criteria.power,
            "seeds_needed": seeds_for_noninferiority(gaps["std"], criteria.margin,
                                                     gaps["mean"], criteria.alpha,
                                                     criteria.power)}


def claim_compression(params_cnn: int, params_innr: int, acc_cnn: Sequence[float],
                      acc_rebuilt: Sequence[float], acc_pruned: Sequence[float],
                      criteria: Criteria, pilot: dict | None = None) -> Verdict:
    """Non-inferiority of the rebuilt network's accuracy within the declared margin."""
    margin, alpha = criteria.margin, criteria.alpha
    gaps = [a - b for a, b in zip(acc_cnn, acc_rebuilt, strict=True)]
    gap = summary(gaps)
    upper = one_sided_bound(gaps, 1 - alpha, upper=True)
    lower = one_sided_bound(gaps, 1 - alpha, upper=False)
    ratio = params_innr / params_cnn
    bound = pct(1 - alpha, 0)
    said = (f"The INNR has {pct(ratio)} of the CNN's parameters; the accuracy gap (CNN minus "
            f"rebuilt) is {with_interval(gap, points)}, its one-sided {bound} "
            f"upper bound {points(upper)} against the margin of {points(margin)}")
    if ratio >= 1:
        outcome, ending = "not supported", ": the INNR is not smaller."
    elif math.isfinite(upper) and upper < margin:
        outcome, ending = "supported", ": the loss is within the margin."
    elif math.isfinite(lower) and lower > margin:
        outcome, ending = "not supported", ": the loss exceeds the margin."
    else:
        outcome, ending = "inconclusive", ": the seeds cannot place the loss on either side."
    # beside it: the CNN pruned to the same count (positive = the INNR loses less)
    pruned_gaps = [a - p for a, p in zip(acc_cnn, acc_pruned, strict=True)]
    vs_pruned = compare("gap of the pruned CNN minus gap of the INNR", pruned_gaps, gaps)
    pruned = Verdict(
        2, "compression", "is the rebuilt network more accurate than the CNN pruned to the "
        "same parameter count?", vs_pruned.outcome(alpha),
        criterion=(f"Supported if the pruned CNN's gap exceeds the INNR's (one-sided paired "
                   f"t-test at alpha = {num(alpha, 2)}); not supported if it is smaller; "
                   "inconclusive otherwise."),
        rationale="Pruning is what a practitioner would try first at the same parameter count.",
        sentence=(f"The CNN pruned to {num(params_innr)} weights has an accuracy gap (CNN minus "
                  f"pruned) of {with_interval(summary(pruned_gaps), points)}; its gap minus "
                  f"the INNR's is {with_interval(vs_pruned.diff, points)} (one-sided p = "
                  f"{p_text(vs_pruned.p_for)})."),
        numbers={"comparison": vs_pruned}, role="yardstick: pruning")
    return Verdict(
        2, "compression", "the INNR has fewer parameters than the CNN at a small accuracy gap",
        outcome,
        criterion=(f"Supported if the INNR has fewer parameters than the CNN and the one-sided "
                   f"{bound} upper confidence bound of the mean gap lies below the margin of "
                   f"{pct(margin, 1)} (non-inferiority); not supported if the INNR is not "
                   f"smaller or the one-sided lower bound lies above the margin; inconclusive "
                   "otherwise."),
        rationale=criteria.rationale["compression"], sentence=said + ending,
        numbers={"params_cnn": params_cnn, "params_innr": params_innr, "ratio": ratio,
                 "gap": gap, "upper": upper, "lower": lower, "margin": margin,
                 "noninferiority": one_sided_test(gaps, greater=False, null=margin),
                 "power": power_calculation(pilot, criteria)},
        secondary=(pruned,))


# --- claim 3: FGSM examples transfer to the rebuilt network -------------------------------------

def _key(protocol: str, eps: float) -> str:
    return f"{protocol}_eps{eps:g}"


def claim_transfer(m: Sequence[dict], eps: Sequence[float], protocols: Sequence[str],
                   protocol: str, claim: str, criteria: Criteria) -> Verdict:
    """Primary: the mean over eps > 0 (`protocol`) of the transfer rate to the rebuilt network
    minus the rate to the seed's control. Secondary, Holm-corrected as one family: each eps and
    protocol; the rate among clean-correct images; FGSM against random-sign noise."""
    alpha, positive = criteria.alpha, [e for e in eps if e > 0]

    def rate(seed: dict, p: str, e: float, target: str, kind: str = "transfer") -> float:
        return seed[f"forward_{_key(p, e)}_{kind}_{target}"]

    def mean_over_eps(target: str, kind: str = "transfer") -> list[float]:
        return [sum(rate(s, protocol, e, target, kind) for e in positive) / len(positive)
                for s in m]

    primary = compare("mean over eps of rebuilt minus control", mean_over_eps("rebuilt"),
                      mean_over_eps("control"))
    family = [compare(f"eps {e:g}, {p} protocol: rebuilt minus control",
                      [rate(s, p, e, "rebuilt") for s in m], [rate(s, p, e, "control") for s in m])
              for p in protocols for e in positive]
    family.append(compare(f"clean-correct images only, mean over eps ({protocol}): rebuilt "
                          "minus control", mean_over_eps("rebuilt", "transfer_clean"),
                          mean_over_eps("control", "transfer_clean")))
    family += [compare(f"eps {e:g}, {p} protocol: rebuilt's accuracy under noise minus under "
                       "FGSM", [s[f"noise_{_key(p, e)}_acc_rebuilt"] for s in m],
                       [s[f"forward_{_key(p, e)}_acc_rebuilt"] for s in m])
               for p in protocols for e in positive
               if all(f"noise_{_key(p, e)}_acc_rebuilt" in s for s in m)]
    outcome = primary.outcome(alpha)
    rebuilt, control = summary(mean_over_eps("rebuilt")), summary(mean_over_eps("control"))
    ending = {"supported": "they transfer to the rebuilt network more than to the control.",
              "not supported": "they transfer to the rebuilt network less than to the control.",
              "inconclusive": "they transfer, but not detectably more than to the control."
              }[outcome]
    sentence = (f"Averaged over eps {', '.join(f'{e:g}' for e in positive)} ({protocol} "
                f"protocol), examples that fool the CNN fool the rebuilt network at a rate of "
                f"{with_interval(rebuilt)} and the seed's independent control CNN at "
                f"{with_interval(control)}; the paired difference is "
                f"{with_interval(primary.diff)} (one-sided p = {p_text(primary.p_for)}): "
                + ending)
    return Verdict(
        3, "transfer", claim, outcome,
        criterion=(f"Supported if the transfer rate CNN to rebuilt, averaged over every eps > 0 "
                   f"of the {protocol} protocol, exceeds the rate CNN to the seed's control CNN "
                   f"(one-sided paired t-test at alpha = {num(alpha, 2)}); not supported if it "
                   "is lower; inconclusive otherwise."),
        rationale=criteria.rationale["transfer"], sentence=sentence,
        numbers={"protocol": protocol, "eps": positive, "rebuilt": rebuilt, "control": control,
                 "comparison": primary},
        secondary=tuple(holm_family(family)))


def transfer_protocol(res: Results, study: OriginalStudy) -> str:
    """The protocol claim 3 is judged in: the original's, or the first there is."""
    protocols = res.config.attack.protocols
    return study.attack["protocol"] if study.attack["protocol"] in protocols else protocols[0]


def judge(res: Results, study: OriginalStudy, criteria: Criteria, pilot: dict | None = None
          ) -> dict[str, Verdict | None]:
    """experiment -> the verdict on its claim (None where it has no successful seed). Seeds
    pair by their position in the config (each with its own control)."""
    verdicts: dict[str, Verdict | None] = dict.fromkeys(load.EXPERIMENTS)
    if fidelity := [r["metrics"] for r in res.ok("fidelity")]:
        verdicts["fidelity"] = claim_fidelity(fidelity, criteria)
    if compression := [r["metrics"] for r in res.ok("compression")]:
        verdicts["compression"] = claim_compression(
            compression[0]["params_cnn"], compression[0]["params_innr"],
            [m["accuracy_original"] for m in compression],
            [m["accuracy_rebuilt"] for m in compression],
            [m["accuracy_pruned"] for m in compression], criteria, pilot)
    if transfer := [r["metrics"] for r in res.ok("transfer")]:
        verdicts["transfer"] = claim_transfer(
            transfer, res.config.attack.eps, res.config.attack.protocols,
            transfer_protocol(res, study), study.attack["claim"], criteria)
    return verdicts


# --- the ablation: which INNR variants matter, at each budget -----------------------------------

ARM_LABELS = {"pruned": "pruned CNN (same bits)", "faithful": "faithful SIREN (per weight)",
              "base": "base: kernel-wise SIREN", "best": "best combination"}
EFFECTS = {"supported": "better", "not supported": "worse", "inconclusive": "no detectable change"}


def arm_label(arm: str) -> str:
    """How the report names an arm: 'base + permute', 'best - outliers'."""
    if arm in ARM_LABELS:
        return ARM_LABELS[arm]
    kind, _, idea = arm.partition("_")
    return f"base + {idea}" if kind == "plus" else f"best - {idea}" if kind == "minus" else arm


@dataclass(frozen=True)
class BudgetVerdict:
    """The ablation at one budget: the best combination against its target, and the Holm
    family of paired comparisons of accuracy gaps (positive: the first-named arm is better)."""

    budget: float
    outcome: str  # "met", "missed" or "no target"
    sentence: str
    best_gap: dict
    upper: float  # one-sided upper confidence bound of the best combination's mean gap
    target: float | None
    comparisons: tuple[Comparison, ...]

    @property
    def headline(self) -> str:
        return "no target set" if self.outcome == "no target" else f"target {self.outcome}"


def _gaps(frame, arm: str) -> dict[int, float]:
    rows = frame[frame["arm"] == arm]
    return dict(zip(rows["seed"].astype(int), rows["accuracy_gap"], strict=True))


def _paired(label: str, better_if_lower: dict[int, float], other: dict[int, float]
            ) -> Comparison:
    """`label`'s first arm against the other on the seeds both have: other's gap minus its."""
    seeds = sorted(set(better_if_lower) & set(other))
    return compare(label, [other[s] for s in seeds], [better_if_lower[s] for s in seeds])


def ablation_budget(frame, budget: float, best_ideas: Sequence[str], target: float | None,
                    alpha: float) -> BudgetVerdict:
    """`frame`: the reported arms' per-seed rows at `budget` (load.Ablation.report)."""
    arms = list(dict.fromkeys(frame["arm"]))
    best = _gaps(frame, "best")
    family = [_paired(f"best combination vs {ARM_LABELS[a]}", best, _gaps(frame, a))
              for a in ("faithful", "pruned") if a in arms]
    family += [_paired(f"base + {a[5:]} vs base", _gaps(frame, a), _gaps(frame, "base"))
               for a in arms if a.startswith("plus_")]
    family += [_paired(f"best vs best - {a[6:]} ({a[6:]} in the combination)", best,
                       _gaps(frame, a)) for a in arms if a.startswith("minus_")]
    family = holm_family(family)
    gaps = [best[s] for s in sorted(best)]
    gap, upper = summary(gaps), one_sided_bound(gaps, 1 - alpha, upper=True)
    ideas = ", ".join(best_ideas) or "no idea beat the base"
    said = (f"At {100 * budget:g}% of the CNN's bits the best combination (base + {ideas}) has an "
            f"accuracy gap of {with_interval(gap, points)}, its one-sided "
            f"{pct(1 - alpha, 0)} upper bound {points(upper)}")
    if target is None:
        outcome, ending = "no target", "; no target was set at this budget."
    elif math.isfinite(upper) and upper <= target:
        outcome, ending = "met", f": the target of {points(target)} is met."
    else:
        outcome = "missed"
        ending = (f": the target of {points(target)} is missed by {points(upper - target)}."
                  if math.isfinite(upper) else f": the target of {points(target)} cannot be "
                  "checked.")
    for arm in ("pruned", "faithful"):
        if arm in arms:
            said_arm = summary(list(_gaps(frame, arm).values()))
            name = ARM_LABELS[arm]
            ending += f" {name[0].upper()}{name[1:]}: gap {with_interval(said_arm, points)}."
    return BudgetVerdict(budget, outcome, said + ending, gap, upper, target, tuple(family))


def judge_ablation(ab: load.Ablation, criteria: Criteria) -> list[BudgetVerdict]:
    """One verdict per budget of the ablation, in the config's order."""
    targets = criteria.ablation.get("targets", {})
    out = []
    for budget in dict.fromkeys(ab.report["budget"]):
        frame = ab.report[ab.report["budget"] == budget]
        target = next((t for b, t in targets.items() if math.isclose(b, budget)), None)
        out.append(ablation_budget(frame, budget, ab.selection["best_ideas"], target,
                                   criteria.alpha))
    return out


# --- the compression frontier: INNR against what a practitioner would store instead -------------

INNR_METHODS = ("innr_faithful", "innr_best", "innr_quantised")  # innr.experiments.frontier's
METHOD_LABELS = {"innr_faithful": "INNR, faithful", "innr_best": "INNR, best variant",
                 "innr_quantised": "INNR, quantised", "pruned": "pruned",
                 "pruned_distilled": "pruned + distilled", "low_rank": "low rank",
                 "quantised": "quantised", "quantised_mean": "quantised + means",
                 "quantised_distilled": "quantised + distilled",
                 "pruned_quantised": "pruned + int8", "narrow_cnn": "narrow CNN (uses data)"}
STANDINGS = ("wins", "on the frontier", "loses", "untested")


def method_label(method: str) -> str:
    """How the report names a frontier method: 'INNR, best variant', 'pruned + int8'."""
    return METHOD_LABELS.get(method, method.replace("_", " "))


def method_order(methods: Iterable[str]) -> list[str]:
    """INNR methods first, then the data-free rivals, then the rest (the narrow CNN), each in
    the order of METHOD_LABELS."""
    methods = list(methods)
    known = [m for m in METHOD_LABELS if m in set(methods)]
    return known + [m for m in dict.fromkeys(methods) if m not in METHOD_LABELS]


def method_groups(points: pd.DataFrame) -> list[list[str]]:
    """The methods of a frontier frame in three groups: INNR, data-free rivals, and those that
    use the data (references, never judged)."""
    methods = method_order(points["method"])
    data = set(points.loc[points["uses_data"].astype(bool), "method"])
    return [[m for m in methods if m in INNR_METHODS and m not in data],
            [m for m in methods if m not in INNR_METHODS and m not in data],
            [m for m in methods if m in data]]


def envelope(points: pd.DataFrame) -> pd.DataFrame:
    """A method's accuracy at budget B: its best point (highest mean test accuracy over its
    seeds; the smaller budget on a tie) among those computed at budgets b <= B whose stored bits
    fit B's. `points`: load.Frontier.points (one dataset or several). Returns that point's
    per-seed rows for every (dataset, B, method) with one, `budget` = B, `computed_at` = b and
    `allowed_bits` = B's bits."""
    out = []
    for _, d in points.groupby("dataset", sort=False):
        allowed = d.groupby("budget")["budget_bits"].min()  # B's bits, as its points record
        means = d.groupby(["method", "budget"])["accuracy"].mean()
        largest = d.groupby(["method", "budget"])["stored_bits"].max()
        for budget, bits in allowed.items():
            for method in dict.fromkeys(d["method"]):
                fits = [(means[method, b], -b) for b in means[method].index
                        if b <= budget and largest[method, b] <= bits]
                if fits:
                    b = -max(fits)[1]
                    rows = d[(d["method"] == method) & (d["budget"] == b)]
                    out.append(rows.assign(budget=budget, computed_at=b, allowed_bits=bits))
    columns = [*load.FRONTIER_COLUMNS, "computed_at", "allowed_bits"]
    return pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)


@dataclass(frozen=True)
class Duel:
    """An INNR method against a data-free rival at one budget, paired over the seeds both have:
    INNR minus rival in test accuracy, a two-sided paired t-test, Holm over the budget's duels."""

    innr: str
    rival: str
    diff: dict  # innr.stats.summary of the per-seed differences
    p: float  # two-sided (two_sided_p); NaN with fewer than two shared seeds
    p_holm: float = math.nan

    def outcome(self, alpha: float) -> str:
        """'better', 'worse' (for INNR, after Holm), 'no detectable difference' or 'untested'
        (fewer than two seeds in common)."""
        if self.diff["n"] < 2:
            return "untested"
        if self.p_holm < alpha:
            return "better" if self.diff["mean"] > 0 else "worse"
        return "no detectable difference"


def two_sided_p(a: Sequence[float], b: Sequence[float]) -> float:
    """The paired two-sided t-test's p (innr.stats.paired_test), NaN with fewer than two pairs.
    Where the differences do not vary, the t statistic is infinite or undefined and scipy gives
    no p: a constant difference other than zero counts as p = 0 (every seed says the same), no
    difference at all as p = 1."""
    if len(a) < 2:
        return math.nan
    p = paired_test(a, b)["p"]
    if math.isnan(p):
        return 1.0 if all(math.isclose(x, y, abs_tol=1e-12) for x, y in zip(a, b, strict=True)
                          ) else 0.0
    return p


@dataclass(frozen=True)
class FrontierVerdict:
    """INNR's standing at one budget of one dataset (see criteria.toml's [frontier])."""

    dataset: str
    budget: float
    kilobytes: float  # the budget in kB (1,000 bytes)
    standing: str  # one of STANDINGS
    sentence: str
    winner: str | None  # the data-free method with the highest mean accuracy (INNR included)
    innr: str | None  # the INNR method the standing is about (the best one when it loses)
    rival: str | None  # the rival the sentence names (the strongest, or the closest that wins)
    accuracy: dict  # method -> innr.stats.summary of its accuracy at this budget
    margin: dict  # `innr` minus the strongest rival, paired (innr.stats.summary)
    duels: tuple[Duel, ...]
    reference: dict | None  # the narrow CNN's accuracy (uses the data: never judged)
    # on the frontier only for want of power: the method's unadjusted interval against the
    # strongest rival lies wholly below zero, yet Holm's correction leaves it undetected
    weak: bool = False

    @property
    def standing_shown(self) -> str:
        return f"{self.standing} (weak)" if self.weak else self.standing

    def __post_init__(self):
        if self.standing not in STANDINGS:
            raise ValueError(f"standing {self.standing!r} is not one of {STANDINGS}")


def _budget_name(dataset: str, budget: float, kilobytes: float) -> str:
    return f"At {100 * budget:g}% ({num(kilobytes)} kB) on {dataset}"


def frontier_budget(env: pd.DataFrame, alpha: float) -> FrontierVerdict:
    """`env`: the envelope's rows of one dataset at one budget (`envelope`)."""
    dataset, budget = env["dataset"].iloc[0], float(env["budget"].iloc[0])
    kb = float(env["allowed_bits"].iloc[0]) / 8 / 1000
    acc = {m: dict(zip(g["seed"].astype(int), g["accuracy"], strict=True))
           for m, g in env.groupby("method", sort=False)}
    stats = {m: summary(list(a.values())) for m, a in acc.items()}
    uses_data = set(env.loc[env["uses_data"].astype(bool), "method"])
    free = [m for m in method_order(acc) if m not in uses_data]
    innrs = [m for m in free if m in INNR_METHODS]
    rivals = [m for m in free if m not in INNR_METHODS]
    winner = max(free, key=lambda m: stats[m]["mean"], default=None)
    strongest = max(rivals, key=lambda m: stats[m]["mean"], default=None)

    def duel(i: str, r: str) -> Duel:
        seeds = sorted(set(acc[i]) & set(acc[r]))
        a, b = [acc[i][s] for s in seeds], [acc[r][s] for s in seeds]
        return Duel(i, r, summary([x - y for x, y in zip(a, b, strict=True)]), two_sided_p(a, b))

    duels = [duel(i, r) for i in innrs for r in rivals]
    duels = [dataclasses.replace(d, p_holm=p)
             for d, p in zip(duels, holm([d.p for d in duels]), strict=True)]
    against = {i: {d.rival: d for d in duels if d.innr == i} for i in innrs}
    outcomes = {i: {r: d.outcome(alpha) for r, d in against[i].items()} for i in innrs}
    # a pair with fewer than two seeds in common is untested: it can make INNR neither win nor
    # lose; a method none of whose pairs is tested (one seed) takes no part
    testable = [i for i in innrs if set(outcomes[i].values()) - {"untested"}]

    def best(methods):
        return max(methods, key=lambda m: stats[m]["mean"], default=None)

    wins = [i for i in testable if set(outcomes[i].values()) == {"better"}]
    level = [i for i in testable if "worse" not in outcomes[i].values()]
    where = _budget_name(dataset, budget, kb)
    rival, closest = strongest, None
    if wins:
        standing, innr = "wins", best(wins)
    elif level:
        standing, innr = "on the frontier", best(level)
    elif testable:
        standing, innr = "loses", best(testable)
        beaten_by = [against[innr][r] for r in rivals if outcomes[innr][r] == "worse"]
        closest = max(beaten_by, key=lambda d: d.diff["mean"])
        rival = closest.rival
    else:
        standing, innr = "untested", best(innrs)
    margin = against[innr][strongest].diff if innr and strongest else summary([])

    def named(m: str) -> str:
        return f"{method_label(m)} ({pct(stats[m]['mean'], 2)})"

    them = f"the {len(rivals)} data-free rival{'s' if len(rivals) != 1 else ''}"

    def versus(d: Duel) -> str:
        p = p_text(d.p_holm)
        return (f"{with_interval(d.diff, points)}, Holm-adjusted two-sided p "
                f"{p if p.startswith('<') else '= ' + p}")

    if standing == "wins":
        sentence = (f"{where}, INNR wins: {named(innr)} beats every one of {them} "
                    f"detectably; against the strongest, {named(strongest)}, "
                    f"the difference is {versus(against[innr][strongest])}.")
    elif standing == "on the frontier":
        sentence = (f"{where}, INNR is on the frontier: {named(innr)} is beaten detectably by "
                    f"none of {them}; against the strongest, "
                    f"{named(strongest)}, the difference is {versus(against[innr][strongest])}.")
        if margin["ci_high"] < 0:
            sentence += (f" That standing is weak: the unadjusted {pct(CI_LEVEL, 0)} interval "
                         f"lies wholly below zero, and only Holm's correction over "
                         f"{len(duels)} comparisons on {margin['n']} seeds leaves the loss "
                         f"undetected.")
    elif standing == "loses":
        sentence = (f"{where}, INNR loses: its best method, {named(innr)}, is beaten detectably "
                    f"by {len(beaten_by)} of {them}; the closest of those is "
                    f"{named(rival)}, a difference of {versus(closest)}.")
    else:
        why = ("no INNR method has a point that fits" if not innrs else
               "no data-free rival has a point that fits" if not rivals else
               "no INNR method has two seeds in common with any rival")
        sentence = f"{where}, INNR is untested: {why}."
    if winner and standing != "untested":
        sentence += (f" The highest mean accuracy: {method_label(winner)}, "
                     f"{pct(stats[winner]['mean'], 2)}." if winner != innr else
                     f" {method_label(innr)} has the highest mean accuracy.")
    reference = next((stats[m] for m in method_order(acc) if m in uses_data), None)
    if reference is not None:
        sentence += (f" The narrow CNN, trained on the data, reaches "
                     f"{with_interval(reference, lambda x: pct(x, 2))} (shown, never judged).")
    weak = standing == "on the frontier" and margin["ci_high"] < 0
    return FrontierVerdict(dataset, budget, kb, standing, sentence, winner, innr, rival, stats,
                           margin, tuple(duels), reference, weak)


def judge_frontier(frontiers: Sequence[load.Frontier], criteria: Criteria
                   ) -> list[FrontierVerdict]:
    """One verdict per dataset (in the given order) and budget (ascending)."""
    alpha = criteria.frontier.get("alpha", criteria.alpha)
    out = []
    for f in frontiers:
        env = envelope(f.points)
        out += [frontier_budget(env[env["budget"] == b], alpha)
                for b in sorted(set(env["budget"]))]
    return out


def frontier_summary(judged: Sequence[FrontierVerdict]) -> str:
    """Where INNR stands, in one plain sentence: 'INNR wins at no budget on any dataset: on
    MNIST it is on the frontier at 50% and loses at 10%, 25%.'"""
    if not judged:
        return "No frontier results."
    datasets = list(dict.fromkeys(v.dataset for v in judged))
    won = any(v.standing == "wins" for v in judged)
    verbs = {"wins": "wins", "on the frontier": "is on the frontier",
             "on the frontier (weak)": "is on the frontier only for want of power",
             "loses": "loses", "untested": "is untested"}

    def at(vs) -> str:
        return ", ".join(f"{100 * v.budget:g}%" for v in vs)

    parts = []
    for d in datasets:
        mine = [v for v in judged if v.dataset == d]
        said = [f"{verbs[s]} at {at(vs)}" for s in verbs
                if (vs := [v for v in mine if v.standing_shown == s])]
        if len(said) == 1:
            said = [f"{verbs[mine[0].standing_shown]} at every budget"]
        parts.append(f"on {d} {'it' if parts or not won else 'INNR'} {_and(said)}")
    text = "; ".join(parts)
    return (f"{text[0].upper()}{text[1:]}." if won else
            f"INNR wins at no budget on any dataset: {text}.")


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
