"""Hold a run's results against the published ones (experiments/published/), claim by claim.

    python -m innr.report.compare [--config experiments/full.toml] [--results DIR]
                                  [--published DIR] [--json FILE] [--if-published]

The published folder is checked against its manifest first (a changed file stops the
comparison). Each published headline number (`headlines`: what the verdicts and the README's
tables rest on, per seed) is then held against the run's, on the seeds both have:

- exact: every seed equal to the bit, and the number is reproduced. Bits are expected to match
  only where both runs record one build (config, device, CPU model, vector unit, math library,
  torch build, threads); where they were and differ anyway, the row says so.
- equivalence, by the tolerance experiments/criteria.toml's [reproduction] declares for the
  number's kind: reproduced when the Welch interval of the difference (run minus published) at
  level 1 - 2 alpha lies inside plus or minus the tolerance (two one-sided tests); not
  reproduced when the difference itself lies outside it; not shown in between (too few seeds,
  or too spread). Each number is judged alone: no correction over the numbers compared.

Every verdict (claims 1-3 and their yardsticks, the ablation's targets, the frontier's
standings) is decided on both runs by innr.report.verdicts; a changed one is named, and what the
run does not have is listed as not in this run; a frontier number whose points record another
setting or chosen option than the published ones (a method that changed) is made otherwise, and
not compared unless equal to the bit. A frontier standing decided by another rule
than the published one (criteria.toml's amendment: other words, other tests) is no change and no
agreement: it is listed apart, as decided by another rule. Exit codes: 0 every number compared was
reproduced and no verdict changed; 1 otherwise; 2 bad input, a changed published file, or
nothing to compare.
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
from innr import published as publication
from innr.config import Config, ConfigError
from innr.paths import CRITERIA, FULL_CONFIG, ORIGINAL_STUDY, PILOT, PUBLISHED, RESULTS_ROOT, shown
from innr.published import MANIFEST_NAME, sha256
from innr.report import load, verdicts
from innr.report.formats import exact, num, pct, pct_points
from innr.report.load import Criteria, OriginalStudy
from innr.report.release import configs_of
from innr.report.tables import Table
from innr.stats import welch
from innr.store import atomic_write_text, check_writable

RESULTS = "results"  # the published folder's copy of a results root
REPRODUCED, NOT_REPRODUCED, NOT_SHOWN, ABSENT, OTHER_SETTING = (
    "reproduced", "not reproduced", "not shown", "not in this run", "made otherwise")
OUTCOMES = (REPRODUCED, NOT_REPRODUCED, NOT_SHOWN, ABSENT, OTHER_SETTING)

# the claims' headline numbers: experiment -> (metric key, what it is, its format, its kind: the
# tolerance criteria.toml's [reproduction] gives it)
CLAIM_HEADLINES: dict[str, list[tuple[str, str, Callable, str]]] = {
    "fidelity": [("top1_agreement", "top-1 agreement, CNN vs rebuilt", pct, "accuracy"),
                 ("control_top1_agreement", "top-1 agreement, CNN vs control CNN", pct,
                  "accuracy"),
                 ("mean_kl", "mean KL, CNN to rebuilt", num, "relative"),
                 ("control_mean_kl", "mean KL, CNN to control CNN", num, "relative"),
                 ("weight_rel_l2", "relative L2 weight error", num, "relative"),
                 ("accuracy_original", "CNN test accuracy", pct, "accuracy"),
                 ("accuracy_rebuilt", "rebuilt test accuracy", pct, "accuracy")],
    "compression": [("param_ratio", "INNR / CNN parameters", pct, "counted"),
                    ("accuracy_gap", "accuracy gap (CNN - rebuilt)", pct, "accuracy"),
                    ("pruned_gap", "accuracy gap of the pruned CNN", pct, "accuracy")],
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
    kind: str = "accuracy"  # a key of criteria.toml's [reproduction] (load.TOLERANCES)
    # seed -> how its value was made where the files record it (a frontier point's setting
    # and chosen option: load.made_with); two runs' values are compared only when made alike
    settings: dict[int, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.group, self.name


def machine(p: dict) -> tuple:
    """What decides a CPU result's bits besides its config (runtime.describe records it)."""
    library = p.get("math_library")
    return (p.get("device_name"), p.get("processor"), p.get("cpu_model"),
            p.get("cpu_capability"), None if library is None else json.dumps(library,
                                                                               sort_keys=True),
            (p.get("versions") or {}).get("torch"), p.get("torch_threads"))


