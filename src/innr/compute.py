"""How much of this machine a run uses: floating-point work counted from shapes, the machine's
float32 matmul rate, and the share of that rate a stage reached.

Work is counted with torch.utils.flop_counter (matmuls and convolutions, forward and backward;
element-wise work is not counted, so a share is a lower bound) on a copy of the network on the
meta device: one representative batch or step per shape, multiplied by how many ran. Nothing is
computed for real under the counter, no random stream is drawn, and no timed work runs under it.
The loops that do the work add it to METER (`add`); innr.experiments.workbench.Clock reads the
meter at a stage's start and end, so a results file records the work done in its own stage, and
the rate measured once per process (`start`) that its share is taken of.
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

META = torch.device("meta")
MATMUL_SIDE = {"cpu": 2048, "cuda": 8192}  # the benchmark's square size: ~50 ms on a few cores
MATMUL_REPEATS = 5  # timed repeats after one warm-up; the fastest counts (the machine's rate)


def count(work: Callable[[], object]) -> int:
    """The floating-point operations of `work()` as FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter:
        work()
    return counter.get_total_flops()


def on_meta(module: nn.Module) -> nn.Module:
    """A copy of `module` on the meta device, parameters frozen: shapes only, no data."""
    return copy.deepcopy(module).to(META).requires_grad_(False)


def built_on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """`build()` made on the meta device, the random streams untouched (its init draws none)."""
    with torch.random.fork_rng(devices=[]), META:
        return build().requires_grad_(False)


def _images(shape: tuple[int, ...], grad: bool) -> torch.Tensor:
    return torch.empty((1, *shape), device=META, requires_grad=grad)


def forward_flops(network: nn.Module, shape: tuple[int, ...]) -> int:
    """One image's forward pass through `network` (an input of `shape`, without the batch)."""
    net = on_meta(network)
    return count(lambda: net(_images(shape, False)))


def input_gradient_flops(network: nn.Module, shape: tuple[int, ...]) -> int:
    """One image's forward pass and the cross-entropy's gradient w.r.t. the input (FGSM)."""
    net = on_meta(network)

    def work() -> None:
        x = _images(shape, True)
        F.cross_entropy(net(x), torch.zeros(1, dtype=torch.long, device=META)).backward()
    return count(work)


def training_flops(network: nn.Module, shape: tuple[int, ...]) -> int:
    """One image's forward and backward pass (gradients of every parameter) in training."""
    net = on_meta(network).requires_grad_(True)

    def work() -> None:
        out = net(_images(shape, False))
        F.cross_entropy(out, torch.zeros(1, dtype=torch.long, device=META)).backward()
    return count(work)


def fit_step_flops(predictor: nn.Module, rows: int, dim_in: int) -> int:
    """One full step of fitting `predictor` to `rows` coordinates of `dim_in` axes (MSE)."""
    net = on_meta(predictor).requires_grad_(True)

    def work() -> None:
        out = net(torch.empty((rows, dim_in), device=META))
        F.mse_loss(out, torch.zeros_like(out)).backward()
    return count(work)


class Counted:
    """A network whose calls count their work: a forward pass per image, or with the input
    requiring a gradient, the forward and backward pass to it (FGSM's). `network` is a module of
    the same architecture (the calls may run other weights through it)."""

    def __init__(self, model: Callable[[torch.Tensor], torch.Tensor], network: nn.Module,
                 shape: tuple[int, ...]):
        self.model = model
        self.forward, self.gradient = (forward_flops(network, shape),
                                       input_gradient_flops(network, shape))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        add(len(x) * (self.gradient if x.requires_grad else self.forward))
        return self.model(x)


# --- the machine's rate and the meter ---------------------------------------------------------

def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@functools.cache
def matmul_rate(device: torch.device) -> dict:
    """This machine's float32 matmul rate on `device`: a square matmul of a fixed size, the
    fastest of a few repeats after a warm-up (measured once per process and device)."""
    n = MATMUL_SIDE.get(device.type, MATMUL_SIDE["cpu"])
    g = torch.Generator().manual_seed(0)  # its own stream: the run's draws are untouched
    a, b = (torch.rand(n, n, generator=g).to(device) for _ in range(2))
    best = float("inf")
    for i in range(MATMUL_REPEATS + 1):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        if i:
            best = min(best, time.perf_counter() - t0)
    return {"side": n, "seconds": best, "flops_per_second": 2 * n ** 3 / best,
            "threads": torch.get_num_threads(), "device": str(device)}


class Meter:
    """The work counted in this process so far, and the rate it is measured against."""

    def __init__(self):
        self.flops, self.rate = 0, None

    def add(self, flops: int) -> None:
        self.flops += int(flops)


METER = Meter()


def add(flops: int) -> None:
    """Count `flops` done just now (by the loop that did them)."""
    METER.add(flops)


def start(device: torch.device | None) -> dict:
    """Measure the matmul rate of `device` (once per process; None: the CPU, where tensors are
    made by default) and measure the run against it."""
    METER.rate = matmul_rate(torch.device(device or "cpu"))
    return METER.rate


def share(flops: float | None, seconds: float | None, rate: float | None) -> float | None:
    """The share of the matmul rate reached: flops / (seconds * rate); None when not known."""
    if not flops or not seconds or not rate:
        return None
    return flops / (seconds * rate)


def record(flops: int, seconds: float) -> dict:
    """What a results file records of a stage's compute (innr.experiments.workbench.Clock)."""
    rate = METER.rate and METER.rate["flops_per_second"]
    return {"flops": flops, "matmul_flops_per_second": rate,
            "compute_share": share(flops, seconds, rate)}


def whole(stages: list[tuple[float, float, float]]) -> float | None:
    """The whole run's share from its stages' (flops, seconds, rate): all the work over what
    the matmul rate would do in all the time (the stages' shares weighted by their wall times,
    where they ran at one rate)."""
    stages = [s for s in stages if s[0] and s[1] and s[2]]
    if not stages:
        return None
    return sum(f for f, _, _ in stages) / sum(t * r for _, t, r in stages)
