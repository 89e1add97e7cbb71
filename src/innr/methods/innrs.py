"""The INNRs on the frontier, each as wide as the budget allows (their fits are the frontier's,
innr.experiments.frontier.Frontier.innr, batched over seeds: one job per budget):
- innr_faithful: the original's per-weight SIREN;
- innr_best: the ablation's best variant;
- innr_quantised: the same variant, its predictor stored in `frontier.predictor_bits` a
  parameter and fitted through the rounding (straight-through), hence wider;
- innr_best_b{k}, k in PREDICTOR_BITS: the same at k bits a parameter, the width in the name;
- innr_residual_b{k}, k in RESIDUAL_BITS: the CNN's weights quantised per channel to k bits
  as the `quantised` method stores them (codes and a float32 scale per channel; 1 bit: signs
  times the channel's mean |w|) and the
  best variant's predictor, in RESIDUAL_PREDICTOR_BITS a parameter, fitted to the residual (the
  weights minus their codes' values), so that codes + predictor rebuild the weights. The
  predictor gets what the codes leave of the budget; a point where that is less than `room` of
  the budget does not fit (the k worth having at a budget is chosen on validation).
The k-bit predictors store k-bit codes with one float32 scale per tensor (innr.variants.Padded
says why not per row). The methods of one family at one budget are fitted in one job, all seeds
and bit widths together, each padded to the family's widest (innr.variants.Padded).

Every INNR's predictor covers the weights (dim >= 2) only; its vectors (biases, batch-norm's
tensors) are stored beside it as float32 and charged 32 bits each (innr.target), and a residual's
codes are the weights' alone.

Sizes: an INNR is sized by raw bits. Its width is fixed before the fit from the bits it will
store (predictor codes and scales or float32 parameters, the standardisation and outliers, a
residual's codes and scales); entropy coding (innr.coding) can only make the file smaller, and
the frontier records both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from innr.methods import Method, Params, get, register
from innr.params import weights_of

if TYPE_CHECKING:
    from innr.config import Config

PREDICTOR_BITS = (2, 4, 6, 8)  # innr_best_b{k}
RESIDUAL_BITS = (1, 2, 3, 4)  # innr_residual_b{k}: the CNN's codes; more leave little room
# for a predictor below 25%, where quantisation alone is level with the CNN already
RESIDUAL_PREDICTOR_BITS = 8  # the residual's predictor, as innr_quantised's


@dataclass(frozen=True)
class INNR(Method):
    """An INNR fitted by the frontier; `quantised`: its predictor stored in fewer bits."""

    quantised: bool = False

    def point(self, config: Config) -> dict:
        return {"bits": config.frontier.predictor_bits} if self.quantised else {}

    def run(self, job: Any, points: list[dict]) -> list[dict]:
        return job.innr(points)


@dataclass(frozen=True)
class Coded(INNR):
    """The best variant's predictor in `bits` a parameter; with `residual`, fitted to the residual
    of the CNN's weights quantised per channel to `residual` bits (their codes stored too)."""

    bits: int = 8
    residual: int = 0  # the CNN's codes' bits; 0: an INNR of the weights themselves
    room: float = 0.25  # the least share of the budget a residual's predictor must get

    def base(self, weights: Params) -> Params:
        """What the predictor's output is added to: the weights' codes' values."""
        return get("quantised").encode_weights(weights, self.residual).params

    def codes_bits(self, params: Params) -> int:
        """What the residual's codes and their scales store, in bits (0 without a residual);
        the vectors are the INNR's (innr.target), not the codes'."""
        return (get("quantised").weights_bits(weights_of(params), self.residual)
                if self.residual else 0)

    def codes(self, params: Params) -> dict[str, torch.Tensor]:
        """What the residual's codes store: the `quantised` method's (NAME/codes, NAME/scales)."""
        return get("quantised").encode_weights(weights_of(params), self.residual).stored

    def run(self, job: Any, points: list[dict]) -> list[dict]:
        return job.innr_family(points)


register(INNR("innr_faithful", "INNR, faithful", innr=True, batch=("budget",)))
register(INNR("innr_best", "INNR, best variant", innr=True, uses_selection=True,
              batch=("budget",)))
register(INNR("innr_quantised", "INNR, quantised", innr=True, uses_selection=True,
              batch=("budget",), quantised=True))
for k in PREDICTOR_BITS:
    register(Coded(f"innr_best_b{k}", f"INNR, best variant, {k}-bit", innr=True,
                   uses_selection=True, batch=("budget",), family="innr_best_b", bits=k))
for k in RESIDUAL_BITS:
    register(Coded(f"innr_residual_b{k}", f"INNR of the {k}-bit residual", innr=True,
                   uses_selection=True, batch=("budget",), family="innr_residual_b",
                   bits=RESIDUAL_PREDICTOR_BITS, residual=k))
