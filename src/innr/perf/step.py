"""The chunked full-batch SIREN step: rows in chunks, each chunk's gradient by hand (see
innr.perf for the design and the builds)."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from innr.perf.native import NativeChunk, NativeUnavailable, unsupported
from innr.perf.sincos import exact_sincos, sincos

if TYPE_CHECKING:  # only the SIREN's shape is read: the speed layer imports no science
    from innr.predictors.siren import Siren

BUILDS = ("eager", "inductor", "native", "compiled")  # "compiled": the best of native, inductor
# Rows per chunk on the CPU: small enough for a chunk's activations to stay near its core,
# large enough that each thin matmul amortises its call.
CHUNK = 2048
# Options for inductor: a*b + c may become one FMA; no pattern matching, whose mm + bias ->
# addmm rewrite has MKL copy the bias into every output before the product instead of adding
# it inside the fused sin/cos loop.
INDUCTOR = {"cpp.enable_floating_point_contract_flag": "fast", "pattern_matcher": False}

def chunk_grads(x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor, *params: torch.Tensor,
                n: int, w0s: tuple[float, ...], sin_cos=exact_sincos) -> tuple[torch.Tensor, ...]:
    """A chunk's squared-error sum, then d mean-squared-error / d each parameter over its rows.

    params: the SIREN layers' weights, their biases, then the last layer's weight and bias (the
    gradients come back in that order); t: [rows, 1] targets; mask: 1 on real rows, 0 on padding;
    n: rows in the whole batch (the mean's denominator).
    """
    layers = len(w0s)
    weights, biases = params[:layers], params[layers:2 * layers]
    last_w, last_b = params[2 * layers:]
    h, sins, coss = x, [], []
    for w, b, w0 in zip(weights, biases, w0s, strict=True):
        z = h @ w.t() + b
        s, c = sin_cos(z if w0 == 1 else w0 * z)  # w0 = 1 in all but the first layer
        sins.append(s)
        coss.append(c if w0 == 1 else w0 * c)  # d sin(w0 z) / dz
        h = s
    r = (h @ last_w.t() + last_b - t) * mask  # [rows, 1] residuals, 0 on padding
    loss = (r * r).sum()
    r = r * (2 / n)  # d mean((out - t)^2) / d out
    grad_w, grad_b = [None] * layers, [None] * layers
    g = r @ last_w  # d loss / d sin of the last hidden layer
    for i in reversed(range(layers)):
        gz = coss[i] * g  # d loss / d (W h + b) of layer i
        grad_b[i] = gz.sum(0)
        grad_w[i] = gz.t() @ (sins[i - 1] if i > 0 else x)
        if i > 0:
            g = gz @ weights[i]
    return (loss, *grad_w, *grad_b, r.t() @ h, r.sum(0))


def compile_chunk(fn: Callable, args: Sequence[torch.Tensor], threads: int) -> Callable:
    """`fn(*args)` traced and compiled by inductor for `threads` intra-op threads.

    Handed to inductor directly, not through torch.compile, whose guards cost more per call
    than a chunk's work; on the CPU with a C++ wrapper, which releases the GIL so that the
    pool's threads run side by side. Where inductor cannot build, returns `fn` (eager, exact sin
    and cos) with a warning.
    """
    from torch.fx.experimental.proxy_tensor import make_fx

    cpu = args[0].device.type == "cpu"
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)  # inductor bakes the OpenMP thread count into its loops
        with torch.no_grad(), torch._inductor.config.patch({**INDUCTOR, "cpp_wrapper": cpu}):
            traced = make_fx(functools.partial(fn, sin_cos=sincos), tracing_mode="fake")(*args)
            compiled = torch._inductor.compile(traced, list(args))
            compiled(*args)  # build now, not inside the first timed step
        return compiled
    except Exception as e:
        warnings.warn(f"compiling the SIREN step failed ({type(e).__name__}: {e}); "
                      "using eager torch.sin/torch.cos", stacklevel=2)
        return fn
    finally:
        torch.set_num_threads(before)


class RowChunks:
    """Rows cut into equal chunks, and a pool of threads that maps a function over them.

    Equal chunks of at most `size` rows: the rows are padded by fewer rows than there are
    chunks, and `mask` is 0 on the padding, so one compiled function serves every chunk.
    `map` returns the chunks' results in chunk order whichever thread took which chunk.
    """

    def __init__(self, coords: torch.Tensor, targets: torch.Tensor, size: int,
                 workers: int):
        self.n = len(coords)
        self.count = math.ceil(self.n / min(self.n, size))
        self.size = math.ceil(self.n / self.count)
        pad = self.count * self.size - self.n
        self.coords = F.pad(coords, (0, 0, 0, pad))
        self.targets = F.pad(targets.reshape(-1, 1), (0, 0, 0, pad))
        self.mask = F.pad(torch.ones_like(self.targets[:self.n]), (0, 0, 0, pad))
        self.workers = min(self.count, workers)
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None

    def rows(self, j: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Chunk j's coordinates [size, dims], targets [size, 1] and mask [size, 1]."""
        rows = slice(j * self.size, (j + 1) * self.size)
        return self.coords[rows], self.targets[rows], self.mask[rows]

    @torch.no_grad()  # grad mode is per thread: the workers need it too
    def run(self, fn: Callable, j: int, *args) -> tuple[torch.Tensor, ...]:
        """fn(*rows(j), *args) on this thread; a pool's worker uses one intra-op thread."""
        if self.pool is not None and torch.get_num_threads() != 1:
            torch.set_num_threads(1)  # small matmuls side by side beat each one split
        return fn(*self.rows(j), *args)

    def map(self, fn: Callable, *args) -> list[tuple[torch.Tensor, ...]]:
        """fn(*rows(j), *args) for every chunk j, in chunk order."""
        chunks = range(self.count)
        if self.pool is None:
            return [self.run(fn, j, *args) for j in chunks]
        threads = torch.get_num_threads()
        try:
            return list(self.pool.map(lambda j: self.run(fn, j, *args), chunks))
        finally:  # the workers' setting leaks into the global default
            torch.set_num_threads(threads)


