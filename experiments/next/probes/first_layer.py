"""A probe, not part of the run (experiments/next/README.md): does a k-bit predictor fail to
learn because its first layer, which the SIREN multiplies by w0_initial, is rounded too?

Seed 1239's published CNN and the published ablation's best variant (distillation off, STEPS
reconstruction steps), one predictor of WIDTH units per bit width in BITS (0: float32), fitted
as one stack as the frontier fits them; first with every tensor rounded (the run's rule), then
with every tensor but the first layer's. Prints each member's relative L2 weight error.

    .venv/bin/python experiments/next/probes/first_layer.py 1000 85 0,8,6,4,2
"""

from __future__ import annotations

import json
import sys
import time

import torch

from innr import variants
from innr.architectures import build_cnn
from innr.config import VariantConfig, variant_of
from innr.datasets import DATASETS
from innr.params import inference_tensors
from innr.target import Targets

PUBLISHED = "experiments/published"


def relative_error(rebuilt: dict, weights: dict) -> float:
    num = sum(((rebuilt[k] - weights[k]) ** 2).sum() for k in weights)
    return float((num / sum((weights[k] ** 2).sum() for k in weights)) ** 0.5)


def main(steps: int, width: int, bits: list[int]) -> None:
    torch.set_num_threads(1)
    selection = json.load(open(f"{PUBLISHED}/results/full/ablation/selection.json"))
    variant = variant_of(VariantConfig(), {**selection["best"], "steps": steps,
                                           "distill_steps": 0})
    cnn = build_cnn("mnist_example_net", DATASETS["mnist"], 32)
    cnn.load_state_dict(torch.load(f"{PUBLISHED}/networks/full/cnn_seed1239.pt",
                                   weights_only=True))
    weights = inference_tensors(cnn)
    rounding_all = variants.Padded.__call__

    def first_layer_float(self, x):
        first = next(iter(dict(self.template.named_parameters()))).rsplit(".", 1)[0]

        def one(p, b, mask, top, xm):
            p = {k: v * mask[k] if k.startswith(first) else variants.rounded(v * mask[k], top)
                 for k, v in p.items()}
            return torch.func.functional_call(self.template, (p, b), (xm,))
        return torch.vmap(one)(self.params, self.buffers, self.masks, self.tops, x)

    for keep_first, call in ((False, rounding_all), (True, first_layer_float)):
        variants.Padded.__call__ = call
        targets = Targets.of([weights] * len(bits), variant)
        seeds = [1239] * len(bits)
        stack = variants.Padded.init(variant, targets, [width] * len(bits), seeds,
                                     torch.device("cpu"), bits)
        start = time.time()
        stack, _ = variants.fit(variant, targets, seeds, 0, stack=stack, log_every=10**9)
        with torch.no_grad():
            decoded = targets.decode(stack(torch.stack([targets.layout.coords] * len(bits))))
        for m, b in enumerate(bits):
            error = relative_error({k: v[m] for k, v in decoded.items()}, weights)
            print(f"first layer {'float32' if keep_first else 'rounded'}, "
                  f"{b or 32} bits: relative L2 error {error:.3f} "
                  f"({time.time() - start:.0f} s for the stack)", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), [int(b) for b in sys.argv[3].split(",")])
