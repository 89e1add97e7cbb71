"""The public API: any network of Conv2d and Linear layers, biases included, round-trips."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import innr
from innr import api, published
from innr.api import represented
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import INNRConfig
from innr.coordinates import Standardiser, flatten_params, unflatten_params, weight_coordinates
from innr.fit import new_siren
from innr.paths import PUBLISHED
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


# Net keeps a norm layer as it is, on purpose: the warning that says so is tested once, below
pytestmark = pytest.mark.filterwarnings("ignore:innr.compress stores the layers")

FAST = innr.VariantConfig(steps=300, lr=3e-3, w0_initial=30.0, depth=2)


@pytest.fixture(scope="module")
def net() -> Net:
    torch.manual_seed(0)
    return Net().eval()


@pytest.fixture(scope="module")
def stored(net) -> innr.INNR:
    return innr.compress(net, FAST, budget=0.5, seed=1)


def test_every_conv_and_linear_weight_is_represented_and_the_biases_kept(net, stored):
    assert represented(net) == ["conv.weight", "head.0.weight", "head.2.weight"]
    assert list(stored.others) == ["conv.bias", "norm.weight", "norm.bias", "head.0.bias",
                                   "head.2.bias"]


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
    for k in ("norm.weight", "norm.bias", "conv.bias", "head.2.bias"):  # stored as they are
        assert torch.equal(after[k], original[k])
    for k in represented(net):  # rebuilt: close to the originals, not copies of them
        assert not torch.equal(after[k], original[k])
    flat = torch.cat([original[k].reshape(-1) for k in represented(net)])
    error = torch.cat([(after[k] - original[k]).reshape(-1) for k in represented(net)])
    assert error.norm() < 0.8 * flat.norm()  # random weights: noise, yet better than zeros


def test_the_budget_counts_everything(net, stored):
    n = sum(v.numel() for v in net.state_dict().values())
    others = sum(v.numel() for k, v in net.state_dict().items() if k not in represented(net))
    assert stored.stored_bits() <= budget_bits(0.5, n)  # the biases and the norm's within it
    assert stored.stored_bits() > others * BITS
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
    with pytest.raises(FileNotFoundError):
        innr.load(tmp_path / "missing.innr")


def test_distillation_runs_on_synthetic_inputs(net):
    out = innr.compress(net, innr.VariantConfig(steps=20, distill_steps=5, distill_batch=4,
                                                w0_initial=30.0, depth=2),
                        budget=0.5, input_shape=(3, 10, 10))
    assert set(out.rebuild()) == set(net.state_dict())


# --- what the API refuses, each in one sentence -----------------------------------------------

ONE_STEP = innr.VariantConfig(steps=1, w0_initial=30.0, depth=2)


@pytest.fixture(scope="module")
def small() -> innr.INNR:
    """An INNR fitted for one step: what a file holds, without the cost of a fit."""
    torch.manual_seed(0)
    return innr.compress(Chain().eval(), ONE_STEP, budget=0.5)


@pytest.mark.parametrize("budget", [1.5, 0, -0.25, math.nan, math.inf])
def test_a_budget_outside_0_1_is_refused_before_any_work(budget):
    # a model with nothing to store: the budget is refused before the model is looked at
    with pytest.raises(ValueError, match=r"^budget must be a share of the stored layers' bits in "
                                         r"\(0, 1\], got "):
        innr.compress(nn.GroupNorm(1, 4), budget=budget)


def test_a_fixed_width_must_fit_the_budget_and_is_recorded_as_it_is(tmp_path):
    torch.manual_seed(0)
    model = Chain().eval()
    with pytest.raises(ValueError, match="^width 64 stores .* bits, more than the .* that a "
                                         "budget of 0.5 allows"):
        innr.compress(model, innr.VariantConfig(width=64, steps=1), budget=0.5)
    stored = innr.compress(model, innr.VariantConfig(width=4, steps=1), budget=0.5)
    stored.save(tmp_path / "w.innr")
    back = innr.load(tmp_path / "w.innr")
    n = sum(v.numel() for v in model.state_dict().values())
    assert (back.width, back.budget) == (4, 0.5)
    assert back.stored_bits() <= budget_bits(back.budget, n)


def _foreign_files(tmp_path, stored) -> dict:
    """A file of each kind innr.load must refuse, and what its message must say."""
    good = stored.to_dict()
    files = {"empty": (b"", "is empty"),
             "text": (b"not a torch file\n", "is not a file torch.load reads as weights"),
             "cnn": (MnistExampleNet(2).state_dict(), "is not an INNR file: it has no format"),
             "format": ({"format": "something else"}, "is of format 'something else'"),
             "missing": ({k: v for k, v in good.items() if k != "variant"},
                         r"is not a whole INNR file: it lacks \['variant'\]"),
             "variant": ({**good, "variant": {**good["variant"], "colour": 1}},
                         r"has variant settings this version does not know: \['colour'\]"),
             "width": ({**good, "width": good["width"] + 1},
                       r"is not a valid INNR file \(RuntimeError: .* size mismatch for ")}
    out = {}
    for name, (content, message) in files.items():
        path = tmp_path / f"{name}.innr"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            torch.save(content, path)
        out[path] = message
    return out


def test_a_file_that_is_not_an_innr_raises_one_error_that_names_it(tmp_path, small):
    for path, message in _foreign_files(tmp_path, small).items():
        for reader in (innr.load, published.load_innr):
            with pytest.raises(innr.INNRFileError, match=message) as e:
                reader(path)
            assert str(e.value).startswith(f"{path} "), path
    small.save(tmp_path / "an.innr")
    with pytest.raises(innr.INNRFileError, match="is an INNR file, not a CNN's weights"):
        published.load_cnn(tmp_path / "an.innr")
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(innr.INNRFileError, match="does not hold the weights of mnist_example_net"):
        published.load_cnn(tmp_path / "other.pt")


def test_a_failed_save_names_the_target_not_the_temporary_file(tmp_path, small):
    target = tmp_path / "taken.innr"
    target.mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError) as e:
        small.save(target)
    assert str(target) in str(e.value) and ".tmp" not in str(e.value)
    assert [p.name for p in tmp_path.iterdir()] == ["taken.innr"]  # no temporary file left


class Tied(nn.Module):
    """One Linear under two names, as weight tying does: 72 parameters, not 144."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(8, 8)
        self.second = self.first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(torch.tanh(self.first(x)))


