"""The one place that picks the device, seeds everything and describes the machine."""

from __future__ import annotations

import ctypes
import functools
import json
import os
import platform
import random
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from innr.config import ConfigError
from innr.paths import REPO_ROOT

# environment variables that steer the math libraries' choice of kernels (and so the rounding)
MATH_ENV = ("MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE", "ONEDNN_MAX_CPU_ISA",
            "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE")


def pick_device(name: str, allow_tf32: bool = False) -> torch.device:
    """A config's device (innr.config.DEVICES): "auto" -> CUDA when present, else CPU; "cuda"
    without a GPU is an error."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but no CUDA GPU is visible; use 'auto' or 'cpu'")
    if name == "cuda":
        # fidelity first: full float32 unless the config asks for TF32
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32
        torch.backends.cudnn.allow_tf32 = allow_tf32
    return torch.device(name)


def results_device(root: Path) -> str | None:
    """The kind of device ("cpu", "cuda") the results under `root` (a config's results folder)
    were made on, as the first results file that records one says; None when none does."""
    for path in sorted(root.glob("*/*.json"), key=lambda p: p.stat().st_size):
        try:
            made = json.loads(path.read_text()).get("provenance", {}).get("device")
        except (OSError, ValueError, AttributeError):
            continue
        if made:
            return torch.device(made).type
    return None


def check_results_device(root: Path, device: torch.device) -> None:
    """Refuse (ConfigError, one line) to add results made on `device` to a folder of results
    made on another kind of device: a GPU's numbers round differently, so CPU and GPU results
    never mix (nor do their cached networks)."""
    made = results_device(root)
    if made is not None and made != device.type:
        raise ConfigError(f"{root} holds results made on {made}, and this run is on "
                          f"{device.type}: give it another results folder (--results DIR)")


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep freed blocks for reuse instead of returning them to the kernel.

    The fit allocates and frees megabyte buffers (a matmul's output, a chunk's activations)
    many times a step. By default glibc maps blocks that large fresh from the kernel and gives a
    worker thread's freed memory back to the kernel, so the next chunk page-faults it in again
    (`python -m innr.bench --return-freed-memory` counts the faults). Holding freed memory
    (up to 1 GiB before trimming) costs only the process's peak memory. PyTorch's CPU tuning
    guide gives the same advice (jemalloc or tcmalloc); this needs nothing installed. Returns
    whether it took (False where libc is not glibc).
    """
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
        return bool(libc.mallopt(m_mmap_threshold, 256 << 20)
                    and libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):
        return False


def set_deterministic() -> None:
    """Ask torch for deterministic kernels (CPU results repeat exactly; CUDA as far as it can)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch, and ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    set_deterministic()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def git_state() -> dict:
    """The commit of the code that ran and whether the tree had uncommitted changes: read once
    per process, so that a long run records the tree it started from even when commits land
    while it runs (each entry point calls this at its start)."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                                 timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def cpu_model() -> str | None:
    """The CPU's model name as the kernel reports it (Linux /proc/cpuinfo); None elsewhere."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines
                 if line.startswith("model name")), None)


def math_library() -> dict:
    """The math libraries torch computes with, as its build reports them, and the environment
    that steers their kernels: MKL picks code paths by CPU model, so two CPUs of one vector unit
    can round differently."""
    built = torch.__config__.show()
    settings = dict(re.findall(r"\b(BLAS_INFO|LAPACK_INFO)=(\w+)", built))
    return {"blas": settings.get("BLAS_INFO"), "lapack": settings.get("LAPACK_INFO"),
            "libraries": [line.strip(" -") for line in built.splitlines()
                          if re.search(r"Math Kernel|MKL-DNN|oneDNN|OpenBLAS", line)],
            "environment": {k: os.environ[k] for k in MATH_ENV if k in os.environ}}


def describe(device: torch.device) -> dict:
    """Versions, hardware and determinism settings, recorded next to every result."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        # the vector unit: it picks MKL's kernels and, with innr.step = "compiled", the fit
        # step's build (innr.perf), so a fit's digits depend on it
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        # with the vector unit, what decides a CPU result's bits (innr.report.compare's exact
        # mode): the CPU model and the math libraries' code path
        "cpu_model": cpu_model(),
        "math_library": math_library(),
        "versions": {p: _version(p) for p in
                     ("torch", "numpy", "scipy", "pandas", "seaborn", "innr")},
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or "cpu"),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "tf32": torch.backends.cuda.matmul.allow_tf32 if device.type == "cuda" else None,
        **{"git_" + k: v for k, v in git_state().items()},
    }
