"""The CIFAR ResNet of He et al. 2016 (sec. 4.2), NeRN's family: a 3x3 convolution, three
stages of n basic blocks (two 3x3 convolutions with batch-norm and ReLU, and a parameter-free
shortcut: option A, the input subsampled and zero-padded with channels where a block changes
shape) at widths c, 2c, 4c (16, 32, 64 at c = 16) and strides 1, 2, 2, global average pooling
and a linear head with a bias; depth 6n + 2. Convolutions have no biases (batch-norm follows
each). ResNet-20 (n = 3) on MNIST's 1 x 28 x 28 images at c = 16: 269,434 parameters (267,408
convolution weights, 650 linear weights and biases, 1,376 batch-norm scales and shifts) and
1,376 batch-norm running statistics."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from innr.architectures import ARCHITECTURES, Architecture
from innr.datasets import Dataset

DEPTH = 20  # ResNet-20, NeRN's smallest (Ashkenazi et al. 2023)


class BasicBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(outputs)
        self.stride, self.pad = stride, outputs - inputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x[:, :, ::self.stride, ::self.stride]
        if self.pad:  # option A: the new channels' shortcut is zero, half before, half after
            shortcut = F.pad(shortcut, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(out + shortcut)


class ResNet(nn.Module):
    def __init__(self, c: int = 16, depth: int = DEPTH, shape: tuple[int, int, int] = (1, 28, 28),
                 classes: int = 10):
        super().__init__()
        if problem := depths(depth):
            raise ValueError(f"ResNet: {problem}")
        n = (depth - 2) // 6
        self.conv = nn.Conv2d(shape[0], c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        blocks, width = [], c
        for stage, stride in enumerate((1, 2, 2)):
            for i in range(n):
                blocks.append(BasicBlock(width, c << stage, stride if i == 0 else 1))
                width = c << stage
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(x.mean((2, 3)))


def depths(depth: int) -> str:
    """What is wrong with a ResNet depth ("" when nothing): 6n + 2 for n >= 1, or 0 (20)."""
    return "" if depth == 0 or (depth >= 8 and (depth - 2) % 6 == 0) else \
        f"a ResNet's depth is 6n + 2 (8, 14, 20, 32, ...) or 0 for {DEPTH}, not {depth}"


def build(dataset: Dataset, channels: int, depth: int) -> ResNet:
    return ResNet(channels, depth or DEPTH, dataset.shape, dataset.classes)


ARCHITECTURES.register(Architecture("resnet", build, permutable=False, depths=depths))
