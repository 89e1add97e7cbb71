"""Magnitude pruning (innr.prune: global L1, torch.nn.utils.prune's rule, no fine-tuning): the
kept values in float32 and their positions, as an N-bit mask or as indices, whichever is
smaller; and the same, distilled (innr.distil) with the mask kept.

Stored: values (float32, the kept ones in the order of the weights flattened tensor by tensor)
and their positions (innr.prune.positions: mask, bool, or indices, whichever packs smaller).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from innr.coordinates import unflatten_params
from innr.methods import Compressed, Compression, Params, register
from innr.params import vectors_of
from innr.prune import kept_mask, mask_of, masked, positions, pruned_bits


def n_of(params: Params) -> int:
    """The number of weights."""
    return sum(p.numel() for p in params.values())


def flat(params: Params) -> torch.Tensor:
    """Every tensor's weights in turn, flattened."""
    return torch.cat([p.detach().reshape(-1) for p in params.values()])


@dataclass(frozen=True)
class Pruned(Compression):
    """The `keep` largest |w| in float32 and where they are."""

    def settings(self, params: Params) -> range:
        return range(n_of(params) + 1)

    def weights_bits(self, params: Params, keep: int) -> int:
        return pruned_bits(n_of(params), keep)

    def encode_weights(self, params: Params, keep: int) -> Compressed:
        mask = kept_mask(params, keep)
        return Compressed(self.name, masked(params, mask), self.weights_bits(params, keep),
                          {"keep": keep}, {"values": flat(params)[mask], **positions(mask)})

    def decode_weights(self, stored: Params, like: Params) -> Params:
        """float32 values scattered to their positions."""
        n = n_of(like)
        out = torch.zeros(n).masked_scatter_(mask_of(stored, n), stored["values"])
        return unflatten_params(out, like)

    def kept(self, c: Compressed) -> int:
        return c.setting["keep"] + sum(v.numel() for v in vectors_of(c.params).values())

    def setting_of(self, c: Compressed) -> int:
        return c.setting["keep"]

    def projection(self, c: Compressed, original: Params):
        """Distillation starts from the kept values; the pruned ones stay zero."""
        masks = {k: (v != 0).float() for k, v in c.params.items()}
        return c.params, lambda t: {k: t[k] * masks[k] for k in t}


register(Pruned("pruned", "pruned"))
register(Pruned("pruned_distilled", "pruned + distilled", uses_selection=True, distil=True))
