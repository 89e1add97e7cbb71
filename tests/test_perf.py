"""The speed layer's SIREN step (innr.perf) against the autograd reference (innr.fit): the same
gradient, losses and parameters within float tolerance, chunked or not, threaded or not, eager
or built by inductor; bit-identical under a seed."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import pytest
import torch

from innr import fit
from innr.config import INNRConfig
from innr.perf import SirenStep
from innr.perf.sincos import sincos
from innr.predictors.siren import Siren
from innr.steps import AutogradStep

N = 301  # not a multiple of the chunk sizes below, so the last chunk is padded


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(N, 5, generator=g) * 2 - 1, torch.randn(N, generator=g)


def narrow(layers: int = 3, **kw) -> Siren:
    """The original's w0s (100 pi first, then 1) on a narrow net."""
    return fit.new_siren(INNRConfig(hidden=16, layers=layers, **kw))


def new_siren(seed: int = 1) -> tuple[Siren, torch.optim.Adam]:
    torch.manual_seed(seed)
    siren = narrow()
    return siren, torch.optim.Adam(siren.parameters(), lr=1e-3)


def test_sincos_is_within_3e_7_of_the_exact_values():
    for scale in (1.0, 4.0, 1000.0):  # hidden layers' and the first layer's (w0 = 100 pi) range
        x = (torch.rand(200_000, generator=torch.Generator().manual_seed(1)) * 2 - 1) * scale
        s, c = sincos(x)
        assert (s.double() - x.double().sin()).abs().max() < 3e-7
        assert (c.double() - x.double().cos()).abs().max() < 3e-7


@pytest.mark.parametrize("chunk,workers,layers,w0,build", [
    (None, 1, 3, 1.0, "eager"), (64, 1, 3, 1.0, "eager"), (64, 2, 3, 1.0, "eager"),
    (7, 3, 3, 1.0, "eager"), (64, 2, 1, 1.0, "eager"), (64, 2, 3, 2.0, "eager"),
    (64, 2, 3, 1.0, "inductor"), (None, 1, 3, 2.0, "inductor")])
def test_gradient_equals_autograd(data, chunk, workers, layers, w0, build):
    coords, targets = data
    torch.manual_seed(1)
    siren = narrow(layers, w0=w0)
    opt = torch.optim.Adam(siren.parameters())
    loss = torch.nn.functional.mse_loss(siren(coords).squeeze(-1), targets)
    expected = torch.autograd.grad(loss, list(siren.parameters()))
    step = SirenStep(siren, opt, coords, targets, build, chunk=chunk, workers=workers)
    assert step.build == build
    fast_loss = step.grads()
    assert fast_loss.dim() == 0 and torch.allclose(fast_loss, loss, rtol=1e-5)
    for p, g in zip(siren.parameters(), expected, strict=True):
        assert p.grad.shape == p.shape
        torch.testing.assert_close(p.grad, g, rtol=1e-5, atol=1e-6 * g.abs().max().item())


def _losses_and_params(data, make, steps: int = 20):
    siren, opt = new_siren()
    step = make(siren, opt, *data)
    losses = torch.stack([step() for _ in range(steps)])
    return losses, [p.detach().clone() for p in siren.parameters()]


@pytest.mark.parametrize("chunk,workers", [(None, 1), (64, 2)])
def test_steps_follow_autograd(data, chunk, workers):
    ref_losses, ref_params = _losses_and_params(data, AutogradStep)
    losses, params = _losses_and_params(
        data, lambda *a: SirenStep(*a, chunk=chunk, workers=workers))
    torch.testing.assert_close(losses, ref_losses, rtol=1e-5, atol=0)
    assert losses[-1] < losses[0]  # it fits
    for p, q in zip(params, ref_params, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_same_seed_gives_bit_identical_losses(data):
    def make(*args):
        return SirenStep(*args, chunk=16, workers=2)  # 19 chunks, taken by 2 threads in any order

    a, pa = _losses_and_params(data, make)
    b, pb = _losses_and_params(data, make)
    assert torch.equal(a, b)
    assert all(torch.equal(p, q) for p, q in zip(pa, pb, strict=True))


def test_chunked_and_unchunked_agree(data):
    whole, _ = _losses_and_params(data, lambda *a: SirenStep(*a, chunk=N, workers=1))
    chunked, _ = _losses_and_params(data, lambda *a: SirenStep(*a, chunk=50, workers=2))
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=0)


def test_compiled_step_matches_eager(data):
    eager, _ = _losses_and_params(data, lambda *a: SirenStep(*a, chunk=64))
    compiled, _ = _losses_and_params(data, lambda *a: SirenStep(*a, chunk=64, build="inductor"))
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=0)


def test_compile_failure_falls_back_to_eager_with_a_warning(data, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(torch._inductor, "compile", broken)
    siren, opt = new_siren()
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        step = SirenStep(siren, opt, *data, build="inductor")
    assert step.build == "eager"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isfinite(step().item())


def test_benchmark_counts_the_original_sirens_matmul_flops():
    from innr.bench import step_flops

    # 5 -> 64, 11 x 64 -> 64, 64 -> 1 over 62,240 coordinates: ~16.9 GFLOP a step
    flops = step_flops(fit.new_siren(INNRConfig()), 62_240)
    macs = 5 * 64 + 11 * 64 * 64 + 64
    assert flops == 2 * 62_240 * (2 * macs + macs - 5 * 64) and round(flops / 1e9, 1) == 16.9


def test_step_bound_is_the_cores_chunk_rate_over_the_matmul_rate():
    from innr.bench import MATMUL_N, bound_rows

    matmul = 0.05  # all cores; one core alone takes twice as long: perfect scaling
    flops, n, rows, cores = 16.9e9, 62_240, 2008, 2
    rate_1 = 2 * MATMUL_N**3 / (2 * matmul)  # one core's matmul FLOP/s
    # a chunk at 60% of one core's matmul rate: every core at that rate is 60% of all cores'
    chunk_1 = flops * rows / n / (0.6 * rate_1)
    one, chunk, bound = bound_rows(2 * matmul, chunk_1, rows, n, flops, matmul, cores)
    assert one["ratio_to_matmul"] == pytest.approx(0.5)
    assert chunk["ratio_to_matmul"] == pytest.approx(0.3)
    assert bound["ratio_to_matmul"] == pytest.approx(0.6)
    assert bound["seconds"] == pytest.approx(chunk_1 * n / rows / cores)
    assert f"on {cores} cores" in bound["name"]


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_freed_buffers_are_reused_without_page_faults():
    # the fit's pattern: worker threads allocating and freeing megabyte buffers. By default glibc
    # hands a thread arena's freed top back to the kernel, to be faulted in again; kept, it is
    # reused. A subprocess: the setting is process-wide.
    code = """
import resource, torch
from concurrent.futures import ThreadPoolExecutor
from innr.runtime import keep_freed_memory
assert keep_freed_memory()
def work(_):
    buffers = [torch.empty(1 << 19).fill_(1) for _ in range(8)]  # 8 x 2 MiB
pool = ThreadPoolExecutor(2)
for _ in range(3):
    list(pool.map(work, range(4)))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    list(pool.map(work, range(4)))
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.split()[-1]) < 1000
