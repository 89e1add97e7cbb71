"""What every experiment works with: one Workbench per run, and the result envelope.

A Workbench (config, store, device) loads each stage's data splits and CNNs once ("report":
the claims' splits and seeds; "select": the ablation's selection CNNs, trained on the training
images before the dataset's validation part and scored on that part), gives each seed's networks
(the CNN, its faithful INNR and the rebuilt network), fits a variant or the faithful SIREN at a
budget (an Arm) and runs an arm once into its results file. `evaluate` is the one comparison of
a rebuilt network with its CNN; `envelope` the one record of how a result was made (config,
hash, provenance, times). No experiment imports another: what two share lives here or below.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch import nn

from innr import compute
from innr.config import Config, ConfigError, VariantConfig
from innr.coordinates import DIMS, flatten_params
from innr.datasets import dataset_of, load
from innr.fit import Split, get_cnn, get_innr, load_splits, prepare, rebuilt_classifier
from innr.metrics import Classifier, accuracy, agreement, logits_of, weight_error
from innr.params import inference_tensors, n_values, vector_bits, weights_of
from innr.permutations import chain_of
from innr.predictors import width_for_budget
from innr.predictors.siren import Siren
from innr.runtime import describe
from innr.size import BITS, budget_bits, count_params, predictor_budget, side_bits
from innr.store import Store, read_json, write_json
from innr.target import Targets
from innr.variants import (
    fit,
    new_predictor,
    predictor_bits,
    predictor_params,
    rebuild,
    rebuild_one,
    synthetic_inputs,
    width_for_bits,
)
from innr.yardsticks import noisy, pruned

# --- the result envelope ---------------------------------------------------------------------

def now() -> str:
    """The time, to the second, as results files record it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Clock:
    """When a piece of work started and the work counted so far (innr.compute); `times()` when
    it ends."""

    def __init__(self):
        self.started, self.t0, self.flops0 = now(), time.perf_counter(), compute.METER.flops

    def times(self, seconds: str = "wall_seconds") -> dict:
        """started, finished and the seconds between them (under the name `seconds`), and the
        work counted in between with its share of the matmul rate (innr.compute.record)."""
        elapsed = time.perf_counter() - self.t0
        return {"started": self.started, "finished": now(), seconds: elapsed,
                **compute.record(compute.METER.flops - self.flops0, elapsed)}


def envelope(config: Config, config_hash: str, device: torch.device, clock: Clock) -> dict:
    """What every results file records beside its numbers: the config and the hash that decides
    whether the file is current, the machine, the times, and that the file is whole."""
    return {"config": config.to_dict(), "config_hash": config_hash,
            "provenance": describe(device), **clock.times(), "complete": True}


# --- evaluating a rebuilt network ------------------------------------------------------------

def accuracies(logits_cnn: torch.Tensor, logits_rebuilt: torch.Tensor,
               labels: torch.Tensor) -> dict:
    """The two test accuracies every claim reports, under the names the results use."""
    return {"accuracy_original": accuracy(logits_cnn, labels),
            "accuracy_rebuilt": accuracy(logits_rebuilt, labels)}


def evaluate(logits_cnn: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor,
             weights: tuple[dict, dict] | None = None) -> dict:
    """A network against the CNN it stands for: both accuracies, the gap, top-1 agreement and,
    given `weights` (the CNN's tensors, the network's), the error of the weights (innr.params:
    not of the vectors, which every method stores exactly; None without)."""
    acc = accuracies(logits_cnn, logits, labels)
    error = ({"snr_db": None, "rel_l2": None} if weights is None else
             weight_error(*(flatten_params(weights_of(w)) for w in weights)))
    return {**acc, "accuracy_gap": acc["accuracy_original"] - acc["accuracy_rebuilt"],
            "top1_agreement": agreement(logits_cnn, logits)["top1_agreement"],
            "snr_db": error["snr_db"], "weight_rel_l2": error["rel_l2"]}


