"""The verdict on each claim of the original study, computed from per-seed results and the
criteria declared in experiments/criteria.toml; and, beyond the claims, the ablation's verdict
per budget and INNR's standing on the compression frontier per dataset and budget.

A Verdict is one object: the claim, its outcome (supported / not supported / inconclusive), the
criterion and why it was chosen, one sentence that states the result with its numbers, the
numbers themselves, and the secondary comparisons that stand beside the primary test. The
template and the README print it as it is; they decide nothing.

Here the results files' per-seed values are gathered and handed on: innr.report.decide decides
on them (pure functions, tested on synthetic numbers), innr.report.sentences phrases what was
decided, and each Verdict holds both.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from innr.methods import METHODS
from innr.methods import headline as headline_method
from innr.report import decide, load, sentences
from innr.report.decide import (
    AMENDED_STANDINGS,
    OUTCOMES,
    STANDINGS,
    Comparison,
    Duel,
    MethodStanding,
    compare,
    holm_family,
)
from innr.report.load import Criteria, OriginalStudy, Results
from innr.stats import one_sided_bound, one_sided_test, summary

CLAIMS = {"fidelity": 1, "compression": 2, "transfer": 3}  # the experiment that tests each claim


@dataclass(frozen=True)
class Verdict:
    """A claim (or a secondary question) decided and phrased: what the README and PDF print."""

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
        """'Claim 1 (fidelity)', or 'Claim 1 (fidelity), yardstick: pruning'."""
        base = title(self.experiment)
        return base if self.role == "primary" else f"{base}, {self.role}"


def title(experiment: str) -> str:
    """How the code, README and report name a claim: 'Claim 2 (compression)'."""
    return f"Claim {CLAIMS[experiment]} ({experiment})"


# --- claim 1: the weights are reconstructed faithfully ------------------------------------------

def closer(other: str, agree_rebuilt: Sequence[float], agree_other: Sequence[float],
           kl_rebuilt: Sequence[float], kl_other: Sequence[float], alpha: float,
           role: str = "primary", rationale: str = "") -> Verdict:
    """Is the rebuilt network closer to the CNN than `other` (a key of sentences.YARDSTICKS)
    is, on both top-1 agreement (higher is closer) and mean KL from the CNN (lower is closer)?"""
    agree_label, kl_label = sentences.closeness_labels(other)
    agree = compare(agree_label, agree_rebuilt, agree_other)
    kl = compare(kl_label, kl_other, kl_rebuilt)
    outcome = decide.closer_on_both(agree, kl, alpha)
    seen = {"agree_rebuilt": summary(agree_rebuilt), "agree_other": summary(agree_other),
            "kl_rebuilt": summary(kl_rebuilt), "kl_other": summary(kl_other)}
    return Verdict(
        1, "fidelity", sentences.closeness_statement(other, role == "primary"), outcome,
        criterion=sentences.closeness_criterion(other, alpha), rationale=rationale,
        sentence=sentences.closeness(other, outcome, agree, kl, seen),
        numbers={"other": other, "agreement": agree, "kl": kl,
                 "agree_rebuilt": seen["agree_rebuilt"], "agree_other": seen["agree_other"]},
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

    secondary = tuple(against(other, role, why)
                      for role, (other, why) in sentences.FIDELITY_YARDSTICKS.items())
    primary = against("control", "primary", criteria.rationale["fidelity"])
    return dataclasses.replace(primary, secondary=secondary, numbers={
        **primary.numbers, "rel_l2": summary(metric("weight_rel_l2"))})


# --- claim 2: fewer parameters at a small accuracy gap ------------------------------------------

def claim_compression(params_cnn: int, params_innr: int, acc_cnn: Sequence[float],
                      acc_rebuilt: Sequence[float], acc_pruned: Sequence[float],
                      criteria: Criteria, pilot: dict | None = None) -> Verdict:
    """Non-inferiority of the rebuilt network's accuracy within the declared margin; beside
    it, the CNN pruned to the same count (positive = the INNR loses less)."""
    margin, alpha = criteria.margin, criteria.alpha
    gaps = [a - b for a, b in zip(acc_cnn, acc_rebuilt, strict=True)]
    d = decide.noninferiority(params_cnn, params_innr, gaps, margin, alpha)
    pruned_gaps = [a - p for a, p in zip(acc_cnn, acc_pruned, strict=True)]
    vs_pruned = compare(sentences.PRUNED_LABEL, pruned_gaps, gaps)
    pruned = Verdict(
        2, "compression", sentences.PRUNED_STATEMENT, vs_pruned.outcome(alpha),
        criterion=sentences.pruned_criterion(alpha), rationale=sentences.PRUNED_RATIONALE,
        sentence=sentences.pruned(params_innr, summary(pruned_gaps), vs_pruned),
        numbers={"comparison": vs_pruned}, role="yardstick: pruning")
    return Verdict(
        2, "compression", sentences.COMPRESSION_STATEMENT, d.outcome,
        criterion=sentences.compression_criterion(margin, alpha),
        rationale=criteria.rationale["compression"], sentence=sentences.compression(d),
        numbers={"params_cnn": params_cnn, "params_innr": params_innr, "ratio": d.ratio,
                 "gap": d.gap, "upper": d.upper, "lower": d.lower, "margin": margin,
                 "noninferiority": one_sided_test(gaps, greater=False, null=margin),
                 "power": decide.power_calculation(pilot, criteria)},
        secondary=(pruned,))


# --- claim 3: FGSM examples transfer to the rebuilt network -------------------------------------

def _key(protocol: str, eps: float) -> str:
    return f"{protocol}_eps{eps:g}"


def _transfer_family(m: Sequence[dict], positive: Sequence[float], protocols: Sequence[str],
                     protocol: str, mean_over_eps) -> list[Comparison]:
    """Claim 3's secondary comparisons, Holm-corrected as one family: each eps and protocol;
    the rate among clean-correct images; FGSM against random-sign noise."""
    def rates(key: str) -> list[float]:
        return [s[key] for s in m]

    family = [compare(sentences.transfer_labels(p, e)[0],
                      rates(f"forward_{_key(p, e)}_transfer_rebuilt"),
                      rates(f"forward_{_key(p, e)}_transfer_control"))
              for p in protocols for e in positive]
    # the rate among clean-correct images is undefined for a seed where none of them fooled
    # the source (a rebuilt network that gets almost nothing right): such seeds are left out,
    # and the comparison too when fewer than two seeds are left
    clean = [(r, c) for r, c in zip(mean_over_eps("rebuilt", "transfer_clean"),
                                     mean_over_eps("control", "transfer_clean"), strict=True)
             if r is not None and c is not None]
    if len(clean) >= 2:
        rebuilt, control = ([pair[i] for pair in clean] for i in (0, 1))
        family.append(compare(sentences.clean_label(protocol), rebuilt, control))
    family += [compare(sentences.transfer_labels(p, e)[1],
                       rates(f"noise_{_key(p, e)}_acc_rebuilt"),
                       rates(f"forward_{_key(p, e)}_acc_rebuilt"))
               for p in protocols for e in positive
               if all(f"noise_{_key(p, e)}_acc_rebuilt" in s for s in m)]
    return holm_family(family)


def claim_transfer(m: Sequence[dict], eps: Sequence[float], protocols: Sequence[str],
                   protocol: str, claim: str, criteria: Criteria) -> Verdict:
    """Primary: the mean over eps > 0 (`protocol`) of the transfer rate to the rebuilt network
    minus the rate to the seed's control. Secondary: _transfer_family."""
    alpha, positive = criteria.alpha, [e for e in eps if e > 0]

    def mean_over_eps(target: str, kind: str = "transfer") -> list[float | None]:
        """Per seed, the mean over eps > 0; None where a rate is undefined (stored as null)."""
        rates = [[s[f"forward_{_key(protocol, e)}_{kind}_{target}"] for e in positive]
                 for s in m]
        return [None if any(r is None or math.isnan(r) for r in seed) else sum(seed) / len(seed)
                for seed in rates]

    primary = compare("mean over eps of rebuilt minus control", mean_over_eps("rebuilt"),
                      mean_over_eps("control"))
    family = _transfer_family(m, positive, protocols, protocol, mean_over_eps)
    outcome = primary.outcome(alpha)
    rebuilt, control = summary(mean_over_eps("rebuilt")), summary(mean_over_eps("control"))
    return Verdict(
        3, "transfer", claim, outcome,
        criterion=sentences.transfer_criterion(protocol, alpha),
        rationale=criteria.rationale["transfer"],
        sentence=sentences.transfer(outcome, protocol, positive, rebuilt, control, primary),
        numbers={"protocol": protocol, "eps": positive, "rebuilt": rebuilt, "control": control,
                 "comparison": primary},
        secondary=tuple(family))


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
    headline: str  # the outcome in words: "target met", "no target set"
    sentence: str
    best_gap: dict
    upper: float  # one-sided upper confidence bound of the best combination's mean gap
    target: float | None
    comparisons: tuple[Comparison, ...]


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
    family = holm_family([
        _paired(sentences.ablation_label(first, second, arm_label), _gaps(frame, first),
                _gaps(frame, second)) for first, second in decide.ablation_pairs(arms)])
    best = _gaps(frame, "best")
    gaps = [best[s] for s in sorted(best)]
    gap, upper = summary(gaps), one_sided_bound(gaps, 1 - alpha, upper=True)
    outcome = decide.target_outcome(upper, target)
    others = {arm: summary(list(_gaps(frame, arm).values()))
              for arm in ("pruned", "faithful") if arm in arms}
    return BudgetVerdict(budget, outcome, sentences.ablation_headline(outcome),
                         sentences.ablation(budget, best_ideas, gap, upper, target, outcome,
                                            alpha, others, arm_label),
                         gap, upper, target, tuple(family))


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

