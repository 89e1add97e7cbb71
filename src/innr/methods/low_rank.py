"""Low rank: each layer's weight as a matrix (a conv's as out x in*k*k), truncated by SVD to the
same share of its full rank in every layer, as two factors (U sqrt(S) and sqrt(S) V^T); or the
tensor whole where its factors would be larger (a thin matrix; a 1-D tensor given to `low_rank`:
the method itself gets the weights only, innr.methods.Compression). The factors, and a tensor
kept whole, are float32 (`low_rank`) or b-bit codes with a float32 scale per row (innr.quantise,
clipping chosen on validation: `low_rank_b8`, `low_rank_b4`).

Stored, per tensor NAME: NAME/left and NAME/right (the factors), or NAME/whole; each a float32
tensor, or with codes its parts PART/codes and PART/scales (innr.quantise.quantised).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from innr.coding import parts, prefixed
from innr.methods import Compressed, Compression, Params, register
from innr.quantise import CLIPS, dequantised, quantised
from innr.size import BITS


def _matrix(p: torch.Tensor) -> torch.Tensor:
    return p.detach().reshape(p.shape[0], -1).double()


def matrix_bits(rows: int, cols: int, code_bits: int | None = None) -> int:
    """A rows x cols matrix stored: float32 values, or b-bit codes and a float32 scale a row."""
    return rows * cols * BITS if code_bits is None else rows * cols * code_bits + rows * BITS


def ranks(params: Params, share: float, code_bits: int | None = None) -> dict[str, int | None]:
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
        factors = matrix_bits(rows, rank, code_bits) + matrix_bits(rank, cols, code_bits)
        out[name] = rank if factors < matrix_bits(rows, cols, code_bits) else None
    return out


def low_rank_bits(params: Params, share: float, code_bits: int | None = None) -> int:
    """The factors, and every tensor stored whole, in raw bits."""
    total = 0
    for p, r in zip(params.values(), ranks(params, share, code_bits).values(), strict=True):
        rows = p.shape[0] if p.dim() else 1
        cols = p.numel() // max(rows, 1)
        total += (matrix_bits(rows, cols, code_bits) if r is None else
                  matrix_bits(rows, r, code_bits) + matrix_bits(r, cols, code_bits))
    return total


def low_rank(params: Params, share: float, code_bits: int | None = None, clip: str = "max",
             name: str = "low_rank") -> Compressed:
    """Each matrix truncated to its rank at `share` (innr.methods.low_rank.ranks), its factors
    (and each tensor kept whole) float32 or rounded to `code_bits`-bit codes."""
    def kept(key: str, t: torch.Tensor) -> torch.Tensor:  # stored at key; as the CNN sees it
        if code_bits is None:
            stored[key] = t
            return t
        t, parts_of_t = quantised(t, code_bits, clip)
        stored.update(prefixed(key, parts_of_t))
        return t

    out, stored, rank_of = {}, {}, {}
    for k, rank in ranks(params, share, code_bits).items():
        p = params[k]
        if rank is None:
            out[k] = kept(f"{k}/whole", p.detach().clone())
            if p.dim() >= 2:
                rank_of[k] = min(_matrix(p).shape)
            continue
        u, s, vh = torch.linalg.svd(_matrix(p), full_matrices=False)
        root = s[:rank].sqrt()
        left = kept(f"{k}/left", (u[:, :rank] * root).to(p.dtype))
        right = kept(f"{k}/right", (root[:, None] * vh[:rank]).to(p.dtype))
        out[k] = (left @ right).reshape(p.shape)
        rank_of[k] = rank
    setting = {"share": share, "ranks": rank_of}
    if code_bits is not None:
        setting.update(bits=code_bits, clip=clip)
    return Compressed(name, out, low_rank_bits(params, share, code_bits), setting, stored)


@dataclass(frozen=True)
class LowRank(Compression):
    """Setting r of R: a share r / R of each matrix's rank, R the largest full rank; the factors
    float32 or `code_bits`-bit codes."""

    code_bits: int | None = None
    clip: str = "max"  # innr.quantise.CLIPS, with codes

    def choices(self) -> dict[str, tuple]:
        return {} if self.code_bits is None else {"clip": CLIPS}

    def settings(self, params: Params) -> range:
        return range(1, max(min(_matrix(p).shape) for p in params.values() if p.dim() >= 2) + 1)

    def weights_bits(self, params: Params, steps: int) -> int:
        return low_rank_bits(params, steps / len(self.settings(params)), self.code_bits)

    def encode_weights(self, params: Params, steps: int) -> Compressed:
        return low_rank(params, steps / len(self.settings(params)), self.code_bits, self.clip,
                        self.name)

    def setting_of(self, c: Compressed) -> int:
        return round(c.setting["share"] * len(self.settings(c.params)))

    def decode_weights(self, stored: Params, like: Params) -> Params:
        """Each factored matrix as the product of its factors; the rest as stored."""
        def part(mine: Params, name: str) -> torch.Tensor:
            return mine[name] if name in mine else dequantised(parts(mine, name))

        out = {}
        for k, p in like.items():
            mine = parts(stored, k)
            whole = "whole" in mine or "whole/codes" in mine
            out[k] = part(mine, "whole") if whole else (
                part(mine, "left") @ part(mine, "right")).reshape(p.shape)
        return out


register(LowRank("low_rank", "low rank"))
register(LowRank("low_rank_b8", "low rank, int8 factors", code_bits=8))
register(LowRank("low_rank_b4", "low rank, int4 factors", code_bits=4))
