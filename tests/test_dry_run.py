"""scripts/dry_run.py: a config shrunk to tiny sizes still runs what the config runs."""

from __future__ import annotations

import importlib.util
import tomllib

from innr.config import experiments_of, load_config

from .conftest import REPO

spec = importlib.util.spec_from_file_location("dry_run", REPO / "scripts" / "dry_run.py")
dry_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dry_run)


def test_the_toml_it_writes_reads_back_as_the_settings():
    raw = {"name": "t", "seeds": [1, 2], "flag": True, "x": 0.5, "s": 'a "b"',
           "ablation": {"ideas": {"distill": [{"distill_steps": 2, "distill_lr": 1e-4}]},
                        "base": {"steps": 3}}}
    assert tomllib.loads(dry_run.toml(raw)) == raw


def test_a_shrunk_config_keeps_what_it_runs_at_tiny_sizes(tmp_path):
    paths = dry_run.write(REPO / "experiments" / "next" / "full.toml", tmp_path)
    assert [p.stem for p in paths] == ["full", "fashion", "bn_cnn_mnist", "bn_cnn_fashion",
                                       "resnet_fashion"]
    for path, main in zip(paths, [True] + [False] * (len(paths) - 1), strict=True):
        tiny, real = load_config(path), load_config(REPO / "experiments" / "next" / path.name)
        assert experiments_of(tiny, main) == experiments_of(real, main)
        assert (tiny.frontier.methods, tiny.frontier.budgets, tiny.frontier.method_budgets) == (
            real.frontier.methods, real.frontier.budgets, real.frontier.method_budgets)
        assert (tiny.headline, tiny.datatrack.budgets, tiny.datatrack.methods) == (
            real.headline, real.datatrack.budgets, real.datatrack.methods)
        assert tiny.seeds == real.seeds[:2] and tiny.cnn.epochs == 1 and tiny.innr.steps == 10
        assert tiny.data.train_limit == 3000 and tiny.ablation.base.steps == 10
        assert all(d.get("distill_steps") == 2 for d in tiny.frontier.distill_choices)
