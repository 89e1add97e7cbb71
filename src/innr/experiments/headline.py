"""The claims' measures for the headline INNR method, at each of headline.budgets.

    python -m innr.experiments.frontier --config experiments/quick.toml    # first
    python -m innr.experiments.headline --config experiments/quick.toml [--seeds 1234]

Per seed of the config and per budget:
- the headline INNR method: of the INNR methods with points at that budget, the one of the
  highest mean validation accuracy over the selection seeds in the frontier's selection files
  (innr.methods.headline, with which the report's amended rule chooses too); the test split
  plays no part in the choice;
- its weights rebuilt on the seed's CNN, as the frontier kept them (its cache: nothing is
  fitted here; without them the run stops and names the frontier's command);
- the claims' measures against the CNN, for the rebuilt network and for the control (an
  independently trained CNN of the same recipe, config.control_seeds): top-1 agreement and mean
  KL(CNN || network) (innr.metrics.agreement, as claim 1), both accuracies and the gap (as
  claim 2), and FGSM transfer (innr.experiments.fgsm, as claim 3): the CNN's examples at every
  attack.eps and protocol, and each network's accuracy on them and transfer rates.
Results: RESULTS/<config>/headline/seed_<s>.json, metrics `b<label>_<measure>` (label: the
budget as in file names, 74p25 or 50; the measures: top1_agreement, mean_kl, accuracy_original,
accuracy_rebuilt, accuracy_gap, the control's control_top1_agreement, control_mean_kl,
accuracy_control, control_accuracy_gap, val_accuracy, and transfer's keys, e.g.
forward_pixel_eps0.1_acc_rebuilt), details[label]: budget, method, chosen_on, val_accuracy,
candidates (each INNR method's mean validation accuracy), the frontier point's file and sizes,
and the transfer records. A results file is current while the whole config is unchanged
(Config.frontier_hash: the frontier's choices and fits depend on every section).
"""

from __future__ import annotations

import sys

from innr.compute import Counted
from innr.config import Config, ConfigError
from innr.experiments import common
from innr.experiments.fgsm import DIRECTIONS, attack, metrics_of
from innr.experiments.workbench import SELECT, Workbench, budget_label, kept_path, path_of
from innr.fit import rebuilt_classifier
from innr.methods import get, headline
from innr.metrics import accuracy, agreement, logits_of
from innr.store import load_checkpoint, read_json

FORWARD = {"forward": DIRECTIONS["forward"]}  # the CNN's examples on the network and the control


def rerun(ctx: Workbench) -> str:
    """The command that makes what this experiment reads."""
    return (f"run the frontier first: python -m innr.experiments.frontier --config "
            f"experiments/{ctx.config.name}.toml --results {ctx.store.root.parent}")


def current(ctx: Workbench, point: dict) -> dict:
    """A frontier point's results file, made with this config; stops with `rerun` otherwise."""
    done = read_json(path_of(ctx.store, point))
    if done is None or done.get("config_hash") != ctx.config.ablation_hash():
        raise ConfigError(f"headline: the frontier's {point['method']} at "
                          f"{point['budget']:.2%} (seed {point['seed']}) is missing or made "
                          f"with another config; {rerun(ctx)}")
    return done


def innr_methods(config: Config, budget: float) -> list[str]:
    """The config's INNR methods with frontier points at `budget`."""
    f = config.frontier
    return [m for m in f.methods if get(m).innr and budget in f.method_budgets.get(m, f.budgets)]


def validation_means(ctx: Workbench, budget: float) -> dict[str, float]:
    """Each INNR method's mean validation accuracy at `budget`, over the selection seeds whose
    point is ok and fits (as the report reads the selection files); a method with none is left
    out."""
    out = {}
    for method in innr_methods(ctx.config, budget):
        files = [current(ctx, {"method": method, "budget": budget, "stage": SELECT, "seed": s})
                 for s in ctx.config.ablation.selection_seeds]
        values = [f["val_accuracy"] for f in files if f["status"] == "ok"
                  and f.get("fits", True) and f.get("val_accuracy") is not None]
        if values:
            out[method] = sum(values) / len(values)
    return out


