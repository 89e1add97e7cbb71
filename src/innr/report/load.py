"""Results files -> tidy pandas DataFrames: the only input of the figures, tables and paper.

Reads what the experiment scripts wrote under RESULTS_ROOT/<config name>/ (see innr.store),
the original study's reported numbers (experiments/original_study.toml) and, when it exists,
the benchmark file. Nothing here trains or imports innr.fit. The config the results were made
with is read once, here, into Results.config: everything downstream reads it from there.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from innr.config import Config, ConfigError, config_from_dict
from innr.paths import PUBLISHED, RESULTS_ROOT
from innr.size import BITS
from innr.store import Store, read_json

EXPERIMENTS = ("fidelity", "compression", "transfer")  # claims 1, 2 and 3, in order
FITNOISE = "fitnoise"  # the fit's own noise: descriptive, no claim
GPU_CHECK = PUBLISHED / "gpu_check" / "results"  # scripts/gpu_check.sh's record, once published
ABLATION = "ablation"  # INNR variants (innr.experiments.ablation): one file per arm
FRONTIER = "frontier"  # accuracy against stored bytes (innr.experiments.frontier): a file per point
ARM_METRICS = ("accuracy_original", "accuracy_rebuilt", "accuracy_gap", "top1_agreement",
               "snr_db", "fit_seconds")


@dataclass
class Results:
    """Every results file of one config: per experiment, the seeds of the config, in its order."""

    name: str
    root: Path
    seeds: tuple[int, ...]  # the config's seeds
    config: Config  # the config the results were made with (the given one when there are none)
    runs: dict[str, list[dict]] = field(default_factory=dict)  # experiment -> results found
    aggregates: dict[str, pd.DataFrame] = field(default_factory=dict)
    # the frontiers read so far, by config name: the report asks for them many times, and a
    # frontier is thousands of point files; the files do not change while a report is built
    _frontiers: dict[str, Frontier | None] = field(default_factory=dict, repr=False,
                                                   compare=False)

    def ok(self, experiment: str) -> list[dict]:
        return [r for r in self.runs.get(experiment, []) if r["status"] == "ok"]

    def failed(self, experiment: str) -> list[dict]:
        return [r for r in self.runs.get(experiment, []) if r["status"] != "ok"]

    def missing(self, experiment: str) -> list[int]:
        """Seeds of the config without a results file (not run yet, or unreadable)."""
        found = {r["seed"] for r in self.runs.get(experiment, [])}
        return [s for s in self.seeds if s not in found]

    def all(self) -> list[dict]:
        return [r for runs in self.runs.values() for r in runs]

    def fitnoise(self) -> dict | None:
        """innr.experiments.fitnoise's statistics over CNNs (its summary.json), if it ran."""
        return read_json(self.root / FITNOISE / "summary.json")

    def ablation(self) -> Ablation | None:
        """innr.experiments.ablation's arms, if it finished (its index.json lists them)."""
        index = read_json(self.root / ABLATION / "index.json")
        selection = read_json(self.root / ABLATION / "selection.json")
        if index is None or selection is None:
            return None
        arms = [read_json(self.root / ABLATION / name) for name in index["arms"]]
        if any(a is None for a in arms):
            return None
        selected = sorted((a for p in (self.root / ABLATION).glob("select_*.json")
                           if (a := read_json(p)) is not None
                           and a.get("config_hash") == index["config_hash"]),
                          key=lambda a: a["started"])  # the order they ran in
        return Ablation(_arm_frame(arms), _arm_frame(selected), selection, arms, selected)

    def frontier(self) -> Frontier | None:
        """innr.experiments.frontier's points for this config, if it finished (its index.json)."""
        return self._frontier(self.name)

    def _frontier(self, name: str) -> Frontier | None:
        # shared with the results beside these (beside), so whoever asks first reads it; a
        # companion's is read without its config's label, which only an index older than the
        # recorded label would need (load_frontier's fallback)
        if name not in self._frontiers:
            self._frontiers[name] = (
                load_frontier(self.root, name, self.config.frontier.label) if name == self.name
                else load_frontier(self.root.parent / name, name))
        return self._frontiers[name]

    def beside(self, config: Config) -> Results:
        """The results of `config` found beside these (RESULTS/<config>/), sharing the
        frontiers read so far: one report reads each config's frontier once."""
        if config.name == self.name:
            return self
        return replace(load_results(config, self.root.parent), _frontiers=self._frontiers)

    def frontiers(self) -> list[Frontier]:
        """This config's frontier, then each companion's found beside it (RESULTS/<companion>/),
        in the order declared: the companions recorded in this frontier's index.json, or the
        results' config's `frontier.companions` when the index predates that field."""
        own = self.frontier()
        recorded = own.settings.get("companions") if own is not None else None
        companions = self.config.frontier.companions if recorded is None else recorded
        found = [self._frontier(name) for name in companions if name != self.name]
        out = [f for f in (own, *found) if f is not None]
        for i, f in enumerate(out):  # verdicts are per label: two configs never share one
            if f.label in {g.label for g in out[:i]}:
                label = f"{f.label} ({f.name})"  # a renamed copy: the one read stays as it was
                out[i] = replace(f, label=label, points=f.points.assign(dataset=label),
                                 validation=f.validation.assign(dataset=label))
        return out