# --- choices on the validation split (the frontier's, the data track's) ---------------------

def mean_accuracies(candidates: Sequence[Sequence[dict]]) -> list[float | None]:
    """Each candidate's mean validation accuracy over the seeds (`candidates`: per seed, its
    candidates in one order); None for one that does not fit on every seed."""
    return [statistics.fmean(c["val_accuracy"] for c in per_seed)
            if all(c["fits"] for c in per_seed) else None
            for per_seed in zip(*candidates, strict=True)]


def best_option(candidates: Sequence[Sequence[dict]]) -> int:
    """The candidate (by position) of the best mean validation accuracy over the seeds (the
    first listed on a tie), of those that fit on every seed."""
    means = [float("-inf") if m is None else m for m in mean_accuracies(candidates)]
    return means.index(max(means))


# --- a seed's networks (the claims) ----------------------------------------------------------

@dataclasses.dataclass
class Networks:
    """A seed's CNN, its INNR and the network rebuilt from the INNR."""

    cnn: nn.Module
    cnn_history: dict
    siren: Siren
    targets: Targets  # the INNR's targets: coordinates, standardisation, the CNN's tensors
    innr_history: dict
    rebuilt_params: dict[str, torch.Tensor]  # the CNN's state_dict as the INNR rebuilds it

    @property
    def weights(self) -> dict[str, torch.Tensor]:
        """The CNN's tensors, as the INNR was fitted to them (its weights) and stores them."""
        return self.targets.stored[0]

    @property
    def rebuilt(self) -> Classifier:
        return rebuilt_classifier(self.cnn, self.rebuilt_params)

    @property
    def pruned_cnn(self) -> Classifier:
        """The CNN magnitude-pruned to the INNR's parameter count (innr.yardsticks)."""
        return rebuilt_classifier(self.cnn, pruned(self.cnn, count_params(self.siren)))

    def noisy_cnn(self, seed: int) -> Classifier:
        """The CNN plus Gaussian noise as large as the INNR's weight error (innr.yardsticks)."""
        error = weight_error(flatten_params(weights_of(self.weights)),
                             flatten_params(weights_of(self.rebuilt_params)))["rel_l2"]
        return rebuilt_classifier(self.cnn, noisy(self.weights, error, seed))

    def test_logits(self, test: Split) -> tuple[torch.Tensor, torch.Tensor]:
        """The CNN's and the rebuilt network's logits on the test split (their work counted)."""
        compute.add(2 * len(test.inputs) * compute.forward_flops(self.cnn,
                                                                 tuple(test.inputs.shape[1:])))
        return logits_of(self.cnn, test.inputs), logits_of(self.rebuilt, test.inputs)


# --- an arm: a variant (or a yardstick) at a budget ------------------------------------------

def budget_label(share: float) -> str:
    """A budget in file names: 0.25 -> "25", 0.125 -> "12p5"."""
    return f"{100 * share:g}".replace(".", "p")


SELECT = "select"  # the stage of a point on the selection CNNs


def path_of(store: Store, point: dict) -> Path:
    """The results file of a frontier point (innr.experiments.frontier)."""
    folder = store.root / "frontier" / point["method"]
    if point.get("stage") == SELECT:
        folder = store.root / "frontier" / "selection" / point["method"]
    elif point["method"] in ("cnn", "selection"):
        return folder / (f"seed_{point['seed']}.json" if "seed" in point else "selection.json")
    return folder / f"{budget_label(point['budget'])}_seed{point['seed']}.json"


def kept_path(store: Store, point: dict, config_hash: str) -> Path:
    """Where the frontier keeps the rebuilt weights of an INNR point at a headline budget (the
    cache, keyed by the point as its results file records it and the hash it was made with):
    the headline experiment reads them instead of fitting again."""
    key = hashlib.sha256(json.dumps({**point, "config_hash": config_hash},
                                    sort_keys=True).encode()).hexdigest()[:12]
    return store.cache(f"rebuilt-{point['method']}", f"{budget_label(point['budget'])}_{key}",
                       point["seed"])


