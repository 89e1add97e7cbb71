"""Faults: a run killed mid-way resumes to the same numbers; concurrent runs, corrupt caches,
bad data and diverging fits each stop or recover with a clear message."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys

import pytest

from innr.config import load_config
from innr.datasets import idx, load
from innr.store import Store, load_checkpoint, save_checkpoint

from .conftest import QUICK, REPO

pytestmark = pytest.mark.slow  # subprocesses running the experiments


def experiment(name: str, results, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"innr.experiments.{name}", "--config",
                           str(QUICK), "--results", str(results), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


# The fidelity script in a process whose checkpoint saves are patched from outside: right after
# the first checkpoint of one stage is saved, the process kills itself as a SIGKILL would (no
# clean-up, no atexit, no finally).
KILLED_AFTER_FIRST_SAVE = """
import os, signal, sys
import innr.fit
from innr.experiments import fidelity
from innr.experiments.common import main
from innr.store import save_checkpoint

def save_then_die(path, obj):
    save_checkpoint(path, obj)
    if path.name.startswith(sys.argv[1] + "_"):
        os.kill(os.getpid(), signal.SIGKILL)

innr.fit.save_checkpoint = save_then_die
sys.exit(main("fidelity", fidelity.run, sys.argv[2:]))
"""


def killed_after_first_save(stage: str, results) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILLED_AFTER_FIRST_SAVE, stage, "--config",
                           str(QUICK), "--results", str(results)],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def metrics(root, name="fidelity"):
    return {s: json.loads((root / name / f"seed_{s}.json").read_text())["metrics"]
            for s in (1234, 1235)}


@pytest.mark.parametrize("stage", ["cnn-partial", "innr-partial"])
def test_killed_run_resumes_to_the_uninterrupted_numbers(stage, quick_results, tmp_path):
    killed = killed_after_first_save(stage, tmp_path)
    assert killed.returncode == -9, killed.stderr  # right after that stage's first checkpoint
    assert list((tmp_path / "quick" / "cache").glob(f"{stage}_*_seed1234.sha256"))
    assert not (tmp_path / "quick" / "fidelity" / "seed_1234.json").exists()
    resumed = experiment("fidelity", tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    what = "CNN" if stage == "cnn-partial" else "INNR"
    assert f"resuming {what} seed 1234" in resumed.stdout
    assert metrics(tmp_path / "quick") == metrics(quick_results)


def test_second_run_on_the_same_results_refuses(tmp_path):
    with Store("quick", tmp_path).lock():
        out = experiment("fidelity", tmp_path)
    assert out.returncode == 2
    assert "another run is using" in out.stderr and "lock" in out.stderr


def test_corrupt_checkpoint_and_results_are_recomputed(quick_results, tmp_path):
    root = tmp_path / "quick"
    shutil.copytree(quick_results, root)
    key = load_config(QUICK).section_hash("data", "cnn")  # the claims' CNN, not a narrow one
    cnn = root / "cache" / f"cnn_{key}_seed1234.pt"
    cnn.write_bytes(cnn.read_bytes()[:1000])  # truncated, as a full disk would leave it
    (root / "fidelity" / "seed_1234.json").unlink()
    (root / "fidelity" / "seed_1235.json").write_text('{"metrics": {"accuracy')  # half-written
    out = experiment("fidelity", tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"checkpoint {cnn} is incomplete or corrupt" in out.stderr
    assert "seed_1235.json is corrupt" in out.stderr
    assert metrics(root) == metrics(quick_results)


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch EXPLOITED",))


def test_checkpoints_never_execute_pickled_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cnn_x_seed1.pt"
    blob = pickle.dumps({"model": Exploit()})
    path.write_bytes(blob)
    import hashlib
    path.with_suffix(".sha256").write_text(hashlib.sha256(blob).hexdigest())
    assert load_checkpoint(path) is None
    assert not (tmp_path / "EXPLOITED").exists()
    save_checkpoint(path, {"x": [1, 2]})  # and a real one loads
    assert load_checkpoint(path) == {"x": [1, 2]}


def test_unreadable_idx_files_stop_before_anything_is_written(tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    for split in ("train", "test"):
        d = load("", split)
        idx.write_split(data, split, d.images, d.labels)
    (data / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08")
    out = experiment("fidelity", tmp_path / "r", "--set", f"data.root='{data}'")
    assert out.returncode == 2
    assert "t10k-labels-idx1-ubyte is unreadable or truncated" in out.stderr
    assert not (tmp_path / "r").exists()


def test_diverging_seed_is_recorded_as_failed_and_left_out(tmp_path):
    out = experiment("compression", tmp_path, "--set", "innr.lr=1e30")
    assert out.returncode == 0
    assert "seed 1234 failed" in out.stderr and "non-finite at step" in out.stderr
    root = tmp_path / "quick" / "compression"
    failed = json.loads((root / "seed_1234.json").read_text())
    assert failed["status"] == "failed" and "innr.lr" in failed["error"]
    summary = json.loads((root / "summary.json").read_text())
    assert summary["failed_seeds"] == [1234, 1235] and summary["seeds"] == []


def test_results_of_another_config_are_recomputed_not_reused(quick_results, tmp_path):
    root = tmp_path / "quick"
    shutil.copytree(quick_results, root)
    path = root / "compression" / "seed_1234.json"
    stale = json.loads(path.read_text())
    stale["config_hash"] = "0123456789ab"
    stale["metrics"]["accuracy_gap"] = 0.5
    path.write_text(json.dumps(stale))
    out = experiment("compression", tmp_path)
    assert out.returncode == 0 and "made with another config" in out.stdout
    assert metrics(root, "compression") == metrics(quick_results, "compression")