@dataclass
class Ablation:
    """The ablation's per-seed rows (reported stage and selection stage) and its choices."""

    report: pd.DataFrame  # stage, arm, budget, seed, ARM_METRICS, stored_bits, budget_bits, width
    select: pd.DataFrame
    selection: dict  # selection.json: w0, each idea's alternative, the best combination
    arms: list[dict]  # the reported arms' files, in run order
    selected: list[dict]  # the selection stage's files, in run order


FRONTIER_COLUMNS = ["dataset", "method", "budget", "seed", "accuracy", "gap", "agreement",
                    "cnn_accuracy", "stored_bits", "stored_bytes", "budget_bits", "params",
                    "decode_seconds", "fit_seconds", "uses_data", "bytes_coded"]
# the validation split's accuracy of a point on a selection seed's CNN (amended rule)
VALIDATION_COLUMNS = ["dataset", "method", "budget", "seed", "val_accuracy"]
# the validation records (innr.experiments.frontier's choices on the selection CNNs), listed
# in the frontier's index.json as `selection_points`
VALIDATION = "selection"  # RESULTS/<config>/frontier/selection/<method>/<budget>_seed<s>.json


@dataclass
class Frontier:
    """One config's frontier: a row per ok point that fits its budget, and what is missing."""

    label: str  # the dataset's name in the report ("MNIST", "Fashion-MNIST")
    name: str  # the config's name
    points: pd.DataFrame  # FRONTIER_COLUMNS; accuracy, gap and agreement are fractions
    failed: list[dict]  # method, budget, seed, error of each point that failed
    missing: list[str]  # points the index lists without a readable, current results file
    index: dict  # index.json: points, failed, config_hash, frontier (the settings), wall_seconds
    provenance: list[dict] = field(default_factory=list)  # each ok point's (machine, commit)
    # VALIDATION_COLUMNS: each point's validation accuracy on the selection seeds' CNNs, where
    # the frontier recorded one (empty for a run judged by the published rule)
    validation: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=VALIDATION_COLUMNS))
    # one record per job that made points, the selection sweep's included: a job stamps each of
    # its points with one clock (started, job_seconds), so its first point's file stands for it,
    # with the job's methods added (`methods`) and whether it made selection points (`selection`)
    jobs: list[dict] = field(default_factory=list)
    # how each ok point was made, as it records it: (method, budget, seed) -> its setting and
    # the option chosen for it on validation (made_with)
    made_with: dict[tuple, str] = field(default_factory=dict)
    # each ok point's relative L2 error of the rebuilt weights, where it records one
    weight_errors: dict[tuple, float] = field(default_factory=dict)

    @property
    def settings(self) -> dict:
        """The FrontierConfig the points were made with, as recorded (a dict)."""
        return self.index.get("frontier") or {}


