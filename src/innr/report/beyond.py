"""Does it hold beyond the original network? A config and its companions, gathered and
judged: for those of another architecture their data-free frontier (the frontier's own rule),
for each its data-using track (criteria.toml's [data_track], never mixed with the data-free
verdicts) and the headline INNR method's claims' measures; NeRN's reported numbers beside our
ResNet's nearest points; whether the original network's conclusion carries over.

Decisions only: innr.report.sentences phrases them, innr.report.tables lays them out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from innr.config import Config
from innr.report import decide, load, release, verdicts
from innr.report.load import Criteria
from innr.stats import holm, summary

RESNET = "resnet"  # the architecture of NeRN's family: NeRN's numbers are set beside it
WINS = ("wins", "beats")  # standings where INNR beats every rival (published, amended rule)


def configs(config_path: Path) -> list[tuple[Config, bool]]:
    """The config and its companions (found beside `config_path`), in the order declared,
    each with whether it is of the original network's architecture (the config's own)."""
    (main, _), *others = release.configs_of(config_path)
    return [(c, c.cnn.architecture == main.cnn.architecture) for c, _ in [(main, True),
                                                                          *others]]


@dataclass
class Beyond:
    """One config and what of it ran: for a network of another architecture its data-free
    frontier (the original network's is the frontier section's), for each its data track and
    the headline INNR method's claims."""

    config: Config
    original: bool  # of the original network's architecture
    frontier: load.Frontier | None  # None: not run, or the original network's
    rule: verdicts.FrontierRule | None  # how the frontier is judged, its envelope
    frontier_verdicts: list[verdicts.FrontierVerdict]
    datatrack: load.DataTrack | None
    datatrack_verdicts: list[verdicts.FrontierVerdict]
    headline: pd.DataFrame  # load.load_headline's rows (empty: not run)
    # every results file of the config (the compute table reads its stages); its frontiers are
    # shared with the other configs' (load.Results.beside): each is thousands of point files
    results: load.Results = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        """'Fashion-MNIST, ResNet': the dataset and the network. The frontier's label when it
        names the network already (decide.margin_of: the dataset's, a comma, the network),
        else the dataset's label then the architecture's name."""
        label = self.config.frontier.label
        return label if "," in label else f"{label}, {self.config.cnn.architecture}"


class TrackLength(NamedTuple):
    """How long the data track trained, as its points recorded it."""

    steps: int  # the methods that share one length (every method but the narrow network)
    images: int  # the training images
    scratch: int | None  # the narrow network's steps (whole epochs); None: it did not run


def track_length(points: pd.DataFrame) -> TrackLength | None:
    """The data track's length from its points (load.DATATRACK_COLUMNS); None where the
    methods that share it recorded no steps or no images (files written before they were)."""
    scratch = points["method"] == "scratch"
    steps = points.loc[~scratch, "steps"].dropna()
    images = points["images"].dropna()
    if steps.empty or images.empty:
        return None
    own = points.loc[scratch, "steps"].dropna()
    return TrackLength(int(steps.max()), int(images.max()),
                       None if own.empty else int(own.max()))


NEAR_CHANCE = 2.0  # "near chance": under this many times a guess's accuracy (1 / classes)


def near_chance(points: pd.DataFrame, classes: int) -> list[str]:
    """The data track's methods whose every point (budget and seed) rebuilt a network with a
    test accuracy under NEAR_CHANCE / `classes`: however they trained, the rebuilt network
    still guesses, and the track's standings say nothing about them beyond that."""
    best = points.groupby("method", sort=False)["accuracy"].max()  # NaN: none recorded
    return [m for m, acc in best.items() if acc < NEAR_CHANCE / classes]


def architecture(config: Config) -> str:
    """'resnet-8': the architecture, with its depth where the config sets one."""
    depth = config.cnn.depth
    return config.cnn.architecture + (f"-{depth}" if depth else "")


@dataclass(frozen=True)
class Network:
    """A network as its points recorded it: what it stores and how well its CNNs do."""

    label: str
    config: Config
    architecture: str  # beyond.architecture: with its depth where the config sets one
    values: int  # the values its inference reads, every tensor (a budget's float32 share)
    accuracy: pd.Series  # each seed's CNN's test accuracy, by seed


def network(b: Beyond, frontier: load.Frontier | None = None) -> Network | None:
    """The network of `b` from its data-free points (`frontier`: the original network's, which
    `b` leaves to the frontier's section), else its data track's; None where neither ran."""
    frontier = b.frontier or frontier
    sources = [(frame, cnn) for frame, cnn in (
        (frontier and frontier.points, "cnn_accuracy"),
        (b.datatrack and b.datatrack.points, "accuracy_cnn"))
        if frame is not None and not frame.empty]
    if not sources:
        return None
    accuracy = pd.concat([f.drop_duplicates("seed").set_index("seed")[cnn]
                          for f, cnn in sources])
    return Network(b.label, b.config, architecture(b.config), load.stored_values(sources[0][0]),
                   accuracy[~accuracy.index.duplicated()].sort_index())


def others(networks: Sequence[Beyond]) -> set[str]:
    """The names of the configs of another architecture than the original network's."""
    return {b.config.name for b in networks if not b.original}


def gather(found: Sequence[tuple[Config, bool]], main: load.Results, criteria: Criteria
           ) -> list[Beyond]:
    """Each config's results, found beside `main` (the first config's), judged (`found`:
    configs())."""
    out = []
    for c, original in found:
        res = main.beside(c)
        root = res.root
        f = None if original else res.frontier()
        f = f if f is not None and not f.points.empty else None
        dt = load.load_datatrack(root, c.name, c.frontier.label, c.datatrack_hash())
        out.append(Beyond(c, original, f, f and verdicts.frontier_rule(f, criteria),
                          verdicts.judge_frontier([f], criteria) if f else [], dt,
                          judge_datatrack(dt, criteria) if dt else [],
                          load.load_headline(root), res))
    return out


