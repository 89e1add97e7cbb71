"""The CNN architectures: the original's size, the same network as before the registry (names,
order, initial draws), shapes derived from the dataset, and the registry's checks."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from innr.architectures import ARCHITECTURES, build_cnn, cnn_of
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import ConfigError, load_config
from innr.datasets import DATASETS
from innr.paths import QUICK_CONFIG
from innr.permutations import Link, chain_of, smooth
from innr.size import count_params


class OriginalNet(nn.Module):
    """MnistExampleNet as the original study (and this repository before the registry) wrote it:
    one input channel, a fixed 4 x 4 map before the linear layer."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c, 5, bias=False)
        self.conv2 = nn.Conv2d(c, 2 * c, 5, bias=False)
        self.fc = nn.Linear(2 * c * 4 * 4, 10, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(F.max_pool2d(self.conv1(x), 2))
        x = torch.sigmoid(F.max_pool2d(self.conv2(x), 2))
        return self.fc(x.flatten(1))


def test_cnn_has_the_originals_62240_weights_and_no_biases():
    net = MnistExampleNet(32)
    assert count_params(net) == 800 + 51200 + 10240
    assert all("bias" not in name for name, _ in net.named_parameters())
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_built_from_the_dataset_it_is_the_original_network(dataset):
    torch.manual_seed(7)
    ours = build_cnn("mnist_example_net", DATASETS[dataset], 8)
    torch.manual_seed(7)
    original = OriginalNet(8)
    ours_state, original_state = ours.state_dict(), original.state_dict()
    assert list(ours_state) == list(original_state)  # names and order
    assert all(torch.equal(ours_state[k], original_state[k]) for k in ours_state)  # the draws
    assert chain_of(ours) == (Link("conv1", "conv2"), Link("conv2", "fc", group=16))


def test_the_shape_comes_from_the_dataset():
    rgb = dataclasses.replace(DATASETS["mnist"], name="rgb", shape=(3, 32, 32), classes=7)
    net = build_cnn("mnist_example_net", rgb, 4)
    assert net.conv1.in_channels == 3 and net.fc.out_features == 7
    assert net.fc.in_features == 8 * 5 * 5  # 32 -> 28 -> 14 -> 10 -> 5
    x = torch.randn(2, 3, 32, 32)
    assert net(x).shape == (2, 7)
    # the permutable chain's groups follow the 5 x 5 map: a reordering keeps the function
    reordered, orders = smooth(net.state_dict(), chain_of(net))
    assert any(not torch.equal(o, torch.arange(len(o))) for o in orders)
    torch.testing.assert_close(torch.func.functional_call(net, reordered, (x,)), net(x))


def test_too_small_an_image_is_named():
    tiny = dataclasses.replace(DATASETS["mnist"], name="tiny", shape=(1, 8, 8))
    with pytest.raises(ValueError, match="at least 16 x 16, got 8 x 8"):
        build_cnn("mnist_example_net", tiny, 4)


def test_the_config_builds_its_cnn_for_its_dataset():
    config = load_config(QUICK_CONFIG)
    assert count_params(cnn_of(config)) == 5960 and count_params(cnn_of(config, 4)) == 2180


def test_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_cnn("resnet", DATASETS["mnist"], 8)
    with pytest.raises(ConfigError, match="unknown cnn.architecture 'resnet'"):
        load_config(QUICK_CONFIG, ["cnn.architecture='resnet'"])


def test_permute_needs_a_permutable_architecture(monkeypatch):
    entry = ARCHITECTURES["mnist_example_net"]
    monkeypatch.setitem(ARCHITECTURES, "plain", dataclasses.replace(entry, name="plain",
                                                                   permutable=False))
    # without the ablation's ideas the distillation search has one candidate, so the rivals' too
    load_config(QUICK_CONFIG, ["cnn.architecture='plain'", "ablation.ideas={}",
                               "frontier.distill_choices=[]"])
    with pytest.raises(ConfigError, match="permute needs a permutable chain.*plain"):
        load_config(QUICK_CONFIG, ["cnn.architecture='plain'"])