def stored_values(points: pd.DataFrame) -> int:
    """The values a network's inference reads (what a budget is a share of, in float32), from
    points that record their budget's bits: a share s allows floor(s * values * BITS) bits
    (innr.size.budget_bits), so the largest budget's bits give the values back."""
    top = points.loc[points["budget"].idxmax()]
    return round(top["budget_bits"] / (top["budget"] * BITS))


def load_frontier(root: Path, name: str, label: str | None = None) -> Frontier | None:
    """RESULTS/<name>/frontier (`root` = RESULTS/<name>), if its index.json was written. The
    dataset's label: the one its index records, else `label`, else its points' dataset."""
    index = read_json(root / FRONTIER / "index.json")
    if index is None:
        return None
    rows, failed, missing, datasets, provenance = [], [], [], [], []
    jobs: dict[tuple, dict] = {}
    made: dict[tuple, str] = {}
    errors: dict[tuple, float] = {}
    for rel in index["points"]:
        p = read_json(root / rel)
        if p is None or p.get("config_hash", index["config_hash"]) != index["config_hash"]:
            missing.append(rel)  # not written, unreadable, or left from another config
            continue
        _add_job(jobs, p, selection=False)
        point = p["point"]
        datasets.append(point.get("dataset"))
        if p["status"] != "ok":
            failed.append({**{k: point.get(k) for k in ("method", "budget", "seed")},
                           "error": p.get("error", "")})
        elif p.get("fits", True):  # fits False: nothing of this method fits the budget
            provenance.append(p.get("provenance") or {})
            made[point["method"], point["budget"], point["seed"]] = made_with(p)
            if p.get("weight_rel_l2") is not None:
                errors[point["method"], point["budget"], point["seed"]] = p["weight_rel_l2"]
            rows.append({"method": point["method"], "budget": point["budget"],
                         "seed": point["seed"], "accuracy": p["accuracy_rebuilt"],
                         "gap": p["accuracy_gap"], "agreement": p["top1_agreement"],
                         "cnn_accuracy": p["accuracy_original"],
                         "stored_bits": p["stored_bits"], "stored_bytes": p["stored_bits"] / 8,
                         "budget_bits": p["budget_bits"], "params": p.get("params"),
                         "decode_seconds": p.get("decode_seconds", math.nan),
                         "fit_seconds": p.get("fit_seconds", math.nan),
                         "uses_data": bool(p.get("uses_data", False)),
                         # None where the method gives nothing to store
                         "bytes_coded": _or_nan(p.get("bytes_coded"))})
    label = (index.get("frontier") or {}).get("label") or label or next(
        (d for d in datasets if d), name)
    frame = pd.DataFrame(rows, columns=FRONTIER_COLUMNS[1:]).assign(dataset=label)
    validation = _validation(root, index, label, missing, jobs)
    return Frontier(label, name, frame[FRONTIER_COLUMNS], failed, missing, index, provenance,
                    validation, list(jobs.values()), made, errors)


def made_with(p: dict) -> str:
    """A frontier point's recorded setting and the option chosen for it on validation, as one
    canonical string: two points made alike record the same one (no choice: {})."""
    chosen = (p.get("choice") or {}).get("option") or {}
    return json.dumps({"setting": p.get("setting") or {}, "chosen": chosen}, sort_keys=True)


def _add_job(jobs: dict[tuple, dict], p: dict, selection: bool) -> None:
    """Count a point's job once (its points share the job's clock), with the methods it made."""
    if "job_seconds" in p:
        job = jobs.setdefault((p.get("started"), p["job_seconds"]),
                              {**p, "methods": [], "selection": selection})
        if p["point"]["method"] not in job["methods"]:
            job["methods"].append(p["point"]["method"])


