"""The data-free distillation loop (Choi et al. 2024), shared by the INNR's second stage
(innr.variants) and the distilled compressions (innr.methods): minimise each network's KL to its
teacher on synthetic inputs (plus a weight term), and stop on a non-finite loss.

Distillation tunes the weights (innr.params.is_weight) only. The network runs in eval mode
(innr.params.inference): batch-norm normalises by its running statistics, which are stored, not
by the synthetic batch's, and none is updated. The vectors (biases, batch-norm's tensors) stay
the CNN's own: every method stores them exactly, in float32, so they are kept fixed rather than
tuned, and a distilled method stores the same vectors as its undistilled self (an INNR's
predictor rebuilds the weights only, and the distilled rivals tune what the INNR tunes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from innr.params import inference, inference_tensors, vectors_of, weights_of
from innr.steps import run_steps

if TYPE_CHECKING:
    from innr.config import VariantConfig

Params = dict[str, torch.Tensor]


def kl_loss(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    """[M] KL(teacher || student) per network, averaged over its inputs."""
    t = F.log_softmax(teacher_logits, -1)
    s = F.log_softmax(student_logits, -1)
    return (t.exp() * (t - s)).sum(-1).mean(-1)


def distil(losses: Callable[[], torch.Tensor], opt: torch.optim.Optimizer, steps: int,
           seeds: Sequence[int], schedule: torch.optim.lr_scheduler.LRScheduler | None = None,
           every: int = 1, logged: Callable[[int, torch.Tensor], None] | None = None) -> None:
    """`steps` optimiser steps on the sum of `losses()` ([M], one per network of `seeds`, each
    drawing its own inputs), by innr.steps.run_steps: every `every` steps and at the last the
    losses are checked (a host sync) and the last step's handed to `logged(step, losses)`."""
    def step() -> torch.Tensor:
        current = losses()
        opt.zero_grad(set_to_none=True)
        current.sum().backward()
        opt.step()
        return current.detach()

    def log(step: int, block: torch.Tensor) -> None:
        if logged is not None:
            logged(step, block[-1])
    run_steps(step, steps, (every,), log, seeds=seeds, stage="distillation",
              hint="lower the variant's lr", schedule=schedule)


def distilled(cnn: nn.Module, start: Params, project: Callable[[Params], Params],
              variant: VariantConfig, inputs: Callable[[torch.Generator, int], torch.Tensor],
              seed: int) -> Params:
    """A compressed CNN's weights `project(theta)` (its vectors left out: they stay the CNN's),
    theta tuned from `start` like the INNR's second stage: KL(CNN || compressed CNN) on
    synthetic inputs plus `distill_mse` times the standardised weight MSE, Adam at `distill_lr`
    for `distill_steps`; `project` keeps what the compression fixed (a mask, a bit width)."""
    original, vectors = weights_of(inference_tensors(cnn)), vectors_of(inference_tensors(cnn))
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
        student = torch.func.functional_call(cnn, {**vectors, **weights}, (x,))
        mse = sum(((weights[k] - original[k]) ** 2).sum() for k in weights) / (
            sum(v.numel() for v in weights.values()) * std ** 2)
        return (kl_loss(teacher, student) + variant.distill_mse * mse).reshape(1)

    with inference(cnn):
        distil(loss, opt, variant.distill_steps, [seed])
    with torch.no_grad():
        return {k: v.detach() for k, v in project(theta).items()}
