"""Global magnitude pruning (torch.nn.utils.prune's L1 rule over every tensor at once, no
fine-tuning), what the kept weights' positions cost to store (raw bits), and how they are
stored (a mask or indices, whichever innr.coding packs smaller)."""

from __future__ import annotations

import torch

from innr.coding import coded_bytes
from innr.size import BITS, index_bits

Params = dict[str, torch.Tensor]


def position_bits(n: int, kept: int) -> int:
    """Where `kept` of n values are: an n-bit mask or kept indices, the smaller."""
    return min(n, kept * index_bits(n))


def pruned_bits(n: int, kept: int, value_bits: int = BITS) -> int:
    """The kept values, `value_bits` each, and their positions."""
    return kept * value_bits + position_bits(n, kept)


def kept_mask(params: Params, keep: int) -> torch.Tensor:
    """Over every tensor's weights in turn, flattened: True at the `keep` largest |w|."""
    flat = torch.cat([p.detach().reshape(-1) for p in params.values()])
    n = flat.numel()
    if not 0 <= keep <= n:
        raise ValueError(f"keep must lie in [0, {n}] (the weights), got {keep}")
    mask = torch.zeros(n, dtype=torch.bool)
    mask[flat.abs().topk(keep, sorted=False).indices] = True
    return mask


def pruned(params: Params, keep: int) -> Params:
    """All but the `keep` largest |w| over every tensor set to zero; the tensors are not
    changed in place."""
    return masked(params, kept_mask(params, keep))


def masked(params: Params, mask: torch.Tensor) -> Params:
    """The weights where the flat `mask` (kept_mask's) is True, zero elsewhere."""
    out, start = {}, 0
    for name, p in params.items():
        out[name] = torch.where(mask[start:start + p.numel()].reshape(p.shape), p.detach(),
                                torch.zeros_like(p))
        start += p.numel()
    return out


def index_dtype(n: int) -> torch.dtype:
    """The smallest integer dtype that holds 0..n-1."""
    return torch.uint8 if n <= 1 << 8 else torch.int16 if n <= 1 << 15 else torch.int32


def positions(mask: torch.Tensor) -> Params:
    """Where the kept values are, as stored: {"mask": the mask} or {"indices": the kept ones,
    ascending}, whichever innr.coding packs smaller."""
    options = ({"mask": mask},
               {"indices": mask.nonzero().squeeze(1).to(index_dtype(mask.numel()))})
    return min(options, key=coded_bytes)


def mask_of(stored: Params, n: int) -> torch.Tensor:
    """The flat mask of n weights that `positions` stored."""
    if "mask" in stored:
        return stored["mask"]
    return torch.zeros(n, dtype=torch.bool).index_fill_(0, stored["indices"].long(), True)
