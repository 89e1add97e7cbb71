"""Symmetric uniform quantisation, per output channel or per tensor, and its straight-through
gradient (Bengio et al. 2013): the forward pass sees the rounded values, the gradient passes as
if there were no rounding."""

from __future__ import annotations

import torch


def levels(bits: int) -> int:
    """The largest code of a `bits`-bit symmetric quantiser: codes in [-top, top]."""
    if bits < 2:
        raise ValueError(f"symmetric quantisation needs at least 2 bits, got {bits}")
    return 2 ** (bits - 1) - 1


def symmetric(p: torch.Tensor, bits: int, per_channel: bool = True) -> torch.Tensor:
    """q = round(w / s) * s, clamped to [-top, top] codes, s = max|w| / top over each output
    channel (dim 0) or over the whole tensor; an all-zero channel or tensor stays zero. No
    gradient flows to the scale."""
    top = levels(bits)
    w = p.reshape(p.shape[0], -1) if per_channel else p
    peak = w.detach().abs().amax(1, keepdim=True) if per_channel else w.detach().abs().amax()
    scale = peak / top
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero channel
    return ((w / scale).round().clamp(-top, top) * scale).reshape(p.shape)


def straight_through(p: torch.Tensor, bits: int, per_channel: bool = True) -> torch.Tensor:
    """symmetric(p) forward; the identity's gradient backward."""
    return p + (symmetric(p, bits, per_channel) - p).detach()