def test_tied_weights_are_stored_once_and_tied_again_on_rebuild(tmp_path):
    torch.manual_seed(0)
    model = Tied()
    stored = innr.compress(model, ONE_STEP, budget=1.0)
    kept = sum(math.prod(s) for s in stored.shapes.values()) + sum(
        t.numel() for t in stored.others.values())
    assert kept == sum(p.numel() for p in model.parameters()) == 72
    stored.save(tmp_path / "tied.innr")
    rebuilt = innr.load(tmp_path / "tied.innr").rebuild()
    assert list(rebuilt) == list(model.state_dict())
    assert rebuilt["second.weight"] is rebuilt["first.weight"]
    copy = Tied()
    copy.load_state_dict(rebuilt)  # the decoded weights, not a stored copy of the originals
    assert torch.equal(copy.first.weight, rebuilt["first.weight"])
    assert not torch.equal(copy.first.weight, model.first.weight)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_the_models_dtype_is_kept_and_its_bits_are_the_budgets(dtype, tmp_path):
    torch.manual_seed(0)
    model = Chain().eval()
    as_float = innr.compress(model, ONE_STEP, budget=0.5)
    model = model.to(dtype)
    stored = innr.compress(model, ONE_STEP, budget=0.5)
    stored.save(tmp_path / "m.innr")
    rebuilt = innr.load(tmp_path / "m.innr").rebuild()
    assert {v.dtype for v in rebuilt.values()} == {dtype}
    n, bits = sum(v.numel() for v in model.state_dict().values()), torch.finfo(dtype).bits
    assert stored.stored_bits() <= budget_bits(0.5, n, bits)
    assert (stored.width > as_float.width) == (bits > BITS)


