"""The headline INNR method's claims (innr.experiments.headline): the method chosen on the
validation split, the frontier's kept weights measured without a second fit, the claims'
measures per budget, and the one line that names the frontier where its weights are missing."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from innr import methods
from innr.config import load_config
from innr.experiments import frontier, headline
from innr.experiments.workbench import SELECT, budget_label, kept_path, path_of
from innr.methods import METHODS, Method
from innr.paths import QUICK_CONFIG
from innr.store import Store, read_json, write_json

# two INNR methods at both headline budgets, the ablation's selection made small
OVERRIDES = ["frontier.budgets=[0.5, 0.78]", 'frontier.methods=["innr_faithful", "innr_best"]',
             "frontier.method_budgets={}", "frontier.method_seeds={}",
             "frontier.decode_repeats=1", "ablation.w0_sweep=[30.0]", "ablation.ideas={}",
             "headline.budgets=[0.78, 0.5]"]
SETS = sum([["--set", o] for o in OVERRIDES], [])


def test_the_headline_is_the_best_innr_by_its_score_the_first_registered_on_a_tie():
    assert methods.headline({"innr_best": 0.8, "innr_faithful": 0.9, "pruned": 0.99}
                            ) == "innr_faithful"
    assert methods.headline({"innr_best": 0.8, "innr_faithful": 0.8}) == "innr_faithful"
    assert methods.headline({"pruned": 0.9}) is None


def test_an_innr_that_uses_the_data_is_never_the_headline(monkeypatch):
    @dataclass(frozen=True)
    class Trained(Method):
        pass

    monkeypatch.setitem(METHODS, "trained_innr",
                        Trained("trained_innr", "x", innr=True, uses_data=True))
    assert methods.headline({"trained_innr": 1.0, "innr_best": 0.5}) == "innr_best"


def test_a_headline_budget_must_be_a_frontier_budget():
    with pytest.raises(Exception, match="headline.budgets"):
        load_config(QUICK_CONFIG, ["headline.budgets=[0.3]"])


def test_without_budgets_it_says_so_in_one_line_and_writes_nothing(tmp_path, capsys):
    assert headline.main(["--config", str(QUICK_CONFIG), "--results", str(tmp_path),
                           "--set", "headline.budgets=[]"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == [
        f"headline: nothing to do under {QUICK_CONFIG}: headline.budgets is empty"]
    assert not any(tmp_path.iterdir())


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """The small frontier, then the headline experiment, in one results folder (minutes: the
    tests that use it are marked slow)."""
    root = tmp_path_factory.mktemp("results")
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(root), *SETS]) == 0
    assert headline.main(["--config", str(QUICK_CONFIG), "--results", str(root), *SETS]) == 0
    return root, load_config(QUICK_CONFIG, OVERRIDES)


def _means(store: Store, config, budget: float, key: str, stage: str | None) -> dict:
    """Each INNR method's mean `key` at `budget` over the stage's seeds, from the frontier."""
    seeds = config.ablation.selection_seeds if stage == SELECT else config.seeds
    on = {"stage": stage} if stage else {}
    return {m: sum(read_json(path_of(store, {"method": m, "budget": budget, "seed": s, **on})
                             )[key] for s in seeds) / len(seeds) for m in config.frontier.methods}


@pytest.mark.slow
def test_each_budget_measures_the_frontiers_weights_of_the_validation_best(ran):
    root, config = ran
    store = Store(config.name, root)
    for seed in config.seeds:
        r = read_json(store.result("headline", seed))
        assert r["status"] == "ok" and r["config_hash"] == config.frontier_hash()
        m = r["metrics"]
        for budget in config.headline.budgets:
            label = budget_label(budget)
            d = r["details"][label]
            val = _means(store, config, budget, "val_accuracy", SELECT)
            assert d["chosen_on"] == "validation" and d["candidates"] == pytest.approx(val)
            assert d["method"] == max(val, key=val.get)
            assert m[f"b{label}_val_accuracy"] == pytest.approx(val[d["method"]])
            # the very weights the frontier measured: its accuracy and agreement, exactly
            point = read_json(root / config.name / d["point"])
            assert point["point"]["method"] == d["method"]
            assert m[f"b{label}_accuracy_rebuilt"] == point["accuracy_rebuilt"]
            assert m[f"b{label}_top1_agreement"] == point["top1_agreement"]
            assert m[f"b{label}_accuracy_gap"] == pytest.approx(
                m[f"b{label}_accuracy_original"] - m[f"b{label}_accuracy_rebuilt"])
            assert m[f"b{label}_control_accuracy_gap"] == pytest.approx(
                m[f"b{label}_accuracy_original"] - m[f"b{label}_accuracy_control"])
            assert m[f"b{label}_mean_kl"] >= 0 and m[f"b{label}_control_mean_kl"] > 0
            assert d["control_seed"] == config.control_of(seed)
            for protocol in config.attack.protocols:
                for eps in config.attack.eps:
                    key = f"b{label}_forward_{protocol}_eps{eps:g}"
                    assert {f"{key}_acc_{t}" for t in ("original", "rebuilt", "control")} | {
                        f"{key}_transfer_{t}" for t in ("rebuilt", "control")} <= set(m)
            assert {x["direction"] for x in d["transfer"]["records"]} == {"forward"}
    frame = pd.read_csv(store.aggregate("headline"))
    assert "b50_forward_pixel_eps0.1_acc_control" in frame.columns


@pytest.mark.slow
def test_the_validation_split_chooses_not_the_test_set(ran, tmp_path):
    root, config = ran
    store = Store(config.name, root)
    budget = 0.5
    test = _means(store, config, budget, "accuracy_rebuilt", None)
    worst = min(test, key=test.get)
    for s in config.ablation.selection_seeds:  # validation now favours the test set's worst
        for m in config.frontier.methods:
            path = path_of(store, {"method": m, "budget": budget, "stage": SELECT, "seed": s})
            f = read_json(path)
            write_json(path, {**f, "val_accuracy": 0.99 if m == worst else 0.01})
    assert headline.main(["--config", str(QUICK_CONFIG), "--results", str(root), *SETS,
                           "--seeds", str(config.seeds[0])]) == 0
    # the results file is current: the choice is read again only by a fresh run
    store.result("headline", config.seeds[0]).unlink()
    assert headline.main(["--config", str(QUICK_CONFIG), "--results", str(root), *SETS,
                           "--seeds", str(config.seeds[0])]) == 0
    d = read_json(store.result("headline", config.seeds[0]))["details"][budget_label(budget)]
    assert d["method"] == worst and d["val_accuracy"] == pytest.approx(0.99)


@pytest.mark.slow
def test_missing_weights_stop_with_the_frontiers_command_and_the_frontier_keeps_them_again(
        ran, capsys):
    root, config = ran
    store = Store(config.name, root)
    seed = config.seeds[-1]
    d = read_json(store.result("headline", seed))["details"]["78"]
    point = read_json(root / config.name / d["point"])["point"]
    kept = kept_path(store, point, config.ablation_hash())
    assert kept.is_file()
    kept.unlink()
    store.result("headline", seed).unlink()
    capsys.readouterr()
    assert headline.main(["--config", str(QUICK_CONFIG), "--results", str(root), *SETS,
                           "--seeds", str(seed)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "python -m innr.experiments.frontier --config" in err[0]
    assert not store.result("headline", seed).exists()
    # the frontier makes the point again, keeping its weights; the other points stand
    points = [p for p in (root / config.name / "frontier").rglob("*_seed*.json")]
    before = {p: p.stat().st_mtime_ns for p in points}
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(root), *SETS]) == 0
    assert kept.is_file()
    assert [p for p in points if p.stat().st_mtime_ns != before[p]] == [
        root / config.name / d["point"]]
