"""The step backends of the INNR fit: how one optimizer step computes its gradient.

- "autograd": the reference, the original's loop (zero_grad, forward, MSE, backward, Adam);
- innr.perf's chunked step ("eager", "inductor", "native", "compiled"): the same gradient
  written out by hand, for one SIREN with one output fitted full batch (the faithful INNR);
- innr.variants.reconstruction_step: predictors of many networks at once (vmap), any variant.
`make_step` picks the first two by name (INNRConfig.step); every perf build is held to the
autograd step by tests/test_perf.py and tests/test_native.py. `run_steps` is the one loop that
drives any of them (and the distillation steps of innr.distil).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def run_steps(step: Callable[[], torch.Tensor], steps: int, every: Sequence[int],
              logged: Callable[[int, torch.Tensor], None], *, seeds: Sequence[int], stage: str,
              hint: str, done: int = 0, schedule=None, progress=None) -> None:
    """Steps done+1..steps of `step()`, which returns its loss on the device: a scalar, or [M]
    one per network of `seeds`. The losses are read back once per block of steps that ends at
    a multiple of any of `every` or at the last step (the loop waits on the device only there),
    checked finite, and handed to `logged(last step of the block, losses [block, ...])`.
    A non-finite loss closes `progress` and raises DivergenceError naming the seeds and step."""
    while done < steps:
        stop = min(steps, *((done // e + 1) * e for e in every))
        losses = []
        for _ in range(done, stop):
            losses.append(step())
            if schedule is not None:
                schedule.step()
        block = torch.stack(losses).cpu()
        finite = block.isfinite().reshape(len(block), -1)
        if not finite.all():
            row = int(finite.all(1).logical_not().nonzero()[0])
            bad = [s for s, ok in zip(seeds, finite[row].tolist(), strict=True) if not ok]
            who = f"seed {seeds[0]}" if block.dim() == 1 else f"seeds {bad}"
            if progress is not None:
                progress.close("stopped")
            raise DivergenceError(f"{who}: {stage} loss became non-finite at step "
                                  f"{done + row + 1}; {hint}")
        logged(stop, block)
        done = stop
