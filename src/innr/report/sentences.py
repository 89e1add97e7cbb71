"""Every sentence the report says about a result: the claims' statements, criteria and results,
the names of the comparisons, the ablation's and the frontier's verdicts. Each function only
phrases what innr.report.decide decided (the outcome arrives with its numbers); numbers are
printed by innr.report.formats. The template and the README print these as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from innr.report.decide import Comparison, Duel, MethodStanding, NonInferiority, Standing
from innr.report.formats import (
    LEVEL,
    budget_text,
    interval,
    num,
    p_text,
    pct,
    pct_points,
    with_interval,
)

YARDSTICKS = {"control": "an independently trained CNN of the same recipe",
              "pruned": "the CNN magnitude-pruned to the INNR's parameter count",
              "noise": "the CNN plus Gaussian noise as large as the INNR's weight error"}
SHORT = {"control": "control CNN", "pruned": "pruned CNN", "noise": "noisy CNN"}
# claim 1's secondary questions: role -> (the network compared, why it is asked)
FIDELITY_YARDSTICKS = {
    "yardstick: pruning": ("pruned", "The simplest compression that keeps as many numbers as "
                           "the INNR has parameters (their positions aside), with no data and "
                           "no fine-tuning."),
    "yardstick: random error": ("noise", "Whether the INNR's error, at its size, harms the "
                                "outputs more or less than random error of the same norm.")}
EFFECTS = {"supported": "better", "not supported": "worse", "inconclusive": "no detectable change"}


def _alpha(alpha: float) -> str:
    return f"alpha = {num(alpha, 2)}"


# --- claim 1 ------------------------------------------------------------------------------------

def closeness_labels(other: str) -> tuple[str, str]:
    """The names of claim 1's two comparisons against `other` (a key of YARDSTICKS)."""
    return (f"top-1 agreement, rebuilt minus {SHORT[other]}",
            f"mean KL, {SHORT[other]} minus rebuilt")


def closeness_statement(other: str, primary: bool) -> str:
    """Claim 1 as the original makes it, or the secondary question against `other`."""
    return ("the weights can be reconstructed faithfully" if primary else
            f"is the rebuilt network closer to the CNN than {YARDSTICKS[other]}?")


def closeness_criterion(other: str, alpha: float) -> str:
    """Claim 1's rule against `other`, as declared."""
    return (f"Supported if the rebuilt network is closer to the CNN than {YARDSTICKS[other]} on "
            f"both top-1 agreement and mean KL divergence (one-sided paired t-tests over seeds, "
            f"each at {_alpha(alpha)}); not supported if the {SHORT[other]} is significantly "
            "closer on either; inconclusive otherwise.")


def closeness(other: str, outcome: str, agreement: Comparison, kl: Comparison, seen: dict
              ) -> str:
    """Claim 1's result against `other`; `seen`: the summaries of agreement and KL of the
    rebuilt network and the other ('agree_rebuilt', 'agree_other', 'kl_rebuilt', 'kl_other')."""
    name = SHORT[other]
    ending = {"supported": "the rebuilt network is closer to the CNN on both.",
              "not supported": f"{YARDSTICKS[other]} is closer to the CNN on at least one.",
              "inconclusive": "neither is detectably closer on both."}[outcome]
    return (f"Top-1 agreement with the CNN: rebuilt {with_interval(seen['agree_rebuilt'])}, "
            f"{name} {with_interval(seen['agree_other'])}, paired difference "
            f"{with_interval(agreement.diff)} (one-sided p = {p_text(agreement.p_for)}); mean "
            f"KL from the CNN: rebuilt {with_interval(seen['kl_rebuilt'], num)}, {name} "
            f"{with_interval(seen['kl_other'], num)} (one-sided p = {p_text(kl.p_for)}): "
            + ending)


# --- claim 2 ------------------------------------------------------------------------------------

