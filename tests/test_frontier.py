"""The frontier experiment: its points, what each method stores against its budget, the
quantised predictor, the baselines' distillation, a method registered from outside, and runs
inline and through submitit."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pytest
import torch

from innr import methods
from innr.architectures import cnn_of
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import VariantConfig, load_config
from innr.distil import distilled, kl_loss
from innr.experiments import frontier
from innr.methods import Compressed, Compression, get
from innr.methods.narrow_cnn import narrow_channels
from innr.paths import QUICK_CONFIG
from innr.size import BITS, budget_bits, count_params
from innr.steps import DivergenceError
from innr.store import Store, read_json
from innr.target import Targets
from innr.variants import predictor_bits, synthetic_inputs, width_for_bits


def quick(*overrides: str):
    return load_config(QUICK_CONFIG, list(overrides))


def test_points_follow_the_config():
    config = quick()
    every = frontier.frontier_points(config)
    f = config.frontier
    for method in f.methods:
        mine = [p for p in every if p["method"] == method]
        budgets = f.method_budgets.get(method, f.budgets)
        seeds = config.seeds[:f.method_seeds.get(method, len(config.seeds))]
        assert sorted({p["budget"] for p in mine}) == sorted(budgets)
        assert sorted({p["seed"] for p in mine}) == sorted(seeds)
        assert len(mine) == len(budgets) * len(seeds)
    assert all(p["bits"] == f.predictor_bits for p in every if p["method"] == "innr_quantised")
    # an INNR budget's seeds are one job (one batched fit); a baseline's points share one job
    innr = [p for p in every if p["method"] == "innr_best"]
    assert len({frontier.batch_of(p) for p in innr}) == len(f.budgets)
    assert len({frontier.batch_of(p) for p in every if p["method"] == "pruned"}) == 1


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5, 0.7425, 1.0])
def test_the_narrow_cnn_is_the_widest_that_fits(share):
    config = load_config(QUICK_CONFIG, ["cnn.channels=32"])
    c = narrow_channels(config, share)
    allowed = budget_bits(share, count_params(MnistExampleNet(32)))
    assert count_params(cnn_of(config, c)) * BITS <= allowed
    assert c == 32 or count_params(cnn_of(config, c + 1)) * BITS > allowed


@pytest.mark.parametrize("bits", [0, 8, 4])
def test_the_predictor_width_is_the_widest_whose_bits_fit(bits):
    cnn = MnistExampleNet(8)
    v = VariantConfig()
    targets = Targets.of([cnn.state_dict()], v)
    budget = budget_bits(0.5, count_params(cnn)) - targets.side_bits()
    w = width_for_bits(v, targets, budget, bits)
    assert predictor_bits(v, targets, w, bits) <= budget < predictor_bits(v, targets, w + 1, bits)
    if bits:  # fewer bits a parameter buy a wider predictor
        assert w > width_for_bits(v, targets, budget, 0)


def test_distillation_keeps_what_is_stored_and_lowers_the_kl():
    torch.manual_seed(0)
    cnn = MnistExampleNet(4).eval()
    like = {k: v.detach() for k, v in cnn.state_dict().items()}
    v = VariantConfig(distill_steps=60, distill_batch=16, distill_lr=3e-3)
    inputs = synthetic_inputs("gaussian", (1, 28, 28))
    x = inputs(torch.Generator().manual_seed(99), 256)

    def kl(params):
        with torch.no_grad():
            return float(kl_loss(cnn(x), torch.func.functional_call(cnn, params, (x,))))

    p = get("pruned").encode(like, 300)
    tuned = distilled(cnn, *get("pruned").projection(p, like), v, inputs, seed=1)
    for k in like:  # the mask is kept: pruned weights stay zero
        assert torch.all(tuned[k][p.params[k] == 0] == 0)
    assert kl(tuned) < kl(p.params)
    q = get("quantised").encode(like, 2)
    tuned = distilled(cnn, *get("quantised").projection(q, like), v, inputs, seed=1)
    for k in like:  # still 2-bit: at most 3 levels per channel
        rows = tuned[k].reshape(tuned[k].shape[0], -1)
        assert max(len(r.unique()) for r in rows) <= 3
    assert kl(tuned) < kl(q.params)


def test_a_diverging_distillation_says_which_seed():
    cnn = MnistExampleNet(4).eval()
    like = {k: v.detach() for k, v in cnn.state_dict().items()}
    v = VariantConfig(distill_steps=3, distill_batch=4, distill_lr=1e-3)

    def nan_inputs(g: torch.Generator, batch: int) -> torch.Tensor:
        return torch.full((batch, 1, 28, 28), float("nan"))

    with pytest.raises(DivergenceError, match=r"seeds \[5\]: distillation loss"):
        distilled(cnn, *get("pruned").projection(get("pruned").encode(like, 300), like), v,
                  nan_inputs, seed=5)


@dataclass(frozen=True)
class Half(Compression):
    """A toy method for the test below: every weight in float16."""

    def settings(self, params):
        return (16,)

    def bits(self, params, setting):
        return sum(p.numel() for p in params.values()) * setting

    def encode(self, params, setting):
        return Compressed(self.name, {k: p.half().float() for k, p in params.items()},
                          self.bits(params, setting), {"bits": setting},
                          {k: p.half() for k, p in params.items()})

    def decode(self, stored, like):
        return {k: v.float() for k, v in stored.items()}


@pytest.fixture
def half():
    methods.register(Half("half", "float16"))
    yield
    del methods.METHODS["half"]


def test_a_method_registered_outside_runs_through_the_frontier(tmp_path, half):
    overrides = ["frontier.budgets=[0.25, 0.55]", "headline.budgets=[]",
                 'frontier.methods=["half"]',
                 "frontier.method_budgets={}", "frontier.method_seeds={}",
                 "frontier.decode_repeats=1"]
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(tmp_path),
                          *sum([["--set", o] for o in overrides], [])]) == 0
    store = Store("quick", tmp_path)
    config = quick(*overrides)
    results = {(r["point"]["budget"], r["point"]["seed"]): r for r in
               (read_json(frontier.path_of(store, p)) for p in frontier.frontier_points(config))}
    assert len(results) == 4 and all(r["status"] == "ok" for r in results.values())
    for seed in config.seeds:  # 16 of 32 bits a weight (and a header): fits 55%, not 25%
        assert not results[0.25, seed]["fits"]
        fits = results[0.55, seed]
        assert fits["fits"] and fits["stored_bits"] == 16 * count_params(cnn_of(config))
        assert fits["setting"] == {"bits": 16} and not fits["uses_data"]
        assert fits["top1_agreement"] > 0.9


def _files(root):
    return {p: p.stat().st_mtime_ns for p in (root / "quick" / "frontier").rglob("*_seed*.json")
            if p.parent.name not in ("cnn",)}


def test_a_sweep_runs_inline_within_budget_and_resumes(tmp_path):
    overrides = ["frontier.budgets=[0.5]", "headline.budgets=[]", "ablation.w0_sweep=[30.0]",
                 'frontier.methods=["innr_best", "innr_quantised", "pruned_distilled", '
                 '"narrow_cnn", "quantised"]', "frontier.method_budgets={}",
                 "frontier.method_seeds={}", "frontier.decode_repeats=1"]
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(tmp_path),
                          *sum([["--set", o] for o in overrides], [])]) == 0
    store = Store("quick", tmp_path)
    config = quick(*overrides)
    results = [read_json(frontier.path_of(store, p)) for p in frontier.frontier_points(config)]
    assert all(r["status"] == "ok" and r["fits"] for r in results)
    assert all(r["stored_bits"] <= r["budget_bits"] for r in results)
    by = {(r["point"]["method"], r["point"]["seed"]): r for r in results}
    seed = config.seeds[0]
    assert by["innr_quantised", seed]["width"] > by["innr_best", seed]["width"]
    assert by["narrow_cnn", seed]["uses_data"] and not by["pruned_distilled", seed]["uses_data"]
    # sizes coded beside the raw bits; each point at the options chosen on the selection CNNs
    assert all(r["bytes_coded"] > 0 for r in results if not get(r["point"]["method"]).innr)
    for method in ("pruned_distilled", "quantised", "innr_best"):
        chosen = [read_json(frontier.path_of(store, p))
                  for p in frontier.frontier_points(config, frontier.SELECT)
                  if p["method"] == method]
        assert len(chosen) == len(config.ablation.selection_seeds)
        assert all(0 < c["val_accuracy"] <= 1 and "accuracy_rebuilt" not in c for c in chosen)
        tried = frontier.options(get(method), config)  # quantised: its clipping
        assert [c["option"] for c in chosen[0]["candidates"]] == tried
        assert len(tried) == {"pruned_distilled": 2, "quantised": 2, "innr_best": 1}[method]
        assert by[method, seed]["choice"]["option"] == chosen[0]["chosen"]
        assert by[method, seed]["choice"]["val_accuracy"] == pytest.approx(
            sum(c["val_accuracy"] for c in chosen) / len(chosen))
    index = read_json(store.root / "frontier" / "index.json")
    assert index["failed"] == [] and len(index["points"]) == len(results)
    assert len(index["selection_points"]) == len(frontier.frontier_points(config, "select"))
    before = _files(tmp_path)
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(tmp_path),
                          *sum([["--set", o] for o in overrides], [])]) == 0
    assert _files(tmp_path) == before  # resumed: nothing recomputed

    # where the ablation fitted the best variant at a budget, the frontier takes its numbers
    point = next(p for p in frontier.frontier_points(config) if p["method"] == "innr_best")
    arm = {"config_hash": config.ablation_hash(), "width": 7, "predictor_params": 1,
           "stored_bits": 99, "budget_bits": 100, "complete": True,
           "per_seed": {str(s): {**by["innr_best", s], "accuracy_rebuilt": 0.123}
                        for s in config.seeds}}
    path = store.root / "ablation" / "report_50_best.json"
    path.write_text(json.dumps(arm))
    frontier.path_of(store, point).unlink()
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(tmp_path),
                          *sum([["--set", o] for o in overrides], [])]) == 0
    assert read_json(frontier.path_of(store, point))["accuracy_rebuilt"] == 0.123


def test_a_two_point_frontier_through_submitit_local(tmp_path):
    overrides = ["frontier.budgets=[0.25]", "headline.budgets=[]", 'frontier.methods=["pruned"]',
                 "frontier.method_budgets={}", "frontier.method_seeds={}",
                 "frontier.decode_repeats=1"]
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(tmp_path),
                          "--executor", "local",
                          *sum([["--set", o] for o in overrides], [])]) == 0
    store = Store("quick", tmp_path)
    results = [read_json(frontier.path_of(store, p))
               for p in frontier.frontier_points(quick(*overrides))]
    assert len(results) == 2 and all(r["status"] == "ok" for r in results)
    assert list((store.root / "frontier" / "submitit").glob("*_log.out"))  # ran as jobs


def test_a_wrong_method_is_named():
    with pytest.raises(Exception, match="unknown"):
        quick('frontier.methods=["jpeg"]')
    with pytest.raises(Exception, match="method_seeds"):
        quick("frontier.method_seeds={pruned = 99}")


def test_points_are_keyed_by_the_claims_and_ablation_settings_only():
    a, b = quick(), quick("frontier.decode_repeats=9")
    assert a.ablation_hash() == b.ablation_hash() and a.frontier_hash() != b.frontier_hash()
    assert dataclasses.replace(a, frontier=b.frontier).hash() == a.hash()


def test_a_point_is_recomputed_when_what_made_it_changes():
    config = quick()
    point = {"method": "innr_quantised", "budget": 0.25, "seed": 1234, "bits": 8}
    done = {"config_hash": config.ablation_hash(), "point": point}
    assert frontier.is_current(config, done)
    assert not frontier.is_current(quick("frontier.predictor_bits=6"), done)
    assert not frontier.is_current(quick("innr.steps=10"), done)
    assert frontier.is_current(quick("frontier.decode_repeats=3"), done)
