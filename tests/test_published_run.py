"""The published run (experiments/published/): the folder, its manifest, the committed configs,
the report's files and the README's generated block agree with one another."""

from __future__ import annotations

import json
import re

import pytest

from innr import published
from innr.config import load_config
from innr.coordinates import flatten_params
from innr.paths import (
    CONFIGS,
    FULL_CONFIG,
    PUBLISHED,
    PUBLISHED_BENCH,
    PUBLISHED_RESULTS,
    README,
    REPO_ROOT,
)
from innr.report import readme


@pytest.fixture(scope="module")
def manifest() -> dict:
    return published.read_manifest(PUBLISHED)


def test_the_folder_is_what_its_manifest_says():
    assert published.check(PUBLISHED) == []


def test_the_published_run_is_of_the_committed_configs(manifest):
    assert "full" in manifest["configs"]
    for name, entry in manifest["configs"].items():
        config = load_config(CONFIGS / f"{name}.toml")
        assert (entry["hash"], entry["ablation_hash"], entry["frontier_hash"]) == (
            config.hash(), config.ablation_hash(), config.frontier_hash()), (
            f"experiments/{name}.toml changed since the run was published: rerun "
            "./run_all.sh and python -m innr.report.release")


def test_each_results_file_records_the_config_hash_the_manifest_gives(manifest):
    for rel, entry in manifest["files"].items():
        if entry["kind"] == "results" and rel.endswith(".json"):
            recorded = json.loads((PUBLISHED / rel).read_text()).get("config_hash")
            if recorded is not None:
                assert recorded == entry["config_hash"], rel


def test_the_run_came_from_one_clean_commit(manifest):
    assert len(manifest["run"]["commits"]) == 1
    assert manifest["run"]["uncommitted_changes"] is False


def test_the_readme_block_is_generated_from_the_published_files():
    text = README.read_text()
    block = readme.BLOCK.search(text).group(0)
    expected = readme.block(FULL_CONFIG, PUBLISHED_RESULTS, PUBLISHED_BENCH)
    assert expected in block, ("the README's generated block is not the published run's: "
                               "python -m innr.report.readme")


def test_the_published_networks_rebuild_the_errors_the_run_measured(manifest):
    config = load_config(FULL_CONFIG)
    nets = PUBLISHED / "networks" / "full"
    for seed in config.seeds:
        cnn = published.load_cnn(nets / f"cnn_seed{seed}.pt", config.cnn.architecture,
                                 config.cnn.channels)
        rebuilt = flatten_params(published.load_innr(nets / f"innr_seed{seed}.pt").rebuild())
        weights = flatten_params(cnn.state_dict())
        measured = json.loads((PUBLISHED_RESULTS / "full" / "fidelity" / f"seed_{seed}.json"
                               ).read_text())["metrics"]["weight_rel_l2"]
        assert float((rebuilt - weights).norm() / weights.norm()) == pytest.approx(measured,
                                                                                  rel=1e-5)
    for seed in config.control_seeds:
        assert (nets / f"cnn_seed{seed}.pt").exists()
    total = sum(e["bytes"] for e in manifest["files"].values() if e["kind"] == "network")
    assert total <= 25 * 2 ** 20


def test_the_readme_loading_example_runs(monkeypatch):
    text = README.read_text()
    code = next(block.split("```", 1)[0] for block in text.split("```python\n")[1:]
                if "published.load_innr" in block)
    monkeypatch.chdir(REPO_ROOT)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["rebuilt"].state_dict().keys() == scope["cnn"].state_dict().keys()


def test_the_report_and_the_figures_the_readme_shows_are_committed():
    text = README.read_text()
    shown = re.findall(r"\]\(((?:figures|paper)/[^)\s]+)\)", text)
    assert "paper/innr_report.pdf" in shown
    for rel in shown:
        assert (REPO_ROOT / rel).exists(), rel