COMPRESSION_STATEMENT = "the INNR has fewer parameters than the CNN at a small accuracy gap"
PRUNED_STATEMENT = ("is the rebuilt network more accurate than the CNN pruned to the same "
                    "parameter count?")
PRUNED_RATIONALE = "Pruning is what a practitioner would try first at the same parameter count."
PRUNED_LABEL = "gap of the pruned CNN minus gap of the INNR"


def compression_criterion(margin: float, alpha: float) -> str:
    """Claim 2's rule: non-inferiority within `margin`."""
    return (f"Supported if the INNR has fewer parameters than the CNN and the one-sided "
            f"{pct(1 - alpha, 0)} upper confidence bound of the mean gap lies below the margin "
            f"of {pct(margin, 1)} (non-inferiority); not supported if the INNR is not smaller "
            "or the one-sided lower bound lies above the margin; inconclusive otherwise.")


def compression(d: NonInferiority) -> str:
    """Claim 2's result: the size, the gap, its bound against the margin, and what follows."""
    ending = {"not smaller": ": the INNR is not smaller.",
              "within the margin": ": the loss is within the margin.",
              "exceeds the margin": ": the loss exceeds the margin.",
              "undecided": ": the seeds cannot place the loss on either side."}[d.reason]
    return (f"The INNR has {pct(d.ratio)} of the CNN's parameters; the accuracy gap (CNN minus "
            f"rebuilt) is {with_interval(d.gap, pct_points)}, its one-sided "
            f"{pct(1 - d.alpha, 0)} upper bound {pct_points(d.upper)} against the margin of "
            f"{pct_points(d.margin)}" + ending)


def pruned_criterion(alpha: float) -> str:
    """The rule of the pruned CNN's comparison beside claim 2."""
    return (f"Supported if the pruned CNN's gap exceeds the INNR's (one-sided paired t-test at "
            f"{_alpha(alpha)}); not supported if it is smaller; inconclusive otherwise.")


def pruned(params_innr: int, pruned_gap: dict, vs_pruned: Comparison) -> str:
    """The pruned CNN beside claim 2: its gap, and its gap minus the INNR's."""
    return (f"The CNN pruned to {num(params_innr)} weights has an accuracy gap (CNN minus "
            f"pruned) of {with_interval(pruned_gap, pct_points)}; its gap minus the INNR's is "
            f"{with_interval(vs_pruned.diff, pct_points)} (one-sided p = "
            f"{p_text(vs_pruned.p_for)}).")


# --- claim 3 ------------------------------------------------------------------------------------

def transfer_labels(protocol: str, eps: float) -> tuple[str, str]:
    """The names of the secondary comparisons at one protocol and eps: transfer, and accuracy
    under noise against under FGSM."""
    return (f"eps {eps:g}, {protocol} protocol: rebuilt minus control",
            f"eps {eps:g}, {protocol} protocol: rebuilt's accuracy under noise minus under FGSM")


def clean_label(protocol: str) -> str:
    """The name of the secondary comparison on the images the CNN classifies correctly."""
    return f"clean-correct images only, mean over eps ({protocol}): rebuilt minus control"


def transfer_criterion(protocol: str, alpha: float) -> str:
    """Claim 3's rule in `protocol`."""
    return (f"Supported if the transfer rate CNN to rebuilt, averaged over every eps > 0 of the "
            f"{protocol} protocol, exceeds the rate CNN to the seed's control CNN (one-sided "
            f"paired t-test at {_alpha(alpha)}); not supported if it is lower; inconclusive "
            "otherwise.")


