"""The narrow CNN: the same recipe with fewer channels, trained on the data (a reference that
uses data, shown and never judged); its training is the frontier's
(innr.experiments.frontier.Frontier.narrow), one job per point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from innr.architectures import cnn_of
from innr.budget import largest
from innr.methods import Method, register
from innr.params import n_values
from innr.size import BITS, budget_bits

if TYPE_CHECKING:
    from innr.config import Config


def narrow_channels(config: Config, share: float) -> int:
    """The widest CNN of the recipe whose float32 tensors (innr.params: weights and vectors)
    fit `share` of the CNN's (one channel, the narrowest, where none fits)."""
    allowed = budget_bits(share, n_values(cnn_of(config)))
    return largest(lambda c: c == 1 or n_values(cnn_of(config, c)) * BITS <= allowed, 1,
                   config.cnn.channels)


@dataclass(frozen=True)
class NarrowCNN(Method):
    """A CNN of the recipe trained on the data at each budget's width."""

    def run(self, job: Any, points: list[dict]) -> list[dict]:
        return [job.narrow(p) for p in points]


register(NarrowCNN("narrow_cnn", "narrow CNN (uses data)", uses_data=True,
                   batch=("budget", "seed")))
