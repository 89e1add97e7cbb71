"""The report's decisions, on numbers alone: pure functions of per-seed values that return an
outcome or a small typed record, and write no sentence (innr.report.sentences phrases what is
decided here; innr.report.verdicts reads the results files and puts the two together).

Each primary test is one-sided at the declared alpha and paired over seeds (each seed's CNN with
its own rebuilt network and its own control); the frontier's duels are two-sided, Holm-adjusted
over a budget's pairs (the published rule, [frontier]) or over one INNR method's rivals (the
amended rule, [frontier.amendment], with its equivalence test). The declared criteria are in
experiments/criteria.toml.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from innr.report import load
from innr.report.load import Criteria
from innr.stats import (
    holm,
    one_sided_bound,
    one_sided_test,
    paired_test,
    seeds_for_noninferiority,
    summary,
)

OUTCOMES = ("supported", "not supported", "inconclusive")
STANDINGS = ("wins", "on the frontier", "loses", "untested")  # the published rule's
# the amended rule's, one per INNR method (criteria.toml's [frontier.amendment])
AMENDED_STANDINGS = ("beats", "level with", "loses", "inconclusive", "untested")


# --- paired comparisons over seeds --------------------------------------------------------------

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
        """One of OUTCOMES: the claim's side significant, the other side, or neither."""
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


# --- claims 1 and 2 -----------------------------------------------------------------------------

def closer_on_both(agreement: Comparison, kl: Comparison, alpha: float) -> str:
    """Claim 1's rule: supported only if the rebuilt network is closer on both measures; not
    supported if the other network is detectably closer on either; inconclusive otherwise."""
    both = [agreement.outcome(alpha), kl.outcome(alpha)]
    return ("supported" if both == ["supported"] * 2
            else "not supported" if "not supported" in both else "inconclusive")


@dataclass(frozen=True)
class NonInferiority:
    """Claim 2 decided: the INNR's size and its accuracy gap (CNN minus rebuilt) against the
    margin, by the one-sided bounds of the mean gap at 1 - alpha."""

    outcome: str  # one of OUTCOMES
    reason: str  # "not smaller", "within the margin", "exceeds the margin" or "undecided"
    ratio: float  # INNR over CNN parameters
    gap: dict  # innr.stats.summary of the per-seed gaps
    upper: float
    lower: float
    margin: float
    alpha: float


def noninferiority(params_cnn: int, params_innr: int, gaps: Sequence[float], margin: float,
                   alpha: float) -> NonInferiority:
    """Supported if the INNR is smaller and the upper bound of the gap lies below the margin;
    not supported if it is not smaller or the lower bound lies above the margin."""
    upper = one_sided_bound(gaps, 1 - alpha, upper=True)
    lower = one_sided_bound(gaps, 1 - alpha, upper=False)
    ratio = params_innr / params_cnn
    if ratio >= 1:
        outcome, reason = "not supported", "not smaller"
    elif math.isfinite(upper) and upper < margin:
        outcome, reason = "supported", "within the margin"
    elif math.isfinite(lower) and lower > margin:
        outcome, reason = "not supported", "exceeds the margin"
    else:
        outcome, reason = "inconclusive", "undecided"
    return NonInferiority(outcome, reason, ratio, summary(gaps), upper, lower, margin, alpha)


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


# --- the ablation -------------------------------------------------------------------------------

def ablation_pairs(arms: Sequence[str]) -> list[tuple[str, str]]:
    """The arms compared at one budget, each as (the arm whose smaller gap is better, the other):
    the best combination against the faithful SIREN and the pruned CNN, each idea added to the
    base against the base, the best combination against it without each of its ideas."""
    return ([("best", a) for a in ("faithful", "pruned") if a in arms]
            + [(a, "base") for a in arms if a.startswith("plus_")]
            + [("best", a) for a in arms if a.startswith("minus_")])


def target_outcome(upper: float, target: float | None) -> str:
    """The best combination against its target: 'met' where the one-sided upper bound of its
    mean gap is at most the target, 'missed' otherwise (or without a bound), 'no target'."""
    if target is None:
        return "no target"
    return "met" if math.isfinite(upper) and upper <= target else "missed"


# --- the compression frontier -------------------------------------------------------------------

