"""Data-free baselines: each keeps what it says, and stores exactly the bits it reports."""

from __future__ import annotations

import math

import pytest
import torch

from innr import baselines
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.size import BITS, budget_bits


@pytest.fixture(scope="module")
def params() -> dict:
    torch.manual_seed(0)
    return dict(MnistExampleNet(4).state_dict())


def n_of(params) -> int:
    return sum(p.numel() for p in params.values())


def test_pruning_keeps_the_largest_and_counts_positions(params):
    n = n_of(params)
    out = baselines.pruned(params, 100)
    flat = torch.cat([p.reshape(-1) for p in params.values()])
    kept = torch.cat([p.reshape(-1) for p in out.params.values()])
    assert int((kept != 0).sum()) == 100
    assert flat[kept != 0].abs().min() >= flat[kept == 0].abs().max()
    # few kept: indices (16 bits each here) beat an n-bit mask; many kept: the mask wins
    assert out.bits == 100 * BITS + min(n, 100 * math.ceil(math.log2(n)))
    assert baselines.pruned(params, n).bits == n * BITS + n
    with pytest.raises(ValueError, match="keep must lie"):
        baselines.pruned(params, n + 1)


def test_low_rank_is_the_svd_truncation(params):
    full = baselines.low_rank(params, 1.0)
    for k, p in params.items():
        torch.testing.assert_close(full.params[k], p, rtol=0, atol=1e-5)
    half = baselines.low_rank(params, 0.5)
    w = params["conv2.weight"].reshape(8, -1).double()
    s = torch.linalg.svdvals(w)
    rank = half.setting["ranks"]["conv2.weight"]
    assert rank == 4
    error = (half.params["conv2.weight"].reshape(8, -1).double() - w).norm() ** 2
    assert float(error) == pytest.approx(float((s[rank:] ** 2).sum()), rel=1e-4)  # Eckart-Young
    # bits: the factors where they are smaller than the matrix, the matrix otherwise
    expected = 0
    for k, p in params.items():
        m = p.reshape(p.shape[0], -1)
        r = half.setting["ranks"][k]
        factored = r * (m.shape[0] + m.shape[1])
        expected += (factored if factored < m.numel() else m.numel()) * BITS
    assert half.bits == expected


@pytest.mark.parametrize("bits", [8, 4, 3, 2])
def test_quantisation_levels_error_and_size(params, bits):
    out = baselines.quantised(params, bits)
    top = 2 ** (bits - 1) - 1
    for k, p in params.items():
        w, q = p.reshape(p.shape[0], -1), out.params[k].reshape(p.shape[0], -1)
        scale = w.abs().amax(1, keepdim=True) / top
        levels = (q / scale).round()
        assert levels.abs().max() <= top
        torch.testing.assert_close(q, levels * scale)  # on the grid
        assert ((q - w).abs() <= scale / 2 + 1e-7).all()  # rounding, never clipping
    channels = sum(p.shape[0] for p in params.values())
    assert out.bits == n_of(params) * bits + channels * BITS


def test_mean_correction_restores_each_channels_mean(params):
    out = baselines.quantised(params, 2, mean_correction=True)
    for k, p in params.items():
        torch.testing.assert_close(out.params[k].reshape(p.shape[0], -1).mean(1),
                                   p.reshape(p.shape[0], -1).mean(1), rtol=0, atol=1e-6)
    assert out.bits == baselines.quantised(params, 2).bits + sum(
        p.shape[0] for p in params.values()) * BITS


@pytest.mark.parametrize("method", ["pruned", "pruned_quantised", "low_rank", "quantised",
                                    "quantised_mean"])
@pytest.mark.parametrize("share", [0.1, 0.25, 0.5, 0.75])
def test_a_method_at_a_budget_fits_it_and_takes_all_it_can(params, method, share):
    budget = budget_bits(share, n_of(params))
    out = baselines.at_budget(method, params, budget)
    if out is None:
        return
    assert out.bits <= budget
    if method == "pruned":  # one more weight would not fit
        assert baselines.pruned(params, out.setting["keep"] + 1).bits > budget
    if method == "quantised" and out.setting["bits"] < 8:  # the next width up does not fit
        wider = baselines.QUANTISED_BITS[baselines.QUANTISED_BITS.index(out.setting["bits"]) - 1]
        assert baselines.quantised(params, wider).bits > budget


def test_unknown_method_is_named(params):
    with pytest.raises(ValueError, match="unknown method 'zip'"):
        baselines.at_budget("zip", params, 10**6)
