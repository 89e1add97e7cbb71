"""The report's tables: results -> rows of formatted cells.

A Table holds plain strings; the template lays it out with booktabs and escapes every cell, so
a table can never inject LaTeX. Cells that *are* LaTeX (a header with math) are `Latex`. The
README renders the same Tables as Markdown. Every number in a cell is formatted by
innr.report.formats.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from innr.config import Config
from innr.progress import duration
from innr.report import load
from innr.report.formats import (
    LEVEL,
    budget_text,
    exact,
    finite,
    interval,
    kilobytes,
    mean_interval,
    num,
    p_text,
    pct,
    pct_points,
    printed,
    speedup,
)
from innr.report.load import OriginalStudy, Results
from innr.stats import summary

_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
            "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _SPECIAL))


def escape(text: str) -> str:
    """Make text print literally in LaTeX (one pass, so nothing is escaped twice)."""
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], text)


class Latex(Markup):
    """A string that is already LaTeX: the template prints it as is, unescaped.

    A Markup, because jinja2 marks what macros return as Markup too: both are finished LaTeX.
    """


@dataclass
class Table:
    """A header and groups of rows (a \\midrule between groups); `align` as in tabular."""

    columns: list[str]
    groups: list[list[list[str]]] = field(default_factory=list)
    align: str = ""

    def __post_init__(self):
        self.align = Latex(self.align or "l" + "r" * (len(self.columns) - 1))  # tabular spec

    def markdown(self) -> list[str]:
        """The table as Markdown lines (the README's generated block)."""
        def line(cells) -> str:
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

        return [line(self.columns), line(["---"] * len(self.columns))] + [
            line(row) for group in self.groups for row in group]


def stat_row(label: str, s: dict, fmt=pct) -> list[str]:
    """A row of label, mean, interval and seeds from an innr.stats.summary."""
    return [label, fmt(s["mean"]), interval(s, fmt), num(int(s["n"]) if finite(s["n"]) else 0)]


# --- tables -----------------------------------------------------------------------------------

STAT_COLUMNS = ["", "mean", f"{LEVEL} CI", "seeds"]


def fidelity(res: Results) -> Table:
    """Weight and output fidelity over seeds (fidelity/aggregate.csv), and the same output
    measures for the yardsticks (innr.yardsticks)."""
    def row(label, metric, fmt=num):
        return stat_row(label, load.aggregate_row(res, "fidelity", metric), fmt)

    names = {"": "rebuilt", "control_": "control CNN", "pruned_": "pruned CNN",
             "noise_": "CNN + noise"}
    return Table(STAT_COLUMNS, [
        [row("weight MSE", "weight_mse"), row("relative L2 error", "weight_rel_l2"),
         row("SNR (dB)", "weight_snr_db"), row("cosine similarity", "weight_cosine"),
         row("final fit loss (standardised MSE)", "final_fit_loss")],
        [row(f"top-1 agreement with the CNN, {name}", f"{prefix}top1_agreement", pct)
         for prefix, name in names.items()],
        [row(f"mean KL(CNN || {name})", f"{prefix}mean_kl") for prefix, name in names.items()],
        [row("test accuracy, CNN", "accuracy_original", pct),
         row("test accuracy, rebuilt", "accuracy_rebuilt", pct),
         *[row(f"test accuracy, {names[k + '_']}", f"accuracy_{k}", pct)
           for k in ("control", "pruned", "noise")]]])


def compression(res: Results, noninferiority: dict, margin: float) -> Table:
    """Parameters and accuracies (compression/aggregate.csv), the pruned CNN beside them, and
    the non-inferiority test of the gap against `margin` (innr.stats.one_sided_test)."""
    def row(label, metric, fmt=pct):
        return stat_row(label, load.aggregate_row(res, "compression", metric), fmt)

    return Table(STAT_COLUMNS, [
        [row("parameters, CNN", "params_cnn", num), row("parameters, INNR", "params_innr", num),
         row("INNR / CNN parameters", "param_ratio")],
        [row("test accuracy, CNN", "accuracy_original"),
         row("test accuracy, rebuilt", "accuracy_rebuilt"),
         row("test accuracy, pruned to the INNR's count", "accuracy_pruned"),
         row("accuracy gap (CNN minus rebuilt)", "accuracy_gap", pct_points),
         row("accuracy gap (CNN minus pruned)", "pruned_gap", pct_points)],
        [[f"gap below {pct(margin, 1)}: one-sided t-test", f"t = {num(noninferiority['t'])}",
          f"p = {num(noninferiority['p'])}", num(noninferiority["n"])]]])


def comparisons(items, alpha: float, header: str = "comparison (positive favours the claim)",
                words: dict[str, str] | None = None) -> Table:
    """A family of secondary comparisons (innr.report.decide.Comparison) with raw and
    Holm-adjusted one-sided p-values and the outcome after adjustment (renamed by `words`)."""
    def outcome(c) -> str:
        o = c.outcome(alpha, adjusted=True)
        return (words or {}).get(o, o)

    return Table([header, "mean", f"{LEVEL} CI", "p", "p (Holm)", "outcome"],
                 [[[c.label, pct(c.diff["mean"], 2), interval(c.diff, pct_points),
                    p_text(c.p_for), p_text(c.p_for_holm), outcome(c)]
                   for c in items]],
                 align="p{0.42\\linewidth}rrrrl")


def ablation(frame, label) -> Table:
    """The ablation's reported arms: per budget, each arm's size, its metrics over seeds (the
    gap, on which the verdicts rest, with its interval; the others as means) and fit time per
    network. `label(arm)` names an arm."""
    groups = []
    for budget in dict.fromkeys(frame["budget"]):
        at = frame[frame["budget"] == budget]
        rows = []
        for i, arm in enumerate(dict.fromkeys(at["arm"])):
            a = at[at["arm"] == arm]
            rows.append([budget_text(budget) if i == 0 else "", label(arm),
                         num(int(a["stored_bits"].iloc[0]) // 32),
                         pct(a["accuracy_rebuilt"].mean(), 2),
                         mean_interval(summary(list(a["accuracy_gap"])), pct_points),
                         pct(a["top1_agreement"].mean(), 2),
                         num(a["snr_db"].mean(), 3),
                         num(summary(a["fit_seconds"].tolist())["mean"], 2),
                         num(len(a))])
        groups.append(rows)
    return Table(["budget", "arm", "params", "accuracy", f"gap [{LEVEL} CI]",
                  "agreement", "SNR dB", "fit s", "n"], groups, align="llrrrrrrr")


def ablation_selection(frame, selection: dict, ideas: dict) -> Table:
    """The selection stage: each candidate's mean validation accuracy and gap; `ideas`: the
    recorded config's ablation.ideas (each idea's alternatives)."""
    chosen = {f"w0_{selection['w0_initial']:g}"} | {
        f"{idea}_{c['alternative']}" for idea, c in selection["ideas"].items()}
    rows = []
    for arm in dict.fromkeys(frame["arm"]):
        a = frame[frame["arm"] == arm]
        idea, _, alt = arm.rpartition("_")
        what = (f"base, w0_initial = {alt}" if idea == "w0" else
                f"base + {idea} ({_override(ideas[idea][int(alt)])})" if idea in ideas
                else f"base + {idea}"
                if idea else "best combination")
        rows.append([what, pct(a["accuracy_rebuilt"].mean(), 2),
                     pct(a["accuracy_gap"].mean(), 2), "chosen" if arm in chosen else ""])
    return Table(["candidate (validation split)", "accuracy", "gap", ""], [rows],
                 align="p{0.55\\linewidth}rrl")


def ablation_config(recorded: dict) -> Table:
    """The ablation's recorded config ([ablation] of the results' config): its fields, the
    base variant's, and each idea's alternatives."""
    def value(v) -> str:  # as the TOML file writes it (a seed is not 3,239)
        if isinstance(v, list | tuple):
            return ", ".join(value(x) for x in v)
        return f"{v:g}" if isinstance(v, float) else str(v)

    top = [[f"ablation.{k}", value(v)] for k, v in recorded.items()
           if k not in ("base", "ideas")]
    base = [[f"ablation.base.{k}", value(v)] for k, v in recorded["base"].items()]
    ideas = [[f"ablation.ideas.{idea}", "; ".join(_override(o) for o in alternatives)]
             for idea, alternatives in recorded["ideas"].items()]
    return Table(["field", "value"], [top, base, ideas], align="lp{0.55\\linewidth}")


def _override(override: dict) -> str:
    return ", ".join(f"{k} = {exact(v) if isinstance(v, int | float) else v}"
                     for k, v in override.items())


FITNOISE_METRICS = {"accuracy_rebuilt": ("rebuilt test accuracy", pct_points),
                    "top1_agreement": ("top-1 agreement with the CNN", pct_points),
                    "weight_rel_l2": ("relative L2 weight error", num)}


def fitnoise(summary_: dict) -> Table:
    """The fit's own noise: per metric, the standard deviation between CNNs and within a CNN
    (two SIREN draws) with intervals, and the configured step minus the autograd reference."""
    def sd(part: dict, fmt) -> str:
        root = {k: math.sqrt(v) if finite(v) and v >= 0 else math.nan
                for k, v in part.items() if k in ("value", "ci_low", "ci_high")}
        return f"{fmt(root['value'])} [{fmt(root['ci_low'])}, {fmt(root['ci_high'])}]"

    rows = []
    for metric, (label, fmt) in FITNOISE_METRICS.items():
        split, step = summary_[metric]["split"], summary_[metric]["step_minus_autograd"]
        rows.append([label,
                     sd(split["between"], fmt) if split else "n/a",
                     sd(split["within"], fmt) if split else "n/a",
                     pct(split["within_share"], 0) if split else "n/a",
                     f"{fmt(step['mean'])} {interval(step, fmt)}" if step["n"] else "n/a"])
    return Table(["", "sd between CNNs", "sd within a CNN", "within share",
                  "step minus autograd"], [rows], align="p{0.2\\linewidth}rrrr")


def original(res: Results, study: OriginalStudy, test_images: int) -> Table:
    """The original study's reported numbers beside ours (means over seeds)."""
    def ours(metric, fmt=pct):
        s = load.aggregate_row(res, "compression", metric)
        spread = finite(s["ci_low"]) and s["ci_low"] != s["ci_high"]
        return f"{fmt(s['mean'])} {interval(s, fmt)}" if spread else fmt(s["mean"])

    steps = study.evaluations() if study.notebook else None
    reported = printed(study.innr["test_accuracy"])
    last = printed(study.innr["last_printed_accuracy"])
    return Table(["", "original study", f"ours, mean [{LEVEL} CI]"], [
        [["CNN parameters", num(study.cnn["params"]), ours("params_cnn", num)],
         ["INNR parameters", num(study.innr["params"]), ours("params_innr", num)],
         ["INNR / CNN parameters", pct(study.innr["param_ratio"]), ours("param_ratio")]],
        [["test accuracy, CNN", printed(study.cnn["test_accuracy"]), ours("accuracy_original")],
         ["test accuracy, rebuilt (reported)",
          f"{reported} after {num(steps['reported_after'])} steps" if steps else reported,
          ours("accuracy_rebuilt")],
         ["test accuracy, rebuilt (last printed)",
          f"{last} after {num(steps['last_after'])} steps" if steps else last, ""]],
        [["seeds", num(1), num(len(res.ok("compression")))],
         ["INNR fit steps", num(study.innr["steps"]), num(res.config.innr.steps)],
         ["test images per accuracy", Latex(r"see Section~\ref{sec:deviations}"),
          num(test_images)]]],
        align="lrr")


def headline(res: Results, study: OriginalStudy) -> Table:
    """The numbers a reader looks for first, ours beside the original's (the README's table)."""
    def row(label: str, experiment: str, metric: str, theirs: str, fmt=pct) -> list[str]:
        s = load.aggregate_row(res, experiment, metric)
        return [label, theirs, fmt(s["mean"]), interval(s, fmt)]

    eps, steps = study.attack["eps"], study.evaluations() if study.notebook else None
    reported = printed(study.innr["test_accuracy"])
    if steps:
        reported += (f" after {num(steps['reported_after'])} steps (last printed: "
                     f"{printed(study.innr['last_printed_accuracy'])} after "
                     f"{num(steps['last_after'])})")
    return Table(["", "original study", "ours, mean", f"{LEVEL} CI"], [[
        row("CNN test accuracy", "compression", "accuracy_original",
            printed(study.cnn["test_accuracy"])),
        row(f"rebuilt test accuracy (ours after {num(res.config.innr.steps)} steps)",
            "compression", "accuracy_rebuilt", reported),
        row("accuracy gap (CNN - rebuilt)", "compression", "accuracy_gap", "n/a"),
        row("INNR / CNN parameters", "compression", "param_ratio",
            pct(study.innr["param_ratio"])),
        row("CNN pruned to the INNR's count: test accuracy", "compression", "accuracy_pruned",
            "n/a"),
        row("top-1 agreement, CNN vs rebuilt", "fidelity", "top1_agreement", "n/a"),
        row("top-1 agreement, CNN vs control CNN", "fidelity", "control_top1_agreement", "n/a"),
        row("relative L2 weight error", "fidelity", "weight_rel_l2", "n/a", num),
        row(f"FGSM transfer CNN -> rebuilt, eps {eps:g} ({study.attack['protocol']} protocol)",
            "transfer", f"forward_{study.attack['protocol']}_eps{eps:g}_transfer_rebuilt",
            "reported, no rate"),
        row(f"FGSM transfer CNN -> control CNN, eps {eps:g}", "transfer",
            f"forward_{study.attack['protocol']}_eps{eps:g}_transfer_control", "n/a")]],
        align="lrrr")


TRANSFER_COLUMNS = [Latex(r"$\varepsilon$"), "CNN", "rebuilt", "control",
                    Latex(r"CNN$\to$rebuilt"), Latex(r"CNN$\to$control"),
                    Latex(r"rebuilt$\to$CNN")]


def transfer(res: Results) -> Table:
    """Mean accuracy under attack and transfer rates per protocol and eps."""
    df = load.transfer_records(res)
    means = df.groupby(["protocol", "eps", "direction", "target"], sort=False)[
        ["accuracy", "transfer_rate"]].mean().sort_index()
    groups = []
    for protocol in dict.fromkeys(df["protocol"]):
        title = rf"\emph{{{escape(protocol)} protocol}}"
        rows = [[Latex(rf"\multicolumn{{{len(TRANSFER_COLUMNS)}}}{{l}}{{{title}}}")]]
        for eps in dict.fromkeys(df.loc[df["protocol"] == protocol, "eps"]):
            m = means.loc[(protocol, eps)]
            rows.append([f"{eps:g}"] + [pct(m.loc[("forward", t), "accuracy"])
                                        for t in ("original", "rebuilt", "control")]
                        + [pct(m.loc[("forward", t), "transfer_rate"])
                           for t in ("rebuilt", "control")]
                        + [pct(m.loc[("reverse", "original"), "transfer_rate"])])
        groups.append(rows)
    return Table(TRANSFER_COLUMNS, groups)


def environment(res: Results) -> Table:
    """Hardware, software and code version, as recorded in the results files' provenance."""
    def values(get) -> str:
        found = list(dict.fromkeys(str(get(r)) for r in res.all()))
        return "; ".join(found) if found else "n/a"

    prov = [r["provenance"] for r in res.all()]
    packages = list(dict.fromkeys(p for v in prov for p in v.get("versions", {})))
    rows = [["device", values(lambda r: r["provenance"]["device"])],
            ["device name", values(lambda r: r["provenance"]["device_name"])],
            ["processor, CPU cores, torch threads",
             values(lambda r: f"{r['provenance']['processor']}, {r['provenance']['cpu_count']}, "
                              f"{r['provenance']['torch_threads']}")],
            ["CPU vector unit", values(lambda r: r["provenance"].get("cpu_capability"))],
            ["platform", values(lambda r: r["provenance"]["platform"])],
            ["Python", values(lambda r: r["provenance"]["python"])]]
    rows += [[name, values(lambda r, n=name: r["provenance"]["versions"].get(n))]
             for name in packages]
    fits = [r["details"]["innr_history"].get("step") for r in res.ok("fidelity")]
    rows += [["INNR fit step (the build that ran)",
              "; ".join(dict.fromkeys(str(f) for f in fits)) if fits else "n/a"],
             ["deterministic algorithms, TF32",
              values(lambda r: f"{r['provenance']['deterministic_algorithms']}, "
                               f"{r['provenance']['tf32']}")],
             ["git commit",
              values(lambda r: (r["provenance"].get("git_commit") or "unknown")[:12])],
             ["uncommitted changes", values(lambda r: r["provenance"].get("git_dirty"))],
             ["config hash", values(lambda r: r["config_hash"])]]
    return Table(["", "recorded"], [rows], align="lp{0.6\\linewidth}")


def hyperparameters(config: Config) -> Table:
    """The config the results were produced with, one row per field."""
    def value(v) -> str:
        return ", ".join(exact(x) for x in v) if isinstance(v, tuple | list) else (
            v if isinstance(v, str) else exact(v))

    groups = [[["name, seeds", f"{config.name}, {value(config.seeds)}"],
               ["control seeds", value(config.control_seeds) or "none"],
               ["device setting", config.device]]]
    for section in ("data", "cnn", "innr", "attack", "fitnoise"):
        fields = dataclasses.asdict(getattr(config, section))
        groups.append([[f"{section}.{k}", value(v)] for k, v in fields.items()])
    return Table(["field", "value"], groups, align="ll")


def wall_times(res: Results) -> Table:
    """Per experiment: seeds, the device, wall time summed over seeds and per seed; then the
    two training stages per seed."""
    rows = []
    for experiment, runs in res.runs.items():
        walls = [r["wall_seconds"] for r in runs]
        devices = sorted({r["provenance"]["device_name"] or r["provenance"]["device"]
                          for r in runs})
        rows.append([experiment, ", ".join(devices) or "n/a", num(len(res.ok(experiment))),
                     num(len(res.failed(experiment))),
                     duration(sum(walls)) if walls else "n/a",
                     duration(summary(walls)["mean"])])
    times = load.seconds(res)
    stages = [[label, "", num(len(times)), "", "", duration(summary(times[col].tolist())["mean"])]
              for label, col in (("CNN training (epochs)", "cnn"), ("INNR fit (steps)", "innr"))]
    return Table(["", "device", "seeds ok", "failed", "total", "mean per seed"], [rows, stages],
                 align="lp{0.3\\linewidth}rrrr")


def _devices(runs: list[dict]) -> str:
    """The GPU's name, or the CPU's model where its results record one."""
    def named(p: dict) -> str:
        if str(p.get("device", "")).startswith("cuda"):
            return p.get("device_name") or "GPU"
        return p.get("cpu_model") or "CPU"
    return ", ".join(sorted({named(r["provenance"]) for r in runs}))


def _wall(runs: list[dict]) -> float:
    return summary([r["wall_seconds"] for r in runs])["mean"]


def device_times(other: Results, res: Results) -> Table | None:
    """The seeds a run on another device (`other`: a GPU check's) has, beside the same seeds
    of `res`: per experiment, each run's device and its mean wall time per seed, and the ratio;
    None when they share no seed."""
    rows = []
    for experiment in res.runs:
        there = {r["seed"]: r for r in other.ok(experiment)}
        here = [r for r in res.ok(experiment) if r["seed"] in there]
        if not here:
            continue
        theirs = [there[r["seed"]] for r in here]
        rows.append([experiment, ", ".join(str(r["seed"]) for r in here), _devices(theirs),
                     duration(_wall(theirs)), _devices(here), duration(_wall(here)),
                     f"{_wall(here) / _wall(theirs):.1f}x"])
    if not rows:
        return None
    return Table(["", "seeds", "GPU check", "per seed", "this run", "per seed", "speed-up"],
                 [rows], align="llp{0.15\\linewidth}rp{0.2\\linewidth}rr")


def failures(res: Results) -> Table:
    """The seeds that failed, with their error: listed, never averaged."""
    return Table(["experiment", "seed", "error"],
                 [[[e, str(r["seed"]), r.get("error", "")] for e in res.runs
                   for r in res.failed(e)]], align="llp{0.6\\linewidth}")


def bench(data: dict) -> Table:
    """innr.bench's file: each measurement's time, throughput and ratios, then the wall
    time of every stage of the quick reproduction."""
    def cell(r: dict, key: str, fmt) -> str:
        return fmt(r[key]) if finite(r.get(key)) else ""

    measured = [[r["name"], duration(r["seconds"]), cell(r, "gflops", num),
                 cell(r, "ratio_to_matmul", lambda x: pct(x, 0)),
                 cell(r, "speedup", speedup)] for r in data["rows"]]
    staged = [[f"quick reproduction: {s['stage']}", duration(s["seconds"]), "", "", ""]
              for s in data.get("stages", [])]
    return Table(["measurement", "time", "GFLOP/s", "of matmul", "speed-up"],
                 [measured, staged] if staged else [measured], align="lrrrr")


def bench_machine(data: dict) -> str | None:
    """Where innr.bench ran, in words ("Intel Xeon, 2 threads, AVX512, torch 2.13.0"):
    its ratios are this machine's, not the code's alone."""
    m = data.get("machine")
    if not isinstance(m, dict):
        return None
    cores = f"{m['torch_threads']} threads" if m.get("torch_threads") else None
    torch_version = (m.get("versions") or {}).get("torch")
    parts = [m.get("device_name") if str(m.get("device", "")).startswith("cuda") else
             m.get("cpu_model"), cores, m.get("cpu_capability"),
             torch_version and f"torch {torch_version}"]
    return ", ".join(str(p) for p in parts if p) or None


# --- the compression frontier ------------------------------------------------------------------

def frontier_accuracy(env: pd.DataFrame, groups: list[list[str]],
                      winners: dict[float, str | None], label: Callable[[str], str]) -> Table:
    """One dataset's frontier: rows = methods (in `groups`: INNR, rivals, references), columns =
    budgets; each cell the method's mean test accuracy (%) at that budget by the envelope rule
    (innr.report.decide.envelope), starred when its point was computed at a smaller budget,
    bold for the budget's winner (`winners`: budget -> method); `label(method)` names one."""
    budgets = sorted(set(env["budget"]))
    allowed = env.groupby("budget")["allowed_bits"].first()

    def cell(method: str, budget: float) -> str:
        at = env[(env["method"] == method) & (env["budget"] == budget)]
        if at.empty:
            return "--"  # nothing of this method fits
        text = pct(at["accuracy"].mean(), 2).removesuffix("%")
        text += "*" if at["computed_at"].iloc[0] < budget else ""
        return Latex(rf"\textbf{{{escape(text)}}}") if winners.get(budget) == method else text

    rows = [[["stored at most (kB)", *[kilobytes(allowed[b]) for b in budgets], ""]]]
    rows += [[[label(m), *[cell(m, b) for b in budgets],
               num(env.loc[env["method"] == m, "seed"].nunique())] for m in ms]
             for ms in groups if ms]
    return Table(["method", *[budget_text(b) for b in budgets], "seeds"], rows,
                 align="l" + "r" * (len(budgets) + 1))


STANDINGS_COLUMNS = ["budget", "strongest rival", "accuracy", "INNR method", "accuracy",
                     f"difference [{LEVEL} CI]", "standing"]


def _standing_rows(judged: Sequence, label: Callable[[str], str]) -> list[list[str]]:
    """A row per budget of innr.report.verdicts.FrontierVerdicts: the strongest rival, the INNR
    method the standing is about, their paired difference and the standing."""
    def named(m: str | None, v) -> list[str]:
        return [label(m), pct(v.accuracy[m]["mean"], 2)] if m else ["n/a", "n/a"]

    return [[budget_text(v.budget), *named(v.strongest, v),
             *named(v.innr, v), mean_interval(v.margin, pct_points), v.standing_shown]
            for v in judged]


def frontier_standings(judged: Sequence, label: Callable[[str], str]) -> Table:
    """One dataset's standings, a row per budget (_standing_rows): the compact table."""
    return Table(STANDINGS_COLUMNS, [_standing_rows(judged, label)], align="llrlrrl")


def frontier_verdicts(judged: Sequence, label: Callable[[str], str]) -> Table:
    """Every dataset's standings in one table (the README's): a group per dataset."""
    groups = []
    for dataset in dict.fromkeys(v.dataset for v in judged):
        rows = _standing_rows([v for v in judged if v.dataset == dataset], label)
        groups.append([[dataset if i == 0 else "", *row] for i, row in enumerate(rows)])
    return Table(["dataset", *STANDINGS_COLUMNS], groups, align="lllrlrrl")


def frontier_methods(judged: Sequence, label: Callable[[str], str]) -> Table:
    """One dataset by the amended rule: each INNR method's standing (rows) at each budget
    (columns); --: no point of the method fits."""
    budgets = [v.budget for v in judged]
    methods = list(dict.fromkeys(s.innr for v in judged for s in v.standings))
    at = {(v.budget, s.innr): s.standing for v in judged for s in v.standings}
    return Table(["INNR method", *[budget_text(b) for b in budgets]],
                 [[[label(m), *[at.get((b, m), "--") for b in budgets]] for m in methods]],
                 align="l" + "c" * len(budgets))


def frontier_times(frontiers: Sequence[load.Frontier], methods: list[str],
                   label: Callable[[str], str]) -> Table:
    """Per method and dataset: the median decode time (rebuilding the weights from what is
    stored) and fit time over seeds, at the method's largest computed budget."""
    rows = []
    for m in methods:
        row = [label(m)]
        for f in frontiers:
            at = f.points[f.points["method"] == m]
            if at.empty:
                row += ["--", "--", "--"]
                continue
            top = at[at["budget"] == at["budget"].max()]
            decode = top["decode_seconds"].median()
            row += [budget_text(top['budget'].iloc[0]),
                    "none" if decode == 0 else f"{num(1000 * decode)} ms",  # 0: nothing to do
                    duration(top["fit_seconds"].median())]
        rows.append(row)
    columns = ["method"]
    for f in frontiers:
        columns += [f"{f.label}: at", "decode", "fit"]
    return Table(columns, [rows], align="l" + "rrr" * len(frontiers))


def frontier_failed(frontiers: Sequence[load.Frontier], label: Callable[[str], str]
                    ) -> Table:
    """The frontier's points that failed (listed, never averaged) or have no current file."""
    rows = [[f.label, label(p["method"]), budget_text(p['budget']), str(p["seed"]),
             p["error"]] for f in frontiers for p in f.failed]
    rows += [[f.label, "", "", "", f"no current results file: {rel}"]
             for f in frontiers for rel in f.missing]
    return Table(["dataset", "method", "budget", "seed", "error"], [rows],
                 align="lllrp{0.45\\linewidth}")


# --- beyond the original network --------------------------------------------------------------

# the claims' measures of the headline INNR method, in the report's order: measure -> its name
HEADLINE_MEASURES = {"top1_agreement": "top-1 agreement with the CNN",
                     "mean_kl": "mean KL(CNN || network)", "accuracy_original": "CNN accuracy",
                     "accuracy_rebuilt": "accuracy", "accuracy_gap": "accuracy gap (CNN minus)",
                     "val_accuracy": "validation accuracy (chosen on)"}
# innr.experiments.fgsm's flat metrics: <direction>_<protocol>_eps<eps>_<kind>_<target>
FGSM_KEY = re.compile(r"(forward|reverse|noise)_(\w+?)_eps([0-9.e+-]+)_(\w+?)_(\w+)")


def headline_transfer(frame: pd.DataFrame) -> pd.DataFrame:
    """The headline measures with FGSM's per-eps metrics replaced by claim 3's measure: per
    seed, budget and protocol, the CNN's examples' transfer rate to the rebuilt network and to
    the control, averaged over eps > 0 (`transfer_<protocol>_rebuilt`, `..._control`)."""
    keys = frame["measure"].str.fullmatch(FGSM_KEY.pattern)
    parts = frame.loc[keys, "measure"].str.extract(FGSM_KEY.pattern)
    rates = frame[keys].assign(protocol=parts[1], eps=parts[2].astype(float), kind=parts[3],
                               target=parts[4], direction=parts[0])
    rates = rates[(rates["direction"] == "forward") & (rates["kind"] == "transfer")
                  & (rates["eps"] > 0)]
    means = (rates.groupby(["seed", "budget", "protocol", "target"], sort=False)
             .agg(value=("value", "mean"), method=("method", "first")).reset_index())
    means["measure"] = "transfer_" + means["protocol"] + "_" + means["target"]
    return pd.concat([frame[~keys], means[list(frame.columns)]], ignore_index=True)


def _control_of(measure: str, measures: set[str]) -> str | None:
    """The control's counterpart of a headline measure: control_<m>, or <m> with 'rebuilt'
    (or 'innr') read as 'control'; None where the results give none."""
    for other in (f"control_{measure}", measure.replace("rebuilt", "control"),
                  measure.replace("innr", "control")):
        if other != measure and other in measures:
            return other
    return None


_RAGGED = r">{{\raggedright\arraybackslash}}p{{{}\linewidth}}"  # a wrapping column, no hyphens


def networks(nets: Sequence) -> Table:
    """Each network (innr.report.beyond.Network): its architecture, the values it stores, its
    training recipe (the config's [cnn]) and its CNNs' test accuracy over seeds."""
    rows = []
    for n in nets:
        c = n.config.cnn
        shape = f"{n.architecture}, {c.channels} channels"
        recipe = [f"{c.optimizer}, {c.epochs} epoch{'s' * (c.epochs != 1)} of {c.batch_size}, "
                  f"rate {exact(c.lr)}"]
        recipe += [f"{c.schedule} schedule"] * (c.schedule != "constant")
        recipe += [f"weight decay {exact(c.weight_decay)}"] * bool(c.weight_decay)
        recipe += [f"augment {c.augment.replace('_', ' + ')}"] * (c.augment != "none")
        recipe += [f"label smoothing {exact(c.label_smoothing)}"] * bool(c.label_smoothing)
        rows.append([n.label, shape, num(n.values), "; ".join(recipe),
                     mean_interval(summary(list(n.accuracy)), lambda x: pct(x, 2)),
                     num(len(n.accuracy))])
    return Table(["network", "architecture", "values", "recipe", f"CNN accuracy [{LEVEL} CI]",
                  "seeds"], [rows],
                 align=_RAGGED.format(0.16) + _RAGGED.format(0.14) + "r"
                 + _RAGGED.format(0.22) + "rr")


def headline_claims(frame: pd.DataFrame, label: Callable[[str], str]) -> Table:
    """The headline INNR method's claims' measures (innr.report.load.load_headline), a group
    per budget: each measure's mean and interval over seeds for the rebuilt network and for
    the independent control CNN where it has a counterpart, and their paired difference."""
    groups = []
    for budget, at in headline_transfer(frame).groupby("budget"):
        measures = list(dict.fromkeys(at["measure"]))
        controls = {m: _control_of(m, set(measures)) for m in measures}
        shown = [m for m in measures if m not in controls.values() and "control" not in m]
        shown.sort(key=lambda m: list(HEADLINE_MEASURES).index(m)
                   if m in HEADLINE_MEASURES else len(HEADLINE_MEASURES))
        by_seed = at.pivot_table(index="seed", columns="measure", values="value")
        rows = []
        for m in shown:
            fmt = num if "kl" in m else pct
            c = controls[m]
            mine = summary(list(by_seed[m].dropna()))
            other = summary(list(by_seed[c].dropna())) if c else None
            diff = summary(list((by_seed[m] - by_seed[c]).dropna())) if c else None
            rows.append([budget_text(budget) if not rows else "",
                         label(at["method"].dropna().iloc[0]) if not rows and
                         at["method"].notna().any() else "",
                         _measure_name(m), mean_interval(mine, fmt),
                         mean_interval(other, fmt) if other else "--",
                         mean_interval(diff, fmt) if diff else "--"])
        groups.append(rows)
    return Table(["budget", "headline method", "measure", f"rebuilt [{LEVEL} CI]",
                  f"control [{LEVEL} CI]", "difference"], groups, align="lllrrr")


def _measure_name(measure: str) -> str:
    """A headline measure as the table names it: HEADLINE_MEASURES', or claim 3's transfer."""
    if measure.startswith("transfer_") and measure.endswith("_rebuilt"):
        protocol = measure.removeprefix("transfer_").removesuffix("_rebuilt")
        return f"transfer rate, {protocol} protocol (mean over eps > 0)"
    return HEADLINE_MEASURES.get(measure, measure.replace("_", " "))


def nern(reported, ours: Sequence, label: Callable[[str], str]) -> Table:
    """NeRN's reported rebuilt networks (innr.report.load.NernReported) and ours nearest
    their shares of the bits (innr.report.beyond.Nearest): share, compression, the CNN's and
    the rebuilt network's accuracy and the drop."""
    theirs = [[f"NeRN: {r.network}", reported.dataset, "data (reported)", "",
               pct(r.share, 1), f"{num(r.compression)}x", pct(r.accuracy_original, 2),
               pct(r.accuracy_rebuilt, 2), pct_points(r.accuracy_original - r.accuracy_rebuilt)]
              for r in reported.results]
    mine = [[f"ours: {n.architecture}", n.dataset, n.track, label(n.method),
             budget_text(n.budget),
             f"{num(1 / n.budget)}x", pct(n.cnn["mean"], 2), pct(n.rebuilt["mean"], 2),
             mean_interval(n.drop, pct_points)] for n in ours]
    return Table(["network", "dataset", "track", "method", "share of bits", "compression",
                  "CNN", "rebuilt", f"drop [{LEVEL} CI]"], [theirs, mine] if mine else [theirs],
                 align="llllrrrrr")
