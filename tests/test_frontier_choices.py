"""The frontier's choices on the validation split and its coded sizes: the options a method
chooses among, the choice by mean validation accuracy over the selection CNNs (never the test
set), the coded bytes checked to unpack exactly, and a killed run that leaves every point's file
whole or absent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest
import torch

from innr import methods
from innr.config import ConfigError, load_config
from innr.experiments import frontier
from innr.experiments.workbench import Workbench
from innr.fit import Split
from innr.methods import Compressed, Compression
from innr.paths import QUICK_CONFIG, REPO_ROOT
from innr.store import Store, read_json


def quick(*overrides: str):
    return load_config(QUICK_CONFIG, list(overrides))


@dataclass(frozen=True)
class Blurred(Compression):
    """A toy method for the tests below: every weight rounded to int8 codes of one scale a
    tensor; `clip` "noise" adds noise as large as the weights (a bad option, seen on any
    split)."""

    clip: str = "max"

    def choices(self):
        return {"clip": ("max", "noise")}

    def settings(self, params):
        return (8,)

    def bits(self, params, setting):
        return sum(p.numel() for p in params.values()) * setting + 32 * len(params)

    def encode(self, params, setting):
        g = torch.Generator().manual_seed(0)
        stored, out = {}, {}
        for k, p in params.items():
            w = p.detach().cpu()
            if self.clip == "noise":
                w = w + torch.randn(w.shape, generator=g) * w.abs().max()
            scale = w.abs().max() / 127
            stored[f"{k}.codes"] = torch.round(w / scale).to(torch.int8)
            stored[f"{k}.scale"] = scale.reshape(1)
            out[k] = (stored[f"{k}.codes"].float() * scale).to(p.device)
        return Compressed(self.name, out, self.bits(params, setting),
                          {"bits": setting, "clip": self.clip}, stored=stored)

    def decoder(self, c, like):
        return lambda: {k: v.clone() for k, v in c.params.items()}


@pytest.fixture
def blurred():
    methods.register(Blurred("blurred", "int8, maybe noisy"))
    yield
    del methods.METHODS["blurred"]


# --- the options and the choice rule -----------------------------------------------------------

def test_a_method_chooses_among_every_combination_of_the_choices_that_apply(blurred):
    config = quick()
    distill = [{"distill": dict(d)} for d in config.frontier.distill_choices]
    assert frontier.options(methods.get("blurred"), config) == [{"clip": "max"},
                                                                 {"clip": "noise"}]
    assert frontier.options(methods.get("pruned_distilled"), config) == distill
    assert frontier.options(methods.get("pruned"), config) == [{}]
    assert frontier.options(methods.get("innr_best"), config) == [{}]
    both = frontier.options(Blurred("b", "b", distil=True), config)
    assert both == [{"clip": c, **d} for c in ("max", "noise") for d in distill]
    assert frontier.options(methods.get("pruned_distilled"), quick(
        "frontier.distill_choices=[]")) == [{}]  # the INNR's settings, as published
    # the options a point chooses among are in the point: changing them makes it stale
    point = next(p for p in frontier.frontier_points(config)
                 if p["method"] == "pruned_distilled")
    assert point["options"] == distill
    done = {"config_hash": config.ablation_hash(), "point": point}
    assert frontier.is_current(config, done)
    assert not frontier.is_current(quick("frontier.distill_choices=[{distill_steps = 7}, "
                                         "{distill_steps = 9}]"), done)


def test_the_choice_is_the_best_mean_over_the_seeds_of_what_fits_every_seed():
    def c(acc, fits=True):
        return {"val_accuracy": acc, "fits": fits}

    # seed 1 prefers the first, the mean the second
    assert frontier.best_option([[c(0.9), c(0.8)], [c(0.5), c(0.7)]]) == 1
    assert frontier.best_option([[c(0.8), c(0.8)], [c(0.6), c(0.6)]]) == 0  # tie: the first
    # the second does not fit one seed: left out, however good elsewhere
    assert frontier.best_option([[c(0.1), c(0.99)], [c(0.1), c(None, fits=False)]]) == 0
    assert frontier.mean_accuracies([[c(0.2), c(0.4, False)], [c(0.4), c(0.4)]]) == [
        pytest.approx(0.3), None]


def test_the_rivals_distillation_search_is_as_large_as_the_innrs():
    # quick.toml's ablation tried one distillation idea against none: two candidates
    assert len(quick().frontier.distill_choices) == 2
    with pytest.raises(ConfigError, match="give 2 candidates"):
        quick("frontier.distill_choices=[{distill_steps = 7}]")
    quick("frontier.distill_choices=[{distill_steps = 7}]", 'frontier.methods=["pruned"]',
          "frontier.method_budgets={}", "frontier.method_seeds={}")  # nothing distilled
    with pytest.raises(ConfigError, match=r"distill_choices\[1\]: only distill_"):
        quick("frontier.distill_choices=[{distill_steps = 7}, {steps = 9}]")
    with pytest.raises(ConfigError, match="distill_lr"):
        quick("frontier.distill_choices=[{distill_steps = 7}, {distill_lr = -1.0}]")


# --- coded sizes ---------------------------------------------------------------------------------

def test_coded_bytes_are_the_packed_files_length_checked_to_unpack_exactly(monkeypatch):
    stored = {"codes": torch.tensor([[0, 1], [-3, 2]], dtype=torch.int8),
              "scales": torch.tensor([0.5, 0.25])}
    r = frontier.coded({"fits": True, "stored": stored})
    assert r == {"fits": True, "bytes_coded": len(frontier.pack(stored))}
    assert frontier.coded({"fits": False}) == {"fits": False, "bytes_coded": None}
    assert frontier.coded({"bytes_coded": 12}) == {"bytes_coded": 12}  # coded by the method

    real = frontier.unpack

    def lossy(blob):  # an unpack that loses the last code
        out = real(blob)
        out["codes"] = out["codes"].clone()
        out["codes"][-1, -1] += 1
        return out

    monkeypatch.setattr(frontier, "unpack", lossy)
    with pytest.raises(RuntimeError, match="did not unpack exactly"):
        frontier.coded({"stored": stored})


# --- end to end: the choice comes from the validation split ------------------------------------

OVERRIDES = ["frontier.budgets=[0.5]", "headline.budgets=[]",
             'frontier.methods=["blurred", "pruned"]',
             "frontier.method_budgets={}", "frontier.method_seeds={}",
             "frontier.decode_repeats=1", "ablation.selection_seeds=[3234, 3235]"]


def run(root, *extra: str) -> int:
    return frontier.main(["--config", str(QUICK_CONFIG), "--results", str(root),
                          *sum([["--set", o] for o in (*OVERRIDES, *extra)], [])])


def results(root, stage="report"):
    config = quick(*OVERRIDES)
    store = Store("quick", root)
    return {(p["method"], p["seed"]): read_json(frontier.path_of(store, p))
            for p in frontier.frontier_points(config, stage)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A results root whose cache holds quick's claims and selection CNNs (trained once)."""
    root = tmp_path_factory.mktemp("frontier_cnns")
    methods.register(Blurred("blurred", "int8, maybe noisy"))
    try:
        assert run(root, 'frontier.methods=["pruned"]') == 0
    finally:
        del methods.METHODS["blurred"]
    return root


