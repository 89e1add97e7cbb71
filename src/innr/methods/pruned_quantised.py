"""Pruning, then the kept values quantised per channel (innr.quantise) to b-bit codes, b = 1..8
(zeros stay zero; clipping max-abs or MSE-optimal, chosen on validation): b bits a kept value,
their positions (innr.prune) and a float32 scale per channel. One method per b:
`pruned_quantised` (8 bits, its published name) and `pruned_quantised_b1` .. `_b7`.

Stored: codes (the kept values' codes in the order of the weights flattened tensor by tensor;
int8, or bool for 1 bit), NAME/scales (float32, one a channel of tensor NAME) and the positions
(innr.prune.positions).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from innr.coordinates import unflatten_params
from innr.methods import Compressed, Params, register
from innr.methods.pruning import Pruned, n_of
from innr.methods.quantisation import channels_of
from innr.prune import kept_mask, mask_of, positions, pruned_bits
from innr.quantise import CLIPS, as_codes, as_floats, codes
from innr.size import BITS


def pieces(flat: torch.Tensor, like: Params) -> dict[str, torch.Tensor]:
    """A flat tensor over every weight cut into the tensors' shapes (its own dtype kept)."""
    out, start = {}, 0
    for k, p in like.items():
        out[k] = flat[start:start + p.numel()].reshape(p.shape)
        start += p.numel()
    return out


@dataclass(frozen=True)
class PrunedQuantised(Pruned):
    """The `keep` largest |w| as `code_bits`-bit codes, where they are, and the channels'
    scales."""

    code_bits: int = 8
    clip: str = "max"  # innr.quantise.CLIPS

    def choices(self) -> dict[str, tuple]:
        return {"clip": CLIPS}

    def weights_bits(self, params: Params, keep: int) -> int:
        return pruned_bits(n_of(params), keep, self.code_bits) + channels_of(params) * BITS

    def encode_weights(self, params: Params, keep: int) -> Compressed:
        mask = kept_mask(params, keep)
        out, kept_codes, scales = {}, [], {}
        for (k, p), m in zip(params.items(), pieces(mask, params).values(), strict=True):
            q, scale = codes(torch.where(m, p.detach(), 0.0), self.code_bits, self.clip, m)
            out[k] = (q * scale).reshape(p.shape)
            kept_codes.append(q.reshape(-1)[m.reshape(-1)])
            scales[f"{k}/scales"] = scale.reshape(-1)
        stored = {"codes": as_codes(torch.cat(kept_codes), self.code_bits), **scales,
                  **positions(mask)}
        return Compressed(self.name, out, self.weights_bits(params, keep),
                          {"keep": keep, "bits": self.code_bits, "clip": self.clip}, stored)

    def decode_weights(self, stored: Params, like: Params) -> Params:
        """Each kept code times its channel's scale, scattered to its position."""
        n = n_of(like)
        mask = mask_of(stored, n)
        scale_of = torch.cat([stored[f"{k}/scales"][:, None].expand(-1, p[0].numel()).reshape(-1)
                              for k, p in like.items()])
        values = as_floats(stored["codes"]) * scale_of[mask]
        return unflatten_params(torch.zeros(n).masked_scatter_(mask, values), like)

    def kept(self, c: Compressed) -> None:
        return None  # codes: not float32 parameters


LABELS = {1: "pruned + binary", 2: "pruned + ternary"}
register(PrunedQuantised("pruned_quantised", "pruned + int8"))
for b in range(1, 8):
    register(PrunedQuantised(f"pruned_quantised_b{b}", LABELS.get(b, f"pruned + int{b}"),
                             code_bits=b))
