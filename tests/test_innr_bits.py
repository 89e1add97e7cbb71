"""The k-bit INNRs of the frontier (innr.methods.innrs.Coded): a fit batched over bit widths and
widths is the one-at-a-time fits; what a k-bit predictor stores is its codes and one float32
scale per tensor, every bit charged; a residual's codes + predictor rebuild the weights."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.coding import parts
from innr.config import VariantConfig
from innr.experiments import frontier
from innr.methods import METHODS, get
from innr.quantise import dequantised, straight_through
from innr.size import BITS, budget_bits, count_params
from innr.target import Targets
from innr.variants import (
    Padded,
    fit,
    predictor_bits,
    rebuild,
    rebuild_members,
    rounded,
    synthetic_inputs,
    width_for_bits,
)

SMALL = VariantConfig(depth=2, width=0, steps=20, lr=1e-3, w0_initial=30.0, batch_rows=16,
                      magnitude_share=0.5, distill_steps=3, distill_batch=2)
CPU = torch.device("cpu")


def net(seed: int = 0, c: int = 2) -> dict:
    torch.manual_seed(seed)
    return MnistExampleNet(c).state_dict()


def raw_bits(payload: dict[str, torch.Tensor], bits: int) -> int:
    """A payload's size as stored: integer codes at `bits` each, float32 values at 32."""
    return sum(t.numel() * (BITS if t.is_floating_point() else bits) for t in payload.values())


@pytest.mark.parametrize("widths", [[12, 12, 12], [20, 14, 12]])
def test_a_fit_batched_over_bit_widths_is_the_one_at_a_time_fits(widths):
    """Equal widths: the same numbers to the bit. Padded to the widest: the matmuls sum over a
    longer length, which a BLAS may group otherwise, so held to rounding (equal to the bit on the
    CPUs seen so far)."""
    bits, seeds = [2, 4, 8], [10, 11, 10]
    inputs = synthetic_inputs("gaussian", (1, 28, 28))
    together = Targets.of([net(0), net(1), net(0)], SMALL)
    stack = Padded.init(SMALL, together, widths, seeds, CPU, bits)
    stack, _ = fit(SMALL, together, seeds, 0, MnistExampleNet(2), inputs, stack=stack)
    joint = rebuild_members(stack, together)
    for m, (network, seed) in enumerate(zip([net(0), net(1), net(0)], seeds, strict=True)):
        alone = Targets.of([network], SMALL)
        single, _ = fit(SMALL, alone, [seed], widths[m], MnistExampleNet(2), inputs,
                        bits=bits[m])
        for k, v in rebuild(single, alone)[0].items():
            if len(set(widths)) == 1:
                assert torch.equal(joint[m][k], v), (m, k)
            else:
                torch.testing.assert_close(joint[m][k], v, rtol=1e-5, atol=1e-6)


def test_padding_stays_zero_and_adds_nothing():
    v = dataclasses.replace(SMALL, distill_steps=0)
    targets = Targets.of([net(0)], v)
    stack = Padded.init(v, targets, [5], [3], CPU, [4], width=9)
    fit(v, targets, [3], 0, stack=stack)
    own = stack.own(0)
    for k, v in stack.params.items():
        outside = v[0].detach().clone()
        outside[tuple(slice(0, n) for n in own[k].shape)] = 0
        assert not outside.any(), k  # Adam never moved a padded entry
    coords = targets.layout.coords
    torch.testing.assert_close(stack(coords[None])[0], stack.select(0)(coords))


def test_rounding_in_a_stack_is_the_straight_through_quantiser():
    p = torch.randn(7, 5, requires_grad=True)
    for bits in (2, 4, 6, 8):
        a = rounded(p, torch.tensor(float(2 ** (bits - 1) - 1)))
        b = straight_through(p, bits, per_channel=False)
        assert torch.equal(a, b)
        assert torch.equal(*(torch.autograd.grad(x.square().sum(), p)[0] for x in (a, b)))
    assert torch.equal(rounded(p, torch.tensor(0.0)), p)  # 0: float32, unrounded


@pytest.mark.parametrize("bits", [2, 4, 6, 8, 0])
def test_a_k_bit_predictor_stores_its_codes_and_a_scale_per_tensor_all_charged(bits):
    """The accounting guard: the payload (int codes, float32 scales) is what the width was sized
    by, predictor_bits; leaving the scales uncharged there fails here."""
    targets = Targets.of([net(0)], SMALL)
    budget = 3000
    width = width_for_bits(SMALL, targets, budget, bits)
    stack = Padded.init(SMALL, targets, [width], [1], CPU, [bits], width=width + 3)
    payload = stack.payload(0)
    assert raw_bits(payload, bits) == predictor_bits(SMALL, targets, width, bits) <= budget
    assert predictor_bits(SMALL, targets, width + 1, bits) > budget
    if bits:
        scales = [v for k, v in payload.items() if k.endswith("/scales")]
        assert len(scales) == len(stack.params) and all(s.numel() == 1 for s in scales)
        assert all(v.dtype == torch.int8 and v.abs().max() <= 2 ** (bits - 1) - 1
                   for k, v in payload.items() if k.endswith("/codes"))
    decoded = {k: payload[f"predictor/{k}/codes"].float() * payload[f"predictor/{k}/scales"]
               if bits else payload[f"predictor/{k}"] for k in stack.params}
    for k, v in stack.select(0).state_dict().items():  # the payload is the predictor, exactly
        assert torch.equal(decoded[k], v), k


