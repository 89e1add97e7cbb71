"""What an INNR stores, in bits: every budget in the repository is counted here.

A parameter is 32 bits wherever budgets are counted (the CNN's weights and the predictor's
parameters are float32; innr.compress counts another model's weights in their own dtype's bits,
`weight_bits`). Beside the predictor an INNR stores its standardisation (a mean and a
std), any weight kept apart as an outlier (its float32 value and its index among the N weights)
and any ordering that must be known to undo a permutation (none here: innr.permutations keeps
only the orderings that preserve the network's function, which need not be undone).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

BITS = 32  # one float32 parameter


def count_params(model: nn.Module) -> int:
    """A network's parameter count."""
    return sum(p.numel() for p in model.parameters())


def index_bits(n: int) -> int:
    """Bits to name one of n positions."""
    return max(1, math.ceil(math.log2(n)))


def side_bits(n_weights: int, n_outliers: int) -> int:
    """Bits stored beside the predictor: the standardisation and the outliers."""
    return 2 * BITS + n_outliers * (BITS + index_bits(n_weights))


def budget_bits(share: float, n_weights: int, weight_bits: int = BITS) -> int:
    """The bits allowed at `share` of the network's weights (`weight_bits` each: float32's)."""
    return math.floor(share * n_weights * weight_bits)


def predictor_budget(share: float, n_weights: int, n_outliers: int = 0,
                     weight_bits: int = BITS, kept_bits: int = 0) -> int:
    """Parameters left for the predictor at `share` of the weights, once the side bits and
    `kept_bits` (tensors stored as they are: the vectors, innr.params) are paid."""
    left = (budget_bits(share, n_weights, weight_bits) - side_bits(n_weights, n_outliers)
            - kept_bits)
    if left < BITS:
        raise ValueError(f"a budget of {share:.1%} of {n_weights} weights leaves nothing for the "
                         f"predictor after {n_outliers} outliers")
    return left // BITS