def _or_nan(x: float | None) -> float:
    return math.nan if x is None else x


def _validation(root: Path, index: dict, label: str, missing: list[str],
                jobs: dict[tuple, dict]) -> pd.DataFrame:
    """The frontier's validation records: each point the index lists under `selection_points`
    (VALIDATION) that is ok, fits and records a `val_accuracy`; one without a readable, current
    file is added to `missing`, the job of one with is added to `jobs`."""
    rows = []
    for rel in index.get("selection_points", []):
        p = read_json(root / rel)
        if p is None or p.get("config_hash", index["config_hash"]) != index["config_hash"]:
            missing.append(rel)
            continue
        _add_job(jobs, p, selection=True)
        if p["status"] == "ok" and p.get("fits", True) and p.get("val_accuracy") is not None:
            point = p["point"]
            rows.append({"method": point["method"], "budget": point["budget"],
                         "seed": point["seed"], "val_accuracy": p["val_accuracy"]})
    frame = pd.DataFrame(rows, columns=VALIDATION_COLUMNS[1:]).assign(dataset=label)
    return frame[VALIDATION_COLUMNS]


DATATRACK = "datatrack"  # RESULTS/<config>/datatrack/<method>/<budget>_seed<s>.json
DATATRACK_COLUMNS = ["dataset", "method", "budget", "seed", "accuracy", "accuracy_cnn",
                     "accuracy_gap", "top1_agreement", "stored_bits", "bytes_coded",
                     "budget_bits", "steps", "images"]


@dataclass
class DataTrack:
    """One config's data-using track (innr.experiments.datatrack): its points and the
    validation accuracies its choices were made on (datatrack/selection/...)."""

    label: str
    name: str
    points: pd.DataFrame  # DATATRACK_COLUMNS; fractions
    validation: pd.DataFrame  # VALIDATION_COLUMNS
    failed: list[dict]  # method, budget, seed, error
    stale: int = 0  # files made with another config, left out


def load_datatrack(root: Path, name: str, label: str, current: str | None = None
                   ) -> DataTrack | None:
    """RESULTS/<name>/datatrack (`root` = RESULTS/<name>), if any of its points was written;
    given `current` (the config's hash its files record), a file of another is left out."""
    folder = root / DATATRACK
    rows, valid, failed, stale = [], [], [], 0
    for path in sorted([*folder.glob("*/*.json"), *(folder / VALIDATION).glob("*/*.json")]):
        p = read_json(path)
        if p is None:
            continue
        if current is not None and p.get("config_hash", current) != current:
            stale += 1
            continue
        if path.parent.parent.name == VALIDATION:
            if p.get("status", "ok") == "ok" and p.get("val_accuracy") is not None:
                valid.append({**_named_by(path), **{k: v for k, v in p.get("point", p).items()
                                                    if k in ("method", "budget", "seed")},
                              "val_accuracy": p["val_accuracy"]})
            continue
        named = _named_by(path) | p  # the file's own keys first
        if p.get("status", "ok") != "ok":
            failed.append({k: named.get(k) for k in ("method", "budget", "seed", "error")})
            continue
        if not p.get("fits", True):  # nothing of the method fits the budget: no point
            continue
        rows.append({k: named.get(k, math.nan) for k in DATATRACK_COLUMNS[1:]})
    if not rows and not failed:
        return None
    points = pd.DataFrame(rows, columns=DATATRACK_COLUMNS[1:]).assign(dataset=label)
    validation = pd.DataFrame(valid, columns=VALIDATION_COLUMNS[1:]).assign(dataset=label)
    return DataTrack(label, name, points[DATATRACK_COLUMNS].astype({"bytes_coded": float,
                                                                    "budget_bits": float}),
                     validation[VALIDATION_COLUMNS], failed, stale)


