"""A fast full-batch SIREN step: a chunk's forward and backward as one compiled function.

    step = SirenStep(siren, opt, coords, targets, compile=True)
    loss = step()  # one Adam step on the MSE; the loss stays a device tensor (no host sync)

Fitting the INNR is 2000 full-batch steps over 62,240 coordinates. Autograd's step streams every
[N, 64] activation through memory several times per layer and spends a third of its time in
torch.sin and torch.cos. Here the rows are cut into chunks, and `chunk_grads` computes a chunk's
squared-error sum and every gradient by hand, with no autograd graph: the forward keeps each
layer's sin and w0 cos, the backward is mul, sum, mm, mm per layer. With `compile`, inductor
traces that function once and compiles it into one C++ call per chunk: sin and cos come from one
range reduction (`sincos`, a polynomial) fused with the bias add, the rest of the elementwise
work fused into a few loops between MKL's matmuls (inductor may recompute cos in the backward
rather than keep it), and the call releases the GIL, so a chunk small enough
for its activations to stay near the core costs no Python time (`python -m innr.bench`).
On a CPU with AVX-512, `compile` uses innr.native's hand-written kernel for the same chunk
instead (the same function in C++, its elementwise work done on the matmuls' register tiles:
faster again); where neither can build, the same function runs eagerly with torch.sin and
torch.cos.

The gradient is autograd's, summed in another order. Chunks have equal sizes (the coordinates are
padded by fewer rows than there are chunks, and the padding is masked out of the loss), so one
compiled function serves every chunk. On the CPU the chunks run on a pool of threads, each with
one intra-op thread (small matmuls side by side beat each one split over the cores), and their
results are summed in chunk order: bit-identical run to run. On a GPU one chunk is the whole
batch. The module's parameters stay the source of truth: the step reads them, writes their .grad
and calls the optimizer as usual, so state_dicts and checkpoints are unchanged.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from torch import nn

from innr.models import Siren
from innr.native import NativeChunk, NativeUnavailable, unsupported

# a*b + c may become one FMA; and no pattern matching, whose mm + bias -> addmm rewrite would
# have MKL copy the bias into every layer's output first (~10% of the step) instead of adding it
# inside the fused sin/cos loop
INDUCTOR = {"cpp.enable_floating_point_contract_flag": "fast", "pattern_matcher": False}
CHUNK = 2048  # rows per chunk on the CPU: of 512 to 8192, the fastest on 2 cores here

# sin r = r + r^3 S(r^2), cos r = 1 + r^2 C(r^2) on |r| <= pi/2: least-squares minimax fits,
# within 6e-9 (relative) and 3e-10 of sin and cos before float32 rounding
_S = (-0.16666659712791443, 0.00833306647837162, -0.00019809608056675643, 2.605793952170643e-06)
_C = (-0.5, 0.04166664183139801, -0.00138884037733078, 2.4761891836533323e-05,
      -2.607719125080621e-07)


def sincos(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(sin x, cos x) from one range reduction; within 2e-7 of torch.sin/cos for |x| < 1e4.

    x = k pi + r with |r| <= pi/2 (pi split in three, Cody & Waite, so that k * part is exact
    for |k| < 2^16), then sin x = (-1)^k sin r and cos x = (-1)^k cos r. Elementwise ops only,
    so inductor emits one vectorised loop; ~2x cheaper than torch.sin + torch.cos.
    """
    k = torch.round(x * (1 / math.pi))
    r = x - k * 3.140625 - k * 9.67502593994140625e-4 - k * 1.509957990978376432e-7
    z = r * r
    s = r + r * z * (_S[0] + z * (_S[1] + z * (_S[2] + z * _S[3])))
    c = 1 + z * (_C[0] + z * (_C[1] + z * (_C[2] + z * (_C[3] + z * _C[4]))))
    # (-1)^k in floats: flipping sign bits instead gives the same bits, but inductor bit-casts
    # through a scalar loop, which made the kernel 4x slower on an AVX-512 machine
    sign = 1 - 2 * (k - 2 * torch.floor(0.5 * k))
    return s * sign, c * sign


def exact_sincos(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.sin(x), torch.cos(x)


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


def compile_chunk(fn: Callable, args: list[torch.Tensor], threads: int) -> Callable:
    """`fn(*args)` traced and handed to inductor directly (a torch.compile'd function costs tens
    of microseconds of guards per call; this one is called once per chunk), built for `threads`
    intra-op threads, with the options in INDUCTOR. On the CPU its wrapper is C++, which releases
    the GIL (the Python one holds it: the pool's threads would take turns). Falls back to the
    eager function with exact sin and cos, with a warning, where inductor cannot build."""
    from torch.fx.experimental.proxy_tensor import make_fx

    cpu = args[0].device.type == "cpu"
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)  # inductor bakes the OpenMP thread count into its loops
        with torch.no_grad(), torch._inductor.config.patch(
                {**INDUCTOR, "cpp_wrapper": cpu}):
            traced = make_fx(functools.partial(fn, sin_cos=sincos), tracing_mode="fake")(*args)
            compiled = torch._inductor.compile(traced, args)
            compiled(*args)  # build now, outside the timed loop
        return compiled
    except Exception as e:
        warnings.warn(f"compiling the SIREN step failed ({type(e).__name__}: {e}); "
                      "using eager torch.sin/torch.cos", stacklevel=2)
        return fn
    finally:
        torch.set_num_threads(before)