def transfer(outcome: str, protocol: str, eps: Sequence[float], rebuilt: dict, control: dict,
             primary: Comparison) -> str:
    """Claim 3's result: the mean transfer rates over `eps` and their paired difference."""
    ending = {"supported": "they transfer to the rebuilt network more than to the control.",
              "not supported": "they transfer to the rebuilt network less than to the control.",
              "inconclusive": "they transfer, but not detectably more than to the control."
              }[outcome]
    return (f"Averaged over eps {', '.join(f'{e:g}' for e in eps)} ({protocol} protocol), "
            f"examples that fool the CNN fool the rebuilt network at a rate of "
            f"{with_interval(rebuilt)} and the seed's independent control CNN at "
            f"{with_interval(control)}; the paired difference is {with_interval(primary.diff)} "
            f"(one-sided p = {p_text(primary.p_for)}): " + ending)


# --- the ablation -------------------------------------------------------------------------------

def ablation_label(first: str, second: str, label: Callable[[str], str]) -> str:
    """The name of a comparison of two arms (innr.report.decide.ablation_pairs); `label(arm)`
    names an arm."""
    if first.startswith("plus_"):
        return f"base + {first[5:]} vs base"
    if second.startswith("minus_"):
        return f"best vs best - {second[6:]} ({second[6:]} in the combination)"
    return f"best combination vs {label(second)}"


def ablation_headline(outcome: str) -> str:
    """The ablation's outcome at one budget in two words: 'target met', 'no target set'."""
    return "no target set" if outcome == "no target" else f"target {outcome}"


def ablation(budget: float, best_ideas: Sequence[str], gap: dict, upper: float,
             target: float | None, outcome: str, alpha: float, others: dict[str, dict],
             label: Callable[[str], str]) -> str:
    """The ablation at one budget: the best combination's gap and bound against its target,
    then the gaps of `others` (arm -> innr.stats.summary)."""
    ideas = ", ".join(best_ideas) or "no idea beat the base"
    said = (f"At {budget_text(budget)} of the CNN's bits the best combination (base + {ideas}) "
            f"has an accuracy gap of {with_interval(gap, pct_points)}, its one-sided "
            f"{pct(1 - alpha, 0)} upper bound {pct_points(upper)}")
    if outcome == "no target":
        said += "; no target was set at this budget."
    elif outcome == "met":
        said += f": the target of {pct_points(target)} is met."
    elif math.isfinite(upper):
        said += f": the target of {pct_points(target)} is missed by {pct_points(upper - target)}."
    else:
        said += f": the target of {pct_points(target)} cannot be checked."
    for arm, s in others.items():
        name = label(arm)
        said += f" {name[0].upper()}{name[1:]}: gap {with_interval(s, pct_points)}."
    return said


# --- the compression frontier -------------------------------------------------------------------

def _versus(d: Duel) -> str:
    p = p_text(d.p_holm)
    return (f"{with_interval(d.diff, pct_points)}, Holm-adjusted two-sided p "
            f"{p if p.startswith('<') else '= ' + p}")


def frontier(where: str, s: Standing, reference: dict | None,
             label: Callable[[str], str]) -> str:
    """INNR's standing at one budget (`where`: 'At 25% (2.3 kB) on MNIST'), the method with
    the highest mean accuracy, and the narrow CNN's accuracy (`reference`) beside it."""
    def named(m: str) -> str:
        return f"{label(m)} ({pct(s.accuracy[m]['mean'], 2)})"

    them = f"the {len(s.rivals)} data-free rival{'s' if len(s.rivals) != 1 else ''}"
    if s.standing == "wins":
        said = (f"{where}, INNR wins: {named(s.innr)} beats every one of {them} detectably; "
                f"against the strongest, {named(s.strongest)}, the difference is "
                f"{_versus(s.duel(s.strongest))}.")
    elif s.standing == "on the frontier":
        said = (f"{where}, INNR is on the frontier: {named(s.innr)} is beaten detectably by "
                f"none of {them}; against the strongest, {named(s.strongest)}, the difference "
                f"is {_versus(s.duel(s.strongest))}.")
        if s.weak:
            said += (f" That standing is weak: the unadjusted {LEVEL} interval lies wholly "
                     f"below zero, and only Holm's correction over {len(s.duels)} comparisons "
                     f"on {s.margin['n']} seeds leaves the loss undetected.")
    elif s.standing == "loses":
        said = (f"{where}, INNR loses: its best method, {named(s.innr)}, is beaten detectably "
                f"by {s.beaten_by} of {them}; the closest of those is {named(s.rival)}, a "
                f"difference of {_versus(s.duel(s.rival))}.")
    else:
        why = ("no INNR method has a point that fits" if not s.innrs else
               "no data-free rival has a point that fits" if not s.rivals else
               "no INNR method has two seeds in common with any rival")
        return _reference(f"{where}, INNR is untested: {why}.", reference)
    if s.winner:
        said += (f" The highest mean accuracy: {label(s.winner)}, "
                 f"{pct(s.accuracy[s.winner]['mean'], 2)}." if s.winner != s.innr else
                 f" {label(s.innr)} has the highest mean accuracy.")
    return _reference(said, reference)


