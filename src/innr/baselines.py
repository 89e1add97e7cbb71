"""Data-free compressions of a trained CNN, each with everything it stores counted in bits.

What a practitioner could store instead of an INNR, from the weights alone (no image after the
CNN is trained). Each method returns the weights the CNN then runs with and its size:
- magnitude pruning (global L1, torch.nn.utils.prune's rule, no fine-tuning): the kept values
  in float32 and their positions, as an N-bit mask or as indices, whichever is smaller;
- low rank: each layer's weight as a matrix (a conv's as out x in*k*k), truncated by SVD to the
  same share of its full rank in every layer; the two float32 factors are stored;
- post-training quantisation: per output channel, symmetric, b bits per weight and a float32
  scale per channel; optionally a float32 mean correction per channel (the weights' mean
  restored after rounding: a data-free stand-in for bias correction, which needs biases this
  CNN does not have);
- pruning then quantisation of the kept values.
`at_budget` picks, for a method, the largest setting whose size fits a budget in bits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from innr.size import BITS, index_bits

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Compressed:
    """The weights a method gives the CNN, and the bits it stores to give them."""

    method: str
    params: Params
    bits: int
    setting: dict = field(default_factory=dict)


def _flat(params: Params) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params.values()])


def position_bits(n: int, kept: int) -> int:
    """Where `kept` of n values are: an n-bit mask or kept indices, the smaller."""
    return min(n, kept * index_bits(n))


# --- pruning ------------------------------------------------------------------------------------

def pruned(params: Params, keep: int) -> Compressed:
    """All but the `keep` largest |w| over every tensor set to zero (ties: the first ones)."""
    flat = _flat(params)
    n = flat.numel()
    if not 0 <= keep <= n:
        raise ValueError(f"keep must lie in [0, {n}], got {keep}")
    mask = torch.zeros(n, dtype=torch.bool)
    mask[flat.abs().topk(keep, sorted=False).indices] = True
    out, start = {}, 0
    for name, p in params.items():
        out[name] = torch.where(mask[start:start + p.numel()].reshape(p.shape), p,
                                torch.zeros_like(p))
        start += p.numel()
    return Compressed("pruned", out, keep * BITS + position_bits(n, keep), {"keep": keep})


# --- low rank ----------------------------------------------------------------------------------

def _matrix(p: torch.Tensor) -> torch.Tensor:
    return p.detach().reshape(p.shape[0], -1).double()


def low_rank(params: Params, share: float) -> Compressed:
    """Each matrix truncated to ceil(share * full rank) singular values (at least one); a
    tensor stored whole where its factors would be larger (a bias, a thin matrix)."""
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], got {share}")
    out, bits, ranks = {}, 0, {}
    for name, p in params.items():
        if p.dim() < 2:
            out[name], bits = p.detach().clone(), bits + p.numel() * BITS
            continue
        m = _matrix(p)
        rank = max(1, math.ceil(share * min(m.shape)))
        factored = rank * (m.shape[0] + m.shape[1])
        if factored >= m.numel():
            out[name], bits = p.detach().clone(), bits + p.numel() * BITS
            ranks[name] = min(m.shape)
            continue
        u, s, vh = torch.linalg.svd(m, full_matrices=False)
        out[name] = ((u[:, :rank] * s[:rank]) @ vh[:rank]).reshape(p.shape).to(p.dtype)
        bits += factored * BITS
        ranks[name] = rank
    return Compressed("low_rank", out, bits, {"share": share, "ranks": ranks})


# --- quantisation ------------------------------------------------------------------------------

def quantise_tensor(p: torch.Tensor, bits: int, mean_correction: bool = False
                    ) -> torch.Tensor:
    """Per output channel (dim 0), symmetric: q = round(w / s) in [-(2^(b-1) - 1), 2^(b-1) - 1],
    s = max|w| / (2^(b-1) - 1); with mean_correction, each channel's mean restored."""
    if bits < 2:
        raise ValueError(f"symmetric quantisation needs at least 2 bits, got {bits}")
    w = p.detach().reshape(p.shape[0], -1)
    top = 2 ** (bits - 1) - 1
    scale = w.abs().amax(1, keepdim=True) / top
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero channel
    q = (w / scale).round().clamp(-top, top) * scale
    if mean_correction:
        q = q + (w - q).mean(1, keepdim=True)
    return q.reshape(p.shape)


def quantised(params: Params, bits: int, mean_correction: bool = False) -> Compressed:
    """Every tensor quantised per channel; a float32 scale (and mean) per channel stored."""
    channels = sum(p.shape[0] for p in params.values())
    per_channel = BITS * (2 if mean_correction else 1)
    out = {k: quantise_tensor(p, bits, mean_correction) for k, p in params.items()}
    size = sum(p.numel() for p in params.values()) * bits + channels * per_channel
    return Compressed("quantised_mean" if mean_correction else "quantised", out, size,
                      {"bits": bits})


def pruned_quantised(params: Params, keep: int, bits: int = 8) -> Compressed:
    """Pruning, then the kept values quantised per channel (zeros stay zero)."""
    p = pruned(params, keep)
    n = sum(t.numel() for t in params.values())
    channels = sum(t.shape[0] for t in params.values())
    out = {k: quantise_tensor(v, bits) for k, v in p.params.items()}
    return Compressed("pruned_quantised", out,
                      keep * bits + position_bits(n, keep) + channels * BITS,
                      {"keep": keep, "bits": bits})


# --- a method at a budget ----------------------------------------------------------------------

QUANTISED_BITS = (8, 4, 3, 2)


def _largest(fits: Callable[[int], bool], low: int, high: int) -> int | None:
    """The largest integer x in [low, high] with fits(x), fits being monotone decreasing."""
    if not fits(low):
        return None
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(mid) else (low, mid - 1)
    return low


def at_budget(method: str, params: Params, budget_bits: int) -> Compressed | None:
    """The method's largest setting that stores at most `budget_bits`; None if none fits."""
    n = sum(p.numel() for p in params.values())
    if method == "pruned":
        keep = _largest(lambda k: k * BITS + position_bits(n, k) <= budget_bits, 0, n)
        return None if keep is None else pruned(params, keep)
    if method == "pruned_quantised":
        channels = sum(p.shape[0] for p in params.values())
        keep = _largest(lambda k: k * 8 + position_bits(n, k) + channels * BITS
                        <= budget_bits, 0, n)
        return None if keep is None else pruned_quantised(params, keep)
    if method == "low_rank":
        full = max(min(_matrix(p).shape) for p in params.values() if p.dim() >= 2)
        steps = _largest(lambda r: low_rank(params, r / full).bits <= budget_bits, 1, full)
        return None if steps is None else low_rank(params, steps / full)
    if method in ("quantised", "quantised_mean"):
        for bits in QUANTISED_BITS:
            out = quantised(params, bits, mean_correction=method == "quantised_mean")
            if out.bits <= budget_bits:
                return out
        return None
    raise ValueError(f"unknown method {method!r}; known: pruned, pruned_quantised, low_rank, "
                     "quantised, quantised_mean")
