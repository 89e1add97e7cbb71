"""The shared ideas held to independent implementations: pruning to torch.nn.utils.prune, the
symmetric quantiser (every width, both clips) to torch's fake quantisation, the bisection to a
linear scan."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.nn.utils import prune as torch_prune

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.budget import largest
from innr.prune import mask_of, position_bits, positions, pruned, pruned_bits
from innr.quantise import (
    CLIP_GRID,
    CLIPS,
    channel_scales,
    codes,
    levels,
    straight_through,
    symmetric,
)


@pytest.mark.parametrize("keep", [0, 1, 500, 2179, 2180])
def test_pruning_is_torchs_global_l1_rule(keep):
    torch.manual_seed(0)
    cnn = MnistExampleNet(4)
    model = copy.deepcopy(cnn)
    targets = [(m, "weight") for m in (model.conv1, model.conv2, model.fc)]
    torch_prune.global_unstructured(targets, pruning_method=torch_prune.L1Unstructured,
                                    amount=2180 - keep)
    for m, name in targets:
        torch_prune.remove(m, name)
    ours = pruned(dict(cnn.state_dict()), keep)
    for k, v in model.state_dict().items():
        assert torch.equal(ours[k], v)  # the same mask, the kept values unchanged
    assert pruned_bits(2180, keep) == keep * 32 + position_bits(2180, keep)


def test_positions_cost_a_mask_or_indices_whichever_is_smaller():
    n = 62240  # 16 bits name one position
    assert position_bits(n, 100) == 1600 and position_bits(n, 4000) == n
    assert position_bits(n, 0) == 0


@pytest.mark.parametrize("n", [200, 256, 257, 30000, 62240])
def test_positions_are_stored_as_the_smaller_file(n):
    few = torch.zeros(n, dtype=torch.bool)
    few[[3, 70, 199]] = True
    many = torch.rand(n, generator=torch.Generator().manual_seed(n)) < 0.3
    assert list(positions(few)) == ["indices"] and list(positions(many)) == ["mask"]
    assert positions(few)["indices"].dtype == (torch.uint8 if n <= 256 else torch.int16
                                               if n <= 32768 else torch.int32)
    for mask in (few, many):
        back = mask_of(positions(mask), n)
        assert back.dtype == torch.bool and torch.equal(back, mask)


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("bits", range(1, 9))
def test_the_per_channel_quantiser_is_torchs_fake_quantisation(bits, clip):
    torch.manual_seed(bits)
    w = torch.randn(6, 3, 5, 5) * torch.rand(6, 1, 1, 1)
    scale = channel_scales(w.reshape(6, -1), bits, clip).reshape(6)
    zero = torch.zeros(6, dtype=torch.int32)
    if bits == 1:  # codes {0, 1} of step 2s shifted by -s: -s and +s
        expected = torch.fake_quantize_per_channel_affine(
            w + scale[:, None, None, None], 2 * scale, zero, 0, 0, 1) - scale[:, None, None, None]
    else:
        top = levels(bits)
        expected = torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -top, top)
    # torch multiplies by 1 / scale where we divide: a value on a rounding boundary may differ
    ours = symmetric(w, bits, clip=clip)
    differ = ours != expected
    assert differ.float().mean() < 1e-3
    assert torch.allclose(ours[differ], expected[differ], atol=float(scale.max()) * 1.001)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_mse_clipping_takes_the_grid_ratio_of_least_error(bits):
    torch.manual_seed(bits)
    w = torch.randn(5, 200) ** 3  # heavy tails: clipping pays
    peak, top = w.abs().amax(1), levels(bits)
    errors = torch.stack([((torch.fake_quantize_per_channel_affine(
        w, r * peak / top, torch.zeros(5, dtype=torch.int32), 0, -top, top) - w) ** 2).sum(1)
        for r in CLIP_GRID])  # [ratios, rows], by torch's op
    best = CLIP_GRID[errors.argmin(0)]
    scale = channel_scales(w, bits, "mse")[:, 0]
    torch.testing.assert_close(scale, best * peak / top)
    assert bits == 8 or (best < 1).any()  # heavy tails are clipped, at 8 bits seldom
    kept = torch.rand(5, 200) < 0.3  # over the kept entries only: each row's own search
    sparse = channel_scales(torch.where(kept, w, 0.0), bits, "mse", kept)[:, 0]
    for i in range(5):
        torch.testing.assert_close(sparse[i:i + 1], channel_scales(w[i:i + 1, kept[i]], bits,
                                                                   "mse")[:, 0])


def test_binary_codes_of_kept_entries_leave_the_rest_zero():
    w = torch.tensor([[0.5, -1.5, 0.0, 2.0]])
    kept = torch.tensor([[True, True, False, True]])
    q, scale = codes(w, 1, kept=kept)
    assert torch.equal(q, torch.tensor([[1.0, -1.0, 0.0, 1.0]]))
    assert torch.equal(scale, torch.tensor([[4.0 / 3]]))  # the mean |w| of the kept three
    with pytest.raises(ValueError, match="clip must be"):
        codes(w, 4, clip="l2")


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_the_per_tensor_quantiser_is_torchs_fake_quantisation(bits):
    torch.manual_seed(bits)
    w = torch.randn(40, 30)
    top = levels(bits)
    scale = float(w.abs().max()) / top
    expected = torch.fake_quantize_per_tensor_affine(w, scale, 0, -top, top)
    ours = symmetric(w, bits, per_channel=False)
    assert (ours != expected).float().mean() < 1e-3
    assert torch.allclose(ours, expected, atol=scale * 1.001)


def test_an_all_zero_channel_stays_zero_and_one_bit_per_tensor_is_refused():
    w = torch.randn(3, 4)
    w[1] = 0
    for clip in CLIPS:
        assert torch.equal(symmetric(w, 4, clip=clip)[1], torch.zeros(4))
    assert torch.equal(symmetric(torch.zeros(5), 4, per_channel=False), torch.zeros(5))
    with pytest.raises(ValueError, match="at least 2 bits"):
        symmetric(w, 1, per_channel=False)


def test_straight_through_rounds_forward_and_passes_gradients_straight():
    p = torch.randn(40, 30, requires_grad=True)
    q = straight_through(p, 4, per_channel=False)
    assert len(q.detach().unique()) <= 2 ** 4 - 1
    assert (q - p).abs().max() <= p.abs().max() / 7 / 2 + 1e-6  # half a step at most
    q.sum().backward()
    assert torch.equal(p.grad, torch.ones_like(p))


@pytest.mark.parametrize("low", [0, 1, 5])
@pytest.mark.parametrize("answer", [0, 1, 2, 3, 7, 8, 9, 64, 1000])
def test_the_bisection_finds_what_a_linear_scan_finds(low, answer):
    def fits(x: int) -> bool:
        return x <= answer

    def scan(high: int) -> int | None:
        found = [x for x in range(low, high + 1) if fits(x)]
        return found[-1] if found else None

    assert largest(fits, low, 2000) == scan(2000)
    assert largest(fits, low, answer + 3) == scan(answer + 3)
    assert largest(fits, low) == scan(2 * max(answer, 1) + 2)  # unbounded: the bracket doubles
    calls = []
    largest(lambda x: calls.append(x) or fits(x), low, 2000)
    assert len(calls) <= math.ceil(math.log2(2001)) + 2  # bisection, not a scan
