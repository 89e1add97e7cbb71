"""The fit step's chunk as hand-written C++ for AVX-512 CPUs (csrc/siren_chunk.cpp).

    chunk = NativeChunk(siren, n)          # NativeUnavailable, with the reason, where it can't
    loss, grads = chunk(x, t, mask, flat)  # flat: the parameters in SirenStep.params' order

The same function as innr.perf.step.chunk_grads (see innr.perf for the design). Sequential
within a chunk, so the same bits every run. Built on first use with the system's C++ compiler
into a folder of the temp dir named by a hash of the source, flags and constants (the sin/cos
polynomial of innr.perf.sincos, passed as preprocessor definitions so that the two builds cannot
drift apart); called through ctypes, which releases the GIL, so SirenStep's worker threads run
chunks side by side.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from innr.perf.sincos import COS_COEFFICIENTS, PI_PARTS, SIN_COEFFICIENTS

if TYPE_CHECKING:  # only the SIREN's shape is read: the speed layer imports no science
    from innr.predictors.siren import Siren

SOURCE = Path(__file__).parent / "csrc" / "siren_chunk.cpp"
FLAGS = ["-O3", "-mavx512f", "-mavx512dq", "-mfma", "-ffp-contract=fast", "-shared", "-fPIC"]
WIDTH = 64  # the kernel's hidden width: four 16-float vectors
MAX_LAYERS = 64
# Rows per pass: the pass's 2 * layers + 2 arrays of BLOCK x 64 floats stay in a core's L2
# cache (0.8 MB for the original's 12 layers, under the 1-2 MB of current x86 cores).
BLOCK = 120


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


def defines() -> list[str]:
    """innr.perf.sincos's constants as -D flags; the kernel casts each to float, as torch does
    with a Python scalar in a float32 op."""
    values = {"INNR_INV_PI": 1 / math.pi,
              **{f"INNR_PI{i}": v for i, v in enumerate(PI_PARTS)},
              **{f"INNR_S{i}": v for i, v in enumerate(SIN_COEFFICIENTS)},
              **{f"INNR_C{i}": v for i, v in enumerate(COS_COEFFICIENTS)}}
    return [f"-D{name}={value!r}" for name, value in values.items()]


@functools.cache
def library() -> ctypes.CDLL:
    """The compiled kernel, built once per source, flags, constants and compiler."""
    compiler = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        raise NativeUnavailable("no C++ compiler (set CXX or install g++)")
    flags = [*FLAGS, *defines()]
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join([compiler, *flags]).encode())
    path = Path(tempfile.gettempdir()) / f"innr-native-{key.hexdigest()[:16]}" / "siren_chunk.so"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")  # renamed when whole: no torn builds
        build = subprocess.run([compiler, *flags, str(SOURCE), "-o", str(partial)],
                               capture_output=True, text=True)
        if build.returncode != 0:
            raise NativeUnavailable(f"{compiler} failed: {build.stderr.strip()[-500:]}")
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
            raise MemoryError("innr.perf.native: no memory for a chunk's buffers")
        return loss, grads
