"""CPU and GPU results never mix, and the GPU check stops at once, saying so, without a GPU."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from innr.config import ConfigError
from innr.experiments.common import main
from innr.runtime import check_results_device, results_device
from innr.store import write_json

from .conftest import QUICK, REPO


def _made_on(root, device: str) -> None:
    write_json(root / "fidelity" / "seed_1.json", {"provenance": {"device": device}})


def test_a_results_folder_says_which_device_made_it(tmp_path):
    assert results_device(tmp_path) is None  # nothing made yet: any device may start
    check_results_device(tmp_path, torch.device("cuda"))
    _made_on(tmp_path, "cuda:0")
    assert results_device(tmp_path) == "cuda"
    check_results_device(tmp_path, torch.device("cuda"))
    with pytest.raises(ConfigError, match="made on cuda, and this run is on cpu"):
        check_results_device(tmp_path, torch.device("cpu"))


def test_a_run_refuses_a_folder_of_another_devices_results_in_one_line(tmp_path, capsys):
    _made_on(tmp_path / "quick", "cuda")

    def never(ctx, seed):
        raise AssertionError("no work may start")

    assert main("fidelity", never, ["--config", str(QUICK), "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "made on cuda" in err and len(err.splitlines()) == 1


def test_the_gpu_check_without_a_gpu_says_so_and_runs_nothing(tmp_path):
    results = tmp_path / "results"
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([str(REPO / "scripts" / "gpu_check.sh"), str(results)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stdout + out.stderr
    assert out.stdout.startswith("no GPU: ") and len(out.stdout.splitlines()) == 1
    assert not out.stderr and not results.exists()
