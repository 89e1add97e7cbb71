"""The CNN matches the original's size; our SIREN equals siren-pytorch's given the same weights."""

from __future__ import annotations

import math

import pytest
import torch
from siren_pytorch import SirenNet

from innr.config import INNRConfig
from innr.fit import build_siren
from innr.models import MnistExampleNet, build_cnn, count_params


def test_cnn_has_the_originals_62240_weights_and_no_biases():
    net = MnistExampleNet(32)
    assert count_params(net) == 800 + 51200 + 10240
    assert all("bias" not in name for name, _ in net.named_parameters())
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_original_siren_size():
    siren = build_siren(INNRConfig())  # the config's defaults are the original's
    assert count_params(siren) == (5 * 64 + 64) + 11 * (64 * 64 + 64) + (64 + 1) == 46209
    assert siren.net[0].w0 == 100 * math.pi and siren.net[1].w0 == 1.0


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_cnn("resnet", 8)


@pytest.mark.parametrize("w0_initial", [30.0, 100 * math.pi])
def test_siren_equals_siren_pytorch(w0_initial):
    torch.manual_seed(0)
    ours = build_siren(INNRConfig(w0_initial=w0_initial))
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
    siren = build_siren(INNRConfig())
    first, hidden = siren.net[0].linear.weight, siren.net[1].linear.weight
    assert first.abs().max() <= 1 / 5 and first.abs().max() > 0.9 / 5
    bound = math.sqrt(6 / 64)
    assert hidden.abs().max() <= bound and hidden.abs().max() > 0.9 * bound
