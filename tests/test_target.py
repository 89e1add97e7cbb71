"""Kernel-wise coordinates and the targets of a variant: every weight has one slot, and decoding
the exact targets gives the stored network back."""

from __future__ import annotations

import math
from collections import OrderedDict

import pytest
import torch

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import VariantConfig
from innr.coordinates import kernel_head, kernel_layout, per_weight_layout
from innr.size import BITS, budget_bits, index_bits, predictor_budget, side_bits
from innr.target import Targets, outlier_mask


def cnn_params(c: int = 4, seed: int = 0) -> OrderedDict:
    torch.manual_seed(seed)
    return OrderedDict(MnistExampleNet(c).state_dict())


def test_study_cnn_rows_and_slots():
    params = cnn_params(32)
    layout = kernel_layout(params)
    # conv1 32 kernels, conv2 64 x 32, fc 10 x ceil(1024 / 25) groups of 25 inputs
    assert layout.head == 25 == kernel_head(params)
    assert layout.rows == 32 + 64 * 32 + 10 * 41
    assert layout.coords.shape == (layout.rows, 3)
    assert layout.slot.unique().numel() == 62_240  # one slot per weight, none shared
    # ~25x fewer rows than the per-weight scheme
    assert per_weight_layout(params).rows / layout.rows > 24
    spatial = kernel_layout(params, group=16)  # the 4 x 4 map per channel: 64 groups of 16
    assert spatial.rows == 32 + 64 * 32 + 10 * 64


def test_slots_follow_the_kernels():
    params = cnn_params(4)
    layout = kernel_layout(params)
    w = params["conv2.weight"]  # [8, 4, 5, 5]
    start = 4  # conv1's 4 rows come first
    # kernel (o, i) is row start + o * 4 + i, its 25 values in row-major order
    o, i = 3, 2
    n0 = params["conv1.weight"].numel() + (o * 4 + i) * 25
    assert layout.slot[n0:n0 + 25].tolist() == [(start + o * 4 + i) * 25 + k for k in range(25)]
    # coordinates: layer axis per tensor, out and in axes on [-1, 1] within the tensor
    row = layout.coords[start + o * 4 + i]
    assert row.tolist() == pytest.approx([0.0, -1 + 2 * o / 7, -1 + 2 * i / 3])
    assert w.shape == (8, 4, 5, 5)


def test_linear_rows_are_padded_groups_and_biases_fit():
    params = OrderedDict(w=torch.randn(3, 30), b=torch.randn(7))
    layout = kernel_layout(params, head=4)
    assert layout.rows == 3 * 8 + 2  # 30 inputs in 8 groups of 4; 7 biases in 2 rows
    assert layout.slot.unique().numel() == 3 * 30 + 7
    # input 29 of output 2: group 7, position 1
    assert layout.slot[2 * 30 + 29] == (2 * 8 + 7) * 4 + 1
    with pytest.raises(ValueError, match="does not fit a head"):
        kernel_layout(OrderedDict(k=torch.randn(2, 2, 5, 5)), head=9)
    with pytest.raises(ValueError, match="cannot give kernel coordinates"):
        kernel_layout(OrderedDict(k=torch.randn(2, 2, 5)))


@pytest.mark.parametrize("variant", [
    VariantConfig(), VariantConfig(scheme="weight"), VariantConfig(outliers=0.02),
    VariantConfig(permute=True, outliers=0.01, linear_group=16)])
def test_decoding_the_targets_gives_the_stored_network(variant):
    nets = [cnn_params(4, s) for s in (0, 1)]
    chain = MnistExampleNet(4).permutable_chain()
    t = Targets.of(nets, variant, chain)
    decoded = t.decode(t.values.reshape(2, t.layout.rows, t.layout.head))
    for m in range(2):
        for k, v in decoded.items():
            torch.testing.assert_close(v[m], t.stored[m][k], rtol=0, atol=1e-6)
    # the stored network is the given one, unless permuted
    assert torch.equal(t.stored[1]["fc.weight"], nets[1]["fc.weight"]) == (not variant.permute)


def test_outliers_are_left_out_of_the_loss_and_paid_for():
    nets = [cnn_params(4)]
    t = Targets.of(nets, VariantConfig(outliers=0.01), ())
    n = t.outlier.shape[1]
    count = round(0.01 * n)
    assert int(t.outlier.sum()) == count and int(t.weight.sum()) == n - count
    flat = torch.cat([v.reshape(-1) for v in nets[0].values()])
    assert flat[t.outlier[0]].abs().min() >= flat[~t.outlier[0]].abs().max()
    # standardised over the inliers
    assert float(t.mean[0]) == pytest.approx(float(flat[~t.outlier[0]].mean()), abs=1e-7)
    assert t.side_bits() == 2 * BITS + count * (BITS + math.ceil(math.log2(n)))
    assert outlier_mask(flat, 0.0).sum() == 0


def test_budget_arithmetic():
    assert index_bits(62_240) == 16 and index_bits(2) == 1
    assert budget_bits(0.5, 62_240) == 31_120 * 32
    assert side_bits(100, 3) == 64 + 3 * (32 + 7)
    # the original's SIREN (46,209) fits 74.25% with its standardisation, not 74.2%
    assert predictor_budget(0.7425, 62_240) >= 46_209 > predictor_budget(0.742, 62_240)
    assert predictor_budget(0.5, 62_240, 10) == (31_120 * 32 - 64 - 10 * 48) // 32
    with pytest.raises(ValueError, match="leaves nothing"):
        predictor_budget(0.001, 100)