def _reference(said: str, reference: dict | None) -> str:
    if reference is None:
        return said
    return (said + f" The narrow CNN, trained on the data, reaches "
            f"{with_interval(reference, pct_points)} (shown, never judged).")


def frontier_where(dataset: str, budget: float, kilobytes: float) -> str:
    """Where a frontier verdict stands: 'At 25% (2.35 kB) on MNIST'."""
    return f"At {budget_text(budget)} ({num(kilobytes)} kB) on {dataset}"


def frontier_summary(judged: Sequence, lossless: dict[str, dict[str, list[float]]] | None = None
                     ) -> str:
    """Where INNR stands, in one plain sentence, from innr.report.verdicts.FrontierVerdicts:
    'By the published rule, INNR wins at no budget on any dataset: on MNIST it is on the
    frontier at 50% and loses at 10%, 25%.', or per dataset the budgets where some INNR method
    is level with or better than every rival (the amended rule), and which of them the
    strongest rival is itself level with the CNN at (`lossless`: verdicts.lossless_by_dataset)."""
    if not judged:
        return "No frontier results."
    datasets = list(dict.fromkeys(v.dataset for v in judged))
    if any(v.rule == "amended" for v in judged):
        parts = [_amended_summary(d, mine, (lossless or {}).get(d, {}))
                 if mine[0].rule == "amended"
                 else f"on {d} (the published rule) INNR {and_(_published_phrases(mine))}"
                 for d in datasets if (mine := [v for v in judged if v.dataset == d])]
        text = "; ".join(parts)
        return f"{text[0].upper()}{text[1:]}."
    won = any(v.standing == "wins" for v in judged)
    parts = []
    for d in datasets:
        mine = [v for v in judged if v.dataset == d]
        parts.append(f"on {d} {'it' if parts or not won else 'INNR'} "
                     f"{and_(_published_phrases(mine))}")
    text = "; ".join(parts)
    return (f"By the published rule, {text}." if won else
            f"By the published rule, INNR wins at no budget on any dataset: {text}.")


def _published_phrases(mine: Sequence) -> list[str]:
    """One dataset's standings by the published rule: 'wins at 75%', 'loses at 10%, 25%'."""
    verbs = {"wins": "wins", "on the frontier": "is on the frontier",
             "on the frontier (weak)": "is on the frontier only for want of power",
             "loses": "loses", "untested": "is untested"}
    said = [f"{verbs[s]} at {_budgets([v.budget for v in vs])}" for s in verbs
            if (vs := [v for v in mine if v.standing_shown == s])]
    return [f"{verbs[mine[0].standing_shown]} at every budget"] if len(said) == 1 else said


def _budgets(budgets: Sequence[float]) -> str:
    return ", ".join(budget_text(b) for b in budgets)


GOOD = ("beats", "level with")  # amended standings where an INNR method holds its own