def envelope(points: pd.DataFrame, validation: pd.DataFrame | None = None,
             coded: bool = False) -> pd.DataFrame:
    """A method's accuracy at budget B: its best point among those computed at budgets b <= B
    whose stored size fits B's bits; the smaller budget on a tie. Best by mean test accuracy
    over its seeds (the published rule), or, given `validation` (load.Frontier.validation), by
    mean validation accuracy over the selection seeds (the amended rule: a point without one
    is never chosen). Size: the raw stored bits, or with `coded` the entropy-coded file's
    bytes (the raw bits where a point records none: never smaller). `points`:
    load.Frontier.points (one dataset or several). Returns that point's per-seed rows for every
    (dataset, B, method) with one, `budget` = B, `computed_at` = b, `allowed_bits` = B's bits
    and `chosen_by` = the mean it was chosen by."""
    out = []
    for dataset, d in points.groupby("dataset", sort=False):
        allowed = d.groupby("budget")["budget_bits"].min()  # B's bits, as its points record
        if validation is None:
            means = d.groupby(["method", "budget"])["accuracy"].mean()
        else:
            v = validation[validation["dataset"] == dataset]
            means = v.groupby(["method", "budget"])["val_accuracy"].mean()
        size = (8 * d["bytes_coded"].fillna(d["stored_bytes"]) if coded
                else d["stored_bits"]).rename("size")
        largest = size.groupby([d["method"], d["budget"]]).max()
        for budget, bits in allowed.items():
            for method in dict.fromkeys(d["method"]):
                fits = [(means[method, b], -b) for b in largest[method].index
                        if b <= budget and largest[method, b] <= bits
                        and (method, b) in means.index]
                if fits:
                    score, b = max(fits)
                    rows = d[(d["method"] == method) & (d["budget"] == -b)]
                    out.append(rows.assign(budget=budget, computed_at=-b, allowed_bits=bits,
                                           chosen_by=score))
    columns = [*load.FRONTIER_COLUMNS, "computed_at", "allowed_bits", "chosen_by"]
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


def duels(acc: dict[str, dict[int, float]], innrs: Sequence[str], rivals: Sequence[str]
          ) -> list[Duel]:
    """Every INNR method against every rival on the seeds both have, Holm over all of them.
    `acc`: method -> seed -> test accuracy."""
    out = []
    for i in innrs:
        for r in rivals:
            seeds = sorted(set(acc[i]) & set(acc[r]))
            a, b = [acc[i][s] for s in seeds], [acc[r][s] for s in seeds]
            out.append(Duel(i, r, summary([x - y for x, y in zip(a, b, strict=True)]),
                            two_sided_p(a, b)))
    return [dataclasses.replace(d, p_holm=p)
            for d, p in zip(out, holm([d.p for d in out]), strict=True)]


@dataclass(frozen=True)
class Standing:
    """INNR's standing at one budget of one dataset, decided (see criteria.toml's [frontier])."""

    standing: str  # one of STANDINGS
    innr: str | None  # the INNR method the standing is about (the best one when it loses)
    rival: str | None  # the strongest rival, or where INNR loses the closest that beats it
    strongest: str | None  # the data-free rival with the highest mean accuracy
    winner: str | None  # the data-free method with the highest mean accuracy (INNR included)
    accuracy: dict  # method -> innr.stats.summary of its accuracy
    margin: dict  # `innr` minus the strongest rival, paired (innr.stats.summary)
    duels: tuple[Duel, ...]
    innrs: tuple[str, ...]  # the INNR methods with a point that fits
    rivals: tuple[str, ...]  # the data-free rivals with a point that fits
    beaten_by: int  # how many rivals beat `innr` detectably
    # on the frontier only for want of power: the method's unadjusted interval against the
    # strongest rival lies wholly below zero, yet Holm's correction leaves it undetected
    weak: bool

    def duel(self, rival: str) -> Duel:
        """`innr` against `rival`."""
        return next(d for d in self.duels if d.innr == self.innr and d.rival == rival)


