"""Global magnitude pruning (torch.nn.utils.prune's L1 rule over every tensor at once, no
fine-tuning), and what the kept weights' positions cost to store."""

from __future__ import annotations

import torch

from innr.size import BITS, index_bits

Params = dict[str, torch.Tensor]


def position_bits(n: int, kept: int) -> int:
    """Where `kept` of n values are: an n-bit mask or kept indices, the smaller."""
    return min(n, kept * index_bits(n))


def pruned_bits(n: int, kept: int, value_bits: int = BITS) -> int:
    """The kept values, `value_bits` each, and their positions."""
    return kept * value_bits + position_bits(n, kept)


def pruned(params: Params, keep: int) -> Params:
    """All but the `keep` largest |w| over every tensor set to zero; the tensors are not
    changed in place."""
    flat = torch.cat([p.detach().reshape(-1) for p in params.values()])
    n = flat.numel()
    if not 0 <= keep <= n:
        raise ValueError(f"keep must lie in [0, {n}] (the weights), got {keep}")
    mask = torch.zeros(n, dtype=torch.bool)
    mask[flat.abs().topk(keep, sorted=False).indices] = True
    out, start = {}, 0
    for name, p in params.items():
        out[name] = torch.where(mask[start:start + p.numel()].reshape(p.shape), p.detach(),
                                torch.zeros_like(p))
        start += p.numel()
    return out
