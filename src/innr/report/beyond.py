"""Does it hold beyond the original network? The companion configs of another architecture,
gathered and judged: each one's data-free frontier (the frontier's own rule), its data-using
track (criteria.toml's [data_track], never mixed with the data-free verdicts), the headline INNR
method's claims' measures, and whether the original network's conclusion carries over.

Decisions only: innr.report.sentences phrases them, innr.report.tables lays them out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from innr.config import Config
from innr.report import decide, load, release, verdicts
from innr.report.load import Criteria
from innr.stats import summary

RESNET = "resnet"  # the architecture of NeRN's family: NeRN's numbers are set beside it
DATATRACK_INNR = ("nern",)  # the data track's INNR method (NeRN's losses); the rest are rivals
WINS = ("wins", "beats")  # standings where INNR beats every rival (published, amended rule)


def companions(config_path: Path) -> list[Config]:
    """The companion configs (found beside `config_path`) whose architecture differs from
    the config's own: the networks beyond the original, in the order declared."""
    (main, _), *others = release.configs_of(config_path)
    return [c for c, _ in others if c.cnn.architecture != main.cnn.architecture]


@dataclass
class Beyond:
    """One companion config of another architecture, and what of it ran."""

    config: Config
    frontier: load.Frontier | None  # None: not run
    rule: verdicts.FrontierRule | None  # how the frontier is judged, its envelope
    frontier_verdicts: list[verdicts.FrontierVerdict]
    datatrack: load.DataTrack | None
    datatrack_verdicts: list[verdicts.FrontierVerdict]
    headline: pd.DataFrame  # load.load_headline's rows (empty: not run)

    @property
    def label(self) -> str:
        """'resnet, Fashion-MNIST': the architecture and the dataset."""
        return f"{self.config.cnn.architecture}, {self.config.frontier.label}"


def gather(configs: Sequence[Config], results_root: Path, criteria: Criteria) -> list[Beyond]:
    """Each config's results under `results_root` (RESULTS/), judged."""
    out = []
    for c in configs:
        root = results_root / c.name
        f = load.load_frontier(root, c.name, c.frontier.label)
        f = f if f is not None and not f.points.empty else None
        dt = load.load_datatrack(root, c.name, c.frontier.label)
        out.append(Beyond(c, f, f and verdicts.frontier_rule(f, criteria),
                          verdicts.judge_frontier([f], criteria) if f else [], dt,
                          judge_datatrack(dt, criteria) if dt else [],
                          load.load_headline(root)))
    return out


# --- the data-using track --------------------------------------------------------------------

def judge_datatrack(dt: load.DataTrack, criteria: Criteria) -> list[verdicts.FrontierVerdict]:
    """The data track's standing per budget, by its own declared criteria ([data_track]): the
    amended frontier rule (decide.method_standing) with the track's INNR against its rivals,
    the strongest rival chosen by mean validation accuracy; no declared criteria: none."""
    declared = criteria.data_track
    if not declared:
        return []
    margin = declared["margins"].get(dt.label, math.nan)
    out = []
    for budget, rows in dt.points.groupby("budget"):
        acc = {m: dict(zip(g["seed"].astype(int), g["accuracy"], strict=True))
               for m, g in rows.groupby("method", sort=False)}
        stats = {m: summary(list(a.values())) for m, a in acc.items()}
        innrs = [m for m in acc if m in DATATRACK_INNR]
        rivals = [m for m in acc if m not in DATATRACK_INNR]
        valid = dt.validation[dt.validation["budget"] == budget]
        scores = valid.groupby("method")["val_accuracy"].mean().to_dict()
        strongest = decide.strongest(scores, [r for r in rivals if r in scores])
        standings = tuple(decide.method_standing(acc, i, rivals, strongest,
                                                 declared["alpha"], margin) for i in innrs)
        headline = next(iter(standings), None)
        kb = float(rows["stored_bits"].max()) / 8 / 1000
        out.append(verdicts.FrontierVerdict(
            dt.label, float(budget), kb, headline.standing if headline else "untested", "",
            max(stats, key=lambda m: stats[m]["mean"]), headline and headline.innr,
            strongest, stats, headline.difference if headline else summary([]),
            tuple(d for s in standings for d in s.duels), None, rule="amended",
            strongest=strongest, standings=standings))
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
    """Our ResNet's points nearest `target` (a share of the bits): the data track's INNR and
    the data-free frontier's headline INNR method, each where it ran."""
    out = []
    if b.datatrack is not None:
        pts = b.datatrack.points[b.datatrack.points["method"].isin(DATATRACK_INNR)]
        if not pts.empty:
            budget = min(set(pts["budget"]), key=lambda x: (abs(x - target), x))
            at = pts[pts["budget"] == budget]
            out.append(_nearest(b, "data track", at["method"].iloc[0], target, budget,
                                at["accuracy_cnn"], at["accuracy"]))
    shown = [v for v in b.frontier_verdicts if v.innr]
    if shown:
        v = min(shown, key=lambda x: (abs(x.budget - target), x.budget))
        env = b.rule.envelope
        at = env[(env["method"] == v.innr) & (env["budget"] == v.budget)]
        out.append(_nearest(b, "data-free", v.innr, target, v.budget,
                            at["cnn_accuracy"], at["accuracy"]))
    return out


def _nearest(b: Beyond, track: str, method: str, target: float, budget: float,
             cnn: pd.Series, rebuilt: pd.Series) -> Nearest:
    return Nearest(b.config.cnn.architecture, b.config.frontier.label, track, method, target,
                   float(budget), summary(list(cnn)), summary(list(rebuilt)),
                   summary(list(cnn - rebuilt)))
