"""Write the README's generated block: verdicts, headline numbers and run times, from results
files only: by default the published run's (experiments/published/).

    python -m innr.report.readme [--config experiments/full.toml] [--results DIR] [--bench FILE]

Replaces what stands between the `generated:begin` and `generated:end` markers of README.md, so
the README carries no number typed by hand. Its tables are the report's (innr.report.tables),
rendered as Markdown.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from innr import cli
from innr.config import load_config
from innr.paths import (
    CRITERIA,
    FULL_CONFIG,
    ORIGINAL_STUDY,
    PILOT,
    PUBLISHED_BENCH,
    PUBLISHED_RESULTS,
    README,
    shown,
)
from innr.progress import duration
from innr.report import beyond, cost, decide, load, sentences, tables, verdicts
from innr.report.formats import LEVEL, budget_text
from innr.store import atomic_write_text

BLOCK = re.compile(r"(<!-- generated:begin[^>]*-->\n).*?(<!-- generated:end -->)", re.S)


def block(config: Path, results: Path | None, bench: Path = PUBLISHED_BENCH,
          original: Path = ORIGINAL_STUDY, criteria: Path = CRITERIA,
          pilot: Path = PILOT, gpu: Path = load.GPU_CHECK) -> str:
    """The generated block's Markdown: the claims' verdicts, the ablation and the frontier
    where they ran, the headline table, run times, the benchmark, and a GPU check's run times
    beside the same seeds' (`gpu`: its results root) where one is recorded."""
    cfg = load_config(config)
    res = load.load_results(cfg, results)
    if not res.all():
        return f"No results for `{cfg.name}` yet: run `./run_all.sh`."
    study = load.load_original(original)
    declared = load.load_criteria(criteria)
    seeds = ", ".join(str(s) for s in load.aggregate_seeds(res, "fidelity"))
    commits = sorted({str(r["provenance"].get("git_commit"))[:12] for r in res.all()})
    lines = [f"Config `{res.name}`, seeds {seeds} (mean and {LEVEL} "
             f"t-interval over seeds), from `{shown(res.root.parent)}` (made at commit "
             f"{', '.join(commits)}):", ""]
    lines += _claims(verdicts.judge(res, study, declared, load.load_pilot(pilot)),
                     declared.alpha)
    others = beyond.gather(beyond.configs(config), res, declared)
    lines += _ablation(res, declared) + _frontier(res, declared, others) + _beyond(others)
    lines += ["", *tables.headline(res, study).markdown()]
    lines += ["", "Run times recorded in these results:", "",
              *tables.wall_times(res).markdown()]
    runs = cost.runs_of(res, others)
    lines += ["", cost.caption(runs), "", *cost.table(runs).markdown()]
    data = load.load_bench(bench)
    if data is not None:
        where = tables.bench_machine(data) or "this machine"
        lines += ["", f"From the benchmark (`python -m innr.bench`, one run on {where}):",
                  "", *tables.bench(data).markdown()]
    on_gpu = tables.device_times(load.load_results(cfg, gpu), res)
    if on_gpu is not None:
        lines += ["", f"On a GPU (`scripts/gpu_check.sh`, recorded in `{shown(gpu.parent)}`): "
                  "the claims' seeds it ran, beside the same seeds of this run:", "",
                  *on_gpu.markdown()]
    elif not any(r["provenance"]["device"].startswith("cuda") for r in res.all()):
        lines += ["", "No GPU run is published yet: `scripts/gpu_check.sh` on a CUDA "
                  "machine runs a seed of the claims there, and `./run_all.sh` the whole "
                  "reproduction (it picks the GPU and records it the same way)."]
    return "\n".join(lines)


def _claims(judged: dict[str, verdicts.Verdict | None], alpha: float) -> list[str]:
    """A line per claim, a line per secondary question, the Holm family's outcomes counted."""
    lines = []
    for v in (v for v in judged.values() if v is not None):
        lines.append(f"- **{v.title}: {v.outcome}.** {v.sentence}")
        lines += [f"  - *{s.role}: {s.outcome}.* {s.sentence}"
                  for s in v.secondary if isinstance(s, verdicts.Verdict)]
        family = [c for c in v.secondary if isinstance(c, decide.Comparison)]
        if family:
            counts = {o: sum(c.outcome(alpha, adjusted=True) == o for c in family)
                      for o in decide.OUTCOMES}
            lines.append(f"  - *secondary comparisons (Holm over {len(family)}):* "
                         + ", ".join(f"{n} {o}" for o, n in counts.items())
                         + " (listed in the PDF).")
    return lines


