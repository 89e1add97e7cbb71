"""Low rank: each layer's weight as a matrix (a conv's as out x in*k*k), truncated by SVD to the
same share of its full rank in every layer; the two float32 factors are stored, or the tensor
whole where its factors would be larger (a bias, a thin matrix)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from innr.methods import Compressed, Compression, Params, register
from innr.size import BITS


def _matrix(p: torch.Tensor) -> torch.Tensor:
    return p.detach().reshape(p.shape[0], -1).double()


def ranks(params: Params, share: float) -> dict[str, int | None]:
    """Each tensor's rank: ceil(share * full rank), at least one; None where it is stored
    whole (not a matrix, or factors no smaller than it)."""
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], got {share}")
    out = {}
    for name, p in params.items():
        if p.dim() < 2:
            out[name] = None
            continue
        rows, cols = p.shape[0], p[0].numel()
        rank = max(1, math.ceil(share * min(rows, cols)))
        out[name] = rank if rank * (rows + cols) < rows * cols else None
    return out


def low_rank_bits(params: Params, share: float) -> int:
    """The factors' float32 values, and every tensor stored whole."""
    return sum(BITS * (p.numel() if r is None else r * (p.shape[0] + p[0].numel()))
               for p, r in zip(params.values(), ranks(params, share).values(), strict=True))


def low_rank(params: Params, share: float) -> Compressed:
    """Each matrix truncated to its rank at `share` (innr.methods.low_rank.ranks)."""
    out, stored = {}, {}
    for name, rank in ranks(params, share).items():
        p = params[name]
        if rank is None:
            out[name] = p.detach().clone()
            if p.dim() >= 2:
                stored[name] = min(_matrix(p).shape)
            continue
        u, s, vh = torch.linalg.svd(_matrix(p), full_matrices=False)
        out[name] = ((u[:, :rank] * s[:rank]) @ vh[:rank]).reshape(p.shape).to(p.dtype)
        stored[name] = rank
    return Compressed("low_rank", out, low_rank_bits(params, share),
                      {"share": share, "ranks": stored})


@dataclass(frozen=True)
class LowRank(Compression):
    """Setting r of R: a share r / R of each matrix's rank, R the largest full rank."""

    def settings(self, params: Params) -> range:
        return range(1, max(min(_matrix(p).shape) for p in params.values() if p.dim() >= 2) + 1)

    def bits(self, params: Params, steps: int) -> int:
        return low_rank_bits(params, steps / len(self.settings(params)))

    def encode(self, params: Params, steps: int) -> Compressed:
        return low_rank(params, steps / len(self.settings(params)))

    def decoder(self, c: Compressed, like: Params):
        """Each factored matrix as the product of its factors; the rest copied whole."""
        shapes = {k: v.shape for k, v in like.items()}
        factors = {}
        for k, s in shapes.items():
            rank = c.setting["ranks"].get(k, 0)
            if len(s) >= 2 and rank < min(s[0], math.prod(s[1:])):
                factors[k] = (torch.randn(s[0], rank), torch.randn(rank, math.prod(s[1:])))
        whole = {k: like[k].clone() for k in shapes if k not in factors}
        return lambda: {**whole, **{k: (u @ v).view(shapes[k]) for k, (u, v) in factors.items()}}


register(LowRank("low_rank", "low rank"))
