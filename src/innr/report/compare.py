"""Hold a run's results against the published ones (experiments/published/), claim by claim.

    python -m innr.report.compare [--config experiments/full.toml] [--results DIR]
                                  [--published DIR] [--json FILE] [--if-published]

Each published headline number (`headlines`: what the verdicts and the README's tables rest on,
per seed) is held against the same number of the run, in one of two ways:

- exact: where both ran on the same CPU class and build (device, vector unit, torch build,
  thread count, as their results record) from the same config, the fit is deterministic, so
  every per-seed value must be equal to the bit;
- interval: anywhere else each seed is a new draw (the fit is chaotic), so a number is
  reproduced when the run's mean is not detectably different from the published mean: the
  two-sample (Welch) interval of the difference, two-sided, Holm-adjusted over every number
  compared this way, at the criteria's alpha.

A number the run does not have yet is listed as missing, neither reproduced nor missed.
Exit codes: 0 every number compared was reproduced; 1 some were missed; 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from innr import cli
from innr.config import Config
from innr.paths import CRITERIA, FULL_CONFIG, PUBLISHED, RESULTS_ROOT, shown
from innr.published import MANIFEST_NAME, sha256
from innr.report import load, verdicts
from innr.report.publish import configs_of
from innr.report.tables import Table, exact, num, pct
from innr.stats import holm, welch
from innr.store import atomic_write_text, check_writable

RESULTS = "results"  # the published folder's copy of a results root

# the claims' headline numbers: experiment -> (metric key, what it is, its format)
CLAIM_HEADLINES: dict[str, list[tuple[str, str, Callable]]] = {
    "fidelity": [("top1_agreement", "top-1 agreement, CNN vs rebuilt", pct),
                 ("control_top1_agreement", "top-1 agreement, CNN vs control CNN", pct),
                 ("mean_kl", "mean KL, CNN to rebuilt", num),
                 ("control_mean_kl", "mean KL, CNN to control CNN", num),
                 ("weight_rel_l2", "relative L2 weight error", num),
                 ("accuracy_original", "CNN test accuracy", pct),
                 ("accuracy_rebuilt", "rebuilt test accuracy", pct)],
    "compression": [("param_ratio", "INNR / CNN parameters", pct),
                    ("accuracy_gap", "accuracy gap (CNN - rebuilt)", pct),
                    ("pruned_gap", "accuracy gap of the pruned CNN", pct)],
}
TRANSFER = re.compile(r"forward_original_eps([\d.]+)_transfer_(rebuilt|control)")


@dataclass
class Number:
    """One headline number of a run: its per-seed values and how they were made."""

    group: str  # "Claim 1 (fidelity)", "Ablation", "Frontier (MNIST)", with the dataset's label
    name: str
    values: dict[int, float]  # seed -> value
    fmt: Callable = field(default=pct, repr=False)
    made: frozenset = frozenset()  # (config hash, machine) pairs its files record

    @property
    def key(self) -> tuple[str, str]:
        return self.group, self.name


def _made(records: Sequence[dict]) -> frozenset:
    """What decides a result's bits: the config it ran and the machine's class and build."""
    def machine(p: dict) -> tuple:
        return (p.get("device_name"), p.get("processor"), p.get("cpu_capability"),
                (p.get("versions") or {}).get("torch"), p.get("torch_threads"))
    return frozenset((r.get("config_hash"), machine(r.get("provenance") or {})) for r in records)


def _claims(res: load.Results, prefix: str) -> list[Number]:
    out = []
    for experiment, metrics in CLAIM_HEADLINES.items():
        runs = res.ok(experiment)
        group = prefix + verdicts.title(experiment)
        out += [Number(group, name, {r["seed"]: r["metrics"][key] for r in runs
                                     if key in r["metrics"]}, fmt, _made(runs))
                for key, name, fmt in metrics]
    runs = res.ok("transfer")
    keys = sorted({(float(m.group(1)), m.group(2), k) for r in runs for k in r["metrics"]
                   if (m := TRANSFER.fullmatch(k)) and float(m.group(1)) > 0})
    group = prefix + verdicts.title("transfer")
    target_name = {"rebuilt": "rebuilt", "control": "control CNN"}
    out += [Number(group, f"FGSM transfer rate CNN -> {target_name[target]}, eps {eps:g} "
                   "(original protocol)",
                   {r["seed"]: r["metrics"][k] for r in runs if k in r["metrics"]}, pct,
                   _made(runs))
            for eps, target, k in keys]
    return out


def _ablation(res: load.Results) -> list[Number]:
    ab = res.ablation()
    if ab is None:
        return []
    made = _made(ab.arms)
    return [Number("Ablation", f"{100 * budget:g}% of the bits, {verdicts.arm_label(arm)}: "
                   "accuracy gap", dict(zip(rows["seed"], rows["accuracy_gap"], strict=True)),
                   pct, made)
            for (budget, arm), rows in ab.report.groupby(["budget", "arm"], sort=False)]


def _frontier(f: load.Frontier) -> list[Number]:
    made = _made([{"config_hash": f.index.get("config_hash"), "provenance": p}
                  for p in f.provenance])
    return [Number(f"Frontier ({f.label})", f"{verdicts.method_label(method)} at "
                   f"{100 * budget:g}%: test accuracy",
                   dict(zip(rows["seed"], rows["accuracy"], strict=True)), pct, made)
            for (method, budget), rows in f.points.groupby(["method", "budget"], sort=False)]


def headlines(config: Config, root: Path, companions: Sequence[Config] = ()) -> list[Number]:
    """Every headline number of the results of `config` (and its companions' claims and
    frontiers) under `root`, in the report's order."""
    res = load.load_results(config, root)
    out = _claims(res, "") + _ablation(res)
    for companion in companions:
        out += _claims(load.load_results(companion, root),
                       f"{companion.frontier.label or companion.name}: ")
    for f in res.frontiers():
        out += _frontier(f)
    return [n for n in out if n.values]