def test_a_wrong_input_shape_is_refused_before_any_fit(net, monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("the fit ran")

    monkeypatch.setattr(api, "fit", no_fit)
    distilled = innr.VariantConfig(steps=1, distill_steps=1)
    with pytest.raises(ValueError, match=r"^input_shape \(1, 10, 10\) is not the shape of one "
                                         r"input: the model fails on a batch of shape "
                                         r"\(2, 1, 10, 10\)"):
        innr.compress(net, distilled, input_shape=(1, 10, 10))
    model = Net().train()
    with pytest.raises(AssertionError, match="the fit ran"):  # a right shape reaches the fit
        innr.compress(model, distilled, input_shape=(3, 10, 10))
    assert all(m.training for m in model.modules())  # the check left the modes as they were


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1d = nn.Conv1d(2, 4, 3)
        self.norm = nn.BatchNorm1d(4)
        self.fc = nn.Linear(4 * 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(self.conv1d(x)).flatten(1))


def test_layers_kept_as_they_are_are_named_in_one_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stored = innr.compress(Mixed(), ONE_STEP, budget=1.0)
    assert [str(w.message) for w in caught] == [
        "innr.compress stores the layers that are not Conv2d or Linear as they are, not in the "
        "INNR (counted in stored_bits): conv1d (Conv1d), norm (BatchNorm1d)"]
    assert list(stored.shapes) == ["fc.weight"]
    # kept at their own bits: the norm's batch count is an int64
    kept = sum(v.numel() * v.element_size() * 8 for k, v in Mixed().state_dict().items()
               if k != "fc.weight")
    predictor = sum(v.numel() for v in stored.predictor.values()) * BITS
    assert stored.stored_bits() == predictor + 2 * BITS + kept  # + mean and std


# --- one file format for every INNR -----------------------------------------------------------

def same(a, b) -> bool:
    """Equal contents of two files: tensors to the bit, containers item by item."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def siren_rebuild(siren: torch.nn.Module, std: Standardiser, like: dict) -> dict:
    """The original's rebuild, written out: the SIREN at every weight's coordinate, the
    standardisation undone, each slice reshaped (the reference the INNR format is held to)."""
    with torch.no_grad():
        z = siren(weight_coordinates(like)).squeeze(-1)
    return unflatten_params(std.inverse(z), like)


def test_the_faithful_innr_is_written_in_the_one_format_and_rebuilds_as_innr_fit_does(tmp_path):
    torch.manual_seed(0)
    cnn = MnistExampleNet(2)
    cfg = INNRConfig(hidden=8, layers=2)
    siren = new_siren(cfg)
    like = cnn.state_dict()
    std = Standardiser.fit(flatten_params(like))
    stored = api.faithful(siren.state_dict(), cfg, std.mean, std.std,
                          {k: tuple(v.shape) for k, v in like.items()})
    stored.save(tmp_path / "faithful.innr")
    assert torch.load(tmp_path / "faithful.innr", weights_only=True)["format"] == api.FORMAT
    rebuilt = innr.load(tmp_path / "faithful.innr").rebuild()
    expected = siren_rebuild(siren, std, like)
    assert list(rebuilt) == list(expected)
    assert all(torch.equal(rebuilt[k], expected[k]) for k in expected)
    n = sum(v.numel() for v in cnn.state_dict().values())
    assert stored.budget == stored.stored_bits() / (n * BITS)  # the share it takes: no budget


def test_every_published_innr_loads_and_rebuilds_as_its_siren_does(tmp_path):
    files = sorted((PUBLISHED / "networks").glob("*/innr_seed*.pt"))
    assert files
    for path in files:
        stored = innr.load(path)  # checks the predictor's state_dict against its variant
        assert torch.load(path, weights_only=True)["format"] == api.SIREN_FORMAT
        stored.save(tmp_path / path.name)  # written again in the one format, the same INNR
        assert same(innr.load(tmp_path / path.name).to_dict(), stored.to_dict())
    # one rebuilt to the bit as innr.fit rebuilds it from the file's SIREN (the test of the
    # published run rebuilds each and checks the error the run measured)
    blob = torch.load(files[0], weights_only=True)
    like = {k: torch.empty(s) for k, s in blob["shapes"].items()}
    siren = new_siren(INNRConfig(**{k: blob[k] for k in ("hidden", "layers", "w0_initial",
                                                          "w0", "c")}))
    siren.load_state_dict(blob["siren"])
    expected = siren_rebuild(siren.eval(), Standardiser(blob["mean"], blob["std"]), like)
    rebuilt = innr.load(files[0]).rebuild()
    assert list(rebuilt) == list(expected)
    assert all(torch.equal(rebuilt[k], expected[k]) for k in expected)


def test_a_file_of_the_format_before_loads(small, tmp_path):
    old = {k: v for k, v in small.to_dict().items() if k not in ("dtypes", "tied")}
    torch.save({**old, "format": api.OLD_FORMAT}, tmp_path / "old.innr")
    before, after = small.rebuild(), innr.load(tmp_path / "old.innr").rebuild()
    assert list(before) == list(after) and all(torch.equal(before[k], after[k]) for k in before)