def _amended_summary(dataset: str, mine: Sequence, lossless: dict[str, list[float]]) -> str:
    """One dataset by the amended rule: where some INNR method is level with or better than
    every rival (and where the strongest rival is itself level with the CNN there: a tie is
    then all that the comparison can show), and the headline method's standings."""
    good = [v for v in mine if any(s.standing in GOOD for s in v.standings)]
    where = (f"some INNR method is level with or better than every data-free rival at "
             f"{_budgets([v.budget for v in good])}" if good else
             "no INNR method is level with or better than every data-free rival at any budget")
    tied = [v.budget for v in good
            if any(math.isclose(v.budget, b) for b in lossless.get(v.rival, ()))]
    if tied:
        at = "at each of them" if len(tied) == len(good) else f"at {_budgets(tied)}"
        where += (f", and {at} the strongest rival is itself level with the CNN it "
                  "compresses, so that a tie is all any method could show")
    ran = [v for v in mine if v.innr is not None]
    by = {k: [v.budget for v in ran if v.standing == k] for k in dict.fromkeys(
        v.standing for v in ran)}
    headline = and_([f"{_VERBS[k]} at {_budgets(bs)}" for k, bs in by.items()]) if ran else ""
    if len(ran) < len(mine):
        none = _budgets([v.budget for v in mine if v.innr is None])
        headline = (f"{headline} (no INNR method has a point at {none})" if ran
                    else f"has no point: no INNR method has one at {none}")
    return f"on {dataset} {where}; the headline method {headline}"


_VERBS = {"beats": "beats every rival", "level with": "is level with the rivals",
          "loses": "loses", "inconclusive": "is inconclusive", "untested": "is untested"}


def frontier_amended(where: str, headline: MethodStanding | None,
                     standings: Sequence[MethodStanding], accuracy: dict, margin: float,
                     alpha: float, reference: dict | None, label: Callable[[str], str]) -> str:
    """The amended rule at one budget: the headline INNR method (chosen on validation) and its
    standing against the strongest rival (chosen on validation), then the other INNR methods'
    standings, and the narrow CNN beside them. `accuracy`: method -> innr.stats.summary."""
    def named(m: str) -> str:
        return f"{label(m)} ({pct(accuracy[m]['mean'], 2)})"

    if headline is None or headline.strongest is None:
        why = "no INNR method has a point that fits" if headline is None else (
            "no data-free rival has a point that fits")
        return _reference(f"{where}, INNR is untested: {why}.", reference)
    level = pct(1 - 2 * alpha, 0)
    versus = (f"its difference from the strongest rival, {named(headline.strongest)}, is "
              f"{with_interval(headline.difference, pct_points)}, {level} interval "
              f"{interval(headline.equivalence, pct_points)} against a margin of "
              f"+/-{pct_points(margin)}")
    verdict = {
        "beats": "beats every data-free rival detectably",
        "level with": "is level with the data-free rivals: none is detectably better and",
        "loses": (f"loses: {len(headline.beaten_by)} of {len(headline.duels)} data-free "
                  "rivals are detectably better, and"),
        "inconclusive": "is inconclusive: no rival is detectably better, yet",
        "untested": "is untested (no rival has two seeds in common with it), and"}
    said = (f"{where}, the headline INNR method (the highest mean validation accuracy), "
            f"{named(headline.innr)}, {verdict[headline.standing]}"
            + ("; " if headline.standing == "beats" else " ") + versus + ".")
    others = [s for s in standings if s is not headline]
    if others:
        said += " " + and_([f"{label(s.innr)} {_VERBS[s.standing]}" for s in others]) + "."
    return _reference(said, reference)