# --- the comparison ---------------------------------------------------------------------------

@dataclass
class Row:
    """One published number against the run."""

    group: str
    name: str
    mode: str  # "exact", "interval" or "missing" (the run has no value of it)
    published: str  # formatted means
    fresh: str
    difference: float  # run minus published (a fraction or the metric's unit)
    ci_low: float
    ci_high: float
    p_holm: float  # interval mode; NaN otherwise
    reproduced: bool | None  # None: missing
    note: str = ""
    fmt: Callable = field(default=pct, repr=False)


def _mean(values: dict[int, float]) -> float:
    finite = [v for v in values.values() if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _equal(a: float, b: float | None) -> bool:
    return a == b or (b is not None and math.isnan(a) and math.isnan(b))


def _exact(pub: Number, run: Number) -> tuple[bool | None, str]:
    """Every seed equal to the bit (True), one differing (False), or none differing among the
    seeds the run has so far (None: missing, not missed)."""
    absent = [s for s in pub.values if s not in run.values]
    differ = [s for s, v in pub.values.items() if s in run.values
              and not _equal(v, run.values[s])]
    if differ:
        gap = max(abs(run.values[s] - pub.values[s]) for s in differ)
        return False, (f"{len(differ)} of {len(pub.values)} seeds differ, by up to "
                       f"{pub.fmt(gap)}" + (f" ({len(absent)} not run)" if absent else ""))
    if absent:
        return None, f"{len(absent)} of {len(pub.values)} seeds not run yet"
    return True, f"{len(pub.values)} seeds equal to the bit"


def compare(published: Sequence[Number], fresh: Sequence[Number], alpha: float) -> list[Row]:
    """Each published number against the run's (see the module's docstring)."""
    ran = {n.key: n for n in fresh}
    rows, tested = [], []
    for pub in published:
        run = ran.get(pub.key)
        base = dict(group=pub.group, name=pub.name, published=pub.fmt(_mean(pub.values)),
                    fmt=pub.fmt, p_holm=math.nan)
        if run is None:
            rows.append(Row(**base, mode="missing", fresh="n/a", difference=math.nan,
                            ci_low=math.nan, ci_high=math.nan, reproduced=None,
                            note="not in the run"))
            continue
        diff = welch(list(run.values.values()), list(pub.values.values()))
        base.update(fresh=run.fmt(_mean(run.values)), difference=diff["difference"],
                    ci_low=diff["ci_low"], ci_high=diff["ci_high"])
        if pub.made == run.made and len(pub.made) > 0:
            ok, note = _exact(pub, run)
            rows.append(Row(**base, mode="exact", reproduced=ok, note=note))
        else:
            rows.append(Row(**base, mode="interval", reproduced=None, note=""))
            tested.append((len(rows) - 1, diff["p"]))
    adjusted = holm([p for _, p in tested])
    for (i, _), p_adj in zip(tested, adjusted, strict=True):
        row = rows[i]
        row.p_holm = p_adj
        if math.isnan(p_adj):  # fewer than two seeds on a side: no interval
            row.reproduced, row.note = None, "too few seeds for an interval"
            row.mode = "missing"
        else:
            row.reproduced = p_adj >= alpha
            row.note = (f"difference {row.fmt(row.difference)} "
                        f"[{row.fmt(row.ci_low)}, {row.fmt(row.ci_high)}], "
                        f"Holm p {num(p_adj, 2)}")
    return rows


@dataclass
class Comparison:
    """A run against the published one: every row, and where each came from."""

    published: str  # the published folder, as the reader's clone names it
    results: str
    same_files: bool  # the run's results are the published files themselves, byte for byte
    alpha: float
    rows: list[Row]

    def counts(self, group: str | None = None) -> dict[str, int]:
        rows = [r for r in self.rows if group is None or r.group == group]
        return {"numbers": len(rows), "reproduced": sum(r.reproduced is True for r in rows),
                "missed": sum(r.reproduced is False for r in rows),
                "missing": sum(r.reproduced is None for r in rows),
                "exact": sum(r.mode == "exact" for r in rows),
                "interval": sum(r.mode == "interval" for r in rows)}

    def groups(self) -> list[str]:
        return list(dict.fromkeys(r.group for r in self.rows))

    def misses(self) -> list[Row]:
        return [r for r in self.rows if r.reproduced is False]

    def summary(self) -> str:
        c = self.counts()
        if self.same_files:
            return ("These are the published results themselves (the same files): there is "
                    "no rerun to compare.")
        how = []
        if c["exact"]:
            how.append(f"{c['exact']} exactly (same CPU class and build: every seed to the bit)")
        if c["interval"]:
            how.append(f"{c['interval']} by interval (two-sample, Holm over "
                       f"{c['interval']}, alpha {exact(self.alpha)})")
        text = (f"Of {c['numbers']} published headline numbers, {c['reproduced']} were "
                f"reproduced and {c['missed']} missed; compared {' and '.join(how) or 'none'}.")
        if c["missing"]:
            text += f" {c['missing']} are not in this run (or have too few seeds) yet."
        return text

    def table(self) -> Table:
        """Per claim: numbers, reproduced, missed, missing, and how they were compared."""
        rows = []
        for g in self.groups():
            c = self.counts(g)
            mode = "/".join(m for m in ("exact", "interval") if c[m]) or "n/a"
            rows.append([g, num(c["numbers"]), num(c["reproduced"]), num(c["missed"]),
                         num(c["missing"]), mode])
        return Table(["claim or part", "numbers", "reproduced", "missed", "missing", "compared"],
                     [rows])

    def misses_table(self) -> Table | None:
        misses = self.misses()
        if not misses:
            return None
        return Table(["claim or part", "number", "published", "this run", "how it missed"],
                     [[[r.group, r.name, r.published, r.fresh, f"{r.mode}: {r.note}"]
                       for r in misses]], align=r"p{2.4cm}p{4.6cm}rrp{4.6cm}")

    def to_json(self) -> dict:
        return {"published": self.published, "results": self.results,
                "same_files": self.same_files, "alpha": self.alpha, "counts": self.counts(),
                "rows": [{k: v for k, v in asdict(r).items() if k != "fmt"} for r in self.rows]}


def _same_files(manifest: dict, root: Path) -> bool:
    """Whether `root` holds the published results files themselves, byte for byte (a rerun
    differs at least in its times): comparing them would prove nothing."""
    results = [(rel.removeprefix(f"{RESULTS}/"), e["sha256"])
               for rel, e in manifest["files"].items() if e["kind"] == "results"]
    return bool(results) and all((root / rel).is_file() and sha256(root / rel) == digest
                                 for rel, digest in results)


def run_comparison(config_path: Path, results: Path | None = None,
                   published: Path = PUBLISHED, criteria: Path = CRITERIA) -> Comparison | None:
    """The run's results against the published ones; None when nothing of this config is
    published (no manifest, or the manifest does not list the config)."""
    manifest = Path(published) / MANIFEST_NAME
    (config, _), *others = configs_of(config_path)
    listed = json.loads(manifest.read_text()) if manifest.is_file() else {}
    if config.name not in listed.get("configs", {}):
        return None
    companions = [c for c, _ in others]
    root = Path(results or RESULTS_ROOT)
    pub_root = Path(published) / RESULTS
    alpha = load.load_criteria(criteria).alpha
    return Comparison(shown(Path(published)), shown(root), _same_files(listed, root), alpha,
                      compare(headlines(config, pub_root, companions),
                              headlines(config, root, companions), alpha))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.report.compare", __doc__, config=FULL_CONFIG, results=True)
    p.add_argument("--published", type=Path, default=PUBLISHED,
                   help="the published run (default experiments/published)")
    p.add_argument("--json", type=Path, default=None, help="also write every row here")
    p.add_argument("--if-published", action="store_true",
                   help="say nothing and exit 0 when nothing of the config is published "
                        "(./run_all.sh --quick)")
    return cli.run(p, _main, argv)


def _main(args: argparse.Namespace) -> int:
    if args.json is not None:
        check_writable(args.json.parent)
    comparison = run_comparison(args.config, args.results, args.published)
    if comparison is None:
        if args.if_published:
            return 0
        print(f"error: nothing of {args.config} is published in {args.published} (no "
              f"{MANIFEST_NAME}, or it does not list the config)", file=sys.stderr)
        return 2
    print(f"{comparison.results} against {comparison.published}")
    print(comparison.summary())
    print("\n".join(comparison.table().markdown()))
    misses = comparison.misses_table()
    if misses is not None:
        print("\nMissed:\n" + "\n".join(misses.markdown()))
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(comparison.to_json(), indent=1, default=str)
                          + "\n")
    return 1 if comparison.misses() else 0


if __name__ == "__main__":
    sys.exit(main())