@dataclasses.dataclass
class Arm:
    """One row of the ablation: a variant (or a yardstick) at a budget, on a stage's seeds."""

    stage: str  # "select" or "report"
    name: str
    budget: float
    variant: VariantConfig | None = None  # None for the yardsticks (faithful, pruned)

    @property
    def file(self) -> str:
        return f"{self.stage}_{budget_label(self.budget)}_{self.name}.json"


def fit_flops(v: VariantConfig, targets: Targets, width: int, network: nn.Module,
              shape: tuple[int, ...]) -> int:
    """The work of innr.variants.fit for every network of `targets`, counted from one step of
    one predictor (innr.compute): its rows a step, and in distillation each step's networks
    (the CNN's training pass through the rebuilt weights, the teacher's forward pass)."""
    predictor = compute.built_on_meta(lambda: new_predictor(v, targets, width))
    rows, dim_in = targets.layout.coords.shape
    fit_rows = compute.fit_step_flops(predictor, v.batch_rows or rows, dim_in)
    distill = (compute.fit_step_flops(predictor, rows, dim_in) + v.distill_batch * (
        compute.training_flops(network, shape) + compute.forward_flops(network, shape)))
    return len(targets) * (v.steps * fit_rows + v.distill_steps * distill)


# --- the workbench -----------------------------------------------------------------------------

