"""Every tensor counts (innr.params): on a network with biases, batch-norm and a residual, every
method compresses the weights and stores every vector (bias, batch-norm's weight, bias and
running statistics) as float32, charged 32 bits each, raw and coded; an INNR's coordinates
cover the weights only; distillation keeps batch-norm in eval mode and the vectors fixed; the
yardsticks leave the vectors alone; and the frontier runs every method on such a network (a
ResNet of innr.architectures)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from innr.architectures import build_cnn
from innr.coding import coded_bytes, pack, unpack
from innr.config import ConfigError, INNRConfig, VariantConfig, load_config
from innr.datasets import DATASETS
from innr.experiments import frontier
from innr.fit import innr_targets, rebuilt_classifier
from innr.methods import METHODS, Compression, get
from innr.params import inference, inference_tensors, n_values, vectors_of, weights_of
from innr.paths import QUICK_CONFIG
from innr.size import BITS, budget_bits
from innr.store import Store, read_json
from innr.target import Targets
from innr.variants import fit, rebuild, side_payload, synthetic_inputs
from innr.yardsticks import noisy, pruned

COMPRESSIONS = [m for m, method in METHODS.items() if isinstance(method, Compression)]


class ResidualBN(nn.Module):
    """3x3 convolutions with a bias, batch-norm and ReLU, one residual block, a linear head with
    a bias (not permutable: batch-norm sits between the layers)."""

    def __init__(self, c: int = 4, shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(shape[0], c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.fc = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn(self.stem(x))), 2)
        x = F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return self.fc(x.mean((2, 3)))


def trained_like(c: int = 4, seed: int = 0) -> ResidualBN:
    """A ResidualBN in eval mode whose batch-norm statistics are not the defaults (a few
    training-mode passes move them), so that a vector lost or replaced shows."""
    torch.manual_seed(seed)
    net = ResidualBN(c)
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(16, 1, 28, 28) * 2 + 0.5)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.fixture(scope="module")
def net() -> ResidualBN:
    return trained_like()


@pytest.fixture(scope="module")
def params(net) -> dict:
    return inference_tensors(net)


def vector_count(params: dict) -> int:
    return sum(v.numel() for v in vectors_of(params).values())


def test_the_toy_has_vectors_of_every_kind(params):
    assert {k.rsplit(".", 1)[1] for k in vectors_of(params)} == {
        "bias", "weight", "running_mean", "running_var"}
    assert list(weights_of(params)) == ["stem.weight", "conv1.weight", "conv2.weight",
                                        "fc.weight"]
    assert "bn.num_batches_tracked" not in params


# --- the data-free compressions --------------------------------------------------------------

@pytest.mark.parametrize("method", COMPRESSIONS)
@pytest.mark.parametrize("share", [0.3, 0.6, 1.0])
def test_every_method_stores_and_charges_the_vectors(params, method, share):
    """A guard: a method that leaves a vector out of what it stores, or does not charge it 32
    bits a value, raw and coded, fails here (every registered compression is checked)."""
    m = get(method)
    weights = weights_of(params)
    c = m.at_budget(params, budget_bits(share, n_values_of(params)))
    if c is None:
        pytest.skip(f"{method} does not fit {share:.0%} of this toy")
    setting = m.setting_of(c)
    assert c.bits == m.bits(params, setting) == (m.weights_bits(weights, setting)
                                                 + BITS * vector_count(params))
    for k, v in vectors_of(params).items():  # float32, under their own names, exact
        assert c.stored[k].dtype == torch.float32 and torch.equal(c.stored[k], v)
        assert torch.equal(c.params[k], v)
    assert list(c.params) == list(params)
    without = {k: v for k, v in c.stored.items() if k not in vectors_of(params)}
    assert coded_bytes(c.stored) >= coded_bytes(without) + 4 * vector_count(params)
    back = m.decode(unpack(pack(c.stored)), params)
    assert list(back) == list(params)
    assert all(torch.equal(back[k], c.params[k]) for k in params)  # from the file alone
    logits = rebuilt_classifier(trained_like(), back)(torch.randn(4, 1, 28, 28))
    assert logits.shape == (4, 10) and torch.isfinite(logits).all()


def n_values_of(params: dict) -> int:
    return sum(v.numel() for v in params.values())


def test_the_budget_counts_every_inference_tensor(net, params):
    assert n_values(net) == n_values_of(params) == (
        sum(v.numel() for v in weights_of(params).values()) + vector_count(params))
    assert n_values(net) > sum(p.numel() for p in net.parameters())  # the running statistics


class Job:
    """What a distilled method asks of the frontier: distillation settings and inputs."""

    def distillation(self):
        return (VariantConfig(distill_steps=5, distill_batch=8, distill_lr=1e-2),
                synthetic_inputs("gaussian", (1, 28, 28)))


@pytest.mark.parametrize("method", [m for m in COMPRESSIONS if get(m).distil])
def test_distillation_tunes_the_weights_and_keeps_the_vectors_and_eval_mode(params, method):
    cnn = trained_like()
    m = get(method)
    c = m.at_budget(params, budget_bits(0.5, n_values_of(params)))
    before = {k: v.clone() for k, v in inference_tensors(cnn).items()}
    tuned = m.tune(Job(), cnn, c, seed=1)
    assert tuned.bits == c.bits and tuned.setting == c.setting
    assert any(not torch.equal(tuned.params[k], c.params[k]) for k in weights_of(params))
    for k, v in vectors_of(params).items():  # fixed: the CNN's own, stored as they were
        assert torch.equal(tuned.params[k], v) and torch.equal(tuned.stored[k], v)
    # eval mode throughout: no running statistic moved; the CNN's modes as they were
    assert all(torch.equal(v, before[k]) for k, v in inference_tensors(cnn).items())
    assert not cnn.training


def test_inference_restores_each_modules_mode():
    net = ResidualBN().train()
    net.bn1.eval()
    with inference(net):
        assert not any(m.training for m in net.modules())
    assert net.training and not net.bn1.training and net.bn2.training


# --- the INNR --------------------------------------------------------------------------------

def test_an_innrs_coordinates_cover_the_weights_only(params):
    v = VariantConfig()
    targets = Targets.of([params], v)
    weights = weights_of(params)
    assert targets.layout.head == 9  # the 3x3 kernels
    kernels = sum(p.shape[0] * p.shape[1] for p in weights.values() if p.dim() == 4)
    assert targets.layout.rows == kernels + 10  # fc [10, 4]: a row of 4 inputs an output
    assert targets.outlier.shape[1] == sum(p.numel() for p in weights.values())
    assert targets.n_values == n_values_of(params)
    plain = Targets.of([weights], v)
    assert targets.side_bits() == plain.side_bits() + BITS * vector_count(params)
    payload = side_payload(targets, 0)
    assert all(payload[k].dtype == torch.float32 and torch.equal(payload[k], t)
               for k, t in vectors_of(params).items())
    faithful = innr_targets(INNRConfig(), trained_like())
    assert faithful.layout.rows == sum(p.numel() for p in weights.values())


def test_an_innr_fits_and_distils_a_batch_norm_network_its_vectors_fixed(net, params):
    v = VariantConfig(steps=5, distill_steps=3, distill_batch=4, depth=2)
    nets = [params, inference_tensors(trained_like(seed=1))]
    targets = Targets.of(nets, v)
    stack, history = fit(v, targets, [0, 1], 8, network=net,
                         inputs=synthetic_inputs("gaussian", (1, 28, 28)))
    assert len(history["distill_loss"]) > 0 and not net.training
    for rebuilt, original in zip(rebuild(stack, targets), nets, strict=True):
        assert list(rebuilt) == list(original)
        for k, t in vectors_of(original).items():
            assert torch.equal(rebuilt[k], t)
        assert not torch.equal(rebuilt["conv1.weight"], original["conv1.weight"])


# --- the yardsticks ----------------------------------------------------------------------------

def test_the_yardsticks_prune_and_perturb_the_weights_only(net, params):
    out = pruned(net, 50)
    assert list(out) == list(params)
    assert sum(int((out[k] != 0).sum()) for k in weights_of(params)) == 50
    assert all(torch.equal(out[k], v) for k, v in vectors_of(params).items())
    shaken = noisy(params, 0.1, seed=0)
    assert all(torch.equal(shaken[k], v) for k, v in vectors_of(params).items())
    error = torch.cat([(shaken[k] - w).reshape(-1) for k, w in weights_of(params).items()])
    norm = torch.cat([w.reshape(-1) for w in weights_of(params).values()]).norm()
    assert float(error.norm() / norm) == pytest.approx(0.1, rel=1e-5)


# --- the registered architectures with batch-norm: bn_cnn and resnet ---------------------------

@pytest.mark.parametrize("name, depth", [("bn_cnn", 0), ("resnet", 8)])
def test_the_batch_norm_architectures_store_and_charge_their_vectors(name, depth):
    torch.manual_seed(0)
    cnn = build_cnn(name, DATASETS["mnist"], 4, depth).eval()
    params = inference_tensors(cnn)
    weights = weights_of(params)
    targets = Targets.of([params], VariantConfig())  # several 3x3 convolutions, a linear head
    assert targets.layout.head == 9
    fc = weights["fc.weight"]
    assert targets.layout.rows == sum(p.shape[0] * p.shape[1] for p in weights.values()
                                      if p.dim() == 4) + fc.shape[0] * -(-fc.shape[1] // 9)
    assert targets.side_bits() == Targets.of([weights], VariantConfig()).side_bits() + (
        BITS * vector_count(params))
    for method in COMPRESSIONS:
        m = get(method)
        c = m.at_budget(params, budget_bits(0.5, n_values(cnn)))
        if c is None:
            continue
        assert c.bits == m.weights_bits(weights, m.setting_of(c)) + BITS * vector_count(params)
        assert all(torch.equal(c.stored[k], v) for k, v in vectors_of(params).items())


# --- the frontier on a batch-norm network ---------------------------------------------------------

TOY = ['cnn.architecture="resnet"', "cnn.depth=8", "cnn.channels=4", "cnn.epochs=1",
       "ablation.ideas={distill = [{distill_steps = 5, distill_batch = 8}]}",
       "ablation.budgets=[0.5]", "ablation.w0_sweep=[30.0]", "ablation.base.steps=20",
       "innr.steps=20", "innr.eval_every=20", "innr.checkpoint_every=20",
       "data.train_limit=1000", "data.test_limit=200",
       "frontier.budgets=[0.5]", "frontier.method_budgets={}", "frontier.method_seeds={}",
       "frontier.decode_repeats=1", "headline.budgets=[]", "frontier.companions=[]"]


def test_permute_on_an_architecture_that_is_not_permutable_stops_in_one_line():
    with pytest.raises(ConfigError) as e:
        load_config(QUICK_CONFIG, [*TOY, "ablation.ideas={permute = [{permute = true}]}"])
    assert "\n" not in str(e.value) and "resnet" in str(e.value)


@pytest.mark.slow
def test_every_method_runs_through_the_frontier_on_a_batch_norm_network(tmp_path):
    # 3% is below the vectors' share of this toy ResNet (about 5%): no method of its weights
    # fits there
    overrides = [*TOY, f"frontier.methods={list(METHODS)}".replace("'", '"'),
                 "frontier.budgets=[0.03, 0.5]"]
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(tmp_path),
                          *sum([["--set", o] for o in overrides], [])]) == 0
    config = load_config(QUICK_CONFIG, overrides)
    store = Store("quick", tmp_path)
    results = [read_json(frontier.path_of(store, p)) for p in frontier.frontier_points(config)]
    assert {r["point"]["method"] for r in results} == set(METHODS)
    assert all(r["status"] == "ok" for r in results)
    cnn = build_cnn("resnet", DATASETS["mnist"], 4, 8)
    vectors = BITS * vector_count(inference_tensors(cnn))
    assert vectors > budget_bits(0.03, n_values(cnn))
    fit_small = {r["point"]["method"] for r in results if r["point"]["budget"] == 0.03
                 and r["fits"]}
    assert fit_small <= {"narrow_cnn"}  # a narrower network has fewer vectors
    for r in (r for r in results if r["fits"] and r["point"]["budget"] == 0.5):
        # every method pays for the CNN's vectors
        assert r["budget_bits"] == budget_bits(0.5, n_values(cnn))
        assert vectors < r["stored_bits"] <= r["budget_bits"]
        assert r["bytes_coded"] * 8 > vectors
    fitted = {r["point"]["method"] for r in results if r["fits"]}
    assert {"innr_best", "innr_faithful", "quantised", "pruned", "low_rank"} <= fitted
