"""Pruning, then the kept values quantised per channel to int8 (zeros stay zero): 8 bits a kept
value, their positions (innr.prune) and a float32 scale per channel."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from innr.coordinates import unflatten_params
from innr.methods import Compressed, Params, register
from innr.methods.pruning import Pruned, n_of
from innr.methods.quantisation import channels_of
from innr.prune import pruned, pruned_bits
from innr.quantise import symmetric
from innr.size import BITS

CODE_BITS = 8


@dataclass(frozen=True)
class PrunedQuantised(Pruned):
    """The `keep` largest |w| as int8 codes, where they are, and the channels' scales."""

    def bits(self, params: Params, keep: int) -> int:
        return pruned_bits(n_of(params), keep, CODE_BITS) + channels_of(params) * BITS

    def encode(self, params: Params, keep: int) -> Compressed:
        out = {k: symmetric(v, CODE_BITS) for k, v in pruned(params, keep).items()}
        return Compressed(self.name, out, self.bits(params, keep),
                          {"keep": keep, "bits": CODE_BITS})

    def decoder(self, c: Compressed, like: Params):
        """int8 codes times their channel's scale, scattered to their indices."""
        n = n_of(like)
        flat = torch.cat([p.reshape(-1) for p in c.params.values()])
        index = flat.nonzero().squeeze(1)
        codes = torch.zeros(len(index), dtype=torch.int8)
        scale_of = torch.ones(len(index))
        return lambda: unflatten_params(torch.zeros(n).index_put_((index,), codes.float()
                                                                  * scale_of), like)

    def kept(self, c: Compressed) -> None:
        return None  # int8 values: not float32 parameters


register(PrunedQuantised("pruned_quantised", "pruned + int8"))
