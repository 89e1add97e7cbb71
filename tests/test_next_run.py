"""The next publication's run in progress (experiments/next/README.md) is made from one commit,
RUN_COMMIT: until it is published, main may change the report, the notes and the run's results,
not the code or configs that make them."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import REPO

NEXT = REPO / "experiments" / "next"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)


@pytest.mark.skipif(not (NEXT / "RUN_COMMIT").exists(), reason="no run in progress")
def test_the_run_in_progress_is_made_by_the_code_and_configs_on_main():
    commit = (NEXT / "RUN_COMMIT").read_text().strip()
    if git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        pytest.skip("a clone without the run's commit in its history")
    assert git("merge-base", "--is-ancestor", commit, "HEAD").returncode == 0
    # what makes results: the library and experiments (the report reads them), the configs,
    # run_all.sh and the set-up it calls
    changed = git("diff", "--name-only", commit, "--", "src", ":!src/innr/report",
                  "experiments/next/*.toml", "experiments/*.toml", "run_all.sh", "scripts/setup.sh",
                  "pyproject.toml").stdout.split()
    assert changed == [], f"changed since the run's commit {commit}: {changed}"
