"""Coordinates, flattening and rebuilding, checked against an index-by-index computation."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from innr.config import INNRConfig
from innr.coordinates import (
    Standardiser,
    flatten_params,
    tensor_coordinates,
    unflatten_params,
    weight_coordinates,
)
from innr.fit import innr_targets, rebuilt_classifier
from innr.variants import rebuild_one


class ToyNet(nn.Module):
    """Conv with bias, conv without, linear with bias: every coordinate case at once."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 3, 3)
        self.b = nn.Conv2d(3, 4, 2, bias=False)
        self.fc = nn.Linear(4 * 2 * 2, 5)

    def forward(self, x):
        x = torch.tanh(self.a(x))
        x = torch.tanh(nn.functional.max_pool2d(self.b(x), 2))
        return self.fc(x.flatten(1))


def lin(i: int, n: int) -> float:
    """The i-th of n points spaced evenly on [-1, 1] (a single point sits at -1, as linspace)."""
    return -1.0 if n == 1 else -1.0 + 2.0 * i / (n - 1)


def reference_coordinates(params: dict[str, torch.Tensor]) -> list[tuple[float, ...]]:
    """Coordinates written out index by index, independently of innr.coordinates."""
    rows = []
    for k, p in enumerate(params.values()):
        layer = lin(k, len(params))
        for index in itertools.product(*[range(s) for s in p.shape]):
            axes = [lin(i, s) for i, s in zip(index, p.shape, strict=True)]
            rows.append(tuple([layer, *axes, *[0.0] * (4 - len(axes))]))
    return rows


def test_coordinates_match_an_index_by_index_computation():
    params = ToyNet().state_dict()
    ours = weight_coordinates(params)
    ref = torch.tensor(reference_coordinates(params))
    assert ours.shape == (sum(p.numel() for p in params.values()), 5)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)
    # spot checks of the documented layout
    assert ours[:, 0].unique().tolist() == pytest.approx([-1.0, -0.5, 0.0, 0.5, 1.0], abs=1e-6)
    bias_a = ours[27:30]  # a.weight has 3*1*3*3 = 27 entries, then a.bias
    torch.testing.assert_close(bias_a[:, 2:], torch.zeros(3, 3))
    fc_weight = ours[27 + 3 + 48:27 + 3 + 48 + 80]
    torch.testing.assert_close(fc_weight[:, 3:], torch.zeros(80, 2))


def test_every_coordinate_is_distinct_and_in_range():
    coords = weight_coordinates(ToyNet().state_dict())
    assert coords.abs().max() <= 1.0
    assert len(torch.unique(coords, dim=0)) == len(coords)


def test_flatten_unflatten_round_trip_is_exact():
    params = ToyNet().state_dict()
    back = unflatten_params(flatten_params(params), params)
    assert list(back) == list(params)
    for name in params:
        assert torch.equal(back[name], params[name])


def test_standardise_inverse_round_trip_rebuilds_the_network():
    torch.manual_seed(0)
    net = ToyNet()
    params = net.state_dict()
    flat = flatten_params(params)
    std = Standardiser.fit(flat)
    z = std.forward(flat)
    assert abs(float(z.mean())) < 1e-5 and abs(float(z.std()) - 1) < 1e-5
    rebuilt = unflatten_params(std.inverse(z), params)
    x = torch.randn(7, 1, 7, 7)
    torch.testing.assert_close(rebuilt_classifier(net, rebuilt)(x), net(x), rtol=1e-5,
                               atol=1e-6)


class Oracle(nn.Module):
    """An 'INR' that is an analytic function of the coordinate, for checking slots."""

    def forward(self, c):
        return (torch.sin(3 * c[:, 0]) + 2 * c[:, 1] - c[:, 2] + 0.5 * c[:, 3] * c[:, 4]
                ).unsqueeze(-1)


def test_rebuilt_weights_land_in_the_right_slots():
    """The weights (the INNR's coordinates cover them only) from their coordinates; the biases
    as stored."""
    net = ToyNet()
    params = {k: v for k, v in net.state_dict().items() if v.dim() >= 2}
    targets = innr_targets(INNRConfig(), net)
    rebuilt = rebuild_one(Oracle(), targets)
    assert list(rebuilt) == list(net.state_dict())
    for name in ("a.bias", "fc.bias"):
        assert torch.equal(rebuilt[name], net.state_dict()[name])
    # what each slot must hold, computed from its own indices
    layers = list(params)
    for k, (name, p) in enumerate(params.items()):
        for index in itertools.product(*[range(s) for s in p.shape]):
            c = [lin(k, len(layers))] + [lin(i, s) for i, s in zip(index, p.shape, strict=True)]
            c += [0.0] * (5 - len(c))
            z = Oracle()(torch.tensor([c]))[0, 0]
            expected = z * targets.std[0, 0] + targets.mean[0, 0]
            assert float(rebuilt[name][index]) == pytest.approx(float(expected), abs=1e-5)


def test_unflatten_refuses_the_wrong_size_and_keeps_the_tensors_dtype():
    with pytest.raises(ValueError, match="cannot fill"):
        unflatten_params(torch.zeros(3), ToyNet().state_dict())
    params = ToyNet().state_dict()
    back = unflatten_params(flatten_params(params).double(), params)
    assert all(back[k].dtype == torch.float32 for k in back)


def test_a_tensor_without_coordinates_is_refused_with_a_message():
    with pytest.raises(ValueError) as e:
        tensor_coordinates(torch.Size([2, 3, 4]), 0.0)
    assert str(e.value) == ("cannot give coordinates to a tensor of shape (2, 3, 4): expected "
                            "a bias (1-D), a linear weight (2-D) or a conv kernel (4-D)")
