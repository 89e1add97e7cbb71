"""Symmetric uniform quantisation, per output channel or per tensor, and its straight-through
gradient (Bengio et al. 2013): the forward pass sees the rounded values, the gradient passes as
if there were no rounding.

Per channel, b bits give the codes -top..top, top = 2**(b-1) - 1 (2 bits: ternary, {-1, 0, 1}),
times a float32 scale per channel: max|w| / top (`clip="max"`), or the clip ratio r of a fixed
grid whose scale r * max|w| / top gives the channel's least squared error (`clip="mse"`:
MSE-optimal clipping, data-free). One bit is binary: the sign (w >= 0 is +1) times the channel's
mean |w|, the least-squares scale of sign codes (Rastegari et al. 2016, XNOR-Net), under either
clip. `quantised` gives the rounded tensor with what stores it (the codes in the smallest
dtype and the scales), `dequantised` the tensor back from those alone.
"""

from __future__ import annotations

import torch

Params = dict[str, torch.Tensor]

CLIPS = ("max", "mse")
CLIP_GRID = torch.arange(100, 0, -1) / 100  # clip ratios 1.00, 0.99, ..., 0.01; ties: the widest


def levels(bits: int) -> int:
    """The largest code of a `bits`-bit symmetric quantiser: codes in [-top, top]."""
    if bits < 2:
        raise ValueError(f"symmetric quantisation needs at least 2 bits, got {bits}")
    return 2 ** (bits - 1) - 1


def _rounded(w: torch.Tensor, scale: torch.Tensor, bits: int) -> torch.Tensor:
    if bits == 1:
        return torch.where(w >= 0, 1.0, -1.0)
    top = levels(bits)
    return (w / scale).round().clamp(-top, top)


def channel_scales(w: torch.Tensor, bits: int, clip: str = "max",
                   kept: torch.Tensor | None = None) -> torch.Tensor:
    """Each row's scale [rows, 1] (w: [rows, cols], a row an output channel; `kept`: only
    these entries are quantised, the rest are zero); 1 for an all-zero row."""
    if clip not in CLIPS:
        raise ValueError(f"clip must be one of {CLIPS}, got {clip!r}")
    w = w.detach()
    if bits == 1 and kept is not None:  # the mean |w| of the kept entries
        scale = w.abs().sum(1, keepdim=True) / kept.sum(1, keepdim=True).clamp(min=1)
    elif bits == 1:
        scale = w.abs().mean(1, keepdim=True)
    else:
        scale = w.abs().amax(1, keepdim=True) / levels(bits)
        if clip == "mse":
            scale = _mse_scales(w, scale, bits, kept)
    return torch.where(scale > 0, scale, torch.ones_like(scale))


def _mse_scales(w: torch.Tensor, scale: torch.Tensor, bits: int, kept: torch.Tensor | None
                ) -> torch.Tensor:
    """Each row's scale r * `scale` at the ratio r of CLIP_GRID with the least squared error;
    over the kept entries only (the others are zero, and zero rounds to zero at any scale)."""
    kept = torch.ones_like(w, dtype=torch.bool) if kept is None else kept
    row = torch.arange(w.shape[0]).unsqueeze(1).expand_as(w)[kept]
    values = w[kept]
    ratios = CLIP_GRID.to(w)
    tried = ratios[:, None] * scale[row, 0]  # [ratios, kept entries]
    error = torch.zeros(len(ratios), w.shape[0], dtype=w.dtype).index_add_(
        1, row, (_rounded(values, tried, bits) * tried - values) ** 2)  # [ratios, rows]
    return ratios[error.argmin(0)][:, None] * scale


def codes(p: torch.Tensor, bits: int, clip: str = "max", kept: torch.Tensor | None = None
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per output channel (dim 0): the codes [rows, cols] (as floats) and the scales [rows, 1];
    the rounded weights are their product. With `kept` (p's shape; p zero elsewhere) only those
    entries are quantised and the others' codes are 0 (a binary code is otherwise never 0)."""
    w = p.reshape(p.shape[0], -1)
    if kept is None:
        scale = channel_scales(w, bits, clip)
        return _rounded(w, scale, bits), scale
    kept = kept.reshape(w.shape)
    scale = channel_scales(w, bits, clip, kept)
    return torch.where(kept, _rounded(w, scale, bits), 0.0), scale


def symmetric(p: torch.Tensor, bits: int, per_channel: bool = True,
              clip: str = "max") -> torch.Tensor:
    """q = round(w / s) * s, clamped to [-top, top] codes, s = max|w| / top over each output
    channel (dim 0; or its MSE-optimal clip, innr.quantise) or over the whole tensor (max|w|
    only, at least 2 bits); an all-zero channel or tensor stays zero. No gradient flows to the
    scale."""
    if per_channel:
        q, scale = codes(p, bits, clip)
        return (q * scale).reshape(p.shape)
    top = levels(bits)
    scale = p.detach().abs().amax() / top
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero tensor
    return ((p / scale).round().clamp(-top, top) * scale).reshape(p.shape)


def straight_through(p: torch.Tensor, bits: int, per_channel: bool = True,
                     clip: str = "max") -> torch.Tensor:
    """symmetric(p) forward; the identity's gradient backward."""
    return p + (symmetric(p, bits, per_channel, clip) - p).detach()


def as_codes(q: torch.Tensor, bits: int) -> torch.Tensor:
    """Float codes as stored: bool for 1 bit (the sign: True is +1), else int8 (-127..127)."""
    if not 1 <= bits <= 8:
        raise ValueError(f"stored codes are 1 to 8 bits, got {bits}")
    return q > 0 if bits == 1 else q.to(torch.int8)


def as_floats(codes: torch.Tensor) -> torch.Tensor:
    """Stored codes as floats (a bool is a sign: True +1, False -1)."""
    return torch.where(codes, 1.0, -1.0) if codes.dtype == torch.bool else codes.float()


def quantised(p: torch.Tensor, bits: int, clip: str = "max") -> tuple[torch.Tensor, Params]:
    """p rounded per channel, and what stores it: {"codes": as_codes, "scales": float32}."""
    q, scale = codes(p.detach(), bits, clip)
    return (q * scale).reshape(p.shape), {"codes": as_codes(q, bits).reshape(p.shape),
                                          "scales": scale.reshape(-1)}


def dequantised(stored: Params) -> torch.Tensor:
    """The tensor `quantised` stored, exactly."""
    c = stored["codes"]
    return (as_floats(c).reshape(c.shape[0], -1) * stored["scales"][:, None]).reshape(c.shape)
