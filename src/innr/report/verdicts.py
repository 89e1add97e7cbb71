"""The verdict on each claim of the original study, computed from per-seed results.

A Verdict is one object: the claim, its outcome (supported / not supported / inconclusive), the
criterion and why it was chosen, one sentence that states the result with its numbers, and the
numbers themselves. The template and the README print it as it is; they decide nothing.

Each `claim_*` function is a pure function of per-seed values, so every outcome can be tested
on synthetic numbers; `judge` extracts those values from the results files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from innr.report import load
from innr.report.load import OriginalStudy, Results
from innr.report.tables import CI_LEVEL, num, pct, with_interval
from innr.stats import paired_test, summary

OUTCOMES = ("supported", "not supported", "inconclusive")
CLAIMS = {"fidelity": 1, "compression": 2, "transfer": 3}  # the experiment that tests each claim
AGREEMENT_BAR = 0.99  # claim 1: the rebuild changes fewer than 1% of the CNN's decisions


@dataclass(frozen=True)
class Verdict:
    claim: int  # 1, 2 or 3
    experiment: str  # the script that tests it: fidelity, compression, transfer
    statement: str  # the claim as the original makes it
    outcome: str  # one of OUTCOMES
    criterion: str  # the rule that decides the outcome
    rationale: str  # why that rule
    sentence: str  # the result, with its numbers, in one sentence
    numbers: dict = field(default_factory=dict)  # what the sentence states, unformatted

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {OUTCOMES}")

    @property
    def title(self) -> str:
        return title(self.experiment)


def title(experiment: str) -> str:
    """How the code, README and report name a claim: 'Claim 2 (compression)'."""
    return f"Claim {CLAIMS[experiment]} ({experiment})"


def side(s: dict, bar: float = 0.0) -> str:
    """Where the confidence interval of summary `s` lies against `bar`: 'above', 'below',
    'spans', or 'unknown' when there is no interval (fewer than two seeds)."""
    lo, hi = s.get("ci_low"), s.get("ci_high")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "unknown"
    return "above" if lo > bar else "below" if hi < bar else "spans"


LEVEL = pct(CI_LEVEL, 0)


# --- claim 1: the weights are reconstructed faithfully ------------------------------------------

def claim_fidelity(agreement: Sequence[float], rel_l2: Sequence[float],
                   bar: float = AGREEMENT_BAR) -> Verdict:
    """Judged on the top-1 agreement of the CNN's and the rebuilt network's test predictions."""
    s, err = summary(agreement), summary(rel_l2)
    where, bar_text = side(s, bar), pct(bar, 0)
    said = (f"The rebuilt network predicts the same class as the CNN on "
            f"{with_interval(s)} of the test images")
    error = f"relative weight error {with_interval(err, num)}"
    one_seed = "at or above" if s["mean"] >= bar else "below"
    sentence = said + {
        "above": f": above the bar of {bar_text} ({error}).",
        "below": f": below the bar of {bar_text} ({error}).",
        "spans": f": an interval that contains the bar of {bar_text} ({error}); more seeds "
                 "would decide.",
        "unknown": f" ({s['n']} seed, no interval), {one_seed} the bar of {bar_text}."}[where]
    outcome = {"above": "supported", "below": "not supported"}.get(where, "inconclusive")
    return Verdict(
        1, "fidelity", "the weights can be reconstructed faithfully", outcome,
        criterion=(f"Supported if the {LEVEL} t-interval over seeds of the top-1 agreement "
                   f"between the CNN's and the rebuilt network's test predictions lies above "
                   f"{pct(bar, 0)}; not supported if it lies below; inconclusive otherwise."),
        rationale=("A faithful rebuild changes almost none of the CNN's decisions; the bar is "
                   "this project's choice, not the original's, which gives none."),
        sentence=sentence, numbers={"agreement": s, "rel_l2": err, "bar": bar})


# --- claim 2: fewer parameters at a small accuracy gap ------------------------------------------

def claim_compression(params_cnn: int, params_innr: int, acc_cnn: Sequence[float],
                      acc_rebuilt: Sequence[float]) -> Verdict:
    """Judged on the size and the paired accuracy gap (CNN minus rebuilt) over seeds."""
    gap = summary([a - b for a, b in zip(acc_cnn, acc_rebuilt, strict=True)])
    test = paired_test(acc_cnn, acc_rebuilt)
    ratio = params_innr / params_cnn
    size = f"The INNR has {pct(ratio)} of the CNN's parameters"
    said = (f"the accuracy gap (CNN minus rebuilt) is {with_interval(gap)} "
            f"(paired t-test over {test['n']} seeds: t = {num(test['t'])}, "
            f"p = {num(test['p'])})")
    where = "not smaller" if ratio >= 1 else side(gap)
    sentence = {
        "not smaller": f"{size}: it is not smaller; {said}.",
        "above": f"{size}, but the rebuilt network is less accurate: {said}.",
        "below": f"{size} and the rebuilt network is more accurate: {said}.",
        "spans": f"{size}; {said}: no loss detected, but one as large as the interval's upper "
                 "end is not ruled out.",
        "unknown": f"{size}; {said}: without an interval (fewer than two seeds) nothing is "
                   "decided."}[where]
    outcome = {"below": "supported", "above": "not supported",
               "not smaller": "not supported"}.get(where, "inconclusive")
    return Verdict(
        2, "compression", "the INNR has fewer parameters than the CNN at a small accuracy gap",
        outcome,
        criterion=(f"Supported if the INNR has fewer parameters than the CNN and the {LEVEL} "
                   "t-interval of the paired accuracy gap (CNN minus rebuilt) lies below zero; "
                   "not supported if the INNR is not smaller or the interval lies above zero; "
                   "inconclusive otherwise."),
        rationale=("The original gives no tolerance for a small gap; without one, only a "
                   "rebuilt network detectably at least as accurate as the CNN supports the "
                   "claim, and a gap the seeds cannot tell from zero leaves open a loss as large "
                   "as the interval's upper end."),
        sentence=sentence,
        numbers={"params_cnn": params_cnn, "params_innr": params_innr, "ratio": ratio,
                 "gap": gap, "paired_test": test})


# --- claim 3: FGSM examples transfer to the rebuilt network -------------------------------------

def claim_transfer(to_rebuilt: Sequence[float], to_control: Sequence[float], eps: float,
                   protocol: str, claim: str) -> Verdict:
    """Judged on the transfer rates CNN -> rebuilt and CNN -> control, paired by seed."""
    diff = summary([a - b for a, b in zip(to_rebuilt, to_control, strict=True)])
    rebuilt, control = summary(to_rebuilt), summary(to_control)
    said = (f"At eps {eps:g} ({protocol} protocol), examples that fool the CNN fool the "
            f"rebuilt network at a rate of {with_interval(rebuilt)} and an independent CNN at "
            f"{with_interval(control)}; the paired difference is {with_interval(diff)}")
    where = side(diff)
    outcome = {"above": "supported", "below": "not supported"}.get(where, "inconclusive")
    ending = {"above": ": they transfer beyond what any CNN of this recipe shows.",
              "below": ": they transfer less than to an independent CNN.",
              "spans": ": they transfer, but not detectably more than to any CNN of this "
                       "recipe.",
              "unknown": ": an interval needs at least two seeds."}[where]
    return Verdict(
        3, "transfer", claim, outcome,
        criterion=(f"Supported if the {LEVEL} t-interval of the paired difference between the "
                   "transfer rates CNN to rebuilt and CNN to control (an independently trained "
                   "CNN of the same recipe) lies above zero, at the original's eps and "
                   "protocol; not supported if it lies below; inconclusive otherwise."),
        rationale=("Adversarial examples transfer between independently trained networks of "
                   "one recipe: transfer to the rebuilt network says something about the INNR "
                   "only beyond that."),
        sentence=said + ending,
        numbers={"eps": eps, "protocol": protocol, "rebuilt": rebuilt, "control": control,
                 "diff": diff})


def transfer_point(res: Results, study: OriginalStudy) -> tuple[str, float]:
    """The protocol and eps claim 3 is judged at: the original's, or the closest there is."""
    df = load.transfer_records(res)
    protocol = study.attack["protocol"]
    protocol = protocol if protocol in set(df["protocol"]) else df["protocol"].iloc[0]
    available = sorted(set(df.loc[df["protocol"] == protocol, "eps"]))
    return protocol, min(available, key=lambda e: abs(e - study.attack["eps"]))


def judge(res: Results, study: OriginalStudy) -> dict[str, Verdict | None]:
    """experiment -> the verdict on its claim (None where it has no successful seed)."""
    verdicts: dict[str, Verdict | None] = dict.fromkeys(load.EXPERIMENTS)
    if fidelity := [r["metrics"] for r in res.ok("fidelity")]:
        verdicts["fidelity"] = claim_fidelity([m["top1_agreement"] for m in fidelity],
                                              [m["weight_rel_l2"] for m in fidelity])
    if compression := [r["metrics"] for r in res.ok("compression")]:
        verdicts["compression"] = claim_compression(
            compression[0]["params_cnn"], compression[0]["params_innr"],
            [m["accuracy_original"] for m in compression],
            [m["accuracy_rebuilt"] for m in compression])
    if res.ok("transfer"):
        protocol, eps = transfer_point(res, study)
        rates = load.transfer_at(res, protocol, eps)
        verdicts["transfer"] = claim_transfer(rates[("forward", "rebuilt")],
                                              rates[("forward", "control")], eps, protocol,
                                              study.attack["claim"])
    return verdicts