def frontier_lossless(dataset: str, found: dict[str, list[float]], budgets: Sequence[float],
                      margin: float, alpha: float, label: Callable[[str], str]) -> str:
    """Where each data-free method is level with the CNN (innr.report.verdicts.lossless):
    'from 10%' where it is at every budget from there on, else the budgets. The methods level
    at no budget share one clause: with 27 methods, naming each with 'at no budget' buried the
    few that are level."""
    def at(bs: list[float]) -> str:
        if bs == [b for b in budgets if b >= bs[0]]:
            return f"from {budget_text(bs[0])}"
        return f"at {_budgets(bs)}"

    level = [f"{label(m)} {at(bs)}" for m, bs in found.items() if bs]
    never = [label(m) for m, bs in found.items() if not bs]
    if never and not level:
        level = ["no method at any budget"]
    elif len(never) == 1:
        level.append(f"{never[0]} at no budget")
    elif never:
        level.append(f"the other {len(never)} methods at no budget")
    return (f"On {dataset}, level with the CNN (the {pct(1 - 2 * alpha, 0)} interval of the "
            f"accuracy gap inside +/-{pct_points(margin)}): " + "; ".join(level) + ".")


def frontier_learned_nothing(dataset: str, methods: Sequence[str], threshold: float,
                             label: Callable[[str], str], rounded: bool) -> str:
    """The INNR methods that learned little (innr.report.verdicts.learned_nothing) and, where
    each of them rounds its predictor (`rounded`), how a k-bit predictor is stored, which is
    where to look; '' where there are none."""
    if not methods:
        return ""
    names = "; ".join(label(m) for m in methods)
    text = (f"On {dataset}, learned little at every budget and seed (a relative L2 error of "
            f"the rebuilt weights of {threshold:g} or more, so under {pct(1 - threshold ** 2, 0)} "
            f"of their squared norm recovered; a predictor of zeros gives 1): {names}.")
    if not rounded:
        return text
    return text + (" A k-bit predictor rounds every tensor to k bits, the first layer's "
                   "included, and the SIREN multiplies that layer by its first-layer frequency "
                   "before the sine, so that the rounding moves the sines' phases by that "
                   "frequency times the code step.")


def frontier_best(dataset: str, judged: Sequence, label: Callable[[str], str]) -> str:
    """Where INNR does best: the budget where its method (the headline, or the published
    rule's) comes closest to, or furthest beyond, the strongest rival."""
    shown = [v for v in judged if v.innr and v.rival and v.margin["n"] > 0]
    if not shown:
        return f"On {dataset} no INNR method could be set against a rival."
    v = max(shown, key=lambda x: x.margin["mean"])
    return (f"On {dataset} INNR does best against the strongest rival at "
            f"{budget_text(v.budget)}: {label(v.innr)} minus {label(v.rival)} is "
            f"{with_interval(v.margin, pct_points)}.")


