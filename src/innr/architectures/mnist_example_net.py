"""MnistExampleNet, the original study's LeNet-like CNN: conv C->c 5x5, maxpool 2, conv c->2c
5x5, maxpool 2, linear 2c*h*w -> classes, sigmoid activations, no biases (h = w = 4 on MNIST's
1 x 28 x 28 images: 62,240 weights at c = 32)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from innr.architectures import ARCHITECTURES, Architecture
from innr.datasets import Dataset
from innr.permutations import Link


def _feature_side(side: int) -> int:
    """An image side after conv 5x5, pool 2, conv 5x5, pool 2 (floor division, as max_pool2d)."""
    return ((side - 4) // 2 - 4) // 2


class MnistExampleNet(nn.Module):
    def __init__(self, c: int = 32, shape: tuple[int, int, int] = (1, 28, 28),
                 classes: int = 10):
        super().__init__()
        channels, height, width = shape
        h, w = _feature_side(height), _feature_side(width)
        if min(h, w) < 1:
            raise ValueError(f"MnistExampleNet needs images of at least 16 x 16, got "
                             f"{height} x {width}")
        self.group = h * w  # fc inputs per conv2 channel
        self.conv1 = nn.Conv2d(channels, c, 5, bias=False)
        self.conv2 = nn.Conv2d(c, 2 * c, 5, bias=False)
        self.fc = nn.Linear(2 * c * self.group, classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # max-pool and sigmoid commute (sigmoid is increasing); pooling first is cheaper
        x = torch.sigmoid(F.max_pool2d(self.conv1(x), 2))
        x = torch.sigmoid(F.max_pool2d(self.conv2(x), 2))
        return self.fc(x.flatten(1))

    def permutable_chain(self) -> tuple[Link, ...]:
        """Units that may be reordered together (innr.permutations): conv1's filters with conv2's
        input channels, conv2's filters with fc's inputs, h x w of them per channel."""
        return (Link("conv1", "conv2"), Link("conv2", "fc", group=self.group))


def build(dataset: Dataset, channels: int) -> MnistExampleNet:
    return MnistExampleNet(channels, dataset.shape, dataset.classes)


ARCHITECTURES.register(Architecture("mnist_example_net", build, permutable=True))