INNR_METHODS = tuple(name for name, m in METHODS.items() if m.innr)
METHOD_LABELS = {name: m.label for name, m in METHODS.items()}
# the data track's methods (innr.experiments.datatrack.TRACK) train on the images and are no
# frontier methods; their tables and NeRN's comparison name them too
DATA_TRACK_LABELS = {"nern": "INNR, NeRN's losses", "pruned_finetuned": "pruned + fine-tuned",
                     "qat": "quantisation-aware training", "scratch": "small network, from scratch"}


def method_label(method: str) -> str:
    """How the report names a frontier or data track method: 'INNR, best variant',
    'pruned + int8', 'quantisation-aware training'."""
    return METHOD_LABELS.get(method) or DATA_TRACK_LABELS.get(method, method.replace("_", " "))


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


RULES = {"published": STANDINGS, "amended": AMENDED_STANDINGS}  # a frontier's rule -> standings


@dataclass(frozen=True)
class FrontierVerdict:
    """INNR's standing at one budget of one dataset, by the published rule (criteria.toml's
    [frontier]: the best of the INNR methods) or the amended one ([frontier.amendment]: each
    INNR method its own standing; the headline method's is the budget's)."""

    dataset: str
    budget: float
    kilobytes: float  # the budget in kB (1,000 bytes)
    standing: str  # one of RULES[rule]
    sentence: str
    winner: str | None  # the data-free method with the highest mean accuracy (INNR included)
    # published rule: the INNR method the standing is about (the best one when it loses);
    # amended: the headline method (the INNR method with the highest mean validation accuracy)
    innr: str | None
    # the rival the sentence names: published, the strongest by mean test accuracy or the
    # closest that wins; amended, the strongest by mean validation accuracy
    rival: str | None
    accuracy: dict  # method -> innr.stats.summary of its accuracy at this budget
    margin: dict  # `innr` minus the strongest rival, paired (innr.stats.summary)
    duels: tuple[Duel, ...]
    reference: dict | None  # the narrow CNN's accuracy (uses the data: never judged)
    # on the frontier only for want of power: the method's unadjusted interval against the
    # strongest rival lies wholly below zero, yet Holm's correction leaves it undetected
    weak: bool = False
    rule: str = "published"  # a key of RULES
    # the rival `margin` is taken against: the highest mean test accuracy (published rule) or
    # validation accuracy (amended)
    strongest: str | None = None
    standings: tuple[MethodStanding, ...] = ()  # amended: every INNR method's, in report order

    @property
    def standing_shown(self) -> str:
        """The standing as the tables show it: 'on the frontier (weak)' where weak."""
        return f"{self.standing} (weak)" if self.weak else self.standing

    def __post_init__(self):
        if self.standing not in RULES[self.rule]:
            raise ValueError(f"standing {self.standing!r} is not one of {RULES[self.rule]}")


