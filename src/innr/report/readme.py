"""Write the README's generated block: headline numbers and run times, from results files only.

    python -m innr.report.readme [--config experiments/full.toml] [--results DIR]

Replaces what stands between the `generated:begin` and `generated:end` markers of README.md, so
the README carries no number typed by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from innr.config import load_config
from innr.report import load, tables
from innr.report.tables import interval, num, pct, seconds
from innr.runtime import REPO_ROOT

README = REPO_ROOT / "README.md"
BENCH = REPO_ROOT / "benchmarks" / "results" / "bench.json"
BLOCK = re.compile(r"(<!-- generated:begin[^>]*-->\n).*?(<!-- generated:end -->)", re.S)


def headline(res: load.Results, study: dict) -> list[str]:
    """A Markdown table of our headline numbers beside the original study's."""
    def row(label: str, experiment: str, metric: str, theirs: str, fmt=pct) -> str:
        s = load.aggregate_row(res, experiment, metric)
        return f"| {label} | {theirs} | {fmt(s['mean'])} | {interval(s, fmt)} |"

    eps = study["attack"]["eps"]
    seeds = ", ".join(str(s) for s in load.aggregate_seeds(res, "fidelity"))
    return [
        f"Config `{res.name}`, seeds {seeds} (mean and 95% t-interval over seeds):",
        "",
        "| | original study | ours, mean | 95% CI |",
        "| --- | --- | --- | --- |",
        row("CNN test accuracy", "compression", "accuracy_original",
            f"{study['cnn']['test_accuracy_percent']}%"),
        row("rebuilt test accuracy", "compression", "accuracy_rebuilt",
            f"about {study['innr']['test_accuracy_percent']}%"),
        row("accuracy gap (CNN - rebuilt)", "compression", "accuracy_gap", "n/a"),
        row("INNR / CNN parameters", "compression", "param_ratio",
            f"{study['innr']['param_ratio_percent']}%"),
        row("top-1 agreement, CNN vs rebuilt", "fidelity", "top1_agreement", "n/a"),
        row("relative L2 weight error", "fidelity", "weight_rel_l2", "n/a", num),
        row(f"FGSM transfer CNN -> rebuilt, eps {eps:g} (original protocol)", "transfer",
            f"forward_original_eps{eps:g}_transfer_rebuilt", "reported, no rate"),
        row(f"FGSM transfer CNN -> control CNN, eps {eps:g}", "transfer",
            f"forward_original_eps{eps:g}_transfer_control", "n/a"),
    ]


def run_times(res: load.Results, bench) -> list[str]:
    """Wall time per experiment (summed over seeds) with the device it ran on, and the benchmark."""
    lines = ["", "Run times recorded in these results:", "",
             "| stage | device | seeds | wall time |", "| --- | --- | --- | --- |"]
    for experiment in load.EXPERIMENTS:
        runs = res.runs.get(experiment, [])
        if runs:
            devices = sorted({r["provenance"]["device_name"] or r["provenance"]["device"]
                              for r in runs})
            total = sum(r["wall_seconds"] for r in runs)
            lines.append(f"| {experiment} | {', '.join(devices)} | {len(runs)} | "
                         f"{seconds(total)} |")
    if isinstance(bench, dict):
        where = tables.bench_machine(bench) or "this machine"
        lines += ["", f"From the benchmark (`python -m innr.bench`, one run on {where}):", ""]
        lines += ["| measurement | value |", "| --- | --- |"]
        for r in bench.get("rows", []):
            value = seconds(r.get("seconds"))
            if r.get("ratio_to_matmul") is not None:
                value += f", {num(r['gflops'])} GFLOP/s = {pct(r['ratio_to_matmul'], 0)} of matmul"
            lines.append(f"| {r['name']} | {value} |")
        for s in bench.get("stages", []):
            lines.append(f"| quick reproduction: {s['stage']} | {seconds(s['seconds'])} |")
    lines += ["", "No GPU run has been recorded yet: `./run_all.sh` on a CUDA machine picks the "
              "GPU and records it here the same way."] if not any(
        r["provenance"]["device"].startswith("cuda") for r in res.all()) else []
    return lines


def block(config: Path, results: Path | None, bench: Path = BENCH) -> str:
    cfg = load_config(config)
    res = load.load_results(cfg.name, cfg.seeds, results)
    if not res.all():
        return f"No results for `{cfg.name}` yet: run `./run_all.sh`."
    study = load.load_original(REPO_ROOT / "experiments" / "original_study.toml")
    return "\n".join(headline(res, study) + run_times(res, load.load_bench(bench)))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m innr.report.readme", description=__doc__)
    p.add_argument("--config", type=Path, default=REPO_ROOT / "experiments" / "full.toml")
    p.add_argument("--results", type=Path, default=None)
    p.add_argument("--readme", type=Path, default=README)
    args = p.parse_args(argv)
    text = args.readme.read_text()
    if not BLOCK.search(text):
        print(f"error: {args.readme} has no generated:begin/end markers", file=sys.stderr)
        return 2
    new = BLOCK.sub(lambda m: m.group(1) + block(args.config, args.results) + "\n" + m.group(2),
                    text)
    args.readme.write_text(new)
    print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
