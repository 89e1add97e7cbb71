"""The two networks: the CNN that is compressed and the SIREN that stores it.

MnistExampleNet is the original study's LeNet-like CNN: conv 1->c 5x5, maxpool, conv c->2c 5x5,
maxpool, linear 32c->10, sigmoid activations, no biases (62,240 weights at c = 32).

Siren follows Sitzmann et al. (2020): y = sin(w0 (W x + b)) per layer, the first layer with its
own frequency w0_initial, weights drawn from U(-1/n, 1/n) in the first layer and
U(-sqrt(c/n)/w0, sqrt(c/n)/w0) after it (sec. 3.2, c = 6), and a final linear layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from innr.permutations import Link


class MnistExampleNet(nn.Module):
    def __init__(self, c: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c, 5, bias=False)
        self.conv2 = nn.Conv2d(c, 2 * c, 5, bias=False)
        self.fc = nn.Linear(2 * c * 4 * 4, 10, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # max-pool and sigmoid commute (sigmoid is increasing); pooling first is cheaper
        x = torch.sigmoid(F.max_pool2d(self.conv1(x), 2))
        x = torch.sigmoid(F.max_pool2d(self.conv2(x), 2))
        return self.fc(x.flatten(1))

    def permutable_chain(self) -> tuple[Link, ...]:
        """Units that may be reordered together (innr.permutations): conv1's filters with conv2's
        input channels, conv2's filters with fc's inputs, 4 x 4 = 16 per channel."""
        return (Link("conv1", "conv2"), Link("conv2", "fc", group=16))


class SineLayer(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, w0: float, c: float, is_first: bool):
        super().__init__()
        self.w0 = w0
        self.linear = nn.Linear(dim_in, dim_out)
        bound = 1 / dim_in if is_first else math.sqrt(c / dim_in) / w0
        nn.init.uniform_(self.linear.weight, -bound, bound)
        nn.init.uniform_(self.linear.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.w0 * self.linear(x))


class Siren(nn.Module):
    """dim_in -> `layers` sine layers of width `hidden` -> linear -> dim_out."""

    def __init__(self, *, dim_in: int, hidden: int, layers: int, dim_out: int,
                 w0_initial: float, w0: float, c: float):
        super().__init__()
        dims = [dim_in] + [hidden] * layers
        self.net = nn.Sequential(*[
            SineLayer(dims[i], dims[i + 1], w0_initial if i == 0 else w0, c, is_first=i == 0)
            for i in range(layers)])
        self.last = nn.Linear(hidden, dim_out)
        bound = math.sqrt(c / hidden) / w0
        nn.init.uniform_(self.last.weight, -bound, bound)
        nn.init.uniform_(self.last.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.net(x))


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


ARCHITECTURES = {"mnist_example_net": MnistExampleNet}


def build_cnn(name: str, channels: int) -> nn.Module:
    """The CNN named `name`; an unknown name says which exist."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](channels)
