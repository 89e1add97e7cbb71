"""BnCNN, a modern small CNN: blocks of a 3x3 convolution (with a bias), batch-norm and ReLU,
VGG-style (Simonyan & Zisserman 2015), widths c, 2c, 4c, 4c with a max-pool after each of the
first two, global average pooling and a linear head. On MNIST's 1 x 28 x 28 images at c = 32:
242,250 parameters (240,256 convolution and 1,290 linear weights and biases, 704 batch-norm
scales and shifts) and 704 batch-norm running statistics."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from innr.architectures import ARCHITECTURES, Architecture
from innr.datasets import Dataset


class BnCNN(nn.Module):
    def __init__(self, c: int = 32, shape: tuple[int, int, int] = (1, 28, 28),
                 classes: int = 10):
        super().__init__()
        widths = (shape[0], c, 2 * c, 4 * c, 4 * c)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1)
                                   for a, b in zip(widths, widths[1:], strict=False))
        self.norms = nn.ModuleList(nn.BatchNorm2d(b) for b in widths[1:])
        self.fc = nn.Linear(widths[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            x = F.relu(norm(conv(x)))
            if i < 2:  # 28 -> 14 -> 7 on MNIST
                x = F.max_pool2d(x, 2)
        return self.fc(x.mean((2, 3)))


def build(dataset: Dataset, channels: int) -> BnCNN:
    return BnCNN(channels, dataset.shape, dataset.classes)


ARCHITECTURES.register(Architecture("bn_cnn", build, permutable=False))
