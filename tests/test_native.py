"""innr.perf.native's hand-written chunk kernel against autograd in float64: as close as float32
autograd is, step after step, the same bits every run; and the step falls back where it cannot
run."""

from __future__ import annotations

import copy

import pytest
import torch

from innr.config import INNRConfig
from innr.fit import new_siren
from innr.perf import SirenStep, native
from innr.predictors.siren import Siren
from innr.steps import AutogradStep

N = 301  # not a multiple of the chunks, the kernel's 120-row blocks or its 6-row tiles

needs_kernel = pytest.mark.skipif(
    not torch.backends.cpu.get_cpu_capability().startswith("AVX512"),
    reason="innr.perf.native needs an AVX-512 CPU")


@pytest.fixture(scope="module")
def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(N, 5, generator=g) * 2 - 1, torch.randn(N, generator=g)


def siren(layers: int = 3, seed: int = 1, **kw) -> Siren:
    torch.manual_seed(seed)  # the original's w0s: 100 pi, then 1
    return new_siren(INNRConfig(hidden=native.WIDTH, layers=layers, **kw))


def gradient_error(net: Siren, grads, data) -> float:
    """Largest gradient error, relative to each parameter's largest entry, against float64."""
    x, t = data
    ref = copy.deepcopy(net).double()
    loss = torch.nn.functional.mse_loss(ref(x.double()).squeeze(-1), t.double())
    exact = torch.autograd.grad(loss, list(ref.parameters()))
    return max(((g.double() - e).abs().max() / e.abs().max()).item()
               for g, e in zip(grads, exact, strict=True))


@needs_kernel
@pytest.mark.parametrize("layers,chunk,workers,w0", [
    (3, None, 1, 1.0), (3, 64, 2, 1.0), (1, 64, 2, 1.0), (12, 100, 2, 1.0), (3, 7, 3, 2.0)])
def test_gradient_is_as_close_to_float64_as_autograds(data, layers, chunk, workers, w0):
    # the first layer's w0 = 100 pi turns the rounding of its pre-activations into ~1e-5 of
    # gradient in float32 whatever the order of operations, so the bar is float32 autograd's
    net = siren(layers, w0=w0)
    x, t = data
    loss = torch.nn.functional.mse_loss(net(x).squeeze(-1), t)
    float32 = torch.autograd.grad(loss, list(net.parameters()))
    step = SirenStep(net, torch.optim.Adam(net.parameters()), x, t, build="compiled", chunk=chunk,
                     workers=workers)
    assert step.build == "native"
    fast_loss = step.grads()
    torch.testing.assert_close(fast_loss, loss.detach(), rtol=1e-5, atol=0)
    assert gradient_error(net, [p.grad for p in net.parameters()], data) <= (
        3 * gradient_error(net, float32, data) + 1e-6)


@needs_kernel
def test_the_check_catches_gradients_in_the_wrong_slots(data):
    net = siren()
    step = SirenStep(net, torch.optim.Adam(net.parameters()), *data, build="compiled")
    step.grads()
    grads = [p.grad for p in net.parameters()]  # w0, b0, w1, b1, w2, b2, last w, last b
    swapped = [*grads[:2], grads[4], grads[3], grads[2], *grads[5:]]
    assert gradient_error(net, grads, data) < 1e-4 < gradient_error(net, swapped, data)


def _fit(data, make, steps: int = 20):
    net = siren()
    step = make(net, torch.optim.Adam(net.parameters(), lr=1e-4), *data)
    losses = torch.stack([step() for _ in range(steps)])
    return losses, [p.detach().clone() for p in net.parameters()]


@needs_kernel
def test_steps_follow_autograd_and_repeat_bit_for_bit(data):
    def make(*args):
        # 19 chunks, taken by 2 threads in any order
        return SirenStep(*args, build="compiled", chunk=16, workers=2)

    ref, _ = _fit(data, AutogradStep)
    a, pa = _fit(data, make)
    b, pb = _fit(data, make)
    torch.testing.assert_close(a, ref, rtol=1e-4, atol=0)
    assert a[-1] < a[0]  # it fits
    assert torch.equal(a, b) and all(torch.equal(p, q) for p, q in zip(pa, pb, strict=True))


def test_says_why_it_cannot_run():
    narrow = new_siren(INNRConfig(hidden=16, layers=3))
    assert native.unsupported(narrow, torch.device("cpu")) is not None
    assert "CPU" in native.unsupported(siren(), torch.device("cuda"))
    with pytest.raises(native.NativeUnavailable):
        native.NativeChunk(narrow, N)


@needs_kernel
def test_a_failed_build_falls_back_to_inductor_with_a_warning(data, monkeypatch):
    def broken():
        raise native.NativeUnavailable("no C++ compiler")

    monkeypatch.setattr(native, "library", broken)
    net = siren()
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        step = SirenStep(net, torch.optim.Adam(net.parameters()), *data, build="compiled")
    assert step.build == "inductor" and torch.isfinite(step())
