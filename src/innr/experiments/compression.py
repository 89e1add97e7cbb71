"""Claim 2: the INNR has ~20-26% fewer parameters than the CNN at a small accuracy gap.

    python -m innr.experiments.compression --config experiments/quick.toml [--seeds 1234]

Per seed: parameter counts and ratio, both test accuracies and the gap. Over seeds: mean with a
95% t-interval (aggregate.csv) and a paired t-test of original vs rebuilt accuracy (summary.json).
"""

from __future__ import annotations

import sys

from innr.experiments.common import Context, main
from innr.fit import rebuilt_classifier
from innr.metrics import accuracy, logits_of
from innr.models import count_params
from innr.stats import paired_test, summary
from innr.store import Store, write_json


def run(ctx: Context, seed: int) -> dict:
    cnn, _ = ctx.cnn(seed)
    siren, problem, _ = ctx.innr(seed)
    test = ctx.splits[1]
    acc_true = accuracy(logits_of(cnn, test.inputs), test.labels)
    acc_rebuilt = accuracy(logits_of(rebuilt_classifier(cnn, problem.rebuild(siren)),
                                     test.inputs), test.labels)
    n_cnn, n_siren = count_params(cnn), count_params(siren)
    return {"metrics": {"params_cnn": n_cnn, "params_innr": n_siren,
                        "param_ratio": n_siren / n_cnn, "param_reduction": 1 - n_siren / n_cnn,
                        "accuracy_original": acc_true, "accuracy_rebuilt": acc_rebuilt,
                        "accuracy_gap": acc_true - acc_rebuilt},
            "details": {}}


def finish(results: list[dict], store: Store) -> None:
    """The paired test across seeds, next to the aggregate."""
    ok = [r["metrics"] for r in results if r["status"] == "ok"]
    write_json(store.root / "compression" / "summary.json", {
        "gap": summary([m["accuracy_gap"] for m in ok]),
        "paired_test": paired_test([m["accuracy_original"] for m in ok],
                                   [m["accuracy_rebuilt"] for m in ok]),
        "seeds": [r["seed"] for r in results if r["status"] == "ok"],
        "failed_seeds": [r["seed"] for r in results if r["status"] != "ok"],
        "complete": True})


if __name__ == "__main__":
    sys.exit(main("compression", run, finish=finish))
