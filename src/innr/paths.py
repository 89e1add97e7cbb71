"""Where things live in the repository: the one module that names its paths.

Inputs (committed): the configs and the original study's numbers under experiments/, the paper's
template under paper/. Outputs (generated): results, figures, the LaTeX build, the PDF and the
benchmark file; of these only the full configuration's figures and PDF are committed, with the
published run under experiments/published/. Every script takes its own --results/--out to write
elsewhere.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# inputs
CONFIGS = REPO_ROOT / "experiments"
FULL_CONFIG = CONFIGS / "full.toml"
QUICK_CONFIG = CONFIGS / "quick.toml"
ORIGINAL_STUDY = CONFIGS / "original_study.toml"
NERN_REPORTED = CONFIGS / "nern_reported.toml"  # NeRN's reported numbers, with their source
CRITERIA = CONFIGS / "criteria.toml"  # the declared criteria of the verdicts
PILOT = CONFIGS / "pilot.json"  # the pilot run's per-seed numbers (python -m innr.report.pilot)
TEMPLATE = REPO_ROOT / "paper" / "innr_report.tex.j2"
README = REPO_ROOT / "README.md"

# the published reproduction (committed; written only by python -m innr.report.release)
PUBLISHED = CONFIGS / "published"
PUBLISHED_RESULTS = PUBLISHED / "results"  # laid out like RESULTS_ROOT
PUBLISHED_BENCH = PUBLISHED / "bench.json"

# outputs
RESULTS_ROOT = CONFIGS / "results"  # RESULTS_ROOT/<config name>/: see innr.store
BENCH_RESULTS = REPO_ROOT / "benchmarks" / "results" / "bench.json"


def report_dirs(config_name: str, root: Path = REPO_ROOT) -> dict[str, Path]:
    """Where the report of a config puts its figures, LaTeX build and PDF, under `root` (the
    repository, or a user's --out folder)."""
    return {"figures_dir": root / "figures" / config_name,
            "build_dir": root / "paper" / "build" / config_name,
            "pdf_dir": root / "paper"}


def pdf_name(config_name: str) -> str:
    """The report of the full configuration is the report; others carry their config's name."""
    return "innr_report.pdf" if config_name == "full" else f"innr_report_{config_name}.pdf"


def shown(path: Path) -> str:
    """A path as the reader's clone names it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
