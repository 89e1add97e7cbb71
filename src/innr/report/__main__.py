"""Build the report of one config.

    python -m innr.report --config experiments/quick.toml [--results DIR] [--out DIR]
                          [--bench FILE] [--published DIR] [--no-pdf]

Reads RESULTS/<config name>/ (RESULTS = experiments/results, or DIR) and holds it against the
published run (experiments/published/, innr.report.compare), writes figures to
figures/<name>/ (PDF and PNG), the LaTeX source to paper/build/<name>/innr_report.tex, compiles
it with latexmk and copies the PDF to paper/innr_report.pdf ("full") or
paper/innr_report_<name>.pdf (any other config); --out DIR puts all three under DIR.
Exit codes: 0 done; 1 LaTeX failed;
2 bad config or no results; 3 LaTeX is not installed (the figures and .tex are still written).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from innr import cli
from innr.config import ConfigError, load_config
from innr.paths import (
    BENCH_RESULTS,
    CRITERIA,
    NERN_REPORTED,
    ORIGINAL_STUDY,
    PILOT,
    PUBLISHED,
    TEMPLATE,
    pdf_name,
    report_dirs,
)
from innr.report import beyond, compare, figures, load, paper


def build(config_path: Path, results: Path | None = None, *, figures_dir: Path | None = None,
          build_dir: Path | None = None, pdf_dir: Path | None = None,
          original: Path = ORIGINAL_STUDY, bench: Path = BENCH_RESULTS,
          template: Path = TEMPLATE, criteria: Path = CRITERIA, pilot: Path = PILOT,
          published: Path = PUBLISHED, pdf: bool = True, nern: Path = NERN_REPORTED) -> Path:
    """Figures, .tex and (when `pdf`) the PDF of one config; returns the last file made.

    Raises ConfigError (bad config, no results), paper.LatexMissing or paper.LatexFailed.
    """
    config = load_config(config_path)
    res = load.load_results(config, results)
    if not res.all():
        raise ConfigError(f"no results for config {config.name!r} in {res.root}; run the "
                          f"experiments first, e.g. python -m innr.experiments.fidelity "
                          f"--config {config_path}")
    study = load.load_original(original)
    declared = load.load_criteria(criteria)
    default = report_dirs(config.name)
    figures_dir = figures_dir or default["figures_dir"]
    build_dir = build_dir or default["build_dir"]
    others = beyond.gather(beyond.configs(config_path), res, declared)
    made = figures.make_all(res, figures_dir, study, declared.margin,
                            declared.ablation.get("targets"),
                            declared.frontier.get("amendment", {}).get("margins"), others)
    comparison = compare.run_comparison(config_path, results, published, criteria, original,
                                        pilot, read=res)
    ctx = paper.context(res, config, study, load.load_bench(bench), made, build_dir, bench,
                        declared, load.load_pilot(pilot), comparison, others,
                        load.load_nern(nern))
    for warning in ctx["setup"]["warnings"]:  # partial results: said here, not only in the .tex
        print(f"warning: {warning}", file=sys.stderr)
    tex = paper.render(ctx, template, build_dir / "innr_report.tex")
    if not pdf:
        return tex
    # the PDF is dated by its results, not by the build: a rebuild of the same results gives the
    # same bytes, so the committed report changes in git only when its content does
    finished = [r["finished"] for r in res.all() if r.get("finished")]
    epoch = int(datetime.fromisoformat(max(finished)).timestamp()) if finished else None
    compiled = paper.compile_pdf(tex, epoch=epoch)
    final = (pdf_dir or default["pdf_dir"]) / pdf_name(config.name)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{final.name}.tmp")  # a stop mid-copy leaves no half PDF
    shutil.copyfile(compiled, partial)
    os.replace(partial, final)
    return final


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.report", __doc__, results=True)
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write figures/, paper/build/ and the PDF under DIR instead of the repo")
    p.add_argument("--bench", type=Path, default=BENCH_RESULTS,
                   help="the benchmark file for the appendix (default "
                        "benchmarks/results/bench.json; the published run's: "
                        "experiments/published/bench.json)")
    cli.path_option(p, "--published", PUBLISHED, "the published run to hold these results against")
    p.add_argument("--no-pdf", action="store_true", help="stop after the figures and the .tex")

    def body(args: argparse.Namespace) -> int:
        dirs = {}
        if args.out is not None:
            dirs = report_dirs(load_config(args.config).name, args.out)
        try:
            out = build(args.config, args.results, bench=args.bench, published=args.published,
                        pdf=not args.no_pdf, **dirs)
        except paper.LatexMissing as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        except paper.LatexFailed as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(out)
        return 0

    return cli.run(p, body, argv)

if __name__ == "__main__":
    sys.exit(main())
