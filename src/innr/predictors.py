"""The predictors compared with the SIREN: ReLU MLPs, with and without positional encoding.

A predictor maps a weight's coordinate to its value. Besides the SIREN (innr.models.Siren) we
consider the two predictors of the related work:
- pe_mlp: NeRN (Ashkenazi et al., ICLR 2023) and NeRF (Mildenhall et al., 2020) lift each
  coordinate x_j with fixed sinusoids, gamma(x) = (x, sin(f_0 x), cos(f_0 x), ...,
  sin(f_{L-1} x), cos(f_{L-1} x)), and feed gamma(x) to a ReLU MLP. NeRF's frequencies are
  f_k = pi 2^k, reaching ever finer detail; NeRN's are f_k = pi 0.76^k, deliberately low, all
  at or below pi.
- mlp: the same ReLU MLP on the raw coordinates, the baseline that shows what the encoding buys.
All three share one shape, `depth` hidden layers of width `width` and a linear output layer, so
they are compared at equal parameter budgets: count_params gives the exact size of each without
building it, and width_for_budget the widest predictor a budget allows.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from innr.models import Siren

SCHEDULES = ("nern", "nerf")
BASES = {"nern": 0.76, "nerf": 2.0}


def frequencies(schedule: str, levels: int) -> torch.Tensor:
    """f_k = pi * base**k for k = 0..levels-1 (float32); base 0.76 for NeRN, 2 for NeRF."""
    if schedule not in BASES:
        raise ValueError(f"unknown schedule {schedule!r}; known: {list(SCHEDULES)}")
    if levels < 0:
        raise ValueError(f"levels must be >= 0, got {levels}")
    # powers in float64, so a deep NeRF schedule rounds once, not at every power
    powers = torch.tensor(BASES[schedule], dtype=torch.float64) ** torch.arange(levels)
    return (math.pi * powers).float()


class Encoding(nn.Module):
    """x [N, d] -> [N, d + 2 d levels]: x, then per frequency f_k sin(f_k x) [d], cos(f_k x) [d]."""

    freqs: torch.Tensor

    def __init__(self, dim_in: int, schedule: str, levels: int):
        super().__init__()
        self.dim_in = dim_in
        self.dim_out = dim_in * (1 + 2 * levels)
        # a buffer: moves with .to(device) and is saved, but is fixed, neither trained nor counted
        self.register_buffer("freqs", frequencies(schedule, levels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fx = self.freqs[:, None] * x[:, None, :]  # [N, levels, d]
        waves = torch.stack((torch.sin(fx), torch.cos(fx)), dim=2)  # [N, levels, 2, d]
        return torch.cat((x, waves.flatten(1)), dim=1)


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


PREDICTORS = ("siren", "mlp", "pe_mlp")


def _check(kind: str, *, dim_in: int, width: int, depth: int, dim_out: int, levels: int) -> None:
    if kind not in PREDICTORS:
        raise ValueError(f"unknown predictor {kind!r}; known: {list(PREDICTORS)}")
    sizes = {"dim_in": dim_in, "width": width, "depth": depth, "dim_out": dim_out}
    if kind == "pe_mlp":  # with no frequency the encoding is the identity: that is 'mlp'
        sizes["levels"] = levels
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1 for {kind!r}, got {value}")


def build_predictor(kind: str, *, dim_in: int, width: int, depth: int, dim_out: int,
                    w0_initial: float = 30.0, w0: float = 1.0, c: float = 6.0,
                    schedule: str = "nern", levels: int = 0) -> nn.Module:
    """The predictor `kind`: w0_initial, w0, c for 'siren' only; schedule, levels for 'pe_mlp'."""
    _check(kind, dim_in=dim_in, width=width, depth=depth, dim_out=dim_out, levels=levels)
    if kind == "siren":
        return Siren(dim_in=dim_in, hidden=width, layers=depth, dim_out=dim_out,
                     w0_initial=w0_initial, w0=w0, c=c)
    encoding = Encoding(dim_in, schedule, levels) if kind == "pe_mlp" else None
    return MLP(dim_in=dim_in, width=width, depth=depth, dim_out=dim_out, encoding=encoding)


def count_params(kind: str, *, dim_in: int, width: int, depth: int, dim_out: int,
                 levels: int = 0) -> int:
    """The exact parameter count of build_predictor(kind, ...), without building it."""
    _check(kind, dim_in=dim_in, width=width, depth=depth, dim_out=dim_out, levels=levels)
    fan_in = dim_in * (1 + 2 * levels) if kind == "pe_mlp" else dim_in
    return ((fan_in + 1) * width + (depth - 1) * (width + 1) * width
            + (width + 1) * dim_out)


def width_for_budget(budget: int, kind: str, *, dim_in: int, depth: int, dim_out: int,
                     levels: int = 0) -> int:
    """The largest width whose predictor has at most `budget` parameters (32 bits each)."""
    def size(width: int) -> int:
        return count_params(kind, dim_in=dim_in, width=width, depth=depth, dim_out=dim_out,
                            levels=levels)

    if size(1) > budget:
        raise ValueError(f"a budget of {budget} parameters is below the {size(1)} that the "
                         f"smallest {kind!r} predictor (width 1, depth {depth}) needs")
    # the size grows strictly with the width: bracket the answer, then bisect
    lo, hi = 1, 2
    while size(hi) <= budget:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # invariant: size(lo) <= budget < size(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if size(mid) <= budget else (lo, mid)
    return lo