class SirenStep:
    """One full-batch optimizer step on the MSE of `siren(coords)` against `targets`.

    compile: the fastest build of the chunk there is: innr.native's kernel on an AVX-512 CPU
    (unless `native` is False), else `chunk_grads` built by inductor (~20 s the first time,
    cached on disk after); chunk: rows per chunk (default CHUNK on the CPU, all rows on a GPU);
    workers: threads that take chunks (default: torch's thread count on the CPU, 1 on a GPU).
    """

    def __init__(self, siren: Siren, opt: torch.optim.Optimizer, coords: torch.Tensor,
                 targets: torch.Tensor, compile: bool = False, chunk: int | None = None,
                 workers: int | None = None, native: bool = True):
        cpu = coords.device.type == "cpu"
        self.siren, self.opt, self.n = siren, opt, len(coords)
        # equal chunks of at most `chunk` rows; the padding (< one row per chunk) is masked out
        self.chunks = math.ceil(self.n / min(self.n, chunk or (CHUNK if cpu else self.n)))
        self.chunk = math.ceil(self.n / self.chunks)
        pad = self.chunks * self.chunk - self.n
        self.coords = F.pad(coords, (0, 0, 0, pad))
        self.targets = F.pad(targets.reshape(-1, 1), (0, 0, 0, pad))
        self.mask = F.pad(torch.ones_like(self.targets[:self.n]), (0, 0, 0, pad))
        layers = [m.linear for m in siren.net]
        self.params = ([lin.weight for lin in layers] + [lin.bias for lin in layers]
                       + [siren.last.weight, siren.last.bias])
        self.workers = min(self.chunks, workers or (torch.get_num_threads() if cpu else 1))
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self.w0s = tuple(float(m.w0) for m in siren.net)
        self.fn = functools.partial(chunk_grads, n=self.n, w0s=self.w0s)
        self.native = compile and native and unsupported(siren, coords.device) is None
        if self.native:
            try:
                self.fn = NativeChunk(siren, self.n)
            except NativeUnavailable as e:
                warnings.warn(f"innr.native's kernel is unavailable ({e}); using inductor",
                              stacklevel=2)
                self.native = False
        if compile and not self.native:
            example = [*self._rows(0), *(p.detach() for p in self.params)]
            self.fn = compile_chunk(self.fn, example, 1 if self.pool else torch.get_num_threads())
        self.args = self._args()

    def _args(self) -> list[torch.Tensor]:
        """The parameters as the chunk function takes them: one flat tensor for the kernel."""
        if self.native:
            return [torch.cat([p.detach().reshape(-1) for p in self.params])]
        return self.params

    def _rows(self, j: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = slice(j * self.chunk, (j + 1) * self.chunk)
        return self.coords[rows], self.targets[rows], self.mask[rows]

    @torch.no_grad()  # grad mode is per thread: the workers need it too
    def _chunk(self, j: int) -> tuple[torch.Tensor, ...]:
        if self.pool is not None and torch.get_num_threads() != 1:
            torch.set_num_threads(1)  # this worker's ops on one core; the pool uses the rest
        return self.fn(*self._rows(j), *self.args)

    def _all_chunks(self) -> list[tuple[torch.Tensor, ...]]:
        """Every chunk's results, in chunk order whichever thread took which chunk."""
        chunks = range(self.chunks)
        if self.pool is None:
            return [self._chunk(j) for j in chunks]
        threads = torch.get_num_threads()
        try:
            return list(self.pool.map(self._chunk, chunks))
        finally:  # the workers' setting leaks into the global default
            torch.set_num_threads(threads)

    @torch.no_grad()
    def grads(self) -> torch.Tensor:
        """Set every parameter's .grad to the full-batch gradient; return the loss (no sync)."""
        self.args = self._args()
        # summed in chunk order: deterministic
        loss, *grads = (torch.stack(p).sum(0) if len(p) > 1 else p[0]
                        for p in zip(*self._all_chunks(), strict=True))
        if self.native:  # one flat gradient
            grads = grads[0].split([p.numel() for p in self.params])
        for param, grad in zip(self.params, grads, strict=True):
            param.grad = grad.view_as(param)
        return loss / self.n

    def __call__(self) -> torch.Tensor:
        loss = self.grads()
        self.opt.step()
        return loss


def autograd_step(siren: nn.Module, opt: torch.optim.Optimizer, coords: torch.Tensor,
                  targets: torch.Tensor):
    """The reference: the original's loop with autograd (zero_grad, forward, MSE, backward)."""
    def step() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(siren(coords).squeeze(-1), targets)
        loss.backward()
        opt.step()
        return loss.detach()

    return step
