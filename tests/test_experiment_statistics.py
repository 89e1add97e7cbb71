"""What the experiment scripts compute from networks and over seeds, checked against independent
computations on small inputs (the end-to-end runs are in test_experiments.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.attacks import fgsm, perturb, random_sign, transfer_rate
from innr.config import AttackConfig, Config, DataConfig
from innr.datasets import load
from innr.experiments.common import aggregate
from innr.experiments.compression import compression_metrics, over_seeds
from innr.experiments.fgsm import DIRECTIONS, attack, metrics_of, predict, signs
from innr.experiments.transfer import noise_baseline
from innr.experiments.workbench import accuracies
from innr.fit import prepare
from innr.stats import paired_test, summary
from innr.store import Store

DATA = DataConfig()


def result(seed: int, metrics: dict, status: str = "ok") -> dict:
    return {"seed": seed, "status": status, "metrics": metrics}


# --- over seeds ----------------------------------------------------------------------------------

def test_aggregate_rows_are_the_ok_seeds_and_their_statistics(tmp_path):
    results = [result(1, {"a": 0.5, "b": 2.0}), result(2, {"a": 0.7, "b": 4.0}),
               result(3, {"a": 0.9, "b": 3.0}), result(4, {}, status="failed")]
    frame = aggregate("x", results, Store("c", tmp_path))
    rows = frame.set_index(frame["seed"].astype(str))
    assert list(rows.index) == ["1", "2", "3", "mean", "std", "ci_low", "ci_high", "n"]
    for column, values in (("a", [0.5, 0.7, 0.9]), ("b", [2.0, 4.0, 3.0])):
        s = summary(values)
        for row in ("mean", "std", "ci_low", "ci_high", "n"):
            assert rows.loc[row, column] == pytest.approx(s[row], rel=1e-12), (column, row)
    on_disk = pd.read_csv(tmp_path / "c" / "x" / "aggregate.csv")
    assert list(on_disk.columns) == ["seed", "a", "b"]
    assert list(on_disk["seed"].astype(str)) == list(rows.index)


def test_aggregate_names_the_failed_seeds_and_survives_when_all_failed(tmp_path, capsys):
    aggregate("x", [result(1, {"a": 0.5}), result(2, {}, status="failed")],
              Store("c", tmp_path))
    assert "warning: x: seeds [2] failed and are left out" in capsys.readouterr().err
    frame = aggregate("y", [result(3, {}, status="failed")], Store("c", tmp_path))
    assert frame.empty and (tmp_path / "c" / "y" / "aggregate.csv").is_file()
    assert "seeds [3] failed" in capsys.readouterr().err


def test_compression_metrics_of_one_seed():
    m = compression_metrics(200, 150, {"accuracy_original": 0.9, "accuracy_rebuilt": 0.85},
                            accuracy_pruned=0.82)
    assert m["param_ratio"] == 0.75 and m["param_reduction"] == 0.25
    assert m["accuracy_gap"] == pytest.approx(0.05)  # the CNN's minus the rebuilt network's
    assert m["pruned_gap"] == pytest.approx(0.08) and m["accuracy_pruned"] == 0.82
    assert m["params_cnn"] == 200 and m["params_innr"] == 150


def test_over_seeds_pairs_the_cnn_with_its_own_rebuild_and_leaves_failures_out():
    acc = {1: (0.95, 0.94), 2: (0.97, 0.955), 3: (0.93, 0.925)}
    results = [result(s, {"accuracy_original": a, "accuracy_rebuilt": b, "accuracy_gap": a - b})
               for s, (a, b) in acc.items()]
    results.append(result(9, {"accuracy_original": 0.0, "accuracy_rebuilt": 0.0,
                              "accuracy_gap": 0.0}, status="failed"))
    out = over_seeds(results)
    assert out["seeds"] == [1, 2, 3] and out["failed_seeds"] == [9]
    assert out["gap"] == summary([a - b for a, b in acc.values()])
    assert out["paired_test"] == paired_test([a for a, _ in acc.values()],
                                             [b for _, b in acc.values()])
    assert out["paired_test"]["t"] > 0


def test_networks_give_the_cnns_and_the_rebuilt_networks_logits():
    from innr.experiments.workbench import Networks
    from innr.fit import rebuilt_classifier

    torch.manual_seed(0)
    cnn = MnistExampleNet(2).eval()
    rebuilt = {k: 0.5 * v for k, v in cnn.state_dict().items()}
    nets = Networks(cnn, {}, None, None, {}, rebuilt)
    test = prepare(load("", "test").head(30), Config(name="t"), torch.device("cpu"))
    logits_cnn, logits_rebuilt = nets.test_logits(test)
    with torch.no_grad():
        torch.testing.assert_close(logits_cnn, cnn(test.inputs))
        torch.testing.assert_close(logits_rebuilt, rebuilt_classifier(cnn, rebuilt)(test.inputs))
    assert not torch.allclose(logits_cnn, logits_rebuilt)


def test_accuracies_name_each_network():
    cnn = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    rebuilt = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    out = accuracies(cnn, rebuilt, torch.tensor([0, 0]))
    assert out == {"accuracy_original": 1.0, "accuracy_rebuilt": 0.5}


# --- the transfer experiment's attack ------------------------------------------------------------

@pytest.fixture(scope="module")
def networks():
    torch.manual_seed(0)
    models = {name: MnistExampleNet(4).eval() for name in ("original", "rebuilt", "control")}
    test = prepare(load("", "test").head(120), Config(name="t"), torch.device("cpu"))
    return models, test


@pytest.fixture  # per test, so that every test runs the attack itself (mutation testing)
def small(networks, capsys):
    models, test = networks
    cfg = AttackConfig(eps=(0.0, 0.1, 0.3), batch_size=50)
    records, examples = attack(models, test, cfg, DATA, what="FGSM test")
    return models, test, cfg, records, examples, capsys.readouterr().out


def predictions(model, inputs: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(inputs).argmax(1)


def test_attack_records_every_direction_protocol_eps_and_target(small):
    _, _, cfg, records, examples, _ = small
    expected = sum(len(targets) for _, targets in DIRECTIONS.values()) * len(
        cfg.protocols) * len(cfg.eps)
    assert len(records) == expected
    for r in records:
        assert (r["transfer_rate"] is None) == (r["target"] == r["source"])
        assert r["source"] == DIRECTIONS[r["direction"]][0]
    assert len(examples) == len(cfg.protocols) * len(cfg.eps)  # forward only


def test_attack_numbers_equal_an_independent_computation(small):
    models, test, cfg, records, _, _ = small
    for r in records:
        source = models[r["source"]]
        adv = fgsm(source, test.pixels, test.labels, r["eps"], r["protocol"], DATA.mean,
                   DATA.std)
        fooled_source = predictions(source, adv) != test.labels
        fooled = predictions(models[r["target"]], adv) != test.labels
        assert r["accuracy"] == pytest.approx(1 - float(fooled.float().mean()), abs=1e-9)
        if r["transfer_rate"] is not None:
            expected = transfer_rate(fooled_source, fooled)
            assert (math.isnan(expected) and math.isnan(r["transfer_rate"])) or (
                r["transfer_rate"] == pytest.approx(expected, abs=1e-9))
            # among the images both networks classify correctly when clean
            both = ((predictions(source, test.inputs) == test.labels)
                    & (predictions(models[r["target"]], test.inputs) == test.labels))
            expected = float((fooled_source & both & fooled).sum()) / float(
                (fooled_source & both).sum()) if (fooled_source & both).any() else math.nan
            assert (math.isnan(expected) and math.isnan(r["transfer_rate_clean"])) or (
                r["transfer_rate_clean"] == pytest.approx(expected, abs=1e-9))


def test_eps_zero_is_the_clean_accuracy(small):
    models, test, _, records, _, _ = small
    for r in (r for r in records if r["eps"] == 0):
        clean = predictions(models[r["target"]], test.inputs) == test.labels
        assert r["accuracy"] == pytest.approx(float(clean.float().mean()), abs=1e-6)


def test_examples_are_the_first_test_images_under_attack_in_pixels(small):
    models, test, cfg, _, examples, _ = small
    for e in examples:
        adv = fgsm(models["original"], test.pixels, test.labels, e["eps"], e["protocol"],
                   DATA.mean, DATA.std)[:len(e["label"])]
        torch.testing.assert_close(torch.tensor(e["pixels"]), (adv * DATA.std + DATA.mean)
                                   .squeeze(1))
        assert e["label"] == test.labels[:len(e["label"])].tolist()
        for t in DIRECTIONS["forward"][1]:
            assert e[f"pred_{t}"] == predictions(models[t], adv).tolist()
    assert [(e["protocol"], e["eps"]) for e in examples] == [
        (p, eps) for p in cfg.protocols for eps in cfg.eps]


def test_the_attack_reports_its_progress(small):
    _, _, cfg, _, _, out = small
    n = len(DIRECTIONS) * len(cfg.protocols) * len(cfg.eps)
    assert out.strip().splitlines()[-1].startswith(f"FGSM test: attack {n}/{n} (100%)")


def test_metrics_flatten_the_records(small):
    _, _, _, records, _, _ = small
    metrics = metrics_of(records)
    r = next(r for r in records if r["direction"] == "forward" and r["target"] == "control"
             and r["protocol"] == "pixel" and r["eps"] == 0.1)
    assert metrics["forward_pixel_eps0.1_acc_control"] == r["accuracy"]
    assert metrics["forward_pixel_eps0.1_transfer_control"] == r["transfer_rate"]
    assert "forward_pixel_eps0.1_transfer_original" not in metrics  # the source itself
    clean = metrics["forward_pixel_eps0.1_transfer_clean_control"]
    assert clean == r["transfer_rate_clean"] or (math.isnan(clean)
                                                 and math.isnan(r["transfer_rate_clean"]))
    assert len(metrics) == len(records) + 2 * sum(r["transfer_rate"] is not None
                                                  for r in records)


def test_random_signs_are_seeded_plus_or_minus_one():
    a, b = random_sign(torch.Size([4000]), 1), random_sign(torch.Size([4000]), 2)
    assert set(a.unique().tolist()) == {-1.0, 1.0} and abs(float(a.mean())) < 0.1
    assert torch.equal(a, random_sign(torch.Size([4000]), 1)) and not torch.equal(a, b)


def test_noise_baseline_equals_an_independent_computation(networks):
    models, test = networks
    cfg = AttackConfig(eps=(0.0, 0.2), batch_size=50, noise_draws=3)
    records = noise_baseline(models, test, cfg, DATA, seed=5)
    assert {(r["protocol"], r["eps"]) for r in records} == {("original", 0.2), ("pixel", 0.2)}
    assert {r["target"] for r in records} == {"rebuilt"}
    for r in records:
        accs = []
        for d in range(3):
            x = perturb(test.pixels, random_sign(test.pixels.shape, 5 * 1000 + d), 0.2,
                        r["protocol"], DATA.mean, DATA.std)
            accs.append(float((predictions(models[r["target"]], x) == test.labels).float()
                              .mean()))
        assert r["draws"] == pytest.approx(accs) and r["accuracy"] == pytest.approx(
            sum(accs) / 3)
    metrics = metrics_of([], records)
    assert metrics["noise_pixel_eps0.2_acc_rebuilt"] == next(
        r["accuracy"] for r in records if r["protocol"] == "pixel" and r["target"] == "rebuilt")
    assert noise_baseline(models, test, AttackConfig(eps=(0.2,), noise_draws=0), DATA, 5) == []


def test_each_source_seed_has_its_own_control_seed():
    from innr.config import ConfigError
    from innr.experiments.workbench import Workbench

    ctx = Workbench(Config(name="t", seeds=(1, 2, 3), control_seeds=(7, 8, 9)), None, None)
    assert [ctx.control_seed(s) for s in (1, 2, 3)] == [7, 8, 9]
    with pytest.raises(ConfigError, match="no control_seeds"):
        Workbench(Config(name="t", seeds=(1, 2)), None, None).control_seed(1)


def test_the_attack_equals_one_pass_per_eps_and_target_to_the_bit(small):
    # the attack shares passes (eps 0 is the clean pass): its records equal, to the bit, those
    # of one pass over every (direction, protocol, eps, target)
    models, test, cfg, records, _, _ = small
    for r in records:
        sign = signs(models[r["source"]], test, DATA, cfg.batch_size)
        adv = perturb(test.pixels, sign, r["eps"], r["protocol"], DATA.mean, DATA.std)
        fooled = predict(models[r["target"]], adv, cfg.batch_size) != test.labels
        assert r["accuracy"] == 1 - float(fooled.float().mean())
        if r["transfer_rate"] is not None:
            source = predict(models[r["source"]], adv, cfg.batch_size) != test.labels
            rate = transfer_rate(source, fooled)
            assert r["transfer_rate"] == rate or math.isnan(rate) and math.isnan(
                r["transfer_rate"])