def with_cnns(trained, tmp_path):
    import shutil

    shutil.copytree(trained / "quick" / "cache", tmp_path / "quick" / "cache")
    return tmp_path


def test_the_choice_is_made_on_the_validation_split_and_the_test_set_cannot_move_it(
        trained, tmp_path, blurred, monkeypatch):
    root = with_cnns(trained, tmp_path)
    splits = Workbench.splits

    def poisoned(self, stage="report"):  # every test label shifted: a good network scores ~0
        train, test = splits(self, stage)
        if stage != "report":
            return train, test
        return train, Split(test.inputs, test.pixels, (test.labels + 1) % 10, test.dataset)

    monkeypatch.setattr(Workbench, "splits", poisoned)
    assert run(root) == 0
    select, report = results(root, frontier.SELECT), results(root)
    for seed in (3234, 3235):
        r = select["blurred", seed]
        assert r["status"] == "ok" and r["chosen"] == {"clip": "max"}
        noisy = next(c for c in r["candidates"] if c["option"] == {"clip": "noise"})
        assert r["val_accuracy"] > noisy["val_accuracy"] and r["val_accuracy"] > 0.5
        assert r["val_accuracy"] == r["candidates"][0]["val_accuracy"]
        assert "accuracy_rebuilt" not in r and r["bytes_coded"] > 0
    for seed in quick().seeds:
        r = report["blurred", seed]
        assert r["choice"]["option"] == {"clip": "max"}  # chosen on validation, not test
        assert r["setting"]["clip"] == "max"  # and run at that option
        assert r["accuracy_rebuilt"] < 0.2  # the poisoned test set: the choice ignored it
        assert r["choice"]["val_accuracy"] == pytest.approx(
            sum(select["blurred", s]["val_accuracy"] for s in (3234, 3235)) / 2)
        assert 0 < r["bytes_coded"] < r["stored_bits"] / 8 + 200  # coded, the raw bits beside
        assert report["pruned", seed]["choice"]["option"] == {}


