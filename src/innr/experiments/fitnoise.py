"""The fit's own noise: how much of a result is the CNN's seed and how much the fit's draw.

    python -m innr.experiments.fitnoise --config experiments/quick.toml [--seeds 1234]

The fit at w0 = 100 pi is chaotic: a different initial SIREN, or the same one with the gradient
summed in another order (another step build, CPU or GPU), ends at different weights. For each of
the first `fitnoise.cnns` source seeds, the CNN is fitted three ways: the run of the claims
(SIREN seed = the CNN's seed + innr.seed_offset, the configured step), a second SIREN draw
(+ fitnoise.seed_offset) with the same step, and, on the first `fitnoise.autograd_cnns`, the first
draw with the autograd reference step. Over CNNs: a random-effects split of each metric into
variance between CNNs and within a CNN (the two draws), and the paired difference between the
configured step and the autograd reference. Descriptive: the claims' seed intervals already
contain this noise, since each seed's fit is its own draw.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence

from innr.config import Config
from innr.coordinates import flatten_params
from innr.experiments.common import main
from innr.experiments.workbench import Workbench, evaluate
from innr.fit import get_innr, rebuilt_classifier
from innr.metrics import accuracy, logits_of, weight_error
from innr.stats import summary, variance_components
from innr.store import Store, write_json
from innr.variants import rebuild_one

METRICS = ("accuracy_rebuilt", "top1_agreement", "weight_rel_l2")


def covered(config: Config) -> Sequence[int]:
    return config.fitnoise_seeds()


def variants(config: Config, seed: int) -> dict[str, Config]:
    """The configs of the fits compared on one CNN: the claims' run, a second SIREN draw, and
    (on the first autograd_cnns CNNs) the autograd reference step."""
    innr, noise = config.innr, config.fitnoise
    # the extra fits evaluate only their final weights: their curves are not shown
    once = {"eval_every": innr.steps}
    out = {"run": config,
           "draw2": dataclasses.replace(config, innr=dataclasses.replace(
               innr, seed_offset=noise.seed_offset, **once))}
    if config.seeds.index(seed) < noise.autograd_cnns and innr.step != "autograd":
        out["autograd"] = dataclasses.replace(config, innr=dataclasses.replace(
            innr, step="autograd", **once))
    return out


def run(ctx: Workbench, seed: int) -> dict:
    cnn, _ = ctx.cnn(seed)
    test = ctx.splits()[1]
    logits_cnn = logits_of(cnn, test.inputs)
    fits, rebuilt_weights = {}, {}
    for name, config in variants(ctx.config, seed).items():
        siren, targets, history = get_innr(config, seed, ctx.store, cnn, test)
        params = rebuild_one(siren, targets)
        logits = logits_of(rebuilt_classifier(cnn, params), test.inputs)
        rebuilt_weights[name] = flatten_params(params)
        scores = evaluate(logits_cnn, logits, test.labels, (targets.stored[0], params))
        fits[name] = {**{k: scores[k] for k in METRICS}, "step": history["step"]}
    # how far apart two fits of one CNN land, relative to the CNN's weights
    apart = {f"{name}_vs_run_rel_l2": weight_error(rebuilt_weights["run"], w)["rel_l2"]
             for name, w in rebuilt_weights.items() if name != "run"}
    metrics = {f"{name}_{k}": v for name, fit in fits.items() for k, v in fit.items()
               if k != "step"}
    return {"metrics": {**metrics, **apart, "accuracy_original": accuracy(logits_cnn,
                                                                          test.labels)},
            "details": {"fits": fits}}


def over_seeds(results: Sequence[dict]) -> dict:
    """Per metric: the between/within split over CNNs (both draws) and the configured step
    minus the autograd reference, paired by CNN."""
    ok = [r for r in results if r["status"] == "ok"]
    out = {"seeds": [r["seed"] for r in ok],
           "failed_seeds": [r["seed"] for r in results if r["status"] != "ok"]}
    for metric in METRICS:
        groups = [[r["metrics"][f"run_{metric}"], r["metrics"][f"draw2_{metric}"]] for r in ok]
        paired = [r["metrics"][f"run_{metric}"] - r["metrics"][f"autograd_{metric}"]
                  for r in ok if f"autograd_{metric}" in r["metrics"]]
        out[metric] = {"split": variance_components(groups) if len(groups) >= 2 else None,
                       "step_minus_autograd": summary(paired)}
    for name in ("draw2", "autograd"):
        out[f"{name}_vs_run_rel_l2"] = summary([r["metrics"][f"{name}_vs_run_rel_l2"]
                                                for r in ok
                                                if f"{name}_vs_run_rel_l2" in r["metrics"]])
    return out


def finish(results: list[dict], store: Store) -> None:
    write_json(store.root / "fitnoise" / "summary.json", {**over_seeds(results), "complete": True})


if __name__ == "__main__":
    sys.exit(main("fitnoise", run, finish=finish, seeds_of=covered))
