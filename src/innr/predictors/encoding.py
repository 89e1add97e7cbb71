"""Positional encodings of a coordinate (NeRF, Mildenhall et al. 2020; NeRN, Ashkenazi et al.,
ICLR 2023): gamma(x) = (x, sin(f_0 x), cos(f_0 x), ..., sin(f_{L-1} x), cos(f_{L-1} x)) with
f_k = pi base^k. NeRF's frequencies (base 2) reach ever finer detail; NeRN's (base 0.76) are
deliberately low, all at or below pi."""

from __future__ import annotations

import math

import torch
from torch import nn

ENCODINGS = {"nern": 0.76, "nerf": 2.0}  # a variant's `encoding` -> the base of its frequencies


def frequencies(encoding: str, levels: int) -> torch.Tensor:
    """f_k = pi * base**k for k = 0..levels-1 (float32)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; known: {list(ENCODINGS)}")
    if levels < 0:
        raise ValueError(f"levels must be >= 0, got {levels}")
    # powers in float64, so a deep NeRF schedule rounds once, not at every power
    powers = torch.tensor(ENCODINGS[encoding], dtype=torch.float64) ** torch.arange(levels)
    return (math.pi * powers).float()


class Encoding(nn.Module):
    """x [N, d] -> [N, d + 2 d levels]: x, then per frequency f_k sin(f_k x) [d], cos(f_k x) [d]."""

    freqs: torch.Tensor

    def __init__(self, dim_in: int, encoding: str, levels: int):
        super().__init__()
        self.dim_in = dim_in
        self.dim_out = dim_in * (1 + 2 * levels)
        # a buffer: moves with .to(device) and is saved, but is fixed, neither trained nor counted
        self.register_buffer("freqs", frequencies(encoding, levels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fx = self.freqs[:, None] * x[:, None, :]  # [N, levels, d]
        waves = torch.stack((torch.sin(fx), torch.cos(fx)), dim=2)  # [N, levels, 2, d]
        return torch.cat((x, waves.flatten(1)), dim=1)
