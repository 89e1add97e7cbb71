"""A data-free compression tuned like the INNR's second stage: KL(CNN || compressed CNN) on
synthetic inputs plus `distill_mse` times the standardised weight MSE, Adam at `distill_lr` for
`distill_steps` (the best variant's settings), what the compression fixed (a mask, a bit width)
kept: both sides of the frontier optimised alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from innr.distil import distil, kl_loss
from innr.methods import Compressed, Compression, Params

if TYPE_CHECKING:
    from torch import nn

    from innr.config import VariantConfig

# (what is stored, the CNN's weights) -> (theta's start, theta -> the weights the CNN runs with)
Projection = Callable[[Compressed, Params], tuple[Params, Callable[[Params], Params]]]


def distilled(cnn: nn.Module, c: Compressed, projection: Projection, variant: VariantConfig,
              inputs: Callable[[torch.Generator, int], torch.Tensor], seed: int) -> Params:
    """What `c` stores, tuned against the CNN (the teacher) through `projection`."""
    original = {k: v.detach() for k, v in cnn.state_dict().items()}
    start, project = projection(c, original)
    std = torch.cat([v.reshape(-1) for v in original.values()]).std()
    theta = {k: start[k].clone().requires_grad_() for k in original}
    opt = torch.optim.Adam(theta.values(), lr=variant.distill_lr)
    g = torch.Generator().manual_seed(seed + 1)
    device = next(iter(original.values())).device

    def loss() -> torch.Tensor:
        x = inputs(g, variant.distill_batch).to(device)
        with torch.no_grad():
            teacher = cnn(x)
        weights = project(theta)
        student = torch.func.functional_call(cnn, weights, (x,))
        mse = sum(((weights[k] - original[k]) ** 2).sum() for k in weights) / (
            sum(v.numel() for v in weights.values()) * std ** 2)
        return (kl_loss(teacher, student) + variant.distill_mse * mse).reshape(1)

    distil(loss, opt, variant.distill_steps, [seed])
    with torch.no_grad():
        return {k: v.detach() for k, v in project(theta).items()}


@dataclass(frozen=True)
class Distilled(Compression):
    """`base` at the budget, then distilled; `base.projection` says what stays fixed."""

    base: Compression | None = None
    uses_selection: bool = True

    def settings(self, params: Params):
        return self.base.settings(params)

    def bits(self, params: Params, setting: Any) -> int:
        return self.base.bits(params, setting)

    def encode(self, params: Params, setting: Any) -> Compressed:
        return self.base.encode(params, setting)

    def decoder(self, c: Compressed, like: Params):
        return self.base.decoder(c, like)

    def kept(self, c: Compressed) -> int | None:
        return self.base.kept(c)

    def tune(self, job: Any, cnn: nn.Module, c: Compressed, seed: int) -> Params:
        variant, inputs = job.distillation()
        return distilled(cnn, c, self.base.projection, variant, inputs, seed)
