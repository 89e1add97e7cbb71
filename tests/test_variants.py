"""Fitting variants: a batched fit is the separate fits; the distillation loss reaches the
predictor (float64 finite differences); a fit learns and is deterministic under its seeds."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import VariantConfig
from innr.distil import kl_loss
from innr.steps import DivergenceError
from innr.target import Targets
from innr.variants import (
    Stack,
    distill_loss,
    fit,
    predictor_params,
    rebuild,
    synthetic_inputs,
    width_for,
)

SMALL = VariantConfig(depth=2, width=12, steps=20, lr=1e-3, w0_initial=30.0)


def nets(seeds=(0, 1, 2), c: int = 2) -> list[dict]:
    out = []
    for s in seeds:
        torch.manual_seed(s)
        out.append(MnistExampleNet(c).state_dict())
    return out


@pytest.mark.parametrize("variant", [
    SMALL,
    dataclasses.replace(SMALL, predictor="pe_mlp", encoding="nerf", levels=2, outliers=0.02),
    dataclasses.replace(SMALL, batch_rows=16, magnitude_share=0.5, permute=True),
    dataclasses.replace(SMALL, distill_steps=3, distill_batch=2, lr_schedule="constant"),
])
def test_a_batched_fit_is_the_separate_fits(variant):
    networks = nets()
    chain = MnistExampleNet(2).permutable_chain()
    inputs = synthetic_inputs("gaussian", (1, 28, 28))
    together = Targets.of(networks, variant, chain)
    stack, _ = fit(variant, together, [10, 11, 12], 12, MnistExampleNet(2), inputs)
    joint = rebuild(stack, together)
    for m, (net, seed) in enumerate(zip(networks, [10, 11, 12], strict=True)):
        alone = Targets.of([net], variant, chain)
        single, _ = fit(variant, alone, [seed], 12, MnistExampleNet(2), inputs)
        for k, v in rebuild(single, alone)[0].items():
            torch.testing.assert_close(joint[m][k], v, rtol=1e-4, atol=1e-5)


def test_predictors_are_independent_and_seeded():
    targets = Targets.of(nets((0, 0)), SMALL)  # the same network twice
    stack, _ = fit(SMALL, targets, [5, 6], 12)
    a, b = rebuild(stack, targets)
    assert not torch.allclose(a["fc.weight"], b["fc.weight"])  # other seeds, other fits
    again, _ = fit(SMALL, targets, [5, 6], 12)
    assert all(torch.equal(a[k], rebuild(again, targets)[0][k]) for k in a)  # same seed, same bits


def test_a_fit_learns():
    targets = Targets.of(nets((0,)), dataclasses.replace(SMALL, steps=200, lr=3e-3))
    _, history = fit(dataclasses.replace(SMALL, steps=200, lr=3e-3), targets, [1], 12,
                     log_every=10)
    losses = [row[0] for row in history["loss"]]
    assert losses[-1] < 0.5 * losses[0]


def test_a_non_finite_loss_stops_with_the_seed():
    bad = dataclasses.replace(SMALL, lr=1e30, w0_initial=3000.0)
    targets = Targets.of(nets((0,)), bad)
    with pytest.raises(DivergenceError, match=r"seeds \[4\]"):
        fit(bad, targets, [4], 12, log_every=1)


def test_the_width_fills_the_budget():
    targets = Targets.of(nets((0,)), VariantConfig())
    for budget in (500, 1000, 2345):
        width = width_for(VariantConfig(depth=3), targets, budget)
        assert predictor_params(VariantConfig(depth=3), targets, width) <= budget
        assert predictor_params(VariantConfig(depth=3), targets, width + 1) > budget
    assert width_for(VariantConfig(width=7), targets, 10**6) == 7


def test_kl_loss_is_zero_for_equal_logits_and_positive_otherwise():
    a = torch.randn(2, 5, 10)
    assert torch.allclose(kl_loss(a, a), torch.zeros(2), atol=1e-6)
    assert (kl_loss(a, a + torch.randn(2, 5, 10)) > 0).all()


class Smooth(nn.Module):
    """A small CNN with biases and no max-pooling, so that the loss has no kinks for a finite
    difference to straddle."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 5)
        self.fc = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.avg_pool2d(torch.sigmoid(self.conv(x)), 2).flatten(1))


def test_the_distillation_gradient_reaches_the_predictor():
    """d(KL + MSE)/d(predictor parameters) by autograd equals a float64 central difference:
    the gradient flows from the rebuilt network's outputs through decoding into the predictor
    (NeRN's tracker, issue #25, asked whether its released code sent any)."""
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        variant = dataclasses.replace(SMALL, depth=1, width=4, outliers=0.05)
        network = Smooth()
        targets = Targets.of([network.state_dict()], variant)
        for name in ("values", "weight", "mean", "std", "outlier_values"):
            setattr(targets, name, getattr(targets, name).double())
        targets.stored = [{k: v.double() for k, v in network.state_dict().items()}]
        targets.vectors = {k: v.double() for k, v in targets.vectors.items()}  # the biases
        stack = Stack.init(variant, targets, 4, [3], torch.device("cpu"))
        x = torch.randn(1, 3, 1, 12, 12)

        def loss() -> torch.Tensor:
            return distill_loss(stack, targets, network, x, mse_weight=0.0).sum()

        loss().backward()
        for name, p in stack.params.items():
            grad = p.grad.clone()
            assert grad.abs().sum() > 0, f"no gradient reaches {name}"
            for index in [(0,) + (0,) * (p.dim() - 1), (0,) + tuple(s - 1 for s in p.shape[1:])]:
                h, old = 1e-6, p.data[index].item()
                p.data[index] = old + h
                up = loss().item()
                p.data[index] = old - h
                down = loss().item()
                p.data[index] = old
                assert grad[index].item() == pytest.approx((up - down) / (2 * h), rel=1e-5,
                                                           abs=1e-10), name
    finally:
        torch.set_default_dtype(torch.float32)