def _made(records: Sequence[dict]) -> frozenset:
    """The (config hash, machine) pairs of a number's results files."""
    return frozenset((r.get("config_hash"), machine(r.get("provenance") or {})) for r in records)


def _complete(made: frozenset) -> bool:
    """Whether the files name their CPU model and math library: without them two CPUs of one
    vector unit look alike, and bits cannot be expected to match."""
    return bool(made) and all(m[2] is not None and m[4] is not None for _, m in made)


def _claims(res: load.Results, prefix: str) -> list[Number]:
    out = []
    for experiment, metrics in CLAIM_HEADLINES.items():
        runs = res.ok(experiment)
        group = prefix + verdicts.title(experiment)
        out += [Number(group, name, {r["seed"]: r["metrics"][key] for r in runs
                                     if key in r["metrics"]}, fmt, _made(runs), kind)
                for key, name, fmt, kind in metrics]
    runs = res.ok("transfer")
    keys = sorted({(float(m.group(1)), m.group(2), k) for r in runs for k in r["metrics"]
                   if (m := TRANSFER.fullmatch(k)) and float(m.group(1)) > 0})
    group = prefix + verdicts.title("transfer")
    target_name = {"rebuilt": "rebuilt", "control": "control CNN"}
    out += [Number(group, f"FGSM transfer rate CNN -> {target_name[target]}, eps {eps:g} "
                   "(original protocol)",
                   {r["seed"]: r["metrics"][k] for r in runs if k in r["metrics"]}, pct,
                   _made(runs), "transfer")
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
                   dict(zip(rows["seed"], rows["accuracy"], strict=True)), pct, made,
                   settings={s: f.made_with[method, budget, s] for s in rows["seed"]
                             if (method, budget, s) in f.made_with})
            for (method, budget), rows in f.points.groupby(["method", "budget"], sort=False)]


def load_run(config: Config, root: Path, companions: Sequence[Config] = (),
             read: load.Results | None = None) -> list[tuple[str, load.Results]]:
    """The results of `config` and of its companions under `root`, each with the prefix its
    numbers and verdicts carry ("" for the config itself, "Fashion-MNIST: " for a companion);
    `read`: the config's results already read there (a report's), whose frontiers are reused."""
    res = read or load.load_results(config, root)
    return [("", res)] + [(f"{c.frontier.label or c.name}: ", res.beside(c))
                          for c in companions]


def headlines(run: Sequence[tuple[str, load.Results]]) -> list[Number]:
    """Every headline number of a run (`load_run`: the config's claims, ablation and frontiers,
    its companions' claims), in the report's order."""
    (_, res), *companions = run
    out = _claims(res, "") + _ablation(res)
    for prefix, other in companions:
        out += _claims(other, prefix)
    for f in res.frontiers():
        out += _frontier(f)
    return [n for n in out if n.values]


@dataclass(frozen=True)
class Standing:
    """A verdict's outcome and the rule that decided it ("" where there is one rule only)."""

    outcome: str
    rule: str = ""


def standings(run: Sequence[tuple[str, load.Results]], criteria: Criteria,
              study: OriginalStudy, pilot: dict | None) -> dict[str, Standing]:
    """Every verdict of a run, as innr.report.verdicts decides it: what it is about -> its
    outcome (claims 1-3 and their yardsticks, the ablation's targets, the frontier's
    standings, each with its rule)."""
    out = {}
    for prefix, res in run:
        for v in verdicts.judge(res, study, criteria, pilot).values():
            for w in [v, *v.secondary] if v is not None else []:
                if isinstance(w, verdicts.Verdict):
                    out[prefix + w.title] = Standing(w.outcome)
    (_, res), *_ = run
    ab = res.ablation()
    if ab is not None and criteria.ablation:
        out |= {f"Ablation at {100 * b.budget:g}% of the bits": Standing(b.headline)
                for b in verdicts.judge_ablation(ab, criteria)}
    frontiers = [f for f in res.frontiers() if not f.points.empty]
    if frontiers and criteria.frontier:
        out |= {f"Frontier ({v.dataset}) at {100 * v.budget:g}%": Standing(v.standing, v.rule)
                for v in verdicts.judge_frontier(frontiers, criteria)}
    return out


