"""The public API: any network of Conv2d and Linear layers, biases included, round-trips."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import innr
from innr.api import represented
from innr.permutations import Link
from innr.size import BITS, budget_bits


class Net(nn.Module):
    """Not the study's CNN: biases, a norm layer (stored as it is) and a permutable chain."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.norm = nn.GroupNorm(1, 6)  # per sample, not per channel: permuting conv breaks it
        self.head = nn.Sequential(nn.Linear(6 * 4 * 4, 12), nn.ReLU(), nn.Linear(12, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(nn.functional.avg_pool2d(self.norm(self.conv(x)), 2))
        return self.head(x.flatten(1))


class Chain(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, bias=True)
        self.fc = nn.Linear(6 * 4 * 4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.tanh(nn.functional.avg_pool2d(self.conv(x), 2)).flatten(1))

    def permutable_chain(self):
        return (Link("conv", "fc", group=16),)


FAST = innr.VariantConfig(steps=300, lr=3e-3, w0_initial=30.0, depth=2)


@pytest.fixture(scope="module")
def net() -> Net:
    torch.manual_seed(0)
    return Net().eval()


@pytest.fixture(scope="module")
def stored(net) -> innr.INNR:
    return innr.compress(net, FAST, budget=0.5, seed=1)


def test_every_conv_and_linear_tensor_is_represented(net):
    assert represented(net) == ["conv.weight", "conv.bias", "head.0.weight", "head.0.bias",
                                "head.2.weight", "head.2.bias"]


def test_save_load_rebuild_round_trip(net, stored, tmp_path):
    path = tmp_path / "net.innr"
    stored.save(path)
    back = innr.load(path)
    before, after = stored.rebuild(), back.rebuild()
    assert list(after) == list(net.state_dict())
    assert all(torch.equal(before[k], after[k]) for k in before)
    copy = Net()
    copy.load_state_dict(after)  # a state_dict the model accepts
    original = net.state_dict()
    for k in ("norm.weight", "norm.bias"):  # stored as they are
        assert torch.equal(after[k], original[k])
    for k in represented(net):  # rebuilt: close to the originals, not copies of them
        assert not torch.equal(after[k], original[k])
    flat = torch.cat([original[k].reshape(-1) for k in represented(net)])
    error = torch.cat([(after[k] - original[k]).reshape(-1) for k in represented(net)])
    assert error.norm() < 0.8 * flat.norm()  # random weights: noise, yet better than zeros


def test_the_budget_counts_everything(net, stored):
    n = sum(net.state_dict()[k].numel() for k in represented(net))
    others = sum(v.numel() for k, v in net.state_dict().items() if k not in represented(net))
    assert stored.stored_bits() - others * BITS <= budget_bits(0.5, n)
    bigger = innr.compress(net, FAST, budget=0.9, seed=1)
    assert bigger.width > stored.width


def test_permutation_keeps_the_function():
    torch.manual_seed(1)
    model = Chain().eval()
    stored = innr.compress(model, innr.VariantConfig(steps=2000, lr=3e-3, w0_initial=30.0,
                                                     depth=2, permute=True), budget=1.0)
    x = torch.randn(5, 3, 10, 10)
    rebuilt = Chain().eval()
    rebuilt.load_state_dict(stored.rebuild())
    # the rebuilt network is the reordered one: same function, weights in another order
    assert (model(x) - rebuilt(x)).abs().max() < 0.2 * model(x).abs().max()


def test_bad_use_is_named(net, tmp_path):
    with pytest.raises(ValueError, match="permutable_chain"):
        innr.compress(net, innr.VariantConfig(permute=True, steps=1))
    with pytest.raises(ValueError, match="input_shape"):
        innr.compress(net, innr.VariantConfig(distill_steps=1, steps=1))
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        innr.compress(nn.GroupNorm(1, 4))
    bad = tmp_path / "bad.innr"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable INNR file"):
        innr.load(bad)
    with pytest.raises(FileNotFoundError):
        innr.load(tmp_path / "missing.innr")


def test_distillation_runs_on_synthetic_inputs(net):
    out = innr.compress(net, innr.VariantConfig(steps=20, distill_steps=5, distill_batch=4,
                                                w0_initial=30.0, depth=2),
                        budget=0.5, input_shape=(3, 10, 10))
    assert set(out.rebuild()) == set(net.state_dict())
