"""A fast full-batch SIREN step: a hand-written forward and backward over chunks of rows.

    step = SirenStep(siren, opt, coords, targets, compile=True)
    loss = step()  # one Adam step on the MSE; the loss stays a device tensor (no host sync)

Fitting the INNR is 2000 full-batch steps over 62,240 coordinates. Autograd's step streams every
[N, 64] activation through memory several times per layer and spends a third of its time in
torch.sin and torch.cos. Here each chunk of rows runs every layer forward and then backward with
no autograd graph: sin and cos come out of one range reduction (`sincos`, a polynomial that
inductor compiles, with the bias add, into one vectorised loop), the forward keeps w0 cos for the
backward, and the matmuls are oneDNN's on the CPU. A layer is linear + sincos forward and
mul, sum, mm, linear backward; ~80% of the step is matrix multiplication (`python -m innr.bench`).

The gradient is autograd's, summed in another order. Chunks have equal sizes (the coordinates are
padded by fewer rows than there are chunks, and the padding is masked out of the loss), so one
compiled kernel serves every chunk. Each chunk writes its gradient into its own row of a buffer
that is summed in chunk order at the end: on the CPU the chunks run on a pool of threads, each
with one intra-op thread (small matmuls side by side beat each one split over the cores, and a
core taken by another process slows one worker instead of every op), and the result is still
bit-identical run to run. On a GPU one chunk is the whole batch. The module's parameters stay the
source of truth: the step reads them, writes their .grad and calls the optimizer as usual, so
state_dicts and checkpoints are unchanged.
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from torch import nn

from innr.models import Siren

CHUNK = 8192  # rows per chunk on the CPU: of 2k to 16k, the fastest on 2 cores (innr.bench)

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


def _act_poly(z: torch.Tensor, bias: torch.Tensor, cos: torch.Tensor, w0: float) -> None:
    s, c = sincos(z + bias if w0 == 1 else w0 * (z + bias))
    cos.copy_(c if w0 == 1 else w0 * c)
    z.copy_(s)


def _act_eager(z: torch.Tensor, bias: torch.Tensor, cos: torch.Tensor, w0: float) -> None:
    z.add_(bias)
    if w0 != 1:  # w0 = 1 in all but the first layer: skip two passes
        z.mul_(w0)
    torch.cos(z, out=cos)
    z.sin_()
    if w0 != 1:
        cos.mul_(w0)


def compile_act(example: torch.Tensor, w0: float):
    """`act(z, bias, cos)`: z <- sin(w0 (z + bias)), cos <- w0 cos(w0 (z + bias)), for z's shape.

    Traced and handed to inductor directly: a torch.compile'd function costs ~40 us of guards
    per call, and this one is called 12 times per chunk. On the CPU its wrapper is C++, which
    releases the GIL (the Python one holds it: the worker threads would take turns), and a*b + c
    may become one FMA (~15% faster, and closer to the exact value). Falls back to the eager
    pair, with a warning, where inductor cannot build (no C++ compiler, ...).
    """
    from torch.fx.experimental.proxy_tensor import make_fx

    device = example.device
    args = [example.clone(), torch.zeros(example.shape[1], device=device),
            torch.empty_like(example)]
    try:
        with torch._inductor.config.patch({"cpp_wrapper": device.type == "cpu",
                                           "cpp.enable_floating_point_contract_flag": "fast"}):
            traced = make_fx(functools.partial(_act_poly, w0=w0), tracing_mode="fake")(*args)
            kernel = torch._inductor.compile(traced, args)
        kernel(*args)  # build now, outside the timed loop
        return kernel
    except Exception as e:
        warnings.warn(f"compiling the SIREN step failed ({type(e).__name__}: {e}); "
                      "using eager torch.sin/torch.cos", stacklevel=2)
        return functools.partial(_act_eager, w0=w0)


def _onednn_linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, w, None, "none", [], "")


def _mm_linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return torch.mm(x, w.t())


def pick_linear(device: torch.device):
    """`linear(x, w)` = x @ w.T: oneDNN's on the CPU, where it is ~10% faster than MKL's mm at
    [rows, 64] x [64, 64]; torch.mm elsewhere, or where this torch build lacks the op."""
    if device.type == "cpu":
        x, w = torch.linspace(-1, 1, 12).view(3, 4), torch.linspace(-2, 1, 20).view(5, 4)
        try:
            if torch.allclose(_onednn_linear(x, w), x @ w.t()):
                return _onednn_linear
        except (AttributeError, RuntimeError):
            pass
    return _mm_linear


class SirenStep:
    """One full-batch optimizer step on the MSE of `siren(coords)` against `targets`.

    compile: build the sin/cos kernel with inductor (~20 s the first time, cached on disk after);
    chunk: rows per chunk (default CHUNK on the CPU, all rows on a GPU); workers: threads that
    take chunks (default: torch's thread count on the CPU, 1 on a GPU).
    """

    def __init__(self, siren: Siren, opt: torch.optim.Optimizer, coords: torch.Tensor,
                 targets: torch.Tensor, compile: bool = False, chunk: int | None = None,
                 workers: int | None = None):
        device = coords.device
        cpu = device.type == "cpu"
        self.siren, self.opt, self.n = siren, opt, len(coords)
        # equal chunks of at most `chunk` rows; the padding (< one row per chunk) is masked out
        chunks = math.ceil(self.n / min(self.n, chunk or (CHUNK if cpu else self.n)))
        self.chunk = math.ceil(self.n / chunks)
        pad = chunks * self.chunk - self.n
        self.coords = F.pad(coords, (0, 0, 0, pad))
        self.targets = F.pad(targets.reshape(-1, 1), (0, 0, 0, pad))
        self.mask = F.pad(torch.ones_like(self.targets[:self.n]), (0, 0, 0, pad))
        self.layers = [m.linear for m in siren.net]
        self.w0 = [float(m.w0) for m in siren.net]
        L, H = len(self.layers), siren.last.in_features
        # a gradient row's layout: the hidden layers' weights, every bias, then the rest
        self.blocks = {"hidden": (L - 1, H, H), "bias": (L, H), "first": (H, coords.shape[1]),
                       "last_w": tuple(siren.last.weight.shape), "last_b": (1,)}
        size = sum(math.prod(shape) for shape in self.blocks.values())
        # one gradient row per chunk, summed in chunk order: deterministic whatever the threads
        self.parts = torch.empty(chunks, size, device=device)
        self.losses = torch.empty(chunks, device=device)
        self.grad = torch.empty(size, device=device)
        self.shape = (self.chunk, H)
        example = torch.zeros(self.shape, device=device)
        acts = {w0: compile_act(example, w0) if compile else functools.partial(_act_eager, w0=w0)
                for w0 in set(self.w0)}  # one kernel per w0: the constant folds in
        self.acts = [acts[w0] for w0 in self.w0]
        self.linear = pick_linear(device)
        self.workers = min(chunks, workers or (torch.get_num_threads() if cpu else 1))
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self.local = threading.local()

    def _split(self, row: torch.Tensor) -> dict[str, torch.Tensor]:
        sizes = [math.prod(shape) for shape in self.blocks.values()]
        return {name: part.view(shape) for (name, shape), part in
                zip(self.blocks.items(), row.split(sizes), strict=True)}

    def _cos(self) -> torch.Tensor:
        """This thread's stash of every layer's w0 cos, which the backward overwrites with the
        gradient. (The layers' outputs are fresh tensors: oneDNN's linear has no out=.)"""
        cos = getattr(self.local, "cos", None)
        if cos is None:
            if self.pool is not None:
                torch.set_num_threads(1)  # this worker's ops on one core; the pool uses the rest
            cos = self.local.cos = torch.zeros(len(self.layers), *self.shape,
                                               device=self.coords.device)
        return cos

    @torch.no_grad()  # grad mode is per thread: the workers need it too
    def _chunk(self, j: int) -> None:
        """Chunk j forward and backward: its gradient into parts[j], its squared errors' sum
        into losses[j]."""
        cos, rows = self._cos(), slice(j * self.chunk, (j + 1) * self.chunk)
        x, sin = self.coords[rows], []
        h = x
        for i, (lin, act) in enumerate(zip(self.layers, self.acts, strict=True)):
            h = self.linear(h, lin.weight)
            act(h, lin.bias, cos[i])  # h <- sin(w0 (W h + b)); cos[i] <- w0 cos(...)
            sin.append(h)
        last, grad = self.siren.last, self._split(self.parts[j])
        r = torch.addmm(last.bias, h, last.weight.t()).sub_(self.targets[rows])
        r.mul_(self.mask[rows])  # [rows, 1] residuals, 0 on padding
        self.losses[j] = torch.dot(r.view(-1), r.view(-1))
        r.mul_(2 / self.n)  # d mean((out - t)^2) / d out
        torch.mm(r.t(), h, out=grad["last_w"])
        torch.sum(r, dim=0, out=grad["last_b"])
        g = r * last.weight  # d loss / d sin[-1]
        for i in reversed(range(len(self.layers))):
            gz = cos[i].mul_(g)  # d loss / d (W h + b) of layer i, in place of its w0 cos
            torch.sum(gz, dim=0, out=grad["bias"][i])
            if i > 0:
                torch.mm(gz.t(), sin[i - 1], out=grad["hidden"][i - 1])
                g = self.linear(gz, self.weights_t[i])  # gz @ W
        # x^T gz, transposed: MKL is ~6x slower at gz^T x, whose output is only 5 wide
        grad["first"].copy_(torch.mm(x.t(), cos[0]).t())

    @torch.no_grad()
    def grads(self) -> torch.Tensor:
        """Set every parameter's .grad to the full-batch gradient; return the loss (no sync)."""
        self.weights_t = [lin.weight.t().contiguous() for lin in self.layers]
        chunks = range(len(self.parts))
        if self.pool is None:
            for j in chunks:
                self._chunk(j)
        else:
            threads = torch.get_num_threads()
            try:
                list(self.pool.map(self._chunk, chunks))
            finally:  # the workers' setting leaks into the global default
                torch.set_num_threads(threads)
        grad = self._split(torch.sum(self.parts, dim=0, out=self.grad))
        for i, lin in enumerate(self.layers):
            lin.weight.grad = grad["hidden"][i - 1] if i > 0 else grad["first"]
            lin.bias.grad = grad["bias"][i]
        self.siren.last.weight.grad, self.siren.last.bias.grad = grad["last_w"], grad["last_b"]
        return self.losses.sum() / self.n

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
