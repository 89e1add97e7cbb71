"""Post-training quantisation: per output channel, symmetric (innr.quantise), b bits per weight
(the most of 8, 4, 3, 2 that fit) and a float32 scale per channel; optionally a float32 mean
correction per channel (the weights' mean restored after rounding: a data-free stand-in for bias
correction, which needs biases this CNN does not have); and the same, distilled
(innr.distil) at the bit width it chose."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from innr.methods import Compressed, Compression, Params, register
from innr.quantise import straight_through, symmetric
from innr.size import BITS

BIT_WIDTHS = (2, 3, 4, 8)  # the settings, smallest first


def channels_of(params: Params) -> int:
    """Output channels over every tensor (dim 0): one scale each."""
    return sum(p.shape[0] for p in params.values())


def mean_corrected(p: torch.Tensor, bits: int) -> torch.Tensor:
    """symmetric(p, bits) per channel, each channel's mean then restored."""
    w = p.detach().reshape(p.shape[0], -1)
    q = symmetric(p.detach(), bits).reshape(w.shape)
    return (q + (w - q).mean(1, keepdim=True)).reshape(p.shape)


@dataclass(frozen=True)
class Quantised(Compression):
    """b-bit codes, a float32 scale per channel (and a float32 mean, with `mean_correction`)."""

    mean_correction: bool = False

    def settings(self, params: Params) -> tuple[int, ...]:
        return BIT_WIDTHS

    def bits(self, params: Params, bits: int) -> int:
        per_channel = BITS * (2 if self.mean_correction else 1)
        return sum(p.numel() for p in params.values()) * bits + channels_of(params) * per_channel

    def encode(self, params: Params, bits: int) -> Compressed:
        rounded = mean_corrected if self.mean_correction else symmetric
        return Compressed(self.name, {k: rounded(p.detach(), bits) for k, p in params.items()},
                          self.bits(params, bits), {"bits": bits})

    def decoder(self, c: Compressed, like: Params):
        """int codes times their channel's scale (plus its mean)."""
        shapes = {k: v.shape for k, v in like.items()}
        codes = {k: torch.zeros(s[0], math.prod(s[1:]), dtype=torch.int8)
                 for k, s in shapes.items()}
        scales = {k: torch.ones(s[0], 1) for k, s in shapes.items()}
        if self.mean_correction:
            return lambda: {k: (codes[k].float() * scales[k] + scales[k]).view(shapes[k])
                            for k in shapes}
        return lambda: {k: (codes[k].float() * scales[k]).view(shapes[k]) for k in shapes}

    def projection(self, c: Compressed, original: Params):
        """Distillation starts from the CNN's weights, rounded to the chosen bits forward and
        passed straight through backward."""
        bits = c.setting["bits"]
        return original, lambda t: {k: straight_through(v, bits) for k, v in t.items()}


register(Quantised("quantised", "quantised"))
register(Quantised("quantised_mean", "quantised + means", mean_correction=True))
register(Quantised("quantised_distilled", "quantised + distilled", uses_selection=True,
                   distil=True))
