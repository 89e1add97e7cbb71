"""The run measures itself: work counted from shapes equals the textbook formulas, the loops
count what they did, a stage's results file records its work and share, and stages add up to
the whole run (weighted by wall time, at one rate)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from innr import compute
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import CNNConfig, Config
from innr.datasets import load
from innr.experiments.common import run_seed
from innr.experiments.workbench import Clock, Workbench
from innr.fit import prepare, train_cnn
from innr.store import Store, write_json


def test_a_matmul_and_a_convolution_count_as_their_formulas():
    m, k, n = 7, 11, 13
    a, b = torch.empty(m, k, device="meta"), torch.empty(k, n, device="meta")
    assert compute.count(lambda: a @ b) == 2 * m * k * n
    conv = nn.Conv2d(3, 8, 5, bias=False)
    side = 28 - 5 + 1
    assert compute.forward_flops(conv, (3, 28, 28)) == 2 * side * side * 8 * 3 * 5 * 5


def test_training_counts_the_backward_pass_the_input_gradient_only_what_it_needs():
    a, b, c = 6, 10, 4
    mlp = nn.Sequential(nn.Linear(a, b, bias=False), nn.Linear(b, c, bias=False))
    forward = 2 * a * b + 2 * b * c
    assert compute.forward_flops(mlp, (a,)) == forward
    # both weights' gradients and the gradient into the second layer; none into the input
    assert compute.training_flops(mlp, (a,)) == forward + 2 * a * b + 2 * b * c + 2 * b * c
    # FGSM: the gradients into each layer's input, none into the weights
    assert compute.input_gradient_flops(mlp, (a,)) == forward + 2 * b * c + 2 * a * b
    assert compute.fit_step_flops(mlp, 5, a) == 5 * compute.training_flops(mlp, (a,))


def test_counting_touches_neither_the_network_nor_the_random_streams():
    net = MnistExampleNet(4)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state = torch.random.get_rng_state()
    compute.training_flops(net, (1, 28, 28))
    compute.built_on_meta(lambda: nn.Linear(3, 3))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_a_counted_network_adds_its_passes_to_the_meter():
    net = MnistExampleNet(4)
    counted = compute.Counted(net, net, (1, 28, 28))
    start = compute.METER.flops
    counted(torch.zeros(3, 1, 28, 28))
    counted(torch.zeros(2, 1, 28, 28, requires_grad=True)).sum().backward()
    assert compute.METER.flops - start == 3 * counted.forward + 2 * counted.gradient
    assert counted.gradient > counted.forward


def test_cnn_training_counts_every_epoch_and_test_pass():
    cfg = Config(name="t")
    train = prepare(load("", "train").head(96), cfg, torch.device("cpu"))
    test = prepare(load("", "test").head(40), cfg, torch.device("cpu"))
    cnn = CNNConfig(channels=2, epochs=2, batch_size=32)
    start = compute.METER.flops
    train_cnn(cnn, 0, train, test)
    net, shape = MnistExampleNet(2), (1, 28, 28)
    per_epoch = (96 * compute.training_flops(net, shape) + 40 * compute.forward_flops(net, shape))
    assert compute.METER.flops - start == 2 * per_epoch


def test_the_matmul_rate_is_measured_once_and_recorded():
    rate = compute.start(torch.device("cpu"))
    assert rate["flops_per_second"] > 0 and rate["side"] == compute.MATMUL_SIDE["cpu"]
    assert compute.start(torch.device("cpu")) is rate  # once per process


def test_a_stage_records_its_work_time_and_share(tmp_path):
    ctx = Workbench(Config(name="t"), Store("t", tmp_path), torch.device("cpu"))
    compute.add(123)  # before the stage: not its work

    def stage(ctx, seed):
        compute.add(10**9)
        return {"metrics": {}, "details": {}}

    result, computed = run_seed("fidelity", stage, ctx, 1)
    assert computed and result["flops"] == 10**9
    rate = result["matmul_flops_per_second"]
    assert rate == compute.METER.rate["flops_per_second"]
    assert result["compute_share"] == pytest.approx(10**9 / (result["wall_seconds"] * rate))
    clock = Clock()
    assert clock.times()["flops"] == 0 and clock.times()["compute_share"] is None


def test_the_whole_runs_share_is_its_stages_weighted_by_wall_time():
    stages = [(4e9, 2.0, 1e10), (1e9, 3.0, 1e10), (6e9, 1.0, 2e10)]
    capacity = [t * r for _, t, r in stages]  # what the matmul rate does in each stage's time
    weights = [c / sum(capacity) for c in capacity]  # wall time, where the rates are equal
    whole = compute.whole(stages)
    assert whole == pytest.approx(sum(compute.share(*s) * w
                                      for s, w in zip(stages, weights, strict=True)))
    assert whole == pytest.approx(11e9 / (2e10 + 3e10 + 2e10))
    assert compute.whole([(None, 5.0, 1e10)]) is None  # a run that recorded no work


def _record(flops, seconds, rate=1e10) -> dict:
    return {"wall_seconds": seconds, "flops": flops, "matmul_flops_per_second": rate,
            "complete": True}


def test_the_compute_table_shows_recorded_work_and_never_invents_it(tmp_path):
    from innr.report import cost
    from innr.report.load import Results

    runs = {"fidelity": [_record(2e9, 1.0), _record(4e9, 3.0)],
            "transfer": [_record(3e9, 2.0, 2e10)]}
    res = Results("t", tmp_path, (1, 2), Config(name="t"), runs)
    rows, (whole,) = cost.table([res]).groups
    assert rows == [["fidelity", "4.0 s", "6", "15%"], ["transfer", "2.0 s", "3", "8%"]]
    assert whole == ["whole run", "6.0 s", "9", "11%"]  # 9e9 / (4 s * 1e10 + 2 s * 2e10)
    assert "10 to 20 GFLOP/s" in cost.caption([res])
    runs["compression"] = [{"wall_seconds": 5.0}]  # made before the counting
    rows, (whole,) = cost.table([res]).groups
    assert rows[1] == ["compression", "5.0 s", cost.NOT_RECORDED, cost.NOT_RECORDED]
    assert whole == ["whole run", "11.0 s", cost.NOT_RECORDED, cost.NOT_RECORDED]
    published = Results("t", tmp_path, (1,), Config(name="t"),
                        {"fidelity": [{"wall_seconds": 1}]})
    assert cost.NOT_RECORDED in cost.caption([published])


def test_the_compute_table_covers_every_config_of_the_run_and_each_clock_once(tmp_path):
    from innr.report import cost
    from innr.report.load import Results

    main = Results("main", tmp_path / "main", (1,), Config(name="main"),
                   {"fidelity": [_record(2e9, 1.0)]})
    other = tmp_path / "other"
    write_json(other / "headline" / "seed1.json", _record(1e9, 2.0))
    # a data-track choice writes its one clock to each selection seed's file: counted once
    shared = {**_record(4e9, 4.0), "started": "t0"}
    write_json(other / "datatrack" / "selection" / "nern" / "50_seed7.json", shared)
    write_json(other / "datatrack" / "selection" / "nern" / "50_seed8.json", shared)
    write_json(other / "datatrack" / "nern" / "50_seed1.json", {**_record(3e9, 3.0),
                                                               "started": "t1"})
    runs = [main, Results("other", other, (1,), Config(name="other"), {})]
    rows, (whole,) = cost.table(runs).groups
    assert [r[:3] for r in rows] == [["fidelity (main)", "1.0 s", "2"],
                                     ["headline (other)", "2.0 s", "1"],
                                     ["datatrack (other)", "7.0 s", "7"]]
    assert whole[:3] == ["whole run", "10.0 s", "10"]


def test_the_frontiers_compute_counts_each_job_once_the_selection_sweeps_included(tmp_path):
    from innr.report import cost
    from innr.report.load import Results

    def point(rel: str, flops: float, seconds: float, started: str, hash_: str = "h") -> str:
        write_json(tmp_path / rel, {"point": {"method": "m", "budget": 0.5, "seed": 1},
                                    "status": "failed", "error": "x", "config_hash": hash_,
                                    "started": started, "job_seconds": seconds,
                                    **_record(flops, seconds)})
        return rel

    tests = [point("frontier/m/50_seed1.json", 2e9, 3.0, "t0"),  # one job, two points
             point("frontier/m/50_seed2.json", 2e9, 3.0, "t0"),
             point("frontier/m/25_seed1.json", 1e9, 1.0, "t1"),
             point("frontier/m/10_seed1.json", 9e9, 9.0, "t9", hash_="old")]  # another config's
    selection = [point("frontier/selection/m/50_seed7.json", 4e9, 5.0, "t2")]
    write_json(tmp_path / "frontier" / "index.json", {
        "points": tests, "selection_points": selection, "config_hash": "h", "frontier": {},
        "wall_seconds": 0.5, "complete": True})
    res = Results("t", tmp_path, (1,), Config(name="t"), {})
    assert sorted(j["started"] for j in res.frontier().jobs) == ["t0", "t1", "t2"]
    (row,), (whole,) = cost.table([res]).groups
    assert row[:3] == ["frontier", "9.0 s", "7"]
    # where its time went: by sweep and the methods a job made; the small jobs summed
    from innr.report.verdicts import method_label
    (rows,) = cost.frontier_breakdown([res], method_label).groups
    assert rows == [["t", "selection", "m", "1", "5.0 s", "56%", "8%"],
                    ["t", "test", "m", "2", "4.0 s", "44%", "8%"]]  # 3e9 / (4 s * 1e10)
    (rows,) = cost.frontier_breakdown([res], method_label, least=0.5).groups
    assert rows[1] == ["t", "both", "the other 2 jobs", "2", "4.0 s", "44%", "8%"]


def test_the_evaluation_rows_time_the_passes_and_stacking_matches_one_at_a_time(monkeypatch):
    from torch.func import functional_call, stack_module_state, vmap

    from innr import bench

    monkeypatch.setattr(bench, "EVAL_IMAGES", 40)
    rows = bench.evaluation_rows(torch.device("cpu"), 1, 1e10)
    assert [r["speedup"] for r in rows][0] == 1 and all(r["gflops"] > 0 for r in rows)
    torch.manual_seed(0)
    nets = [MnistExampleNet(4).eval() for _ in range(3)]
    stacked, _ = stack_module_state(nets)
    x = torch.randn(40, 1, 28, 28)
    with torch.no_grad():
        together = vmap(lambda p, b: functional_call(nets[0], p, (b,)), in_dims=(0, None))(
            stacked, x)
        alone = [n(x) for n in nets]
    for i, logits in enumerate(alone):
        torch.testing.assert_close(together[i], logits, rtol=0, atol=1e-6)
    if torch.backends.cpu.get_cpu_capability() == "AVX512":
        # to the bit with AVX-512, as bench.py says; with AVX2 the stacked convolution sums in
        # another order (last-bit differences, checked on an AVX2 machine on 2026-12-05)
        assert all(torch.equal(together[i], logits) for i, logits in enumerate(alone))


def test_a_seeds_test_logits_count_both_passes():
    from innr.experiments.workbench import Networks

    cnn = MnistExampleNet(2).eval()
    nets = Networks(cnn, {}, None, None, {}, cnn.state_dict())
    test = prepare(load("", "test").head(30), Config(name="t"), torch.device("cpu"))
    start = compute.METER.flops
    nets.test_logits(test)
    assert compute.METER.flops - start == 2 * 30 * compute.forward_flops(cnn, (1, 28, 28))


def test_an_innr_fit_counts_every_step():
    from innr.config import INNRConfig
    from innr.fit import fit_innr, innr_targets

    cfg = INNRConfig(hidden=8, layers=2, steps=30, eval_every=10, checkpoint_every=30,
                     step="eager")
    torch.manual_seed(0)
    targets = innr_targets(cfg, MnistExampleNet(2))
    start = compute.METER.flops
    siren, _ = fit_innr(cfg, 0, targets)
    assert compute.METER.flops - start == 30 * compute.fit_step_flops(
        siren, *targets.layout.coords.shape)


def test_a_variant_fit_counts_its_rows_steps_and_networks():
    from innr.config import VariantConfig
    from innr.experiments.workbench import fit_flops
    from innr.target import Targets
    from innr.variants import new_predictor

    nets = [MnistExampleNet(2) for _ in range(3)]
    v = VariantConfig(steps=7, batch_rows=16)
    targets = Targets.of([n.state_dict() for n in nets], v)
    one = compute.fit_step_flops(new_predictor(v, targets, 8), 16, targets.layout.coords.shape[1])
    assert fit_flops(v, targets, 8, nets[0], (1, 28, 28)) == 3 * 7 * one