def test_a_method_of_a_job_per_seed_and_no_choice_runs_on_every_selection_seed(trained,
                                                                               tmp_path):
    # the narrow CNN trains one job per seed: its first selection seed's job once failed,
    # waiting for the second's file, and every narrow CNN point after it failed in turn
    root = with_cnns(trained, tmp_path)
    assert run(root, 'frontier.methods=["narrow_cnn"]') == 0
    config = quick(*OVERRIDES, 'frontier.methods=["narrow_cnn"]')
    store = Store("quick", root)
    for stage in (frontier.SELECT, "report"):
        points = frontier.frontier_points(config, stage)
        done = [read_json(frontier.path_of(store, p)) for p in points]
        assert len(done) == len(config.ablation.selection_seeds if stage == frontier.SELECT
                                else config.seeds)
        assert all(r["status"] == "ok" and r["fits"] for r in done), [r.get("error") for r in done]


# --- a killed run: every point's file is whole or absent, and the rerun finishes ----------------

KILLED_AFTER_FIRST_POINT = """
import os, signal, sys
import innr.sweep
from innr import methods
from innr.experiments import frontier
sys.path.insert(0, sys.argv[1])
from test_frontier_choices import Blurred

methods.register(Blurred("blurred", "int8, maybe noisy"))
write = innr.sweep.write_json

def write_then_die(path, obj):  # the first point of a two-seed job written, then SIGKILL
    write(path, obj)
    if "selection" in path.parts and path.parent.name == "blurred":
        os.kill(os.getpid(), signal.SIGKILL)

innr.sweep.write_json = write_then_die
sys.exit(frontier.main(sys.argv[2:]))
"""


def test_a_killed_run_leaves_each_point_whole_or_absent_and_resumes(trained, tmp_path, blurred):
    root = with_cnns(trained, tmp_path)
    args = ["--config", str(QUICK_CONFIG), "--results", str(root),
            *sum([["--set", o] for o in OVERRIDES], [])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_FIRST_POINT,
                             str(REPO_ROOT / "tests"), *args], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=600, env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    files = list((root / "quick" / "frontier").rglob("*.json"))
    assert files and all(json.loads(f.read_text())["complete"] for f in files)
    select = results(root, frontier.SELECT)
    assert sum(r is not None for r in select.values()) == 1  # one seed's file of the two
    first = next(r for r in select.values() if r is not None)
    assert run(root) == 0  # the rest computed; the choice the same as the file's
    select = results(root, frontier.SELECT)
    assert all(r["status"] == "ok" for r in select.values())
    assert select["blurred", 3234]["chosen"] == select["blurred", 3235]["chosen"] == \
        first["chosen"]
    assert all(r["status"] == "ok" for r in results(root).values())