def and_(items: Sequence[str]) -> str:
    """'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def cnn_convergence(dataset: str, epochs: int, accuracy: dict, gain: dict, loss: dict) -> str:
    """What a dataset's CNN training shows (innr.stats.summary over seeds): its test accuracy
    after the last epoch, what that epoch added (paired) and the training loss it ends at."""
    return (f"On {dataset} the CNNs reach {with_interval(accuracy)} test accuracy after "
            f"{epochs} epochs; the last epoch still added {with_interval(gain, pct_points)} "
            f"and the training loss (cross-entropy) ends at {num(loss['mean'])}.")


# --- beyond the original network --------------------------------------------------------------

def holds(h) -> str:
    """Where INNR holds its own on one network and track (innr.report.beyond.Holds)."""
    if not h.ran:
        return f"on {h.name} ({h.track}), not run"
    won = (f"INNR beats every rival at {_budgets(h.wins)}" if h.wins
           else "no INNR method beats every rival at any budget")
    level = (f", and some INNR method is level with them at {_budgets(h.level)}"
             if h.level else "")
    return f"on {h.name} ({h.track}), {won}{level}"


_GENERALISES = {
    "generalises": "the original network's conclusion, that {conclusion}, generalises to "
                   "every other network whose data-free frontier ran.",
    "does not generalise": "the original network's conclusion, that {conclusion}, does not "
                           "generalise: on at least one other network the data-free frontier "
                           "says otherwise.",
    "not run": "whether the original network's conclusion generalises cannot be told yet: no "
               "other network's data-free frontier has run."}


def generalises(outcome: str, original: Sequence) -> str:
    """Whether the original network's conclusion carries over (innr.report.beyond.generalises's
    `outcome`), in a clause that starts in lower case."""
    conclusion = ("INNR beats every data-free rival at some budget"
                  if any(h.wins for h in original)
                  else "no INNR method beats every data-free rival at any budget")
    return _GENERALISES[outcome].format(conclusion=conclusion)


def generalisation(outcome: str, original: Sequence, others: Sequence) -> str:
    """The section's closing paragraph: where INNR holds its own on the original network and
    on each other one (innr.report.beyond.Holds), and the outcome (beyond.generalises) for the
    original network's conclusion: whether INNR beats every data-free rival somewhere."""
    said = "On the original network: " + "; ".join(holds(h) for h in original) + "."
    ran = [holds(h) for h in others if h.ran]
    # the networks and tracks that did not run share one clause, after those that did
    idle = [f"{h.name} ({h.track})" for h in others if not h.ran]
    if ran:
        said += (" Beyond it (other architectures, and the track that uses the data): "
                 + "; ".join(ran) + ".")
    if idle:
        said += " Not run: " + "; ".join(idle) + "."
    return (said + " So " + generalises(outcome, original) + " The data "
            "track uses the training images and is judged by its own criteria: it informs, it "
            "does not enter this conclusion.")


def datatrack_training(steps: int, batch: int, images: int, scratch: int | None) -> str:
    """How long the data track trained each method, as its points recorded it (`scratch`: the
    narrow network's steps, whole epochs of its recipe; None where it did not run), and whom
    that favours."""
    said = (f"Every method trains for {steps:,} steps of {batch} images ({steps * batch:,} "
            f"images, {steps * batch / images:.2f} of an epoch of the {images:,} training "
            "images)")
    if scratch is not None:
        epochs = round(scratch / math.ceil(images / batch))
        said += (f", but the narrow network from scratch, which trains by its recipe for "
                 f"{epochs} whole epoch{'s' if epochs != 1 else ''} ({scratch:,} steps)")
    return (said + "; the INNR starts from random weights, pruning and quantisation-aware "
            "training from the trained CNN: a training this short favours the rivals that start "
            "from the CNN.")


def datatrack_chance(methods: Sequence[str], classes: int, threshold: float,
                     label: Callable[[str], str]) -> str:
    """The data track's methods that stayed near chance (innr.report.beyond.near_chance),
    said plainly; '' where there are none."""
    if not methods:
        return ""
    names = and_([label(m) for m in methods])
    verb, pronoun, object_ = ("stays", "it", "it") if len(methods) == 1 else ("stay", "they",
                                                                             "them")
    return (f"At every budget and seed, {names} {verb} near chance: the rebuilt network's test "
            f"accuracy is under {pct(threshold / classes, 0)} (guessing among {classes} classes "
            f"gives {pct(1 / classes, 0)}); in a training this short {pronoun} did not learn, "
            f"and the standings say no more of {object_} than that.")


def nern_setting(nern, ours: Sequence[str]) -> str:
    """How NeRN's setting differs from ours (`nern`: innr.report.load.NernReported; `ours`: the
    datasets of our networks)."""
    where = and_(list(dict.fromkeys(ours))) if ours else "our datasets"
    return (f"NeRN's numbers come from {nern.dataset}, ours from {where}. NeRN's ratio counts "
            f"{nern.counted}; {nern.kept_aside} are stored beside the predictor and not "
            "counted. Here every tensor counts: batch-norm and biases are stored by each method "
            "and charged to it, so our share of the bits is of the whole network. NeRN "
            + ("fits its predictor with the training images" if nern.uses_data
               else "uses no training images")
            + "; so does our data track, while our data-free frontier uses none.")
