"""The experiments' workbench: CNNs loaded once, one evaluation, one result envelope; and the
layering it makes possible (no experiment imports another; perf imports only foundations)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from innr.config import Config
from innr.experiments import workbench
from innr.experiments.workbench import Clock, Workbench, envelope, evaluate

SRC = Path(__file__).resolve().parents[1] / "src" / "innr"
EXPERIMENTS = ("fidelity", "compression", "transfer", "fitnoise", "ablation", "frontier")


def imported(path: Path) -> set[str]:
    """The innr modules a file imports when it runs (type-checking imports left out)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and getattr(node.test, "id", None) == "TYPE_CHECKING"
                   for n in ast.walk(node)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return {n for n in names if n.startswith("innr")}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_no_experiment_imports_another(name):
    others = {f"innr.experiments.{e}" for e in EXPERIMENTS if e != name}
    assert not imported(SRC / "experiments" / f"{name}.py") & others


def test_perf_imports_nothing_above_the_foundations():
    for path in (SRC / "perf").glob("*.py"):
        above = {m for m in imported(path) if not m.startswith("innr.perf")}
        assert not above, (path.name, above)


def test_the_evaluation_has_the_results_keys_in_order():
    labels = torch.tensor([0, 1, 1, 0])
    cnn = torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 2.0], [2.0, 0.0]])  # all right
    other = torch.tensor([[2.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])  # one wrong
    weights = ({"w": torch.ones(2, 2), "b": torch.ones(2)},  # the error is the weights' (dim 2)
               {"w": torch.full((2, 2), 1.1), "b": torch.zeros(2)})
    e = evaluate(cnn, other, labels, weights)
    assert list(e) == ["accuracy_original", "accuracy_rebuilt", "accuracy_gap",
                       "top1_agreement", "snr_db", "weight_rel_l2"]
    assert (e["accuracy_original"], e["accuracy_rebuilt"], e["top1_agreement"]) == (1, 0.75, 0.75)
    assert e["accuracy_gap"] == 0.25 and e["weight_rel_l2"] == pytest.approx(0.1)
    no_weights = evaluate(cnn, other, labels)  # a network of another shape: no weight error
    assert no_weights["snr_db"] is None and no_weights["weight_rel_l2"] is None


def test_the_envelope_says_how_a_result_was_made():
    config = Config(name="t")
    stamp = envelope(config, config.hash(), torch.device("cpu"), Clock())
    work = ["flops", "matmul_flops_per_second", "compute_share"]  # innr.compute.record
    assert list(stamp) == ["config", "config_hash", "provenance", "started", "finished",
                           "wall_seconds", *work, "complete"]
    assert stamp["config"] == config.to_dict() and stamp["wall_seconds"] >= 0
    assert list(Clock().times("job_seconds")) == ["started", "finished", "job_seconds", *work]


def test_a_cnn_is_loaded_once_per_run(monkeypatch):
    calls = []

    def get_cnn(config, seed, store, train, test):
        calls.append(seed)
        return torch.nn.Linear(2, 2), {"seed": seed}

    monkeypatch.setattr(workbench, "get_cnn", get_cnn)
    bench = Workbench(Config(name="t", seeds=(1, 2)), None, torch.device("cpu"))
    bench._splits["report"] = (None, None)  # no data needed: get_cnn is replaced
    first = bench.cnns("report")
    assert bench.cnn(2)[0] is first[1] and bench.cnns("report") == first
    assert calls == [1, 2]