# --- the data-using track --------------------------------------------------------------------

def judge_datatrack(dt: load.DataTrack, criteria: Criteria) -> list[verdicts.FrontierVerdict]:
    """The data track's standing per budget, by its own declared criteria ([data_track]): the
    amended frontier rule (decide.method_standing) with the track's INNR against its rivals,
    Holm over its duels at every budget, the strongest rival chosen by mean validation
    accuracy; a point whose size (coded or raw, as declared) exceeds its budget stands
    nowhere. No declared criteria: no verdict."""
    declared = criteria.data_track
    if not declared:
        return []
    margin = decide.margin_of(declared["margins"], dt.label)
    innr, alpha = declared["innr"], declared["alpha"]
    pts = dt.points
    size = 8 * pts["bytes_coded"] if declared["sizes"] == "coded" else pts["stored_bits"]
    pts = pts[~(size > pts["budget_bits"])]  # NaN (unrecorded) budgets keep their points
    at = {}
    for budget, rows in pts.groupby("budget"):
        acc = {m: dict(zip(g["seed"].astype(int), g["accuracy"], strict=True))
               for m, g in rows.groupby("method", sort=False)}
        rivals = [m for m in declared["rivals"] if m in acc]
        at[budget] = (rows, acc, rivals, decide.duels(acc, [innr], rivals) if innr in acc
                      else [])
    adjusted = iter(holm([d.p for _, _, _, fought in at.values() for d in fought]))
    out = []
    for budget, (rows, acc, rivals, fought) in at.items():
        fought = [dataclasses.replace(d, p_holm=next(adjusted)) for d in fought]
        stats = {m: summary(list(a.values())) for m, a in acc.items()}
        valid = dt.validation[dt.validation["budget"] == budget]
        scores = valid.groupby("method")["val_accuracy"].mean().to_dict()
        strongest = decide.strongest(scores, [r for r in rivals if r in scores])
        s = (decide.method_standing(acc, innr, rivals, strongest, alpha, margin, fought)
             if innr in acc else None)
        kb = float(rows["budget_bits"].max()) / 8 / 1000
        out.append(verdicts.FrontierVerdict(
            dt.label, float(budget), kb, s.standing if s else "untested", "",
            max(stats, key=lambda m: stats[m]["mean"]), s and s.innr, strongest, stats,
            s.difference if s else summary([]), tuple(fought), None, rule="amended",
            strongest=strongest, standings=(s,) if s else ()))
    return out


# --- does the original network's conclusion carry over? -------------------------------------

@dataclass(frozen=True)
class Holds:
    """Where INNR holds its own on one network and track: the budgets where some INNR method
    beats every rival, and those where one is level with them (the amended rule only: the
    published rule declared no margin, and "not detected" is not "level")."""

    name: str  # 'resnet, Fashion-MNIST'
    track: str  # "data-free" or "data track"
    ran: bool
    wins: tuple[float, ...] = ()
    level: tuple[float, ...] = ()


def holds(name: str, track: str, judged: Sequence[verdicts.FrontierVerdict]) -> Holds:
    """Holds from one network's verdicts (empty: not run)."""
    def any_of(v, kinds) -> bool:
        return v.standing in kinds or any(s.standing in kinds for s in v.standings)

    wins = tuple(v.budget for v in judged if any_of(v, WINS))
    level = tuple(v.budget for v in judged if v.budget not in wins
                  and any_of(v, ("level with",)))
    return Holds(name, track, bool(judged), wins, level)


GENERALISES = ("generalises", "does not generalise", "not run")


def generalises(original: Sequence[Holds], others: Sequence[Holds]) -> str:
    """One of GENERALISES: whether each other network's data-free track that ran draws the
    original networks' conclusion (INNR beats every rival at some budget, or at none)."""
    ran = [h for h in others if h.ran and h.track == "data-free"]
    if not ran or not any(h.ran for h in original):
        return "not run"
    won = any(h.wins for h in original)
    return ("generalises" if all(bool(h.wins) == won for h in ran)
            else "does not generalise")


# --- NeRN's numbers beside ours ----------------------------------------------------------------

@dataclass(frozen=True)
class Nearest:
    """Our point nearest one of NeRN's shares of the bits, on one network and track."""

    architecture: str
    dataset: str
    track: str
    method: str | None
    target: float  # NeRN's share of the bits (1 / its compression)
    budget: float  # ours, nearest to it
    cnn: dict  # innr.stats.summary of the CNN's accuracy
    rebuilt: dict
    drop: dict  # CNN minus rebuilt, per seed


def nearest(b: Beyond, target: float) -> list[Nearest]:
    """Our points nearest `target` (a share of the bits): the data track's INNR and the
    data-free frontier's headline INNR method, each where it ran."""
    out = []
    for track, judged, points, cnn in (
            ("data track", b.datatrack_verdicts, b.datatrack and b.datatrack.points,
             "accuracy_cnn"),
            ("data-free", b.frontier_verdicts, b.rule and b.rule.envelope, "cnn_accuracy")):
        shown = [v for v in judged if v.innr]
        if shown:
            v = min(shown, key=lambda x: (abs(x.budget - target), x.budget))
            at = points[(points["method"] == v.innr) & (points["budget"] == v.budget)]
            out.append(Nearest(architecture(b.config), b.config.frontier.label, track,
                               v.innr, target, v.budget, summary(list(at[cnn])),
                               summary(list(at["accuracy"])),
                               summary(list(at[cnn] - at["accuracy"]))))
    return out
