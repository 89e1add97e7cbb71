"""The fit step's chunk as hand-written C++ for AVX-512 CPUs (csrc/siren_chunk.cpp).

    chunk = NativeChunk(siren, n)          # NativeUnavailable, with the reason, where it can't
    loss, grads = chunk(x, t, mask, flat)  # flat: the parameters in SirenStep.params' order

Inductor's build of `innr.sirenstep.chunk_grads` calls MKL for every matmul and runs sin, cos and
the backward's products as separate passes over [rows, 64] arrays, so a chunk streams twelve
layers of activations through memory; on one core it reaches ~0.65 of that core's large-matmul
rate (`python -m innr.bench`, the "one core alone" rows). This kernel takes a chunk's rows in
blocks that stay in the core's L2 cache, computes each product in tiles of 6 rows x 64 outputs
held in registers, and applies the bias, sin and cos (sirenstep.sincos's polynomials) in the
forward, and the cos factor and the bias gradient in the backward, to a tile before storing it.
Same gradient within float tolerance (tests/test_fast.py); sequential, so the same bits every
run. Built on first use with the system's C++ compiler (~1 s) into a folder of the temp dir
named by a hash of the source and flags; called through ctypes, which releases the GIL, so
SirenStep's worker threads run chunks side by side.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

from innr.models import Siren

SOURCE = Path(__file__).parent / "csrc" / "siren_chunk.cpp"
FLAGS = ["-O3", "-mavx512f", "-mavx512dq", "-mfma", "-ffp-contract=fast", "-shared", "-fPIC"]
WIDTH = 64  # the kernel's hidden width: four 16-float vectors
MAX_LAYERS = 64
BLOCK = 120  # rows per pass: 26 arrays of 120 x 64 floats (~0.8 MB) stay in a 2 MB L2 cache


class NativeUnavailable(RuntimeError):
    """The kernel cannot run here (no AVX-512, no compiler, another SIREN shape)."""


def unsupported(siren: Siren, device: torch.device) -> str | None:
    """Why the kernel cannot fit `siren` on `device`, or None when it can."""
    widths = {m.linear.out_features for m in siren.net} | {siren.last.in_features}
    if device.type != "cpu":
        return f"it runs on the CPU, not {device.type}"
    if not torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        return f"the CPU has {torch.backends.cpu.get_cpu_capability()}, not AVX-512"
    if widths != {WIDTH} or siren.last.out_features != 1 or len(siren.net) > MAX_LAYERS:
        return f"it is built for width {WIDTH}, one output and at most {MAX_LAYERS} layers"
    return None


@functools.cache
def library() -> ctypes.CDLL:
    """The compiled kernel, built once per source, flags and compiler."""
    compiler = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        raise NativeUnavailable("no C++ compiler (set CXX or install g++)")
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join([compiler, *FLAGS]).encode())
    path = Path(tempfile.gettempdir()) / f"innr-native-{key.hexdigest()[:16]}" / "siren_chunk.so"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")  # renamed when whole: no torn builds
        done = subprocess.run([compiler, *FLAGS, str(SOURCE), "-o", str(partial)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise NativeUnavailable(f"{compiler} failed: {done.stderr.strip()[-500:]}")
        partial.replace(path)
    lib = ctypes.CDLL(str(path))
    ptr, i32 = ctypes.c_void_p, ctypes.c_int
    lib.siren_chunk.argtypes = [i32, i32, i32, ptr, ptr, ptr, ptr, ptr, ctypes.c_float, i32,
                                ptr, ptr]
    lib.siren_chunk.restype = ctypes.c_int
    return lib


class NativeChunk:
    """A chunk's squared-error sum and the gradient of the mean over `n` rows, as one flat
    tensor in SirenStep.params' order (layer weights, layer biases, last weight, last bias)."""

    def __init__(self, siren: Siren, n: int):
        reason = unsupported(siren, siren.last.weight.device)
        if reason is not None:
            raise NativeUnavailable(reason)
        self.lib = library()
        self.in_features = siren.net[0].linear.in_features
        self.layers = len(siren.net)
        self.w0s = torch.tensor([float(m.w0) for m in siren.net], dtype=torch.float32)
        self.two_over_n = 2.0 / n

    def __call__(self, x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor,
                 flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, t, mask = (a.float().contiguous() for a in (x, t, mask))
        grads, loss = torch.empty_like(flat), torch.empty((), dtype=torch.float32)
        if self.lib.siren_chunk(len(x), self.in_features, self.layers, x.data_ptr(),
                                t.data_ptr(), mask.data_ptr(), flat.data_ptr(),
                                self.w0s.data_ptr(), self.two_over_n, BLOCK, grads.data_ptr(),
                                loss.data_ptr()) != 0:
            raise MemoryError("innr.native: no memory for a chunk's buffers")
        return loss, grads
