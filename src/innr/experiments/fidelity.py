"""Claim 1: the weights can be reconstructed faithfully.

    python -m innr.experiments.fidelity --config experiments/quick.toml [--seeds 1234]

Per seed: weight MSE, relative L2 error, SNR (dB) and cosine similarity, per layer and overall;
top-1 agreement and mean KL divergence between the original's and the rebuilt network's test
outputs; both test accuracies; the CNN's and the INNR's training histories (for the figures).
"""

from __future__ import annotations

import sys

import torch

from innr.coordinates import flatten_params
from innr.experiments.common import Context, main
from innr.fit import rebuilt_classifier
from innr.metrics import accuracy, agreement, logits_of, weight_error

SCATTER_POINTS = 4000  # weights kept for the true-vs-rebuilt scatter (a fixed, seeded subset)


def run(ctx: Context, seed: int) -> dict:
    cnn, cnn_history = ctx.cnn(seed)
    siren, problem, innr_history = ctx.innr(seed)
    test = ctx.splits[1]
    true, rebuilt = problem.like, problem.rebuild(siren)

    per_layer = [{"layer": name, **weight_error(true[name], rebuilt[name])} for name in true]
    overall = weight_error(flatten_params(true), flatten_params(rebuilt))
    logits_true = logits_of(cnn, test.inputs)
    logits_rebuilt = logits_of(rebuilt_classifier(cnn, rebuilt), test.inputs)

    pick = torch.randperm(overall["n"], generator=torch.Generator().manual_seed(seed))
    pick = pick[:SCATTER_POINTS]
    first = next(iter(true))  # conv1: the kernels shown side by side in the report
    return {
        "metrics": {
            **{f"weight_{k}": v for k, v in overall.items() if k != "n"},
            **agreement(logits_true, logits_rebuilt),
            "accuracy_original": accuracy(logits_true, test.labels),
            "accuracy_rebuilt": accuracy(logits_rebuilt, test.labels),
            "final_fit_loss": innr_history["loss"][-1],
        },
        "details": {
            "per_layer": per_layer,
            "cnn_history": cnn_history,
            "innr_history": innr_history,
            "scatter": {"true": flatten_params(true).cpu()[pick].tolist(),
                        "rebuilt": flatten_params(rebuilt).cpu()[pick].tolist()},
            "kernels": {"layer": first, "true": true[first].squeeze(1).tolist(),
                        "rebuilt": rebuilt[first].squeeze(1).tolist()},
        },
    }


if __name__ == "__main__":
    sys.exit(main("fidelity", run))