def chunk_params(siren: Siren) -> list[torch.Tensor]:
    """The SIREN's parameters in the order the chunk functions take them: the sine layers'
    weights, their biases, then the last layer's weight and bias."""
    layers = [m.linear for m in siren.net]
    return ([lin.weight for lin in layers] + [lin.bias for lin in layers]
            + [siren.last.weight, siren.last.bias])


def _pick_build(build: str, siren: Siren, device: torch.device) -> str:
    """The build that will run: "compiled" resolves to "native" where it can run."""
    if build not in BUILDS:
        raise ValueError(f"unknown SIREN step build {build!r}; use one of {BUILDS}")
    if build == "compiled":
        return "native" if unsupported(siren, device) is None else "inductor"
    return build


class SirenStep:
    """One full-batch optimizer step on the MSE of `siren(coords)` against `targets`.

    build: see innr.perf ("eager", "inductor", "native" or "compiled"); `self.build` is the one
    that runs after fallbacks. chunk: rows per chunk (CHUNK on the CPU, all rows on a GPU);
    workers: threads that take chunks (torch's thread count on the CPU, 1 on a GPU). The
    module's parameters stay the source of truth: the step reads them, writes their .grad and
    calls the optimizer, so state_dicts and checkpoints are those of an autograd fit.
    """

    def __init__(self, siren: Siren, opt: torch.optim.Optimizer, coords: torch.Tensor,
                 targets: torch.Tensor, build: str = "eager", chunk: int | None = None,
                 workers: int | None = None):
        cpu = coords.device.type == "cpu"
        self.siren, self.opt, self.n = siren, opt, len(coords)
        self.chunks = RowChunks(coords, targets, chunk or (CHUNK if cpu else self.n),
                                workers or (torch.get_num_threads() if cpu else 1))
        self.params = chunk_params(siren)
        self.w0s = tuple(float(m.w0) for m in siren.net)
        self.build = _pick_build(build, siren, coords.device)
        eager = self.fn = functools.partial(chunk_grads, n=self.n, w0s=self.w0s)
        if self.build == "native":
            try:
                self.fn = NativeChunk(siren, self.n)
            except NativeUnavailable as e:
                warnings.warn(f"innr.perf.native's kernel is unavailable ({e}); using inductor",
                              stacklevel=2)
                self.build = "inductor"
        if self.build == "inductor":
            example = [*self.chunks.rows(0), *(p.detach() for p in self.params)]
            threads = 1 if self.chunks.pool else torch.get_num_threads()
            self.fn = compile_chunk(eager, example, threads)
            if self.fn is eager:  # inductor could not build it
                self.build = "eager"

    def chunk_args(self) -> list[torch.Tensor]:
        """The parameters as the chunk function takes them: one flat tensor for the kernel."""
        if self.build == "native":
            return [torch.cat([p.detach().reshape(-1) for p in self.params])]
        return self.params

    @torch.no_grad()
    def grads(self) -> torch.Tensor:
        """Set every parameter's .grad to the full-batch gradient; return the loss (no sync)."""
        per_chunk = self.chunks.map(self.fn, *self.chunk_args())
        loss, *grads = (torch.stack(p).sum(0) if len(p) > 1 else p[0]  # chunk order
                        for p in zip(*per_chunk, strict=True))
        if self.build == "native":  # one flat gradient
            grads = grads[0].split([p.numel() for p in self.params])
        for param, grad in zip(self.params, grads, strict=True):
            param.grad = grad.view_as(param)
        return loss / self.n

    def __call__(self) -> torch.Tensor:
        loss = self.grads()
        self.opt.step()
        return loss
