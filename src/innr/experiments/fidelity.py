"""Claim 1 (fidelity): the weights can be reconstructed faithfully.

    python -m innr.experiments.fidelity --config experiments/quick.toml [--seeds 1234]

Per seed: weight MSE, relative L2 error, SNR (dB) and cosine similarity, per layer and overall;
top-1 agreement and mean KL divergence between the CNN's and the rebuilt network's test
outputs; both test accuracies; the CNN's and the INNR's training histories (for the figures).
The same agreement, KL and accuracy for the yardsticks (innr.yardsticks): the control CNN (an
independent seed, config.control_seeds), the CNN pruned to the INNR's parameter count, and the
CNN plus Gaussian noise as large as the INNR's weight error.
"""

from __future__ import annotations

import sys

import torch

from innr.coordinates import flatten_params
from innr.experiments.common import main
from innr.experiments.workbench import Workbench, accuracies
from innr.metrics import accuracy, agreement, logits_of, weight_error

SCATTER_POINTS = 4000  # weights kept for the true-vs-rebuilt scatter (a fixed, seeded subset)


def yardstick_metrics(logits_cnn: torch.Tensor, yardsticks: dict[str, torch.Tensor],
                      labels: torch.Tensor) -> dict:
    """Agreement with the CNN, KL from it and accuracy of each yardstick's test logits."""
    metrics = {}
    for name, logits in yardsticks.items():
        metrics |= {f"{name}_{k}": v for k, v in agreement(logits_cnn, logits).items()}
        metrics[f"accuracy_{name}"] = accuracy(logits, labels)
    return metrics


def run(ctx: Workbench, seed: int) -> dict:
    nets = ctx.networks(seed)
    control, _ = ctx.cnn(ctx.control_seed(seed))
    true, rebuilt = nets.weights, nets.rebuilt_params
    logits_cnn, logits_rebuilt = nets.test_logits(ctx.splits()[1])
    test = ctx.splits()[1]
    yardsticks = {"control": logits_of(control, test.inputs),
                  "pruned": logits_of(nets.pruned_cnn, test.inputs),
                  "noise": logits_of(nets.noisy_cnn(seed), test.inputs)}

    per_layer = [{"layer": name, **weight_error(true[name], rebuilt[name])} for name in true]
    overall = weight_error(flatten_params(true), flatten_params(rebuilt))
    pick = torch.randperm(overall["n"], generator=torch.Generator().manual_seed(seed))
    pick = pick[:SCATTER_POINTS]
    first = next(iter(true))  # conv1: the kernels shown side by side in the report
    return {
        "metrics": {
            **{f"weight_{k}": v for k, v in overall.items() if k != "n"},
            **agreement(logits_cnn, logits_rebuilt),
            **accuracies(logits_cnn, logits_rebuilt, ctx.splits()[1].labels),
            "final_fit_loss": nets.innr_history["loss"][-1],
            **yardstick_metrics(logits_cnn, yardsticks, test.labels),
        },
        "details": {
            "per_layer": per_layer,
            "cnn_history": nets.cnn_history,
            "innr_history": nets.innr_history,
            "scatter": {"true": flatten_params(true).cpu()[pick].tolist(),
                        "rebuilt": flatten_params(rebuilt).cpu()[pick].tolist()},
            "kernels": {"layer": first, "true": true[first].squeeze(1).tolist(),
                        "rebuilt": rebuilt[first].squeeze(1).tolist()},
        },
    }


if __name__ == "__main__":
    sys.exit(main("fidelity", run))