def _named_by(path: Path) -> dict:
    """Method, budget and seed as a point's path names them: <method>/<budget>_seed<s>.json,
    the budget as innr.experiments.workbench.budget_label writes it (74p25: 74.25%)."""
    label, seed = path.stem.rsplit("_seed", 1)
    return {"method": path.parent.name, "budget": float(label.replace("p", ".")) / 100,
            "seed": int(seed)}


HEADLINE = "headline"  # RESULTS/<config>/headline/seed<s>.json: the headline method's claims
HEADLINE_KEY = re.compile(r"b(\d+(?:p\d+)?)_(.+)")  # b<budget label>_<measure>


def load_headline(root: Path) -> pd.DataFrame:
    """The headline INNR method's claims' measures (innr.experiments.headline) under `root`
    (RESULTS/<config>): a row per ok seed, budget and measure (seed, budget, method, measure,
    value); the method is the one its details name at that budget."""
    rows = []
    for path in sorted((root / HEADLINE).glob("seed*.json")):
        r = read_json(path)
        if r is None or r.get("status") != "ok":
            continue
        methods = {round(d["budget"], 9): d.get("method")
                   for d in _with_budget(r.get("details", {}))}
        for key, value in r["metrics"].items():
            if (m := HEADLINE_KEY.fullmatch(key)) and value is not None:
                budget = float(m[1].replace("p", ".")) / 100
                rows.append({"seed": r["seed"], "budget": budget,
                             "method": methods.get(round(budget, 9)), "measure": m[2],
                             "value": float(value)})
    return pd.DataFrame(rows, columns=["seed", "budget", "method", "measure", "value"])


def _with_budget(details) -> list[dict]:
    """The dicts of a headline result's details that describe one budget (a `budget` key),
    wherever the details nest them (a list, or a dict by budget label)."""
    if isinstance(details, dict):
        if "budget" in details:
            return [details]
        details = list(details.values())
    if isinstance(details, list):
        return [d for x in details for d in _with_budget(x)]
    return []


def _arm_frame(arms: list[dict]) -> pd.DataFrame:
    rows = [{"stage": a["stage"], "arm": a["arm"], "budget": a["budget"], "seed": int(seed),
             **{k: m.get(k, math.nan) for k in ARM_METRICS},
             "stored_bits": a["stored_bits"], "budget_bits": a["budget_bits"],
             "width": a.get("width")}
            for a in arms for seed, m in a["per_seed"].items()]
    return pd.DataFrame(rows, columns=["stage", "arm", "budget", "seed", *ARM_METRICS,
                                       "stored_bits", "budget_bits", "width"])


def load_results(config: Config, root: Path | None = None) -> Results:
    """The results of `config` (the seeds it lists) under `root` (default: RESULTS_ROOT)."""
    store = Store(config.name, root or RESULTS_ROOT)
    runs, aggregates = {}, {}
    for experiment in (*EXPERIMENTS, FITNOISE):
        seeds = config.fitnoise_seeds() if experiment == FITNOISE else config.seeds
        runs[experiment] = [r for s in seeds
                            if (r := read_json(store.result(experiment, s))) is not None]
        try:  # every seed failed -> an aggregate without rows (or columns)
            aggregates[experiment] = pd.read_csv(store.aggregate(experiment))
        except (FileNotFoundError, pd.errors.EmptyDataError):
            pass
    found = [r for experiment in EXPERIMENTS for r in runs[experiment]]
    try:
        recorded = config_from_dict(found[0]["config"]) if found else config
    except ConfigError as e:
        raise ConfigError(f"the results in {store.root} record a config this version cannot "
                          f"read ({e}); rerun the experiments") from None
    return Results(config.name, store.root, tuple(config.seeds), recorded, runs, aggregates)