@pytest.mark.parametrize("k", [1, 3])
def test_a_residual_is_rebuilt_from_its_codes_and_predictor(k):
    method = get(f"innr_residual_b{k}")
    network = net(2, c=4)
    targets = Targets.of([network], SMALL, base=[method.base])
    # a predictor that output the targets' values exactly would rebuild the weights
    values = targets.values.reshape(1, targets.layout.rows, targets.layout.head)
    for name, v in targets.decode(values).items():
        torch.testing.assert_close(v[0], network[name], rtol=0, atol=1e-6)
    codes = method.codes(network)
    for name, v in method.base(network).items():  # the codes are the base, exactly
        assert torch.equal(dequantised(parts(codes, name)), v)
    n = sum(p.numel() for p in network.values())
    assert raw_bits(codes, k) == method.codes_bits(network) == n * k + sum(
        p.shape[0] for p in network.values()) * BITS


def test_a_residual_predictor_gets_what_the_codes_leave_or_no_point():
    cnn = MnistExampleNet(8)
    v = dataclasses.replace(SMALL, width=0)
    probe = Targets.of([cnn.state_dict()], v)
    n = count_params(cnn)
    for share in (0.1, 0.25, 0.5):
        allowed = budget_bits(share, n)
        for name in ("innr_residual_b2", "innr_residual_b4", "innr_best_b2", "innr_best_b8"):
            m = get(name)
            width = frontier.coded_width(m, v, probe, allowed)
            codes = m.codes_bits(cnn.state_dict())
            if not width:
                assert m.residual and allowed - codes - probe.side_bits() < m.room * allowed
                continue
            used = predictor_bits(v, probe, width, m.bits) + probe.side_bits() + codes
            assert used <= allowed < used - predictor_bits(v, probe, width, m.bits) \
                + predictor_bits(v, probe, width + 1, m.bits)
    assert not frontier.coded_width(get("innr_residual_b4"), v, probe, budget_bits(0.1, n))
    assert frontier.coded_width(get("innr_residual_b2"), v, probe, budget_bits(0.25, n))


def test_names_carry_the_bit_width_and_a_family_shares_a_job_per_budget():
    best = [m for m in METHODS.values() if m.family == "innr_best_b"]
    assert [(m.name, m.bits) for m in best] == [(f"innr_best_b{k}", k) for k in (2, 4, 6, 8)]
    residual = [m.name for m in METHODS.values() if m.family == "innr_residual_b"]
    assert residual == [f"innr_residual_b{k}" for k in (1, 2, 3, 4)]
    jobs = {frontier.batch_of({"method": m.name, "budget": b, "seed": s})
            for m in best for b in (0.1, 0.25) for s in (1, 2)}
    assert jobs == {("report", "innr_best_b", 0.1), ("report", "innr_best_b", 0.25)}
    assert frontier.batch_of({"method": "innr_quantised", "budget": 0.1, "seed": 1}) == (
        "report", "innr_quantised", 0.1)


def test_what_an_innr_stores_packs_exactly_and_is_its_predictor():
    """Payloads (innr.coding): a k-bit Stack's codes and scales are its rounded predictor; a
    payload with the side values and a residual's codes unpacks to itself exactly."""
    from innr.coding import pack, unpack
    from innr.variants import Stack, side_payload

    v = dataclasses.replace(SMALL, outliers=0.01)
    network = net(3, c=4)
    targets = Targets.of([network], v)
    stack = Stack.init(v, targets, 6, [2], CPU, bits=4)
    payload = stack.payload(0)
    for k, p in stack.select(0).state_dict().items():
        assert torch.equal(payload[f"predictor/{k}/codes"].float()
                           * payload[f"predictor/{k}/scales"], p), k
    side = side_payload(targets, 0)
    assert side["outliers/index"].numel() == int(targets.outlier.sum()) > 0
    assert raw_bits({k: side[k] for k in ("mean", "std")}, 0) == 2 * BITS
    stored = {**payload, **side, **get("innr_residual_b2").codes(network)}
    back = unpack(pack(stored))
    assert list(back) == list(stored)
    assert all(back[k].dtype == t.dtype and torch.equal(back[k], t) for k, t in stored.items())
