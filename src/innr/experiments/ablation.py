"""Which INNR variants matter: ideas from the weight-representation literature, each added alone
to a base and removed alone from the best combination, at several budgets.

    python -m innr.experiments.ablation --config experiments/quick.toml

1. Selection (innr.experiments.selection; nothing there sees the test set): the base's
   w0_initial, each idea's best alternative and the best combination, on the validation split.
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
import sys
from collections.abc import Callable, Sequence

from innr import cli
from innr.config import Config, VariantConfig, load_config, variant_of
from innr.experiments.common import start
from innr.experiments.selection import run_selection
from innr.experiments.workbench import Arm, Workbench
from innr.methods import get
from innr.params import inference_tensors, n_values
from innr.progress import time_left
from innr.size import budget_bits
from innr.store import write_json

# --- the arms --------------------------------------------------------------------------------

def pruned_arm(bench: Workbench, arm: Arm) -> dict:
    """The CNN's largest weights that fit the budget with their positions: the frontier's
    pruned method (innr.methods.pruning)."""
    per_seed, c, allowed = {}, None, 0
    for seed, cnn in zip(bench.seeds(arm.stage), bench.cnns(arm.stage), strict=True):
        allowed = budget_bits(arm.budget, n_values(cnn))
        c = get("pruned").at_budget(inference_tensors(cnn), allowed,
                                    sizes="raw")  # the published claims' sizes
        per_seed[str(seed)] = {**bench.evaluate(arm.stage, seed, cnn, inference_tensors(cnn),
                                                c.params),
                               "fit_seconds": 0.0}
    return {"kept_weights": c.setting["keep"], "stored_bits": c.bits,
            "budget_bits": allowed, "per_seed": per_seed}


def arm_body(bench: Workbench) -> Callable[[Arm], dict]:
    """What runs an arm of the report stage: the faithful SIREN, the pruned CNN or a variant."""
    def body(arm: Arm) -> dict:
        if arm.name == "faithful":
            return bench.faithful_fit(arm)
        return pruned_arm(bench, arm) if arm.name == "pruned" else bench.variant_fit(arm)
    return body


# --- the design --------------------------------------------------------------------------------

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


def run_ablation(bench: Workbench) -> None:
    selection = run_selection(bench)
    print(f"ablation: selected w0_initial {selection['w0_initial']:g}; best combination: base + "
          f"{', '.join(selection['best_ideas']) or 'nothing'}", flush=True)
    arms = report_arms(bench.config, selection)
    bench.times.clear()
    for i, arm in enumerate(arms):
        left = len(arms) - i
        eta = f", {time_left(left, sum(bench.times), len(bench.times))}" if bench.times else ""
        bench.run(arm, f"[{i + 1}/{len(arms)}{eta}]", arm_body(bench))
    write_json(bench.store.root / "ablation" / "index.json",
               {"arms": [arm.file for arm in arms], "selection": "selection.json",
                "config_hash": bench.config.ablation_hash(), "complete": True})


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.experiments.ablation", __doc__, overrides=True, results=True)

    def body(args: argparse.Namespace) -> None:
        config = load_config(args.config, args.overrides)
        store, device = start(config, args.results)
        bench = Workbench(config, store, device)
        bench.splits("report")  # bad data stops here, before anything is written
        with store.lock():
            run_ablation(bench)

    return cli.run(p, body, argv)

if __name__ == "__main__":
    sys.exit(main())
