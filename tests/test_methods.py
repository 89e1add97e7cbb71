"""The registry of compression methods, and each data-free method: it keeps what it says,
counts exactly the raw bits it reports, takes the largest setting whose file (innr.coding) or
raw bits fit a budget, and its file alone rebuilds exactly the weights it gives the CNN."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from innr import methods
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.coding import coded_bytes, pack, unpack
from innr.config import FrontierConfig, VariantConfig
from innr.methods import METHODS, Compressed, Compression, get
from innr.methods.low_rank import low_rank, low_rank_bits
from innr.methods.quantisation import BIT_WIDTHS
from innr.quantise import CLIPS, symmetric
from innr.size import BITS, budget_bits
from innr.variants import synthetic_inputs

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


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("bits", BIT_WIDTHS)
def test_quantisation_levels_error_and_size(params, bits, clip):
    out = replace(get("quantised"), clip=clip).encode(params, bits)
    for k, p in params.items():
        w, q = p.reshape(p.shape[0], -1), out.params[k].reshape(p.shape[0], -1)
        scale = out.stored[f"{k}/scales"][:, None]
        if bits == 1:  # binary: the sign times the channel's mean |w| (XNOR-Net)
            torch.testing.assert_close(scale, w.abs().mean(1, keepdim=True))
            assert torch.equal(q, torch.where(w >= 0, scale, -scale))
            continue
        top = 2 ** (bits - 1) - 1
        peak = w.abs().amax(1, keepdim=True) / top
        levels = (q / scale).round()
        assert levels.abs().max() <= top
        torch.testing.assert_close(q, levels * scale)  # on the grid
        if clip == "max":
            torch.testing.assert_close(scale, peak)
            assert ((q - w).abs() <= scale / 2 + 1e-7).all()  # rounding, never clipping
        else:  # a clipped scale, never a wider one, and never a worse error
            assert (scale <= peak * (1 + 1e-6)).all()
            max_abs = get("quantised").encode(params, bits).params[k].reshape(w.shape)
            assert (((q - w) ** 2).sum(1) <= ((max_abs - w) ** 2).sum(1) + 1e-9).all()
    channels = sum(p.shape[0] for p in params.values())
    assert out.bits == n_of(params) * bits + channels * BITS  # a ternary code: 2 raw bits
    assert {t.dtype for k, t in out.stored.items() if k.endswith("/codes")} == {
        torch.bool if bits == 1 else torch.int8}
    assert len(out.stored) == 2 * len(params)


def test_a_ternary_code_costs_less_than_two_bits_where_the_coder_earns_it(params):
    out = replace(get("quantised"), clip="mse").encode(params, 2)
    codes = {k: v for k, v in out.stored.items() if k.endswith("/codes")}
    assert codes_of(codes) < n_of(params) * 2 / 8  # below the 2 raw bits ...
    skewed = {k: (v * (torch.rand(v.shape) < 0.3)).to(torch.int8) for k, v in codes.items()}
    assert codes_of(skewed) < n_of(params) * math.log2(3) / 8  # ... and below log2(3) if skewed


def codes_of(stored) -> int:
    return coded_bytes(stored) - coded_bytes({k: v[:0] for k, v in stored.items()})


def test_mean_correction_restores_each_channels_mean(params):
    out = get("quantised_mean").encode(params, 2)
    for k, p in params.items():
        torch.testing.assert_close(out.params[k].reshape(p.shape[0], -1).mean(1),
                                   p.reshape(p.shape[0], -1).mean(1), rtol=0, atol=1e-6)
    assert out.bits == get("quantised").encode(params, 2).bits + sum(
        p.shape[0] for p in params.values()) * BITS


@pytest.mark.parametrize("bits", BIT_WIDTHS)
def test_pruned_codes_keep_the_largest_and_pay_for_positions_and_scales(params, bits):
    name = "pruned_quantised" if bits == 8 else f"pruned_quantised_b{bits}"
    keep, n = 300, n_of(params)
    out = get(name).encode(params, keep)
    assert out.setting == {"keep": keep, "bits": bits, "clip": "max"}
    kept = torch.cat([p.reshape(-1) for p in get("pruned").encode(params, keep).params.values()])
    mine = torch.cat([p.reshape(-1) for p in out.params.values()])
    assert torch.all(mine[kept == 0] == 0)  # pruned weights stay zero
    if bits == 1:  # the kept weights' signs times their channel's mean |kept|
        assert torch.equal(mine[kept != 0].sign(), kept[kept != 0].sign())
    channels = sum(p.shape[0] for p in params.values())
    positions = min(n, keep * math.ceil(math.log2(n)))
    assert out.bits == keep * bits + positions + channels * BITS  # codes, positions, scales
    assert out.stored["codes"].numel() == keep
    assert sum(t.numel() for k, t in out.stored.items() if k.endswith("/scales")) == channels


def test_pruned_int8_is_pruning_then_per_channel_int8(params):
    out = get("pruned_quantised").encode(params, 500)
    for k, v in get("pruned").encode(params, 500).params.items():
        assert torch.equal(out.params[k], symmetric(v, 8))


def test_low_rank_searches_every_rank_up_to_the_full_one(params):
    m = get("low_rank")
    full = max(min(p.shape[0], p[0].numel()) for p in params.values() if p.dim() >= 2)
    assert list(m.settings(params)) == list(range(1, full + 1))
    whole = m.at_budget(params, n_of(params) * BITS, sizes="raw")
    assert whole.setting["share"] == 1.0 and whole.bits == n_of(params) * BITS
    for share in (0.3, 0.6, 0.9):  # the largest rank that fits, as a scan over all ranks finds
        budget = budget_bits(share, n_of(params))
        fitting = [r for r in range(1, full + 1) if low_rank_bits(params, r / full) <= budget]
        out = m.at_budget(params, budget, sizes="raw")
        assert out.setting["share"] == fitting[-1] / full
        for k, p in params.items():
            rows, cols = p.shape[0], p[0].numel()
            assert out.setting["ranks"][k] in (math.ceil(out.setting["share"] * min(rows, cols)),
                                               min(rows, cols))


@pytest.mark.parametrize("code_bits", [8, 4])
def test_low_rank_factors_as_codes_pay_for_a_scale_a_row(params, code_bits):
    out = low_rank(params, 0.5, code_bits)
    expected = 0
    for k, p in params.items():
        rows, cols, r = p.shape[0], p[0].numel(), out.setting["ranks"][k]
        factored = r * (rows + cols) * code_bits + (rows + r) * BITS
        whole = rows * cols * code_bits + rows * BITS
        expected += factored if factored < whole else whole
        if factored < whole:
            assert out.stored[f"{k}/left/codes"].shape == (rows, r)
            assert out.stored[f"{k}/right/scales"].shape == (r,)
    assert out.bits == expected
    float_error = sum((low_rank(params, 0.5).params[k] - p).norm() for k, p in params.items())
    error = sum((out.params[k] - p).norm() for k, p in params.items())
    assert error <= float_error * (1.01 if code_bits == 8 else 1.5)


@pytest.mark.parametrize("method", COMPRESSIONS)
@pytest.mark.parametrize("share", [0.01, 0.1, 0.25, 0.5, 0.75])
def test_a_method_at_a_budget_fits_it_and_takes_all_it_can(params, method, share):
    m = get(method)
    budget = budget_bits(share, n_of(params))
    options = list(m.settings(params))
    sizes = [m.bits(params, s) for s in options]
    assert sizes == sorted(sizes)  # the bisection's premise: raw sizes never shrink along them
    out = m.at_budget(params, budget, sizes="raw")  # raw bits: the published claims' sizes
    fitting = [s for s, size in zip(options, sizes, strict=True) if size <= budget]
    assert out is None if not fitting else out.bits == m.bits(params, fitting[-1]) <= budget
    if fitting:
        assert out.bits == m.encode(params, fitting[-1]).bits  # bits() counts what encode() does
    out = m.at_budget(params, budget)  # coded bytes: the amended frontier's sizes
    if out is None:
        assert 8 * coded_bytes(m.encode(params, options[0]).stored) > budget
        return
    assert 8 * coded_bytes(out.stored) <= budget
    i = list(options).index(m.setting_of(out))
    if i + 1 < len(options):  # the next setting's file does not fit
        assert 8 * coded_bytes(m.encode(params, options[i + 1]).stored) > budget
    assert coded_bytes(out.stored) <= out.bits / 8 + 16 * (1 + len(out.stored))  # never much more


@pytest.mark.parametrize("method", COMPRESSIONS)
def test_what_a_method_stores_rebuilds_exactly_the_weights_it_gives(params, method):
    m = get(method)
    for clip in m.choices().get("clip", [None]):
        mine = replace(m, clip=clip) if clip else m
        for share in (0.05, 0.3, 1.0):
            c = mine.at_budget(params, budget_bits(share, n_of(params)))
            if c is None:
                continue
            back = mine.decoder(replace(c, stored=unpack(pack(c.stored))), params)()
            assert list(back) == list(params)
            for k in params:  # decoded from the file alone, bit for bit
                assert back[k].dtype == params[k].dtype and torch.equal(back[k], c.params[k]), k
            assert all(t.dtype in (torch.float32, torch.bool, torch.int8, torch.uint8,
                                   torch.int16, torch.int32) for t in c.stored.values())


class Job:
    """What a distilled method asks of the frontier: distillation settings and inputs."""

    def distillation(self):
        return (VariantConfig(distill_steps=5, distill_batch=4, distill_lr=1e-2),
                synthetic_inputs("gaussian", (1, 28, 28)))


@pytest.mark.parametrize("method, setting", [("quantised_distilled", 2),
                                             ("pruned_distilled", 300)])
def test_a_distilled_method_stores_what_the_cnn_runs_with(method, setting):
    cnn = MnistExampleNet(4).eval()
    like = {k: v.detach() for k, v in cnn.state_dict().items()}
    m = get(method)
    c = m.encode(like, setting)
    tuned = m.tune(Job(), cnn, c, seed=1)
    assert tuned.setting == c.setting and tuned.bits == c.bits
    assert any(not torch.equal(tuned.params[k], c.params[k]) for k in like)  # tuned
    back = m.decode(unpack(pack(tuned.stored)), like)
    assert all(torch.equal(back[k], tuned.params[k]) for k in like)
    assert get(method.replace("_distilled", "")).tune(Job(), cnn, c, seed=1) is c


def test_a_method_at_no_setting_of_its_own_is_refused(params):
    with pytest.raises(ValueError, match="sizes must be"):
        get("pruned").at_budget(params, 1000, sizes="zipped")
    with pytest.raises(ValueError, match="clip must be"):
        replace(get("quantised"), clip="l1").encode(params, 4)
    assert get("low_rank").choices() == {} and get("low_rank_b4").choices() == {"clip": CLIPS}
    assert Compressed("m", {}, 0).stored == {}


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match="unknown method 'zip'"):
        get("zip")


def test_the_registry_owns_names_labels_and_the_default_order():
    # the config's default is the published run's methods, in the registry's (the report's)
    # order; a family's new methods (a bit width, quantised factors) come beside its own
    assert [m for m in METHODS if m in FrontierConfig().methods] == list(FrontierConfig().methods)
    assert len({m.label for m in METHODS.values()}) == len(METHODS)
    assert [m for m in METHODS if METHODS[m].innr] == [
        "innr_faithful", "innr_best", "innr_quantised",
        *(f"innr_best_b{k}" for k in (2, 4, 6, 8)),
        *(f"innr_residual_b{k}" for k in (1, 2, 3, 4))]
    assert [m for m in METHODS if METHODS[m].uses_data] == ["narrow_cnn"]
    with pytest.raises(ValueError, match="registered twice"):
        methods.register(METHODS["pruned"])
