"""Freeze a pilot run's per-seed numbers into experiments/pilot.json.

    python -m innr.report.pilot RESULTS/<config name> [--out experiments/pilot.json]

The pilot is a run seen before the criteria (experiments/criteria.toml) were fixed: its spread
of the accuracy gap sets the number of seeds of the confirmatory run (the power calculation in
innr.report.decide), and the report says that it was seen. The file keeps each seed's
accuracies with the config hash, commit and build that made them, read from the compression
results files; nothing is typed by hand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from innr import cli
from innr.paths import PILOT, shown
from innr.store import read_json, write_json


def freeze(results: Path) -> dict:
    """The pilot's numbers from RESULTS/<config name>/compression/seed_*.json (ok seeds)."""
    runs = [r for p in sorted((results / "compression").glob("seed_*.json"))
            if (r := read_json(p)) is not None and r.get("status") == "ok"]
    if not runs:
        raise FileNotFoundError(f"no successful compression results under {results}")
    return {"source": f"compression results of config {runs[0]['config']['name']!r}, "
                      f"frozen by python -m innr.report.pilot",
            "seeds": [r["seed"] for r in runs],
            "accuracy_original": [r["metrics"]["accuracy_original"] for r in runs],
            "accuracy_rebuilt": [r["metrics"]["accuracy_rebuilt"] for r in runs],
            "config_hashes": sorted({r["config_hash"] for r in runs}),
            "git_commits": sorted({str(r["provenance"].get("git_commit")) for r in runs}),
            "finished": max(r["finished"] for r in runs)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.report.pilot", __doc__, config=False)
    p.add_argument("results", type=Path, help="a config's results folder, e.g. "
                   "experiments/results/full")
    cli.path_option(p, "--out", PILOT, "the file to write")

    def body(args: argparse.Namespace) -> None:
        write_json(args.out, freeze(args.results))
        print(f"wrote {shown(args.out)}")

    return cli.run(p, body, argv)

if __name__ == "__main__":
    sys.exit(main())