def rebuilt_weights(ctx: Workbench, method: str, budget: float, seed: int) -> tuple[dict, dict]:
    """The frontier's point of (method, budget, seed) and the weights it kept."""
    done = current(ctx, {"method": method, "budget": budget, "seed": seed})
    if done["status"] != "ok" or not done.get("fits"):
        raise ConfigError(f"headline: the frontier's {method} at {budget:.2%} (seed {seed}) "
                          f"{'failed' if done['status'] != 'ok' else 'does not fit'}: see "
                          f"{path_of(ctx.store, done['point'])}")
    params = load_checkpoint(kept_path(ctx.store, done["point"], ctx.config.ablation_hash()))
    if params is None:
        raise ConfigError(f"headline: the rebuilt weights of {method} at {budget:.2%} (seed "
                          f"{seed}) are not in the cache; {rerun(ctx)}")
    return done, {k: v.to(ctx.device) for k, v in params.items()}


def measures(ctx: Workbench, seed: int, budget: float) -> tuple[dict, dict]:
    """The headline method's metrics (unprefixed) and details at `budget` on `seed`'s CNN."""
    scores = validation_means(ctx, budget)
    method = headline(scores)
    chosen = {"budget": budget, "method": method, "chosen_on": "validation",
              "val_accuracy": scores.get(method), "candidates": scores}
    seeds = ctx.config.frontier.method_seeds.get(method, len(ctx.config.seeds))
    if method is None or seed not in ctx.config.seeds[:seeds]:  # no point on this seed
        return {}, chosen
    point, params = rebuilt_weights(ctx, method, budget, seed)
    cnn, _ = ctx.cnn(seed)
    control, _ = ctx.cnn(ctx.control_seed(seed))
    test = ctx.splits()[1]
    networks = {"original": cnn, "rebuilt": rebuilt_classifier(cnn, params), "control": control}
    logits = {name: logits_of(net, test.inputs) for name, net in networks.items()}
    metrics = {**agreement(logits["original"], logits["rebuilt"]),
               **{f"control_{k}": v for k, v in
                  agreement(logits["original"], logits["control"]).items()},
               **{f"accuracy_{name}": accuracy(out, test.labels) for name, out in logits.items()},
               "val_accuracy": scores[method]}
    for name in ("rebuilt", "control"):
        gap = metrics["accuracy_original"] - metrics[f"accuracy_{name}"]
        metrics["accuracy_gap" if name == "rebuilt" else "control_accuracy_gap"] = gap
    shape = tuple(test.inputs.shape[1:])
    records, _ = attack({name: Counted(net, cnn, shape) for name, net in networks.items()},
                        test, ctx.config.attack, ctx.config.data,
                        what=f"FGSM {method} {budget:.2%} seed {seed}", directions=FORWARD)
    where = str(path_of(ctx.store, point["point"]).relative_to(ctx.store.root))
    return ({**metrics, **metrics_of(records)},
            {**chosen, "point": where, "control_seed": ctx.control_seed(seed),
             **{k: point.get(k) for k in ("width", "stored_bits", "bytes_coded", "budget_bits")},
             "transfer": {"records": records}})


def run(ctx: Workbench, seed: int) -> dict:
    metrics, details = {}, {}
    for budget in ctx.config.headline.budgets:
        label = budget_label(budget)
        found, details[label] = measures(ctx, seed, budget)
        metrics |= {f"b{label}_{k}": v for k, v in found.items()}
    return {"metrics": metrics, "details": details}


def idle(config: Config) -> str:
    """Why the config gives the experiment nothing to do ("" where it does)."""
    return "" if config.headline.budgets else "headline.budgets is empty"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    return common.main("headline", run, argv, key=Config.frontier_hash, idle=idle)


if __name__ == "__main__":
    sys.exit(main())