def _accuracies(env: pd.DataFrame) -> dict[str, dict[int, float]]:
    return {m: dict(zip(g["seed"].astype(int), g["accuracy"], strict=True))
            for m, g in env.groupby("method", sort=False)}


def frontier_budget(env: pd.DataFrame, alpha: float) -> FrontierVerdict:
    """`env`: the envelope's rows of one dataset at one budget (decide.envelope)."""
    dataset, budget = env["dataset"].iloc[0], float(env["budget"].iloc[0])
    kb = float(env["allowed_bits"].iloc[0]) / 8 / 1000
    acc = _accuracies(env)
    innrs, rivals, data = method_groups(env)
    s = decide.standing(acc, innrs, rivals, alpha)
    reference = s.accuracy[data[0]] if data else None
    sentence = sentences.frontier(sentences.frontier_where(dataset, budget, kb), s, reference,
                                  method_label)
    return FrontierVerdict(dataset, budget, kb, s.standing, sentence, s.winner, s.innr, s.rival,
                           s.accuracy, s.margin, s.duels, reference, s.weak,
                           strongest=s.strongest)


def frontier_budget_amended(env: pd.DataFrame, alpha: float, margin: float) -> FrontierVerdict:
    """The amended rule at one budget: `env`, the envelope's rows of one dataset at one budget
    chosen on validation (decide.envelope with `validation`: its `chosen_by` is each point's
    mean validation accuracy); `margin`: the dataset's declared equivalence margin."""
    dataset, budget = env["dataset"].iloc[0], float(env["budget"].iloc[0])
    kb = float(env["allowed_bits"].iloc[0]) / 8 / 1000
    acc = _accuracies(env)
    stats = {m: summary(list(a.values())) for m, a in acc.items()}
    innrs, rivals, data = method_groups(env)
    scores = env.groupby("method", sort=False)["chosen_by"].first().to_dict()
    strongest = decide.strongest(scores, rivals)
    standings = tuple(decide.method_standing(acc, i, rivals, strongest, alpha, margin)
                      for i in innrs)
    chosen = headline_method({m: scores[m] for m in innrs})  # as the headline experiment
    headline = next((s for s in standings if s.innr == chosen), None)
    reference = stats[data[0]] if data else None
    winner = max([*innrs, *rivals], key=lambda m: stats[m]["mean"], default=None)
    sentence = sentences.frontier_amended(sentences.frontier_where(dataset, budget, kb),
                                          headline, standings, stats, margin, alpha,
                                          reference, method_label)
    return FrontierVerdict(
        dataset, budget, kb, headline.standing if headline else "untested", sentence, winner,
        headline and headline.innr, strongest, stats,
        headline.difference if headline else summary([]),
        tuple(d for s in standings for d in s.duels), reference, rule="amended",
        standings=standings, strongest=strongest)


