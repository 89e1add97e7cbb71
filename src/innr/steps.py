"""The step backends of the INNR fit: how one optimizer step computes its gradient.

- "autograd": the reference, the original's loop (zero_grad, forward, MSE, backward, Adam);
- innr.perf's chunked step ("eager", "inductor", "native", "compiled"): the same gradient
  written out by hand, for one SIREN with one output fitted full batch (the faithful INNR);
- innr.variants.reconstruction_step: predictors of many networks at once (vmap), any variant.
`make_step` picks the first two by name (INNRConfig.step); every perf build is held to the
autograd step by tests/test_perf.py and tests/test_native.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite."""


class AutogradStep:
    """The reference step: the original's loop (zero_grad, forward, MSE, backward, Adam step).

    innr.perf's steps compute the same gradient faster and are tested against this one.
    """

    build = "autograd"

    def __init__(self, siren: nn.Module, opt: torch.optim.Optimizer, coords: torch.Tensor,
                 targets: torch.Tensor):
        self.siren, self.opt, self.coords, self.targets = siren, opt, coords, targets

    def __call__(self) -> torch.Tensor:
        """One step; returns the loss as a device tensor (no host sync)."""
        self.opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(self.siren(self.coords).squeeze(-1), self.targets)
        loss.backward()
        self.opt.step()
        return loss.detach()


def make_step(siren: nn.Module, opt: torch.optim.Optimizer, coords: torch.Tensor,
              targets: torch.Tensor, kind: str):
    """One full-batch step on the MSE as INNRConfig.step says: the autograd reference, or
    innr.perf's chunked step in one of its builds (`.build` says which ran)."""
    if kind == "autograd":
        return AutogradStep(siren, opt, coords, targets)
    from innr.perf import SirenStep  # the speed layer: imported only where a fit runs

    return SirenStep(siren, opt, coords, targets, build=kind)
