"""The predictors: exact sizes, budgets, encodings checked by hand, shapes; our SIREN equals
siren-pytorch's given the same weights."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
import torch
from siren_pytorch import SirenNet

from innr.config import ConfigError, INNRConfig, VariantConfig, variant_of
from innr.fit import new_siren
from innr.predictors import PREDICTORS, build_predictor, predictor_size, width_for_budget
from innr.predictors.encoding import Encoding, frequencies
from innr.predictors.siren import Siren
from innr.size import count_params as module_params


def _shapes(kind: str):
    levels = (1, 2, 3) if PREDICTORS[kind].min_levels else (0,)
    for dim_in, width, depth, dim_out, lv in itertools.product(
            (3, 5), range(1, 10), range(1, 5), (1, 25), levels):
        yield {"dim_in": dim_in, "width": width, "depth": depth, "dim_out": dim_out, "levels": lv}


@pytest.mark.parametrize("kind", PREDICTORS)
def test_count_params_equals_the_built_predictors_count(kind):
    for shape in _shapes(kind):
        model = build_predictor(kind, **shape)
        assert predictor_size(kind, **shape) == sum(p.numel() for p in model.parameters()), shape


def test_count_params_by_hand():
    # width 4, depth 2, 5 coordinates, 1 output: (5*4 + 4) + (4*4 + 4) + (4 + 1)
    assert predictor_size("siren", dim_in=5, width=4, depth=2, dim_out=1) == 49
    assert predictor_size("mlp", dim_in=5, width=4, depth=2, dim_out=1) == 49
    # two levels lift 5 coordinates to 5 * (1 + 4) = 25 inputs
    assert predictor_size("pe_mlp", dim_in=5, width=4, depth=2, dim_out=1, levels=2) == 129


@pytest.mark.parametrize("kind, levels", [("siren", 0), ("mlp", 0), ("pe_mlp", 1), ("pe_mlp", 3)])
@pytest.mark.parametrize("depth", [1, 3])
def test_width_for_budget_is_the_largest_that_fits(kind, levels, depth):
    shape = {"dim_in": 5, "depth": depth, "dim_out": 1, "levels": levels}
    exact = [predictor_size(kind, width=w, **shape) for w in (1, 7, 64)]
    for budget in [*exact, exact[1] + 1, exact[2] - 1, 1000, 46209]:
        width = width_for_budget(budget, kind, **shape)
        assert predictor_size(kind, width=width, **shape) <= budget < predictor_size(
            kind, width=width + 1, **shape), budget
    assert width_for_budget(exact[1], kind, **shape) == 7  # a budget hit exactly is used whole
    assert width_for_budget(exact[1] - 1, kind, **shape) == 6


@pytest.mark.parametrize("kind", PREDICTORS)
def test_width_for_budget_below_the_smallest_predictor_says_so(kind):
    levels = 1 if kind == "pe_mlp" else 0
    smallest = predictor_size(kind, dim_in=5, width=1, depth=2, dim_out=1, levels=levels)
    with pytest.raises(ValueError, match=f"below the {smallest} "):
        width_for_budget(smallest - 1, kind, dim_in=5, depth=2, dim_out=1, levels=levels)


def test_frequency_schedules_by_hand():
    pi = math.pi
    assert torch.allclose(frequencies("nern", 3), torch.tensor([pi, 0.76 * pi, 0.5776 * pi]))
    assert torch.allclose(frequencies("nerf", 3), torch.tensor([pi, 2 * pi, 4 * pi]))
    assert frequencies("nerf", 3).dtype == torch.float32
    assert frequencies("nern", 0).numel() == 0
    with pytest.raises(ValueError, match="known: \\['nern', 'nerf'\\]"):
        frequencies("fourier", 3)


def test_encoding_columns_by_hand():
    x = torch.tensor([[0.5, -0.25, 1.0], [0.1, 0.2, -0.3]])
    enc = Encoding(3, "nerf", 2)
    out = enc(x)
    assert enc.dim_out == 3 + 2 * 3 * 2 == out.shape[1] and out.shape[0] == 2
    assert torch.equal(out[:, :3], x)
    # first frequency pi: sin block at columns 3..5, cos block at 6..8; then 2 pi at 9..14
    assert out[0, 3].item() == pytest.approx(1.0, abs=1e-6)  # sin(pi / 2)
    assert out[0, 4].item() == pytest.approx(-math.sin(math.pi / 4), abs=1e-6)
    assert out[0, 6].item() == pytest.approx(0.0, abs=1e-6)  # cos(pi / 2)
    assert out[1, 5].item() == pytest.approx(math.sin(-0.3 * math.pi), abs=1e-6)
    assert out[0, 9].item() == pytest.approx(0.0, abs=1e-6)  # sin(2 pi * 0.5)
    assert out[0, 12].item() == pytest.approx(-1.0, abs=1e-6)  # cos(2 pi * 0.5)
    assert out[1, 14].item() == pytest.approx(math.cos(2 * math.pi * -0.3), abs=1e-6)


def test_encoding_frequencies_are_a_buffer_not_a_parameter():
    enc = Encoding(5, "nern", 4)
    assert list(enc.parameters()) == []
    assert dict(enc.named_buffers()).keys() == {"freqs"}
    model = build_predictor("pe_mlp", dim_in=5, width=3, depth=1, dim_out=1, levels=4)
    assert "encoding.freqs" in model.state_dict()
    assert all("freqs" not in name for name, _ in model.named_parameters())


def test_siren_kind_is_the_models_siren():
    siren = build_predictor("siren", dim_in=5, width=8, depth=3, dim_out=2, w0_initial=30.0,
                            w0=1.5)
    assert isinstance(siren, Siren)
    assert len(siren.net) == 3
    assert siren.net[0].linear.in_features == 5 and siren.net[0].linear.out_features == 8
    assert siren.net[0].w0 == 30.0 and siren.net[1].w0 == 1.5
    assert siren.last.in_features == 8 and siren.last.out_features == 2


@pytest.mark.parametrize("kind", PREDICTORS)
def test_forward_maps_coordinates_to_outputs(kind):
    torch.manual_seed(0)
    model = build_predictor(kind, dim_in=5, width=6, depth=2, dim_out=25, levels=2)
    out = model(torch.rand(7, 5) * 2 - 1)
    assert out.shape == (7, 25) and torch.isfinite(out).all()


def test_unknown_kind_and_bad_sizes_are_named():
    with pytest.raises(ValueError, match="unknown predictor 'kan'.*'mlp', 'pe_mlp', 'siren'"):
        build_predictor("kan", dim_in=5, width=4, depth=2, dim_out=1)
    with pytest.raises(ValueError, match="unknown predictor 'kan'"):
        predictor_size("kan", dim_in=5, width=4, depth=2, dim_out=1)
    with pytest.raises(ValueError, match="levels must be >= 1 for 'pe_mlp', got 0"):
        build_predictor("pe_mlp", dim_in=5, width=4, depth=2, dim_out=1)
    with pytest.raises(ValueError, match="depth must be >= 1 for 'siren', got 0"):
        build_predictor("siren", dim_in=5, width=4, depth=0, dim_out=1)
    with pytest.raises(ValueError, match="width must be >= 1 for 'mlp', got 0"):
        predictor_size("mlp", dim_in=5, width=0, depth=2, dim_out=1)


def test_original_siren_size():
    siren = new_siren(INNRConfig())  # the config's defaults are the original's
    assert module_params(siren) == (5 * 64 + 64) + 11 * (64 * 64 + 64) + (64 + 1) == 46209
    assert siren.net[0].w0 == 100 * math.pi and siren.net[1].w0 == 1.0


@pytest.mark.parametrize("w0_initial", [30.0, 100 * math.pi])
def test_siren_equals_siren_pytorch(w0_initial):
    torch.manual_seed(0)
    ours = new_siren(INNRConfig(w0_initial=w0_initial))
    theirs = SirenNet(5, 64, 1, 12, w0=1.0, w0_initial=w0_initial)
    ours_params = [p for layer in ours.net for p in (layer.linear.weight, layer.linear.bias)]
    ours_params += [ours.last.weight, ours.last.bias]
    theirs_params = [p for layer in [*theirs.layers, theirs.last_layer]
                     for p in (layer.weight, layer.bias)]
    assert [p.shape for p in ours_params] == [p.shape for p in theirs_params]
    with torch.no_grad():
        for a, b in zip(theirs_params, ours_params, strict=True):
            a.copy_(b)
    x = torch.rand(1000, 5) * 2 - 1
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_siren_init_bounds_follow_the_paper():
    torch.manual_seed(0)
    siren = new_siren(INNRConfig())
    first, hidden = siren.net[0].linear.weight, siren.net[1].linear.weight
    assert first.abs().max() <= 1 / 5 and first.abs().max() > 0.9 / 5
    bound = math.sqrt(6 / 64)
    assert hidden.abs().max() <= bound and hidden.abs().max() > 0.9 * bound


def test_config_validation_reads_the_registry(monkeypatch):
    with pytest.raises(ConfigError, match="pe_mlp predictor needs levels >= 1"):
        variant_of(VariantConfig(), {"predictor": "pe_mlp"})
    with pytest.raises(ConfigError, match=r"predictor must be one of \['mlp', 'pe_mlp', 'siren'\]"):
        variant_of(VariantConfig(), {"predictor": "kan"})
    with pytest.raises(ConfigError, match=r"encoding must be one of \['nerf', 'nern'\]"):
        variant_of(VariantConfig(), {"encoding": "fourier"})
    monkeypatch.setitem(PREDICTORS, "kan", dataclasses.replace(PREDICTORS["mlp"], name="kan"))
    assert variant_of(VariantConfig(), {"predictor": "kan"}).predictor == "kan"
