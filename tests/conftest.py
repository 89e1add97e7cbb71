"""Shared fixtures: the quick config's results, produced once per test session."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
QUICK = REPO / "experiments" / "quick.toml"
# the experiment configs under experiments/ (the other TOML files there hold data)
CONFIGS = [p for p in sorted((REPO / "experiments").glob("*.toml"))
           if p.name not in ("criteria.toml", "original_study.toml", "nern_reported.toml")]


def pytest_collection_modifyitems(items):
    # a test that needs the quick config's results runs the experiments end to end: slow, and
    # left out of the mutation pass (scripts/mutation.sh), which runs the unit tests
    for item in items:
        if "quick_results" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _threads():
    # the same thread count for every test, so CPU results are reproducible within a run
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory) -> Path:
    """Run the experiments with experiments/quick.toml; returns the results root."""
    from innr.config import experiments_of, load_config
    from innr.experiments import ablation, compression, fidelity, fitnoise, frontier, transfer
    from innr.experiments.common import main

    root = tmp_path_factory.mktemp("results")
    for name, module in [("fidelity", fidelity), ("compression", compression),
                         ("transfer", transfer), ("fitnoise", fitnoise)]:
        kwargs = {"finish": module.finish} if hasattr(module, "finish") else {}
        if hasattr(module, "covered"):
            kwargs["seeds_of"] = module.covered
        assert main(name, module.run, ["--config", str(QUICK), "--results", str(root)],
                    **kwargs) == 0
    assert ablation.main(["--config", str(QUICK), "--results", str(root)]) == 0
    assert frontier.main(["--config", str(QUICK), "--results", str(root)]) == 0
    # then what ./run_all.sh --quick runs next: the headline method's claims and the data track,
    # and the companions' experiments (issue 27's networks), in experiments_of's order
    config = load_config(QUICK)
    runs = [(QUICK, e) for e in experiments_of(config, True) if e in ("headline", "datatrack")]
    runs += [(QUICK.parent / f"{name}.toml", e) for name in config.frontier.companions
             for e in experiments_of(load_config(QUICK.parent / f"{name}.toml"), False)]
    for path, name in runs:
        module = importlib.import_module(f"innr.experiments.{name}")
        assert module.main(["--config", str(path), "--results", str(root)]) == 0
    return root / "quick"