class Workbench:
    """The runs of one config: data and CNNs per stage (loaded once), the results directory."""

    def __init__(self, config: Config, store: Store, device: torch.device):
        self.config, self.store, self.device = config, store, device
        compute.start(device)  # the matmul rate every stage's share is taken of, measured once
        self.times: list[float] = []  # seconds of each arm run here (for the time left)
        self._splits: dict[str, tuple[Split, Split]] = {}
        self._cnns: dict[tuple[str, int], tuple[nn.Module, dict]] = {}
        self.logits: dict[tuple[str, int], torch.Tensor] = {}  # each CNN's, computed once
        self.memo: dict[tuple, dict] = {}  # an arm whose variant ran already under another name

    # data and networks per stage
    def splits(self, stage: str = "report") -> tuple[Split, Split]:
        """(train, held out) of a stage: the claims' splits, or the selection's training images
        and the dataset's validation images (limited like the config's own splits)."""
        if stage not in self._splits:
            if stage == "report":
                self._splits[stage] = load_splits(self.config, self.device)
            else:
                data = load(self.config.data.root, "train")
                train = prepare(data.head(self.stage_config(stage).data.train_limit),
                                self.config, self.device)
                valid = data.part(data.dataset.validation)
                self._splits[stage] = (train, prepare(valid.head(self.config.data.test_limit),
                                                      self.config, self.device))
        return self._splits[stage]

    def stage_config(self, stage: str) -> Config:
        if stage == "report":
            return self.config
        start = dataset_of(self.config.data.root).validation.start
        limit = min(self.config.data.train_limit or start, start)
        return dataclasses.replace(self.config, data=dataclasses.replace(self.config.data,
                                                                          train_limit=limit))

    def seeds(self, stage: str) -> list[int]:
        return list(self.config.seeds if stage == "report" else
                    self.config.ablation.selection_seeds)

    def cnn(self, seed: int, stage: str = "report") -> tuple[nn.Module, dict]:
        """The trained CNN of `seed` and its history: trained once, then cached on disk and
        kept here for the rest of the run."""
        if (stage, seed) not in self._cnns:
            train, held_out = self.splits(stage)
            self._cnns[stage, seed] = get_cnn(self.stage_config(stage), seed, self.store, train,
                                              held_out)
        return self._cnns[stage, seed]

    def cnns(self, stage: str) -> list[nn.Module]:
        """The stage's CNNs, in the order of its seeds."""
        return [self.cnn(s, stage)[0] for s in self.seeds(stage)]

    def cnn_logits(self, stage: str, seed: int, cnn: nn.Module) -> torch.Tensor:
        if (stage, seed) not in self.logits:
            self.logits[stage, seed] = self.pass_held_out(stage, cnn, cnn)
        return self.logits[stage, seed]

    def pass_held_out(self, stage: str, cnn: nn.Module, network: Classifier) -> torch.Tensor:
        """The logits of `network` (`cnn`'s architecture) on the stage's held-out split,
        its work counted (innr.compute)."""
        inputs = self.splits(stage)[1].inputs
        compute.add(len(inputs) * compute.forward_flops(cnn, tuple(inputs.shape[1:])))
        return logits_of(network, inputs)

    def networks(self, seed: int) -> Networks:
        """The CNN of `seed`, its INNR (fitted once, then cached) and the rebuilt network."""
        cnn, cnn_history = self.cnn(seed)
        siren, targets, innr_history = get_innr(self.config, seed, self.store, cnn,
                                                self.splits()[1])
        return Networks(cnn, cnn_history, siren, targets, innr_history,
                        rebuild_one(siren, targets))

    def control_seed(self, seed: int) -> int:
        """The independently trained CNN paired with source `seed` (config.control_seeds)."""
        control = self.config.control_of(seed)
        if control is None:
            raise ConfigError(f"config {self.config.name!r} lists no control_seeds: add one "
                              f"seed per source seed, none of them in seeds")
        return control

    def evaluate(self, stage: str, seed: int, cnn: nn.Module, reference: dict,
                 params: dict) -> dict:
        """`evaluate` of the network with `params` against the CNN of (stage, seed), whose
        weights `params` approximate (`reference`), on the stage's held-out split."""
        held_out = self.splits(stage)[1]
        logits = self.pass_held_out(stage, cnn, rebuilt_classifier(cnn, params))
        return evaluate(self.cnn_logits(stage, seed, cnn), logits, held_out.labels,
                        (reference, params))

    # fits at a budget
    def variant_fit(self, arm: Arm, seeds: Sequence[int] | None = None, bits: int = 0,
                    fitted: list | None = None, rebuilt: dict | None = None) -> dict:
        """The arm's variant fitted to the stage's CNNs (or those of `seeds`), its predictor
        stored in float32 or, with `bits`, in that many bits a parameter; `fitted` receives
        (stack, targets) (what the predictors store: Stack.payload), `rebuilt` each seed's
        rebuilt weights."""
        v, every = arm.variant, self.seeds(arm.stage)
        seeds = list(seeds or every)
        cnns = [c for s, c in zip(every, self.cnns(arm.stage), strict=True) if s in seeds]
        held_out = self.splits(arm.stage)[1]
        targets = Targets.of([inference_tensors(c) for c in cnns], v,
                             chain_of(cnns[0]) if v.permute else ()).to(self.device)
        allowed = budget_bits(arm.budget, targets.n_values)
        width = width_for_bits(v, targets, allowed - targets.side_bits(), bits)
        inputs = synthetic_inputs(v.distill_inputs, tuple(held_out.inputs.shape[1:]),
                                  self.config.data.mean, self.config.data.std)
        stack, history = fit(v, targets, seeds, width, network=cnns[0], inputs=inputs,
                             label=f"{arm.name} {arm.budget:.0%}", bits=bits)
        compute.add(fit_flops(v, targets, width, cnns[0], tuple(held_out.inputs.shape[1:])))
        if fitted is not None:
            fitted.append((stack, targets))
        per_seed = {}
        for m, (seed, cnn, params) in enumerate(zip(seeds, cnns, rebuild(stack, targets),
                                                    strict=True)):
            if rebuilt is not None:
                rebuilt[seed] = params
            per_seed[str(seed)] = {**self.evaluate(arm.stage, seed, cnn, targets.stored[m],
                                                   params),
                                   "fit_seconds": history["seconds"] / len(seeds),
                                   "final_loss": history["loss"][-1][m]}
        return {"variant": dataclasses.asdict(v), "width": width,
                "predictor_params": predictor_params(v, targets, width),
                "stored_bits": predictor_bits(v, targets, width, bits) + targets.side_bits(),
                "budget_bits": allowed, "per_seed": per_seed, "history": history}

    def faithful_width(self, stage: str, budget: float) -> int:
        """The widest per-weight SIREN whose parameters fit `budget` beside the CNN's vectors
        (ValueError where not even the narrowest does)."""
        cnn = self.cnns(stage)[0]
        n, vectors = n_values(cnn), vector_bits(inference_tensors(cnn))
        return width_for_budget(predictor_budget(budget, n, kept_bits=vectors), "siren",
                                dim_in=DIMS, depth=self.config.innr.layers, dim_out=1)

    def faithful_fit(self, arm: Arm, seeds: Sequence[int] | None = None,
                     rebuilt: dict | None = None) -> dict:
        """The original's per-weight SIREN, as wide as the budget allows (at the original's
        budget, the claims' own fits, from the cache), on the stage's seeds or `seeds`;
        `rebuilt` receives each seed's rebuilt weights."""
        innr = self.config.innr
        cnn = self.cnns(arm.stage)[0]
        n, vectors = n_values(cnn), vector_bits(inference_tensors(cnn))
        width = self.faithful_width(arm.stage, arm.budget)
        config = self.config
        if width != innr.hidden:
            config = dataclasses.replace(config, innr=dataclasses.replace(
                innr, hidden=width, eval_every=innr.steps))
        test = self.splits(arm.stage)[1]
        per_seed, params_count = {}, 0
        every = self.seeds(arm.stage)
        if seeds is None:
            seeds = every
            if width != innr.hidden:  # the costliest arm: on the first faithful_seeds seeds only
                seeds = seeds[:self.config.ablation.faithful_seeds or None]
        for seed, cnn in zip(every, self.cnns(arm.stage), strict=True):
            if seed not in seeds:
                continue
            siren, targets, history = get_innr(config, seed, self.store, cnn, test)
            params_count = count_params(siren)
            params = rebuild_one(siren, targets)
            if rebuilt is not None:
                rebuilt[seed] = params
            per_seed[str(seed)] = {**self.evaluate(arm.stage, seed, cnn, targets.stored[0],
                                                   params),
                                   "fit_seconds": history["seconds"]}
        return {"width": width, "predictor_params": params_count,
                "stored_bits": params_count * BITS + side_bits(n, 0) + vectors,
                "budget_bits": budget_bits(arm.budget, n),
                "per_seed": per_seed}

    # an arm's results file
    def run(self, arm: Arm, position: str, body_of: Callable[[Arm], dict]) -> dict:
        """The arm's results file: read when current, else `body_of(arm)` (or the same variant's
        body under another name) wrapped in the envelope and written."""
        path = self.store.root / "ablation" / arm.file
        previous = read_json(path)
        if previous is not None and previous.get("config_hash") == self.config.ablation_hash():
            if arm.variant is not None:
                self.memo[arm.stage, arm.budget, repr(arm.variant)] = {
                    k: previous[k] for k in ("variant", "width", "predictor_params",
                                             "stored_bits", "budget_bits", "per_seed", "history")}
            return previous
        print(f"ablation: {position} {arm.stage} {arm.name} at {arm.budget:.1%}", flush=True)
        clock = Clock()
        key = (arm.stage, arm.budget, repr(arm.variant))
        if arm.variant is not None and key in self.memo:
            body = self.memo[key]
        else:
            body = body_of(arm)
        if arm.variant is not None:
            self.memo[key] = body
        result = {"stage": arm.stage, "arm": arm.name, "budget": arm.budget, **body,
                  **envelope(self.config, self.config.ablation_hash(), self.device, clock)}
        write_json(path, result)
        self.times.append(result["wall_seconds"])
        return result

