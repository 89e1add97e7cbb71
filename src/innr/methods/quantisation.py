"""Post-training quantisation, per output channel (innr.quantise): b bits a weight, b = 1..8
(the most that fit; 1 bit binary, 2 bits ternary), and a float32 scale per channel, max-abs or
MSE-optimal clipping (`clip`, chosen on validation); optionally a float32 mean correction per
channel (the weights' mean restored after rounding: a data-free stand-in for bias correction,
which would change the biases, where every method stores the vectors as they are); and the
same, distilled (innr.distil) at the bit width it chose.

Stored, per tensor NAME: NAME/codes (int8, or bool for 1 bit: True is +1), NAME/scales (float32,
one a channel) and, with the mean correction, NAME/means (float32). Raw bits count b a code (so a
ternary code is 2 bits); the coded file (innr.coding) charges what the entropy coder needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from innr.coding import parts, prefixed
from innr.methods import Compressed, Compression, Params, register
from innr.quantise import CLIPS, dequantised, quantised, straight_through
from innr.size import BITS

BIT_WIDTHS = tuple(range(1, 9))  # the settings, smallest first


def channels_of(params: Params) -> int:
    """Output channels over every tensor (dim 0): one scale each."""
    return sum(p.shape[0] for p in params.values())


@dataclass(frozen=True)
class Quantised(Compression):
    """b-bit codes, a float32 scale per channel (and a float32 mean, with `mean_correction`)."""

    mean_correction: bool = False
    clip: str = "max"  # innr.quantise.CLIPS: max-abs or MSE-optimal scales

    def choices(self) -> dict[str, tuple]:
        return {"clip": CLIPS}

    def settings(self, params: Params) -> tuple[int, ...]:
        return BIT_WIDTHS

    def weights_bits(self, params: Params, bits: int) -> int:
        per_channel = BITS * (2 if self.mean_correction else 1)
        return sum(p.numel() for p in params.values()) * bits + channels_of(params) * per_channel

    def encode_weights(self, params: Params, bits: int) -> Compressed:
        out, stored = {}, {}
        for k, p in params.items():
            out[k], parts_of_k = quantised(p, bits, self.clip)
            if self.mean_correction:  # each channel's mean restored after rounding
                w, q = p.detach().reshape(p.shape[0], -1), out[k].reshape(p.shape[0], -1)
                means = (w - q).mean(1)
                out[k] = (q + means[:, None]).reshape(p.shape)
                parts_of_k["means"] = means
            stored.update(prefixed(k, parts_of_k))
        return Compressed(self.name, out, self.weights_bits(params, bits),
                          {"bits": bits, "clip": self.clip}, stored)

    def decode_weights(self, stored: Params, like: Params) -> Params:
        """int codes times their channel's scale (plus its mean)."""
        out = {}
        for k, p in like.items():
            mine = parts(stored, k)
            out[k] = dequantised(mine)
            if self.mean_correction:
                out[k] = (out[k].reshape(p.shape[0], -1) + mine["means"][:, None]
                          ).reshape(p.shape)
        return out

    def setting_of(self, c: Compressed) -> int:
        return c.setting["bits"]

    def projection(self, c: Compressed, original: Params):
        """Distillation starts from the CNN's weights, rounded to the chosen bits forward and
        passed straight through backward."""
        bits = c.setting["bits"]
        return original, lambda t: {k: straight_through(v, bits, clip=self.clip)
                                    for k, v in t.items()}


register(Quantised("quantised", "quantised"))
register(Quantised("quantised_mean", "quantised + means", mean_correction=True))
register(Quantised("quantised_distilled", "quantised + distilled", uses_selection=True,
                   distil=True))
