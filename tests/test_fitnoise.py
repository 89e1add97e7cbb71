"""The fit-noise experiment's plan and statistics, and the pilot file's freezing."""

from __future__ import annotations

import json

import pytest

from innr.config import Config, FitNoiseConfig, INNRConfig
from innr.experiments.fitnoise import covered, over_seeds, variants
from innr.report.pilot import freeze
from innr.stats import summary, variance_components
from innr.store import Store, write_json


def config(**fitnoise) -> Config:
    return Config(name="t", seeds=(5, 6, 7), innr=INNRConfig(steps=300, step="compiled"),
                  fitnoise=FitNoiseConfig(**fitnoise))


def test_variants_are_the_run_a_second_draw_and_the_autograd_reference():
    cfg = config(cnns=3, seed_offset=777, autograd_cnns=2)
    assert covered(cfg) == (5, 6, 7) and covered(config(cnns=2)) == (5, 6)
    first = variants(cfg, 5)
    assert set(first) == {"run", "draw2", "autograd"} and first["run"] is cfg
    assert first["draw2"].innr.seed_offset == 777 and first["draw2"].innr.step == "compiled"
    assert first["autograd"].innr.step == "autograd" and first["autograd"].innr.seed_offset == 0
    # the extra fits keep the recipe; only the final evaluation is made
    for name in ("draw2", "autograd"):
        other = first[name].innr
        assert (other.steps, other.lr, other.w0_initial, other.hidden) == (
            300, cfg.innr.lr, cfg.innr.w0_initial, cfg.innr.hidden)
        assert other.eval_every == other.steps
        # a different fit caches under a different key
        assert first[name].section_hash("innr") != cfg.section_hash("innr")
    assert set(variants(cfg, 7)) == {"run", "draw2"}  # past autograd_cnns


def fit(acc: float, agree: float, err: float) -> dict:
    return {"accuracy_rebuilt": acc, "top1_agreement": agree, "weight_rel_l2": err}


def test_over_seeds_splits_the_variance_and_pairs_the_steps():
    runs = {5: (0.95, 0.951, 0.949), 6: (0.94, 0.938, 0.945), 7: (0.96, 0.963, None)}
    results = []
    for seed, (run, draw2, autograd) in runs.items():
        m = {**{f"run_{k}": v for k, v in fit(run, run, run).items()},
             **{f"draw2_{k}": v for k, v in fit(draw2, draw2, draw2).items()},
             "draw2_vs_run_rel_l2": 0.2}
        if autograd is not None:
            m |= {f"autograd_{k}": v for k, v in fit(autograd, autograd, autograd).items()}
            m["autograd_vs_run_rel_l2"] = 0.25
        results.append({"seed": seed, "status": "ok", "metrics": m})
    results.append({"seed": 8, "status": "failed", "metrics": {}})
    out = over_seeds(results)
    assert out["seeds"] == [5, 6, 7] and out["failed_seeds"] == [8]
    groups = [[r, d] for r, d, _ in runs.values()]
    assert out["accuracy_rebuilt"]["split"] == variance_components(groups)
    assert out["accuracy_rebuilt"]["step_minus_autograd"] == summary([0.95 - 0.949,
                                                                      0.94 - 0.945])
    assert out["autograd_vs_run_rel_l2"]["n"] == 2 and out["draw2_vs_run_rel_l2"]["n"] == 3


def test_the_pilot_is_frozen_from_compression_results(tmp_path):
    store = Store("p", tmp_path)
    for seed, (a, b) in {1: (0.95, 0.94), 2: (0.96, 0.955)}.items():
        write_json(store.result("compression", seed), {
            "seed": seed, "status": "ok", "complete": True, "config": {"name": "p"},
            "config_hash": "abc", "provenance": {"git_commit": "f" * 40},
            "finished": f"2026-01-0{seed}", "metrics": {"accuracy_original": a,
                                                         "accuracy_rebuilt": b}})
    write_json(store.result("compression", 3), {"seed": 3, "status": "failed",
                                                "complete": True})
    pilot = freeze(tmp_path / "p")
    assert pilot["seeds"] == [1, 2] and pilot["accuracy_rebuilt"] == [0.94, 0.955]
    assert pilot["config_hashes"] == ["abc"] and pilot["finished"] == "2026-01-02"
    json.dumps(pilot)
    with pytest.raises(FileNotFoundError):
        freeze(tmp_path / "none")