# --- the comparison ---------------------------------------------------------------------------

@dataclass
class Row:
    """One published number against the run."""

    group: str
    name: str
    kind: str  # its tolerance's key in criteria.toml's [reproduction]
    mode: str  # "exact" (every seed equal to the bit), "equivalence", "absent" or "none" (made
    # otherwise: OTHER_SETTING)
    outcome: str  # one of OUTCOMES
    published: str  # formatted means
    fresh: str
    difference: float  # run minus published (a fraction or the metric's unit)
    ci_low: float  # the difference's interval at level 1 - 2 alpha
    ci_high: float
    tolerance: float  # in the number's unit
    bits_expected: bool = False  # both runs record one complete build
    note: str = ""
    fmt: Callable = field(default=pct, repr=False)


def _mean(values: dict[int, float]) -> float:
    finite = [v for v in values.values() if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _equal(a: float, b: float | None) -> bool:
    return a == b or (b is not None and math.isnan(a) and math.isnan(b))


def tolerance(number: Number, tolerances: dict[str, float]) -> float:
    """The number's tolerance in its own unit: a relative one scales with the published mean."""
    if number.kind == "relative":
        return tolerances["relative"] * abs(_mean(number.values))
    return tolerances[number.kind]


def equivalence(difference: float, ci_low: float, ci_high: float, tol: float) -> str:
    """Reproduced when the interval lies inside +-tol, not reproduced when the difference
    itself lies outside, not shown otherwise (no interval, or one too wide)."""
    if not math.isfinite(difference):
        return NOT_SHOWN
    if abs(difference) > tol:
        return NOT_REPRODUCED
    return REPRODUCED if -tol <= ci_low and ci_high <= tol else NOT_SHOWN


def judge(pub: Number, run: Number | None, alpha: float, tolerances: dict[str, float]) -> Row:
    """One published number against the run's, on the seeds both have (see the module's
    docstring)."""
    tol = tolerance(pub, tolerances)
    base = dict(group=pub.group, name=pub.name, kind=pub.kind, tolerance=tol, fmt=pub.fmt,
                published=pub.fmt(_mean(pub.values)))
    seeds = [s for s in pub.values if run is not None and s in run.values]
    if not seeds:
        return Row(**base, mode="absent", outcome=ABSENT, fresh="n/a", difference=math.nan,
                   ci_low=math.nan, ci_high=math.nan, note="not in the run")
    now = {s: run.values[s] for s in seeds}
    diff = welch(list(now.values()), [pub.values[s] for s in seeds], level=1 - 2 * alpha)
    base.update(fresh=run.fmt(_mean(now)), difference=diff["difference"],
                ci_low=diff["ci_low"], ci_high=diff["ci_high"],
                bits_expected=pub.made == run.made and _complete(pub.made))
    absent = len(pub.values) - len(seeds)
    differ = sum(not _equal(pub.values[s], v) for s, v in now.items())
    if not absent and not differ:
        return Row(**base, mode="exact", outcome=REPRODUCED,
                   note=f"{len(seeds)} seeds equal to the bit")
    otherwise = [s for s in seeds if s in pub.settings and s in run.settings
                 and pub.settings[s] != run.settings[s]]
    if otherwise:  # another computation (a method changed): nothing to reproduce
        s = otherwise[0]
        return Row(**base, mode="none", outcome=OTHER_SETTING,
                   note=f"made otherwise on {len(otherwise)} of {len(seeds)} seeds (seed {s}: "
                        f"{pub.settings[s]} published, {run.settings[s]} now)")
    d = pct_points if pub.fmt is pct else num  # a difference of fractions in points
    notes = [f"difference {d(diff['difference'])}, {pct(1 - 2 * alpha, 0)} interval "
             f"[{d(diff['ci_low'])}, {d(diff['ci_high'])}], tolerance +/-{d(tol)}"]
    if differ and base["bits_expected"]:
        notes.append(f"bits differ on {differ} of {len(seeds)} seeds although both runs record "
                     "one build")
    if absent:
        notes.append(f"{absent} of {len(pub.values)} seeds not run yet")
    return Row(**base, mode="equivalence",
               outcome=equivalence(diff["difference"], diff["ci_low"], diff["ci_high"], tol),
               note="; ".join(notes))


def compare(published: Sequence[Number], fresh: Sequence[Number], alpha: float,
            tolerances: dict[str, float]) -> list[Row]:
    """Each published number against the run's, alone (no correction over the numbers)."""
    ran = {n.key: n for n in fresh}
    return [judge(pub, ran.get(pub.key), alpha, tolerances) for pub in published]


@dataclass(frozen=True)
class VerdictRow:
    """One published verdict against the run's."""

    about: str  # "Claim 2 (compression)", "Ablation at 25% of the bits", ...
    published: str
    fresh: str | None  # None: the run cannot decide it (its results are not there)
    rule: str = ""  # the rule each was decided by (Standing.rule)
    fresh_rule: str = ""

    @property
    def other_rule(self) -> bool:
        """Decided on the run by another rule than the published verdict: not comparable."""
        return self.fresh is not None and self.fresh_rule != self.rule

    @property
    def changed(self) -> bool:
        return self.fresh is not None and not self.other_rule and self.fresh != self.published


def compare_verdicts(published: dict[str, Standing], fresh: dict[str, Standing]
                     ) -> list[VerdictRow]:
    """Each published verdict against the run's (`standings` of each)."""
    out = []
    for about, then in published.items():
        now = fresh.get(about)
        out.append(VerdictRow(about, then.outcome, None if now is None else now.outcome,
                              then.rule, "" if now is None else now.rule))
    return out


@dataclass
class Comparison:
    """A run against the published one: every row, and where each came from."""

    published: str  # the published folder, as the reader's clone names it
    results: str
    same_files: bool  # the run's results are the published files themselves, byte for byte
    alpha: float
    rows: list[Row]
    verdicts: list[VerdictRow] = field(default_factory=list)
    # the published files name their CPU model and math library, so that a rerun of the same
    # build can be compared to the bit
    exact_possible: bool = True

    def counts(self, group: str | None = None) -> dict[str, int]:
        rows = [r for r in self.rows if group is None or r.group == group]
        return {"numbers": len(rows), **{o: sum(r.outcome == o for r in rows) for o in OUTCOMES},
                "compared": sum(r.outcome not in (ABSENT, OTHER_SETTING) for r in rows),
                "exact": sum(r.mode == "exact" for r in rows),
                "equivalence": sum(r.mode == "equivalence" for r in rows),
                "bits_differ": sum(r.bits_expected and r.mode == "equivalence" for r in rows)}

    def groups(self) -> list[str]:
        return list(dict.fromkeys(r.group for r in self.rows))

    def failures(self) -> list[Row]:
        """The numbers compared and not reproduced (shown different, or not shown equal)."""
        return [r for r in self.rows if r.outcome in (NOT_REPRODUCED, NOT_SHOWN)]

    def changed(self) -> list[VerdictRow]:
        return [v for v in self.verdicts if v.changed]

    def other_rule(self) -> list[VerdictRow]:
        return [v for v in self.verdicts if v.other_rule]

    def reproduced(self) -> bool:
        """Every number compared reproduced and every verdict the same (the exit code's 0)."""
        return not self.failures() and not self.changed()

    def summary(self) -> str:
        c = self.counts()
        text = ("These are the published results themselves (the same files): there is no "
                "rerun to compare. " if self.same_files else "")
        text += (f"Of {c['numbers']} published headline numbers, {c[REPRODUCED]} were "
                 f"reproduced ({c['exact']} equal to the bit on every seed), "
                 f"{c[NOT_REPRODUCED]} not reproduced and {c[NOT_SHOWN]} not shown to be "
                 f"reproduced (judged by equivalence at alpha {exact(self.alpha)}, each alone).")
        if c[ABSENT]:
            text += f" {c[ABSENT]} are not in this run."
        if c[OTHER_SETTING]:
            text += (f" {c[OTHER_SETTING]} were made otherwise (the points record another "
                     "setting or another option chosen on validation: a method that changed), "
                     "so they were not compared.")
        if not self.exact_possible:
            text += (" The published results do not record their CPU model and math library, "
                     "so equal bits cannot be expected of a rerun: numbers not equal to the bit "
                     "are judged by equivalence.")
        if c["bits_differ"]:
            text += (f" {c['bits_differ']} numbers differ in their bits although both runs "
                     "record one build: judged by equivalence.")
        judged = [v for v in self.verdicts if v.fresh is not None]
        text += (f" Of {len(self.verdicts)} published verdicts, {len(judged)} were decided on "
                 "this run")
        other = self.other_rule()
        if not other:
            return text + f" and {len(self.changed())} changed."
        rules = ", ".join(sorted({f"the {v.fresh_rule} rule" for v in other}))
        return text + (f": {len(other)} by another rule ({rules}) than the published ones, so "
                       "that they neither agree nor change (listed apart), and of the other "
                       f"{len(judged) - len(other)}, {len(self.changed())} changed.")

    def table(self) -> Table:
        """Per claim: numbers, and how many were reproduced, not, not shown, not in the run."""
        rows = []
        for g in self.groups():
            c = self.counts(g)
            rows.append([g, num(c["numbers"]), num(c[REPRODUCED]), num(c["exact"]),
                         num(c[NOT_REPRODUCED]), num(c[NOT_SHOWN]), num(c[ABSENT]),
                         num(c[OTHER_SETTING])])
        return Table(["claim or part", "numbers", "reproduced", "to the bit", "not reproduced",
                      "not shown", "not in run", "made otherwise"], [rows])

    def failures_table(self) -> Table | None:
        failures = self.failures()
        if not failures:
            return None
        return Table(["claim or part", "number", "published", "this run", "outcome: why"],
                     [[[r.group, r.name, r.published, r.fresh, f"{r.outcome}: {r.note}"]
                       for r in failures]], align=r"p{2.4cm}p{4.2cm}rrp{5cm}")

    def made_otherwise_table(self) -> Table | None:
        rows = [r for r in self.rows if r.outcome == OTHER_SETTING]
        if not rows:
            return None
        return Table(["claim or part", "number", "published", "this run", "what differs"],
                     [[[r.group, r.name, r.published, r.fresh, r.note] for r in rows]],
                     align=r"p{2.4cm}p{4.2cm}rrp{5cm}")

    def verdicts_table(self) -> Table | None:
        changed = self.changed()
        if not changed:
            return None
        return Table(["verdict", "published", "this run"],
                     [[[v.about, v.published, v.fresh] for v in changed]])

    def other_rule_table(self) -> Table | None:
        other = self.other_rule()
        if not other:
            return None
        return Table(["verdict", "published", "this run"],
                     [[[v.about, f"{v.published} ({v.rule} rule)",
                        f"{v.fresh} ({v.fresh_rule} rule)"] for v in other]])

    def to_json(self) -> dict:
        return {"published": self.published, "results": self.results,
                "same_files": self.same_files, "alpha": self.alpha,
                "exact_possible": self.exact_possible, "counts": self.counts(),
                "rows": [{k: v for k, v in asdict(r).items() if k != "fmt"} for r in self.rows],
                "verdicts": [asdict(v) | {"changed": v.changed, "other_rule": v.other_rule}
                             for v in self.verdicts]}


def tolerances_text(tolerances: dict[str, float]) -> str:
    """The declared tolerances in words, for the report."""
    def points(kind: str) -> str:
        return f"{100 * tolerances[kind]:g} points"
    return (f"{points('accuracy')} for accuracies, top-1 agreement and accuracy gaps, "
            f"{points('transfer')} for transfer rates, {100 * tolerances['relative']:g}% of the "
            "published value for mean KL and relative weight error, and "
            f"{points('counted')} for parameter ratios (counted, not measured)")


def _same_files(manifest: dict, root: Path) -> bool:
    """Whether `root` holds the published results files themselves, byte for byte (a rerun
    differs at least in its times): comparing them proves nothing."""
    results = [(rel.removeprefix(f"{RESULTS}/"), e["sha256"])
               for rel, e in manifest["files"].items() if e["kind"] == "results"]
    return bool(results) and all((root / rel).is_file() and sha256(root / rel) == digest
                                 for rel, digest in results)


def check_published(folder: Path) -> None:
    """Stop (ConfigError, one line) when the published folder is not what its manifest says:
    a number edited there would be compared as if it were published."""
    try:
        problems = publication.check(folder)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{shown(Path(folder))}/{problems[0]}{more}; compare stops: restore "
                          f"the published folder (git checkout -- {shown(Path(folder))})")


