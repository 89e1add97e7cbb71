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
    with pytest.raises(ValueError, match="unknown architecture 'vgg'"):
        build_cnn("vgg", DATASETS["mnist"], 8)
    with pytest.raises(ConfigError, match="unknown cnn.architecture 'vgg'"):
        load_config(QUICK_CONFIG, ["cnn.architecture='vgg'"])


def test_permute_needs_a_permutable_architecture(monkeypatch):
    entry = ARCHITECTURES["mnist_example_net"]
    monkeypatch.setitem(ARCHITECTURES, "plain", dataclasses.replace(entry, name="plain",
                                                                   permutable=False))
    # without the ablation's ideas the distillation search has one candidate, so the rivals' too
    load_config(QUICK_CONFIG, ["cnn.architecture='plain'", "ablation.ideas={}",
                               "frontier.distill_choices=[]"])
    with pytest.raises(ConfigError, match="permute needs a permutable chain.*plain"):
        load_config(QUICK_CONFIG, ["cnn.architecture='plain'"])


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_bn_cnn_has_biases_batch_norm_and_its_docstrings_size(dataset):
    net = build_cnn("bn_cnn", DATASETS[dataset], 32)
    assert count_params(net) == 242_250  # the module's docstring
    state = net.state_dict()
    assert sum(v.numel() for v in state.values() if v.dim() >= 2) == 239_904 + 1_280  # + fc
    assert all(f"convs.{i}.bias" in state and f"norms.{i}.running_var" in state for i in range(4))
    assert net(torch.zeros(3, *DATASETS[dataset].shape)).shape == (3, 10)
    assert not ARCHITECTURES["bn_cnn"].permutable


def test_resnet_is_the_cifar_resnet_of_depth_6n_plus_2():
    mnist = DATASETS["mnist"]
    net = build_cnn("resnet", mnist, 16)  # depth 0: ResNet-20
    assert count_params(net) == 269_434  # the module's docstring
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 19 and all(c.bias is None for c in convs)  # + the linear head: 20
    assert [c.out_channels for c in convs[::6]] == [16, 16, 32, 64]  # each stage's first
    assert net.fc.bias is not None and net(torch.zeros(3, *mnist.shape)).shape == (3, 10)
    for depth, blocks in [(8, 3), (14, 6), (32, 15)]:
        assert len(build_cnn("resnet", mnist, 16, depth).blocks) == blocks
    # option A: the shortcut has no parameters (16 -> 32 channels: zeros either side)
    block = net.blocks[3]
    assert block.stride == 2 and not any("shortcut" in k for k in block.state_dict())
    assert count_params(build_cnn("resnet", mnist, 32, 8)) > 3.9 * count_params(
        build_cnn("resnet", mnist, 16, 8))  # the width is c, 2c, 4c
    with pytest.raises(ValueError, match=r"resnet: a ResNet's depth is 6n \+ 2 .* not 12"):
        build_cnn("resnet", mnist, 16, 12)
    with pytest.raises(ConfigError, match=r"cnn.depth: a ResNet's depth is 6n \+ 2"):
        load_config(QUICK_CONFIG, ["cnn.architecture='resnet'", "cnn.depth=10"])
    with pytest.raises(ConfigError, match="cnn.depth: this architecture has one depth"):
        load_config(QUICK_CONFIG, ["cnn.depth=3"])


def test_resnets_shortcut_pads_the_new_channels_with_zeros():
    torch.manual_seed(0)
    block = build_cnn("resnet", DATASETS["mnist"], 4, 8).blocks[1].eval()  # 4 -> 8, stride 2
    for conv in (block.conv1, block.conv2):
        nn.init.zeros_(conv.weight)
    x = torch.rand(2, 4, 6, 6)
    expected = torch.zeros(2, 8, 3, 3)
    expected[:, 2:6] = x[:, :, ::2, ::2]
    torch.testing.assert_close(block(x), F.relu(expected + block.bn2.bias[:, None, None]))