@dataclass(frozen=True)
class OriginalStudy:
    """The original study's reported numbers (experiments/original_study.toml), typed."""

    source: str
    url: str
    seed: int
    cnn: dict  # params, test_accuracy
    innr: dict  # params, param_ratio, steps, test_accuracy, last_printed_accuracy
    attack: dict  # eps, protocol, claim
    notebook: dict | None  # the cells behind its reported accuracy (see `evaluations`)

    def evaluations(self) -> dict:
        """Which fit steps the notebook's reported and last printed accuracies come from.

        It evaluates when the loop counter k is a multiple of eval_every (from k = 0, the
        network after k + 1 steps) into an array of steps // eval_every entries, and reports
        the entry at reported_index.
        """
        nb = self.notebook or {}
        every, index, steps = nb["eval_every"], nb["reported_index"], self.innr["steps"]
        evaluations = steps // every
        entry = index % evaluations  # 0-based entry that a negative index picks
        return {"every": every, "index": index, "evaluations": evaluations, "steps": steps,
                "entry": entry + 1, "reported_after": entry * every + 1,
                "last_after": (evaluations - 1) * every + 1}


def load_original(path: Path) -> OriginalStudy:
    """experiments/original_study.toml; a missing key stops with a message naming it."""
    raw = tomllib.loads(Path(path).read_text())
    try:
        return OriginalStudy(raw["source"], raw["url"], raw["seed"], raw["cnn"], raw["innr"],
                             raw["attack"], raw.get("notebook"))
    except KeyError as e:
        raise ConfigError(f"{path}: missing {e}") from None


@dataclass(frozen=True)
class NernResult:
    """One rebuilt network NeRN reports: its accuracies and its compression ratio."""

    network: str
    accuracy_original: float
    accuracy_rebuilt: float
    compression: float  # the counted float32 parameters over the predictor's
    predictor_params: int | None = None  # where the source gives them
    counted_params: int | None = None

    @property
    def share(self) -> float:
        """The predictor's share of the counted bits (1 / compression)."""
        return 1 / self.compression


@dataclass(frozen=True)
class NernReported:
    """NeRN's reported numbers (experiments/nern_reported.toml), typed."""

    source: str
    url: str
    code: str
    dataset: str
    counted: str  # what its compression ratio counts
    kept_aside: str  # what it stores beside the predictor without counting it
    uses_data: bool
    results: tuple[NernResult, ...]


def load_nern(path: Path) -> NernReported:
    """experiments/nern_reported.toml; a missing key stops with a message naming it."""
    raw = tomllib.loads(Path(path).read_text())
    try:
        setting = raw["setting"]
        return NernReported(
            raw["source"], raw["url"], raw["code"], setting["dataset"], setting["counted"],
            setting["kept_aside"], bool(setting["uses_data"]),
            tuple(NernResult(r["network"], float(r["accuracy_original"]),
                             float(r["accuracy_rebuilt"]), float(r["compression"]),
                             r.get("predictor_params"), r.get("counted_params"))
                  for r in raw["results"]))
    except KeyError as e:
        raise ConfigError(f"{path}: missing {e}") from None


@dataclass(frozen=True)
class Criteria:
    """The declared criteria of the verdicts (experiments/criteria.toml), typed."""

    declared: str  # when, relative to the runs
    seen_before: str  # which results were seen before the criteria were fixed
    alpha: float  # level of every one-sided primary test
    power: float  # of claim 2's test, for the number of seeds
    margin: float  # claim 2's non-inferiority margin (accuracy, as a fraction)
    rationale: dict  # experiment -> why its criterion
    ablation: dict = field(default_factory=dict)  # [ablation]: targets {budget: gap}, texts
    frontier: dict = field(default_factory=dict)  # [frontier]: alpha, texts
    reproduction: dict = field(default_factory=dict)  # [reproduction]: tolerances, texts
    # [data_track]: alpha, margins, its INNR and rivals, sizes ("coded" or "raw"), texts
    data_track: dict = field(default_factory=dict)