def _ablation(res: load.Results, declared: load.Criteria) -> list[str]:
    """The ablation's verdict per budget, its table and its wall time (none if it did not run)."""
    ab = res.ablation()
    if ab is None or not declared.ablation:
        return []
    lines = ["", "Beyond the original: the ablation of INNR variants (`innr.experiments."
             "ablation`; choices made on the validation split with other CNNs):", ""]
    lines += [f"- **{budget_text(b.budget)} of the bits: {b.headline}.** {b.sentence}"
              for b in verdicts.judge_ablation(ab, declared)]
    lines += ["", *tables.ablation(ab.report, verdicts.arm_label).markdown()]
    walls = {stage: sum(a["wall_seconds"] for a in arms)
             for stage, arms in (("report", ab.arms), ("select", ab.selected))}
    return lines + ["", f"The ablation ran {duration(sum(walls.values()))} "
                    f"({duration(walls['select'])} of it choosing on the validation split), the "
                    "claims' CNNs and their INNRs at the original's budget taken from the "
                    "claims' run; fit (s): per network."]


# how each frontier rule (innr.report.verdicts.RULES) tests, as the README's line says it
RULE_TESTS = {"published": "two-sided paired tests, Holm per budget",
              "amended": "each INNR method judged on its own: two-sided paired tests, Holm over "
                         "its rivals at a budget, level only inside the declared margin (two "
                         "one-sided tests), the strongest rival chosen on validation"}


def _frontier(res: load.Results, declared: load.Criteria,
              others: Sequence[beyond.Beyond] = ()) -> list[str]:
    """Where INNR stands on the frontier, and its verdicts' table (none if it did not run);
    the networks of another architecture (`others`) are left to _beyond."""
    skip = beyond.others(others)
    frontiers = [f for f in res.frontiers() if not f.points.empty and f.name not in skip]
    if not frontiers or not declared.frontier:
        return []
    judged = verdicts.judge_frontier(frontiers, declared)
    failed = sum(len(f.failed) + len(f.missing) for f in frontiers)
    tests = "; ".join(RULE_TESTS[r] for r in dict.fromkeys(v.rule for v in judged))
    return ["", "Beyond the original: the compression frontier (`innr.experiments."
            f"frontier`; INNR against data-free compression at equal stored bytes, {tests}; "
            "the narrow CNN, trained on the data, is never judged). "
            + sentences.frontier_summary(judged,
                                         verdicts.lossless_by_dataset(frontiers, declared))
            + (f" Points failed or missing: {failed} (listed in the PDF)."
               if failed else ""), "",
            *tables.frontier_verdicts(judged, verdicts.method_label).markdown()]


def _beyond(others: Sequence[beyond.Beyond]) -> list[str]:
    """A line per network and track that ran, the original network's data-free frontier
    aside (its table is _frontier's): its standing at each budget (the data-free frontier by
    its rule, the data track by its own criteria)."""
    lines = [f"- **{b.label}, {track}:** " + "; ".join(
        f"{budget_text(v.budget)} {v.standing_shown}" for v in judged)
        for b in others for track, judged in (("data-free", b.frontier_verdicts),
                                              ("data track", b.datatrack_verdicts)) if judged]
    if not lines:
        return []
    return ["", "Beyond the original network (other architectures, and the track that uses "
            "the training images; each track judged by its own criteria, never mixed; the PDF "
            "has the tables):", "", *lines]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.report.readme", __doc__, config=FULL_CONFIG, results=PUBLISHED_RESULTS,
                   bench=PUBLISHED_BENCH)
    cli.path_option(p, "--readme", README, "the file whose generated block to replace")

    def body(args: argparse.Namespace) -> int:
        text = args.readme.read_text()
        if not BLOCK.search(text):
            print(f"error: {args.readme} has no generated:begin/end markers", file=sys.stderr)
            return 2
        new = BLOCK.sub(lambda m: m.group(1) + block(args.config, args.results, args.bench)
                        + "\n" + m.group(2), text)
        atomic_write_text(args.readme, new)
        print(f"updated {args.readme}")
        return 0

    return cli.run(p, body, argv)


if __name__ == "__main__":
    sys.exit(main())
