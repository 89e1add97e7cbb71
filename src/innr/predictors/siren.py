"""SIREN (Sitzmann et al. 2020): y = sin(w0 (W x + b)) per layer, the first layer with its own
frequency w0_initial, weights drawn from U(-1/n, 1/n) in the first layer and
U(-sqrt(c/n)/w0, sqrt(c/n)/w0) after it (sec. 3.2, c = 6), and a final linear layer."""

from __future__ import annotations

import math

import torch
from torch import nn

from innr.predictors import PREDICTORS, Options, Predictor


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


def build(dim_in: int, width: int, depth: int, dim_out: int, o: Options) -> Siren:
    return Siren(dim_in=dim_in, hidden=width, layers=depth, dim_out=dim_out,
                 w0_initial=o.w0_initial, w0=o.w0, c=o.c)


PREDICTORS.register(Predictor("siren", build))