def load_criteria(path: Path) -> Criteria:
    """experiments/criteria.toml; a missing key or a value out of range stops with a message."""
    try:
        raw = tomllib.loads(Path(path).read_text())
        out = Criteria(raw["declared"], raw["seen_before"], float(raw["alpha"]),
                       float(raw["power"]), float(raw["compression"]["margin"]),
                       {e: raw[e]["rationale"] for e in EXPERIMENTS},
                       _section(raw.get("ablation"), lambda a: {"targets": {
                           float(b): float(t) for b, t in a["targets"].items()}}),
                       _section(raw.get("frontier"), _frontier_criteria),
                       _section(raw.get("reproduction"), lambda r: {
                           "alpha": float(r["alpha"]),
                           "tolerance": {kind: float(r[kind]) for kind in TOLERANCES}}),
                       _section(raw.get("data_track"), lambda d: {
                           "alpha": float(d["alpha"]), "innr": d["innr"],
                           "rivals": tuple(d["rivals"]), "sizes": d["sizes"],
                           "margins": {label: float(m)
                                       for label, m in d["equivalence_margin"].items()}}))
    except FileNotFoundError:
        raise ConfigError(f"criteria file {path} not found (experiments/criteria.toml)") from None
    except (KeyError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: missing or unreadable {e}") from None
    if not (0 < out.alpha < 0.5 and 0 < out.power < 1 and 0 < out.margin < 1
            and 0 < out.frontier.get("alpha", out.alpha) < 0.5):
        raise ConfigError(f"{path}: alpha must lie in (0, 0.5), power and margin in (0, 1)")
    if not _amendment_in_range(out.frontier.get("amendment", {})):
        raise ConfigError(f"{path}: [frontier.amendment] alpha must lie in (0, 0.5), its margins "
                          "above 0, its budgets in (0, 1] and sizes be 'coded' or 'raw'")
    rep = out.reproduction
    if rep and not (0 < rep["alpha"] < 0.5 and min(rep["tolerance"].values()) >= 0):
        raise ConfigError(f"{path}: [reproduction] alpha must lie in (0, 0.5), its tolerances "
                          "at or above 0")
    return out


def _section(raw: dict | None, more: Callable[[dict], dict]) -> dict:
    """A section of the criteria ({} when absent): its texts (when it was declared, what was
    seen before, why) and `more(raw)`, its values typed."""
    if raw is None:
        return {}
    return {k: raw[k] for k in ("declared", "seen_before", "rationale")} | more(raw)


def _frontier_criteria(raw: dict) -> dict:
    """[frontier]: its alpha (two-sided tests) and [frontier.amendment], the rule declared for
    frontier runs after the published one."""
    return {"alpha": float(raw["alpha"]), "amendment": _section(raw.get("amendment"), lambda a: {
        "alpha": float(a["alpha"]),
        "margins": {label: float(m) for label, m in a["equivalence_margin"].items()},
        "budgets": tuple(float(b) for b in a["budgets"]), "sizes": a["sizes"]})}


def _amendment_in_range(amended: dict) -> bool:
    """[frontier.amendment]'s values can be applied (an absent amendment is in range)."""
    return not amended or (
        0 < amended["alpha"] < 0.5 and bool(amended["margins"])
        and min(amended["margins"].values()) > 0 and bool(amended["budgets"])
        and all(0 < b <= 1 for b in amended["budgets"]) and amended["sizes"] in ("coded", "raw"))


TOLERANCES = ("accuracy", "transfer", "relative", "counted")  # kinds of number (compare)


def _json_with_list(path: Path, key: str) -> dict | None:
    """A JSON object whose `key` is a list, or None when the file is missing or not that."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get(key), list) else None


def load_pilot(path: Path) -> dict | None:
    """experiments/pilot.json (written by python -m innr.report.pilot), or None without one."""
    return _json_with_list(path, "seeds")


def load_bench(path: Path) -> dict | None:
    """innr.bench's results file, or None when it was not written (or is not its JSON)."""
    return _json_with_list(path, "rows")


def aggregate_row(res: Results, experiment: str, metric: str) -> dict:
    """mean, std, ci_low, ci_high and n of one metric, from the experiment's aggregate.csv."""
    nan = {"mean": math.nan, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    frame = res.aggregates.get(experiment)
    if frame is None or metric not in frame.columns:
        return nan
    rows = frame.set_index(frame["seed"].astype(str))[metric]
    return {k: float(rows[k]) if k in rows.index else nan[k] for k in nan}


def aggregate_seeds(res: Results, experiment: str) -> list[int]:
    """The seeds that aggregate.csv averaged over (its per-seed rows)."""
    frame = res.aggregates.get(experiment)
    if frame is None:
        return []
    return [int(s) for s in frame["seed"].astype(str) if s.lstrip("-").isdigit()]


# --- tidy frames (one row per observation, a `seed` column throughout) -----------------------

def _zipped(runs: list[dict], details: str, columns: dict[str, str]) -> pd.DataFrame:
    """Per fidelity result of `runs`, a row per position of the lists `columns` names (a frame
    column -> its key in the result's details[details]), zipped."""
    rows = [{"seed": r["seed"], **dict(zip(columns, values, strict=True))}
            for r in runs
            for values in zip(*(r["details"][details][k] for k in columns.values()), strict=True)]
    return pd.DataFrame(rows, columns=["seed", *columns])


CNN_HISTORY = {"epoch": "epoch", "train_loss": "train_loss", "test_accuracy": "test_accuracy"}


def cnn_history(res: Results) -> pd.DataFrame:
    return _zipped(res.ok("fidelity"), "cnn_history", CNN_HISTORY)


def cnn_history_at(root: Path) -> pd.DataFrame:
    """cnn_history of the ok fidelity results under `root` (RESULTS/<config>), whichever seeds
    they are: a companion config's, read without its config."""
    found = [read_json(p) for p in sorted((root / "fidelity").glob("seed_*.json"))]
    return _zipped([r for r in found if r is not None and r.get("status") == "ok"],
                   "cnn_history", CNN_HISTORY)


def innr_loss(res: Results) -> pd.DataFrame:
    rows = [{"seed": r["seed"], "step": i + 1, "loss": loss}
            for r in res.ok("fidelity")
            for i, loss in enumerate(r["details"]["innr_history"]["loss"])]
    return pd.DataFrame(rows, columns=["seed", "step", "loss"])


def innr_eval(res: Results) -> pd.DataFrame:
    return _zipped(res.ok("fidelity"), "innr_history",
                   {"step": "eval_step", "accuracy": "eval_accuracy"})


def per_layer(res: Results) -> pd.DataFrame:
    rows = [{"seed": r["seed"], **layer}
            for r in res.ok("fidelity") for layer in r["details"]["per_layer"]]
    return pd.DataFrame(rows)


def scatter(res: Results) -> pd.DataFrame:
    return _zipped(res.ok("fidelity"), "scatter", {"true": "true", "rebuilt": "rebuilt"})


def transfer_records(res: Results) -> pd.DataFrame:
    """direction, protocol, eps, source, target, accuracy, transfer_rate per seed (NaN = none)."""
    rows = [{"seed": r["seed"], **rec}
            for r in res.ok("transfer") for rec in r["details"]["records"]]
    frame = pd.DataFrame(rows, columns=["seed", "direction", "protocol", "eps", "source", "target",
                                        "accuracy", "transfer_rate"])
    return frame.astype({"accuracy": float, "transfer_rate": float})


def seconds(res: Results) -> pd.DataFrame:
    """Per ok fidelity seed: seconds spent training the CNN and fitting the INNR."""
    rows = [{"seed": r["seed"], "cnn": sum(r["details"]["cnn_history"]["seconds"]),
             "innr": r["details"]["innr_history"]["seconds"]} for r in res.ok("fidelity")]
    return pd.DataFrame(rows, columns=["seed", "cnn", "innr"])
