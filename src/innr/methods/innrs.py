"""The INNRs on the frontier, each as wide as the budget allows (their fits are the frontier's,
innr.experiments.frontier.Frontier.innr, batched over seeds: one job per budget):
- innr_faithful: the original's per-weight SIREN;
- innr_best: the ablation's best variant;
- innr_quantised: the same variant, its predictor stored in `frontier.predictor_bits` a
  parameter and fitted through the rounding (straight-through), hence wider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from innr.methods import Method, register

if TYPE_CHECKING:
    from innr.config import Config


@dataclass(frozen=True)
class INNR(Method):
    """An INNR fitted by the frontier; `quantised`: its predictor stored in fewer bits."""

    quantised: bool = False

    def point(self, config: Config) -> dict:
        return {"bits": config.frontier.predictor_bits} if self.quantised else {}

    def run(self, job: Any, points: list[dict]) -> list[dict]:
        return job.innr(points)


register(INNR("innr_faithful", "INNR, faithful", innr=True, batch=("budget",)))
register(INNR("innr_best", "INNR, best variant", innr=True, uses_selection=True,
              batch=("budget",)))
register(INNR("innr_quantised", "INNR, quantised", innr=True, uses_selection=True,
              batch=("budget",), quantised=True))
