"""CPU and GPU results never mix; the GPU check stops at once, saying so, without a GPU, and with
one it runs every step even after one fails."""

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


def test_the_gpu_check_runs_every_step_when_one_fails_and_lists_the_failures(tmp_path):
    # a lent GPU is one short lease: a failed step must not cost the steps after it
    fake = tmp_path / "python"
    fake.write_text("#!/usr/bin/env bash\n"
                    "if [[ $1 == -c ]]; then echo 'a GPU'; exit 0; fi\n"  # the GPU probe
                    "if [[ $2 == innr.experiments.fidelity ]]; then exit 7; fi\n"
                    "echo \"ran $2 $*\" >> \"$(dirname \"$0\")/ran\"\n")
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake)}
    out = subprocess.run([str(REPO / "scripts" / "gpu_check.sh"), str(tmp_path / "results")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    last = out.stdout.splitlines()[-1]
    assert "failed: full, seeds 1239: fidelity (exit 7); quick: fidelity (exit 7)" in last
    ran = (tmp_path / "ran").read_text().splitlines()
    # the full seed's other steps, the benchmark and the quick configuration's other steps ran;
    # the comparison did not (the claims' seed is incomplete)
    assert [line.split()[1] for line in ran] == [
        "innr.experiments.compression", "innr.experiments.transfer", "innr.bench",
        *(f"innr.experiments.{e}" for e in ("compression", "transfer", "fitnoise", "ablation",
                                            "frontier"))]
    assert "compared with the published" not in out.stdout


def _runs(*rows: tuple[int, float, dict]) -> list[dict]:
    return [{"seed": s, "status": "ok", "wall_seconds": w, "provenance": p} for s, w, p in rows]


def test_a_gpu_checks_times_stand_beside_the_same_seeds_of_the_run():
    from innr.report.load import Results
    from innr.report.tables import device_times

    gpu = {"device": "cuda", "device_name": "NVIDIA H200"}
    cpu = {"device": "cpu", "device_name": None, "cpu_model": "AMD EPYC"}
    run = Results("full", REPO, (1, 2), None, {
        "fidelity": _runs((1, 200.0, cpu), (2, 100.0, cpu)),
        "transfer": _runs((2, 60.0, cpu))})
    check = Results("full", REPO, (1, 2), None, {
        "fidelity": _runs((1, 20.0, gpu)), "transfer": _runs((1, 1.0, gpu))})
    rows = device_times(check, run).groups[0]
    # only the seeds both have (fidelity's seed 1; transfer shares none), each device named
    assert rows == [["fidelity", "1", "NVIDIA H200", "20.0 s", "AMD EPYC", "3.3 min", "10.0x"]]
    assert device_times(Results("full", REPO, (), None, {}), run) is None