def standing(acc: dict[str, dict[int, float]], innrs: Sequence[str], rivals: Sequence[str],
             alpha: float) -> Standing:
    """INNR wins where one of its methods beats every rival detectably; is on the frontier
    where one is beaten by none; loses where each is beaten by some; is untested where no pair
    has two seeds in common. `acc`: method -> seed -> test accuracy (methods that use the data
    too: they only get a summary); `innrs`, `rivals`: the data-free methods, in the report's
    order."""
    stats = {m: summary(list(a.values())) for m, a in acc.items()}

    def best(methods: Sequence[str]) -> str | None:
        return max(methods, key=lambda m: stats[m]["mean"], default=None)

    fought = duels(acc, innrs, rivals)
    outcomes = {i: {d.rival: d.outcome(alpha) for d in fought if d.innr == i} for i in innrs}
    # a pair with fewer than two seeds in common is untested: it can make INNR neither win nor
    # lose; a method none of whose pairs is tested (one seed) takes no part
    testable = [i for i in innrs if set(outcomes[i].values()) - {"untested"}]
    wins = [i for i in testable if set(outcomes[i].values()) == {"better"}]
    level = [i for i in testable if "worse" not in outcomes[i].values()]
    strongest = rival = best(rivals)
    beaten = []
    if wins:
        kind, innr = "wins", best(wins)
    elif level:
        kind, innr = "on the frontier", best(level)
    elif testable:
        kind, innr = "loses", best(testable)
        beaten = [d for d in fought if d.innr == innr and outcomes[innr][d.rival] == "worse"]
        rival = max(beaten, key=lambda d: d.diff["mean"]).rival
    else:
        kind, innr = "untested", best(innrs)
    margin = next((d.diff for d in fought if d.innr == innr and d.rival == strongest),
                  summary([]))
    return Standing(kind, innr, rival, strongest, best([*innrs, *rivals]), stats, margin,
                    tuple(fought), tuple(innrs), tuple(rivals), len(beaten),
                    kind == "on the frontier" and margin["ci_high"] < 0)


# --- the amended rule: a standing per INNR method ([frontier.amendment]) ------------------------

def margin_of(margins: dict[str, float], label: str) -> float:
    """The equivalence margin declared for a frontier's dataset: criteria declare one per
    dataset label, and a frontier's label is its dataset's, or its dataset's then a comma and
    the network ("Fashion-MNIST, ResNet"); nan where none is declared (never "level")."""
    return margins.get(label, margins.get(label.split(",")[0].strip(), math.nan))


def equivalent(differences: Sequence[float], margin: float, alpha: float) -> bool:
    """Two one-sided tests at `alpha`: the 1 - 2 alpha t-interval of the mean difference lies
    inside (-margin, margin). Decided on the interval, never on the mean; False with fewer than
    two values."""
    s = summary(differences, 1 - 2 * alpha)
    return s["n"] >= 2 and -margin < s["ci_low"] and s["ci_high"] < margin


def strongest(scores: dict[str, float], methods: Sequence[str]) -> str | None:
    """The method of `methods` with the highest score (mean validation accuracy); the first in
    the given order on a tie; None without one."""
    return max(methods, key=lambda m: scores[m], default=None)


@dataclass(frozen=True)
class MethodStanding:
    """One INNR method's standing at one budget against the data-free rivals (amended rule)."""

    innr: str
    standing: str  # one of AMENDED_STANDINGS
    strongest: str | None  # the rival with the highest mean validation accuracy
    difference: dict  # `innr` minus `strongest`, paired over seeds (innr.stats.summary, 95%)
    equivalence: dict  # the same at level 1 - 2 alpha: the two one-sided tests' interval
    duels: tuple[Duel, ...]  # against each rival, Holm over this method's rivals
    beaten_by: tuple[str, ...]  # the rivals detectably better

    def __post_init__(self):
        if self.standing not in AMENDED_STANDINGS:
            raise ValueError(f"standing {self.standing!r} is not one of {AMENDED_STANDINGS}")


def method_standing(acc: dict[str, dict[int, float]], innr: str, rivals: Sequence[str],
                    strongest_rival: str | None, alpha: float, margin: float,
                    fought: Sequence[Duel] | None = None) -> MethodStanding:
    """`innr` loses if any rival is detectably better (two-sided paired tests, Holm over its
    rivals); beats them if detectably better than every one; is level with them if its
    difference from `strongest_rival` is shown inside +/- `margin` (equivalent); else is
    inconclusive; untested where no rival has two seeds in common with it. `acc`: method ->
    seed -> test accuracy; `fought`: its duels with `rivals` when Holm ran over a larger family
    (the data track's: every budget's), else they are fought here."""
    fought = duels(acc, [innr], rivals) if fought is None else fought
    outcomes = [d.outcome(alpha) for d in fought]
    seeds = sorted(set(acc[innr]) & set(acc.get(strongest_rival, {})))
    diff = [acc[innr][s] - acc[strongest_rival][s] for s in seeds]
    beaten = tuple(d.rival for d, o in zip(fought, outcomes, strict=True) if o == "worse")
    if set(outcomes) <= {"untested"}:
        kind = "untested"
    elif beaten:
        kind = "loses"
    elif set(outcomes) == {"better"}:
        kind = "beats"
    elif equivalent(diff, margin, alpha):
        kind = "level with"
    else:
        kind = "inconclusive"
    return MethodStanding(innr, kind, strongest_rival, summary(diff),
                          summary(diff, 1 - 2 * alpha), tuple(fought), beaten)
