"""Claim 2 (compression): the INNR has ~20-26% fewer parameters than the CNN at a small
accuracy gap.

    python -m innr.experiments.compression --config experiments/quick.toml [--seeds 1234]

Per seed: parameter counts and ratio, both test accuracies and the gap, and beside them the CNN
magnitude-pruned to the INNR's parameter count (innr.yardsticks) with its own gap. Over seeds:
mean with a 95% t-interval (aggregate.csv) and a paired t-test of the CNN's against the rebuilt
network's accuracy (summary.json).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from innr.experiments.common import main
from innr.experiments.workbench import Workbench, accuracies
from innr.metrics import accuracy, logits_of
from innr.size import count_params
from innr.stats import paired_test, summary
from innr.store import Store, write_json


def compression_metrics(params_cnn: int, params_innr: int, acc: dict,
                        accuracy_pruned: float) -> dict:
    """Sizes and test accuracies (`accuracies`) of one seed; a gap is the CNN's accuracy minus
    the rebuilt (or pruned) one's."""
    ratio = params_innr / params_cnn
    return {"params_cnn": params_cnn, "params_innr": params_innr,
            "param_ratio": ratio, "param_reduction": 1 - ratio, **acc,
            "accuracy_gap": acc["accuracy_original"] - acc["accuracy_rebuilt"],
            "accuracy_pruned": accuracy_pruned,
            "pruned_gap": acc["accuracy_original"] - accuracy_pruned}


def run(ctx: Workbench, seed: int) -> dict:
    nets = ctx.networks(seed)
    test = ctx.splits()[1]
    acc = accuracies(*nets.test_logits(test), test.labels)
    return {"metrics": compression_metrics(count_params(nets.cnn), count_params(nets.siren), acc,
                                           accuracy(logits_of(nets.pruned_cnn, test.inputs),
                                                    test.labels)),
            "details": {}}


def over_seeds(results: Sequence[dict]) -> dict:
    """The gap's mean and interval, and the paired test of the two accuracies, over the seeds
    that succeeded (failed seeds are listed, never averaged)."""
    ok = [r for r in results if r["status"] == "ok"]
    return {"gap": summary([r["metrics"]["accuracy_gap"] for r in ok]),
            "paired_test": paired_test([r["metrics"]["accuracy_original"] for r in ok],
                                       [r["metrics"]["accuracy_rebuilt"] for r in ok]),
            "seeds": [r["seed"] for r in ok],
            "failed_seeds": [r["seed"] for r in results if r["status"] != "ok"]}


def finish(results: list[dict], store: Store) -> None:
    """The statistics over seeds, next to the aggregate."""
    write_json(store.root / "compression" / "summary.json",
               {**over_seeds(results), "complete": True})


if __name__ == "__main__":
    sys.exit(main("compression", run, finish=finish))