@dataclass(frozen=True)
class FrontierRule:
    """How one dataset's frontier is judged: the rule, its alpha and margin, its envelope."""

    rule: str  # a key of RULES
    alpha: float
    margin: float  # the declared equivalence margin (NaN where none: never level)
    envelope: pd.DataFrame  # decide.envelope's rows, by the rule's choice and sizes


def frontier_rule(f: load.Frontier, criteria: Criteria) -> FrontierRule:
    """The amended rule where the criteria declare it and the frontier recorded validation
    accuracies (its choices need them); otherwise the published rule: a run without them is
    judged by the rule its criteria had, and no validation number is invented."""
    amended = criteria.frontier.get("amendment")
    if amended and not f.validation.empty:
        return FrontierRule("amended", amended["alpha"],
                            decide.margin_of(amended["margins"], f.label),
                            decide.envelope(f.points, f.validation,
                                            coded=amended["sizes"] == "coded"))
    declared = criteria.frontier.get("amendment", {}).get("margins", {})
    return FrontierRule("published", criteria.frontier.get("alpha", criteria.alpha),
                        decide.margin_of(declared, f.label), decide.envelope(f.points))


def judge_frontier(frontiers: Sequence[load.Frontier], criteria: Criteria
                   ) -> list[FrontierVerdict]:
    """One verdict per dataset (in the given order) and budget (ascending), each dataset by
    its rule (frontier_rule)."""
    out = []
    for f in frontiers:
        r = frontier_rule(f, criteria)
        env = r.envelope
        for b in sorted(set(env["budget"])):
            at = env[env["budget"] == b]
            out.append(frontier_budget_amended(at, r.alpha, r.margin) if r.rule == "amended"
                       else frontier_budget(at, r.alpha))
    return out


# A predictor that outputs zeros rebuilds the weights with relative L2 error 1 (their mean and
# scale are stored beside it); at 0.9 or more it recovers under a fifth of their squared norm
LEARNED_NOTHING = 0.9


def learned_nothing(f: load.Frontier) -> list[str]:
    """The INNR methods of a frontier whose every point (every budget and seed) rebuilds the
    weights no closer than LEARNED_NOTHING (relative L2 error), in the report's order."""
    errors: dict[str, list[float]] = {}
    for (method, _, _), error in f.weight_errors.items():
        errors.setdefault(method, []).append(error)
    return [m for m in method_order(errors)
            if m in INNR_METHODS and min(errors[m]) >= LEARNED_NOTHING]


def rounds_predictor(method: str) -> bool:
    """Whether an INNR method stores its predictor in fewer bits than float32 (innr.methods)."""
    m = METHODS[method]
    return bool(getattr(m, "bits", 0) or getattr(m, "quantised", False))


def lossless_by_dataset(frontiers: Sequence[load.Frontier], criteria: Criteria
                        ) -> dict[str, dict[str, list[float]]]:
    """`lossless` of each dataset's frontier (by label), where its rule has a margin."""
    rules = {f.label: frontier_rule(f, criteria) for f in frontiers}
    return {label: lossless(r) for label, r in rules.items() if math.isfinite(r.margin)}


def lossless(r: FrontierRule) -> dict[str, list[float]]:
    """Per data-free method, the budgets where it is level with its CNN: its accuracy gap
    (CNN minus method, paired) shown inside +/- the declared margin (decide.equivalent).
    Descriptive under the published rule, which declared no margin of its own."""
    env = r.envelope
    innrs, rivals, _ = method_groups(env)
    return {m: [float(b) for b, g in env[env["method"] == m].groupby("budget")
                if decide.equivalent(list(g["gap"]), r.margin, r.alpha)]
            for m in [*innrs, *rivals]}
