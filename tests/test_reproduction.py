"""End to end: ./run_all.sh --quick builds the PDF from the results, and checks what it says."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow  # subprocesses running the experiments

needs_latex = pytest.mark.skipif(not (shutil.which("latexmk") and shutil.which("pdftotext")),
                                 reason="LaTeX or poppler-utils not installed")


def run_all(results, out, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run(["./run_all.sh", "--quick", "--results", str(results), "--out",
                           str(out)], capture_output=True, text=True, cwd=REPO, timeout=timeout)


def judge_quick(results):
    from innr.config import load_config
    from innr.paths import CRITERIA, ORIGINAL_STUDY, PILOT, QUICK_CONFIG
    from innr.report import load, verdicts

    res = load.load_results(load_config(QUICK_CONFIG), results)
    return verdicts.judge(res, load.load_original(ORIGINAL_STUDY), load.load_criteria(CRITERIA),
                          load.load_pilot(PILOT)).values()


def pdf_text(path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return " ".join(text.split())


@needs_latex
def test_a_report_killed_while_building_is_rebuilt_by_run_all_with_the_results_numbers(
        quick_results, tmp_path):
    # the experiments' results come from the session fixture: run_all.sh finds every seed done
    # and goes on to the report (a fresh run takes the same path, with the experiments first).
    # One test for both, as each build of the quick PDF takes minutes of CI.
    shutil.copytree(quick_results, tmp_path / "results" / "quick")
    cmd = [str(REPO / ".venv" / "bin" / "python"), "-m", "innr.report", "--config",
           str(REPO / "experiments" / "quick.toml"), "--results", str(tmp_path / "results"),
           "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    figures = tmp_path / "out" / "figures" / "quick"
    deadline = time.time() + 120
    while not any(figures.glob("*.png")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-figures
    proc.wait()
    pdf = tmp_path / "out" / "paper" / "innr_report_quick.pdf"
    assert not pdf.exists()

    out = run_all(tmp_path / "results", tmp_path / "out")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert str(pdf) in out.stdout and "total time:" in out.stdout
    text = pdf_text(pdf)
    for section in ("Method", "Criteria, declared before the run", "Setup",
                    "Claim 1 (fidelity)", "Claim 2 (compression)", "Claim 3 (transfer)",
                    "own noise", "Deviations from the original", "Limitations"):
        assert section in text, section
    for v in judge_quick(tmp_path / "results"):
        assert f"Verdict on {v.title.lower()}: {v.outcome}." in text
    # headline numbers, as the report prints them (percent with one decimal)
    compression = pd.read_csv(tmp_path / "results" / "quick" / "compression" / "aggregate.csv")
    mean = compression.set_index("seed").loc["mean"]
    for key in ("accuracy_original", "accuracy_rebuilt"):
        assert f"{100 * float(mean[key]):.1f}%" in text, key
    first = json.loads((quick_results / "compression" / "seed_1234.json").read_text())
    assert f"{first['metrics']['params_innr']:,}" in text