def run_comparison(config_path: Path, results: Path | None = None,
                   published: Path = PUBLISHED, criteria: Path = CRITERIA,
                   original: Path = ORIGINAL_STUDY, pilot: Path = PILOT,
                   read: load.Results | None = None) -> Comparison | None:
    """The run's results against the published ones; None when nothing of this config is
    published (no manifest, or the manifest does not list the config). `read`: the run's
    results of the config, already read (innr.report's; their frontiers are not read again).
    Raises ConfigError when a published file changed or the criteria declare no
    [reproduction]."""
    manifest = Path(published) / MANIFEST_NAME
    (config, _), *others = configs_of(config_path)
    listed = json.loads(manifest.read_text()) if manifest.is_file() else {}
    if config.name not in listed.get("configs", {}):
        return None
    check_published(Path(published))
    declared = load.load_criteria(criteria)
    if not declared.reproduction:
        raise ConfigError(f"{criteria} declares no [reproduction]: no tolerance to compare by")
    alpha, tolerances = declared.reproduction["alpha"], declared.reproduction["tolerance"]
    study, pilot_run = load.load_original(original), load.load_pilot(pilot)
    companions = [c for c, _ in others]
    root = Path(results or RESULTS_ROOT)
    then = load_run(config, Path(published) / RESULTS, companions)
    now = load_run(config, root, companions, read)
    numbers = headlines(then)
    return Comparison(shown(Path(published)), shown(root), _same_files(listed, root), alpha,
                      compare(numbers, headlines(now), alpha, tolerances),
                      compare_verdicts(standings(then, declared, study, pilot_run),
                                       standings(now, declared, study, pilot_run)),
                      all(_complete(n.made) for n in numbers))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.report.compare", __doc__, config=FULL_CONFIG, results=True)
    cli.path_option(p, "--published", PUBLISHED, "the published run")
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
    if not comparison.counts()["compared"]:
        print(f"error: nothing to compare: {comparison.results} holds none of the "
              f"{comparison.counts()['numbers']} published numbers of {shown(args.config)}",
              file=sys.stderr)
        return 2
    print(f"{comparison.results} against {comparison.published}")
    print(comparison.summary())
    print("\n".join(comparison.table().markdown()))
    for title, table in (("Not reproduced or not shown", comparison.failures_table()),
                         ("Made otherwise (not compared)", comparison.made_otherwise_table()),
                         ("Verdicts changed", comparison.verdicts_table()),
                         ("Verdicts decided by another rule (not comparable)",
                          comparison.other_rule_table())):
        if table is not None:
            print(f"\n{title}:\n" + "\n".join(table.markdown()))
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(comparison.to_json(), indent=1, default=str)
                          + "\n")
    return 0 if comparison.reproduced() else 1


if __name__ == "__main__":
    sys.exit(main())
