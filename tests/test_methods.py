"""The registry of compression methods, and each data-free method: it keeps what it says,
stores exactly the bits it reports, takes the largest setting that fits a budget and decodes to
every tensor."""

from __future__ import annotations

import math

import pytest
import torch

from innr import methods
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import FrontierConfig
from innr.methods import METHODS, Compression, get
from innr.methods.low_rank import low_rank
from innr.methods.quantisation import BIT_WIDTHS
from innr.size import BITS, budget_bits

COMPRESSIONS = [m for m, method in METHODS.items() if isinstance(method, Compression)]


@pytest.fixture(scope="module")
def params() -> dict:
    torch.manual_seed(0)
    return dict(MnistExampleNet(4).state_dict())


def n_of(params) -> int:
    return sum(p.numel() for p in params.values())


def test_pruning_keeps_the_largest_and_counts_positions(params):
    n = n_of(params)
    out = get("pruned").encode(params, 100)
    flat = torch.cat([p.reshape(-1) for p in params.values()])
    kept = torch.cat([p.reshape(-1) for p in out.params.values()])
    assert int((kept != 0).sum()) == 100
    assert flat[kept != 0].abs().min() >= flat[kept == 0].abs().max()
    # few kept: indices (16 bits each here) beat an n-bit mask; many kept: the mask wins
    assert out.bits == 100 * BITS + min(n, 100 * math.ceil(math.log2(n)))
    assert get("pruned").encode(params, n).bits == n * BITS + n
    with pytest.raises(ValueError, match="keep must lie"):
        get("pruned").encode(params, n + 1)


def test_low_rank_is_the_svd_truncation(params):
    full = low_rank(params, 1.0)
    for k, p in params.items():
        torch.testing.assert_close(full.params[k], p, rtol=0, atol=1e-5)
    half = low_rank(params, 0.5)
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
    out = get("quantised").encode(params, bits)
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
    out = get("quantised_mean").encode(params, 2)
    for k, p in params.items():
        torch.testing.assert_close(out.params[k].reshape(p.shape[0], -1).mean(1),
                                   p.reshape(p.shape[0], -1).mean(1), rtol=0, atol=1e-6)
    assert out.bits == get("quantised").encode(params, 2).bits + sum(
        p.shape[0] for p in params.values()) * BITS


@pytest.mark.parametrize("method", COMPRESSIONS)
@pytest.mark.parametrize("share", [0.01, 0.1, 0.25, 0.5, 0.75])
def test_a_method_at_a_budget_fits_it_and_takes_all_it_can(params, method, share):
    m = get(method)
    budget = budget_bits(share, n_of(params))
    out = m.at_budget(params, budget)
    options = list(m.settings(params))
    sizes = [m.bits(params, s) for s in options]
    assert sizes == sorted(sizes)  # the bisection's premise: sizes never shrink along them
    fitting = [s for s, size in zip(options, sizes, strict=True) if size <= budget]
    if not fitting:
        assert out is None
        return
    assert out.bits == m.bits(params, fitting[-1]) <= budget  # the largest that fits
    assert out.bits == m.encode(params, fitting[-1]).bits  # bits() counts what encode() stores
    if method == "pruned":  # one more weight would not fit
        assert get("pruned").encode(params, out.setting["keep"] + 1).bits > budget
    if method == "quantised" and out.setting["bits"] < 8:  # the next width up does not fit
        wider = BIT_WIDTHS[BIT_WIDTHS.index(out.setting["bits"]) + 1]
        assert get("quantised").encode(params, wider).bits > budget


@pytest.mark.parametrize("method", COMPRESSIONS)
def test_decoders_rebuild_every_tensor(params, method):
    c = get(method).at_budget(params, budget_bits(0.5, n_of(params)))
    out = get(method).decoder(c, params)()
    assert {k: v.shape for k, v in out.items()} == {k: v.shape for k, v in params.items()}


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match="unknown method 'zip'"):
        get("zip")


def test_the_registry_owns_names_labels_and_the_default_order():
    # the config's default is the published run's methods, in the registry's (the report's) order
    assert list(METHODS)[:len(FrontierConfig().methods)] == list(FrontierConfig().methods)
    assert len({m.label for m in METHODS.values()}) == len(METHODS)
    assert [m for m in METHODS if METHODS[m].innr] == ["innr_faithful", "innr_best",
                                                       "innr_quantised"]
    assert [m for m in METHODS if METHODS[m].uses_data] == ["narrow_cnn"]
    with pytest.raises(ValueError, match="registered twice"):
        methods.register(METHODS["pruned"])
