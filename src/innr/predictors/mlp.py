"""The predictors of the related work, compared with the SIREN: a ReLU MLP on the raw
coordinates ('mlp', the baseline that shows what an encoding buys) and on their positional
encoding ('pe_mlp', as NeRN and NeRF; innr.predictors.encoding)."""

from __future__ import annotations

import torch
from torch import nn

from innr.predictors import PREDICTORS, Options, Predictor
from innr.predictors.encoding import Encoding


class MLP(nn.Module):
    """(encoding) -> `depth` Linear+ReLU layers of width `width` -> Linear -> dim_out."""

    def __init__(self, *, dim_in: int, width: int, depth: int, dim_out: int,
                 encoding: Encoding | None = None):
        super().__init__()
        if encoding is not None and encoding.dim_in != dim_in:
            raise ValueError(f"encoding takes {encoding.dim_in} coordinates, not dim_in={dim_in}")
        self.encoding = encoding
        dims = [dim_in if encoding is None else encoding.dim_out] + [width] * depth
        # PyTorch's default init: the SIREN's rescaling is for sine activations, not ReLUs
        self.net = nn.Sequential(*[module for i in range(depth)
                                   for module in (nn.Linear(dims[i], dims[i + 1]), nn.ReLU())])
        self.last = nn.Linear(width, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.encoding is not None:
            x = self.encoding(x)
        return self.last(self.net(x))


def build_mlp(dim_in: int, width: int, depth: int, dim_out: int, o: Options) -> MLP:
    return MLP(dim_in=dim_in, width=width, depth=depth, dim_out=dim_out)


def build_pe_mlp(dim_in: int, width: int, depth: int, dim_out: int, o: Options) -> MLP:
    return MLP(dim_in=dim_in, width=width, depth=depth, dim_out=dim_out,
               encoding=Encoding(dim_in, o.encoding, o.levels))


def encoded(dim_in: int, o: Options) -> int:
    return dim_in * (1 + 2 * o.levels)


PREDICTORS.register(Predictor("mlp", build_mlp))
# with no frequency the encoding is the identity: that is 'mlp'
PREDICTORS.register(Predictor("pe_mlp", build_pe_mlp, fan_in=encoded, min_levels=1))
