"""Magnitude pruning (innr.prune: global L1, torch.nn.utils.prune's rule, no fine-tuning): the
kept values in float32 and their positions, as an N-bit mask or as indices, whichever is
smaller; and the same, distilled (innr.distil) with the mask kept."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from innr.coordinates import unflatten_params
from innr.methods import Compressed, Compression, Params, register
from innr.prune import pruned, pruned_bits


def n_of(params: Params) -> int:
    """The number of weights."""
    return sum(p.numel() for p in params.values())


@dataclass(frozen=True)
class Pruned(Compression):
    """The `keep` largest |w| in float32 and where they are."""

    def settings(self, params: Params) -> range:
        return range(n_of(params) + 1)

    def bits(self, params: Params, keep: int) -> int:
        return pruned_bits(n_of(params), keep)

    def encode(self, params: Params, keep: int) -> Compressed:
        return Compressed(self.name, pruned(params, keep), self.bits(params, keep),
                          {"keep": keep})

    def decoder(self, c: Compressed, like: Params):
        """float32 values scattered to their indices."""
        n = n_of(like)
        flat = torch.cat([p.reshape(-1) for p in c.params.values()])
        index = flat.nonzero().squeeze(1)
        values = flat[index]
        return lambda: unflatten_params(torch.zeros(n).index_put_((index,), values), like)

    def kept(self, c: Compressed) -> int:
        return c.setting["keep"]

    def projection(self, c: Compressed, original: Params):
        """Distillation starts from the kept values; the pruned ones stay zero."""
        masks = {k: (v != 0).float() for k, v in c.params.items()}
        return c.params, lambda t: {k: t[k] * masks[k] for k in t}


register(Pruned("pruned", "pruned"))
register(Pruned("pruned_distilled", "pruned + distilled", uses_selection=True, distil=True))
