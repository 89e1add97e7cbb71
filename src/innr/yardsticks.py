"""What a user could have instead of the rebuilt network, to judge it against.

Each yardstick is a set of weights for the CNN's architecture, made from the CNN's own weights and
no data, so that "how close is the rebuilt network to the CNN?" has a scale:

- an independently trained CNN of the same recipe (another seed): what a retrained network
  shares with the CNN; it needs the data, so it is a scale, not a rival;
- the CNN's weights magnitude-pruned to the INNR's parameter count (innr.prune: global L1 over all
  weights, no fine-tuning): the simplest compression that stores as many numbers (their
  positions aside);
- the CNN plus Gaussian noise whose norm is the INNR's weight error: is the INNR's error more or
  less harmful to the outputs than random error of the same size?
"""

from __future__ import annotations

import torch
from torch import nn

from innr import prune
from innr.params import inference_tensors, weights_of


def pruned(cnn: nn.Module, keep: int) -> dict[str, torch.Tensor]:
    """The CNN's tensors with all but the `keep` largest weights in magnitude (over every layer)
    set to zero (innr.prune), the vectors as they are (every method stores them: innr.params);
    the CNN itself is left untouched."""
    tensors = inference_tensors(cnn)
    kept = prune.pruned(weights_of(tensors), keep)
    return {k: kept.get(k, v) for k, v in tensors.items()}


def noisy(params: dict[str, torch.Tensor], rel_l2: float, seed: int) -> dict[str, torch.Tensor]:
    """The weights plus i.i.d. Gaussian noise scaled so that its norm is exactly `rel_l2` times
    the weights' norm (over all layers at once, like the INNR's relative error); the vectors as
    they are (an INNR stores them exactly)."""
    weights = weights_of(params)
    g = torch.Generator().manual_seed(seed)
    draws = {k: torch.randn(v.shape, generator=g, dtype=torch.float64)
             for k, v in weights.items()}
    norm_w = torch.sqrt(sum((v.double() ** 2).sum() for v in weights.values()))
    norm_e = torch.sqrt(sum((e ** 2).sum() for e in draws.values()))
    scale = rel_l2 * norm_w / norm_e
    return {k: (v.double() + scale * draws[k].to(v.device)).to(v.dtype) if k in draws else v
            for k, v in params.items()}
