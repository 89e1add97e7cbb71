"""Results -> the paper's context dict -> jinja2 -> .tex -> latexmk -> PDF.

The template (paper/innr_report.tex.j2) uses LaTeX-friendly delimiters: \\BLOCK{...} for
statements, \\VAR{...} for values and \\#{...} for comments. Every value it prints is escaped
for LaTeX (& % $ # _ { } ~ ^ \\) unless it is a `Latex` string built here on purpose, so a
config name or an error message can never break the document. The template types no numbers:
each one is formatted here from the results files or experiments/original_study.toml.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from innr.architectures import build_cnn
from innr.config import Config
from innr.coordinates import AXES, kernel_layout
from innr.datasets import dataset_of
from innr.methods import quantisation
from innr.paths import NERN_REPORTED, shown
from innr.predictors.encoding import ENCODINGS
from innr.progress import duration
from innr.report import beyond as beyond_
from innr.report import cost, decide, load, sentences, tables, verdicts
from innr.report.beyond import Beyond
from innr.report.compare import Comparison, tolerances_text
from innr.report.formats import (
    LEVEL,
    budget_text,
    exact,
    kilobytes,
    num,
    pct,
    pct_points,
    printed,
    with_interval,
)
from innr.report.load import Criteria, NernReported, OriginalStudy, Results
from innr.report.tables import Latex, escape
from innr.report.verdicts import Verdict
from innr.size import BITS
from innr.stats import summary

LATEX_PACKAGES = ("texlive-latex-base texlive-latex-recommended texlive-fonts-recommended "
                  "texlive-latex-extra latexmk")


def _finalize(value) -> Markup:
    """What \\VAR{} prints: Latex (and macro output) as is; numbers in the report's format;
    everything else escaped. Returns Markup so that jinja2's own (HTML) escaping leaves it."""
    if isinstance(value, Markup):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Latex(escape(exact(value)))  # raw config values; statistics arrive formatted
    return Latex(escape("" if value is None else str(value)))


def environment(template_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        # autoescape on: macros then return Markup, which _finalize knows is finished LaTeX
        trim_blocks=True, lstrip_blocks=True, autoescape=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,  # a missing key stops the build instead of printing ""
        finalize=_finalize)


# --- the context: every number the paper prints ----------------------------------------------

def _stat(values, fmt=pct) -> dict:
    return _stat_of(summary(values), fmt)


def _stat_of(s: dict, fmt=pct) -> dict:
    return {"mean": fmt(s["mean"]), "text": with_interval(s, fmt), "n": s["n"]}


def _setup(res: Results, config: Config) -> dict:
    warnings = []
    runs = res.all()
    commits = sorted({str(r["provenance"].get("git_commit")) for r in runs})
    hashes = sorted({r["config_hash"] for r in runs})
    if len(commits) > 1:
        warnings.append(f"results come from {len(commits)} different git commits "
                        f"({', '.join(c[:12] for c in commits)}): they may not be comparable.")
    if len(hashes) > 1:
        warnings.append(f"results come from {len(hashes)} different configs (config hashes "
                        f"{', '.join(hashes)}).")
    if hashes and config.hash() not in hashes:
        warnings.append(f"no result was produced with the config file given to the report "
                        f"(hash {config.hash()}); the tables show the recorded config.")
    dirty = sorted({f"{r['experiment']} seed {r['seed']}" for r in runs
                    if r["provenance"].get("git_dirty")})
    if dirty:
        warnings.append("produced from a working tree with uncommitted changes: "
                        + ", ".join(dirty) + ".")
    for experiment in load.EXPERIMENTS:
        if not res.runs.get(experiment):
            warnings.append(f"no {experiment} results were found in {res.root}.")
            continue
        if res.missing(experiment):
            warnings.append(f"{experiment}: seeds {', '.join(map(str, res.missing(experiment)))}"
                            " of the config have no results file.")
        ok = sorted(r["seed"] for r in res.ok(experiment))
        if experiment in res.aggregates and sorted(load.aggregate_seeds(res, experiment)) != ok:
            warnings.append(f"{experiment}/aggregate.csv does not average exactly the seeds that "
                            "succeeded; rerun the experiment script to refresh it.")
    failed = [{"experiment": e, "seed": str(r["seed"]), "error": r.get("error", "")}
              for e in res.runs for r in res.failed(e)]
    return {"warnings": warnings, "failed": failed,
            "failures": tables.failures(res) if failed else None,
            "environment": tables.environment(res),
            "hyperparameters": tables.hyperparameters(res.config),
            "wall": tables.wall_times(res),
            "gpu": tables.device_times(load.load_results(config, load.GPU_CHECK), res),
            "gpu_path": shown(load.GPU_CHECK.parent),
            "started": min((r["started"] for r in runs), default="n/a"),
            "finished": max((r["finished"] for r in runs), default="n/a")}


def _method(config: Config) -> dict:
    innr = config.innr
    multiple = innr.w0_initial / math.pi
    w0_initial = (Latex(rf"{round(multiple)}\pi") if abs(multiple - round(multiple)) < 1e-9
                  else exact(innr.w0_initial))
    return {"axes": ", ".join(AXES), "dims": len(AXES), "hidden": innr.hidden,
            "layers": innr.layers, "w0_initial": w0_initial, "w0": exact(innr.w0),
            "c": exact(innr.c), "lr": exact(innr.lr), "steps": innr.steps,
            "eval_every": innr.eval_every, "step": innr.step, "cnn": config.cnn,
            "data_mean": exact(config.data.mean), "data_std": exact(config.data.std)}


def _criteria(criteria: Criteria, claims: dict[str, Verdict | None], pilot: dict | None,
              n_seeds: int) -> dict:
    """What was declared before the confirmatory run, and the power calculation."""
    compression = claims.get("compression")
    power = compression.numbers["power"] if compression else decide.power_calculation(
        pilot, criteria)
    return {"declared": criteria.declared, "seen_before": criteria.seen_before,
            "alpha": exact(criteria.alpha), "margin": pct(criteria.margin, 1),
            "power": pct(criteria.power, 0),
            "claims": [v for v in claims.values() if v is not None],
            "pilot": power and {
                "seeds": ", ".join(map(str, power["pilot_seeds"])),
                "n": len(power["pilot_seeds"]),
                "gap": with_interval(power["gap"], lambda x: pct(x, 2)),
                "sd": pct(power["gap"]["std"], 2), "needed": power["seeds_needed"],
                "enough": n_seeds >= power["seeds_needed"]}}


def _fidelity(res: Results, verdict: Verdict | None) -> dict:
    ok = res.ok("fidelity")
    if verdict is None:
        return {"ran": False}
    m = [r["metrics"] for r in ok]
    return {"ran": True, "table": tables.fidelity(res), "verdict": verdict,
            "agreement": _stat([x["top1_agreement"] for x in m]),
            "control_agreement": _stat([x["control_top1_agreement"] for x in m]),
            "acc_original": _stat([x["accuracy_original"] for x in m]),
            "acc_rebuilt": _stat([x["accuracy_rebuilt"] for x in m]),
            "kernel_seed": str(ok[0]["seed"]),
            "kernel_layer": ok[0]["details"]["kernels"]["layer"],
            "scatter_points": num(len(ok[0]["details"]["scatter"]["true"])),
            "controls": ", ".join(f"{res.config.control_of(r['seed'])} for {r['seed']}"
                                  for r in ok)}


def _compression(res: Results, verdict: Verdict | None, study: OriginalStudy,
                 test_images: int) -> dict:
    if verdict is None:
        return {"ran": False}
    m = [r["metrics"] for r in res.ok("compression")]
    n = verdict.numbers
    return {"ran": True, "verdict": verdict,
            "table": tables.compression(res, n["noninferiority"], n["margin"]),
            "original_table": tables.original(res, study, test_images),
            "params_cnn": n["params_cnn"], "params_innr": n["params_innr"],
            "ratio": pct(n["ratio"]), "reduction": pct(1 - n["ratio"]),
            "original_reduction": pct(1 - study.innr["param_ratio"]),
            "acc_original": _stat([x["accuracy_original"] for x in m]),
            "acc_rebuilt": _stat([x["accuracy_rebuilt"] for x in m])}


def _transfer(res: Results, verdict: Verdict | None, alpha: float) -> dict:
    if verdict is None:
        return {"ran": False}
    n = verdict.numbers
    return {"ran": True, "table": tables.transfer(res), "verdict": verdict,
            "protocol": n["protocol"], "eps": ", ".join(exact(e) for e in n["eps"]),
            "eps_pixels": num(max(n["eps"]) * res.config.data.std),
            "max_eps": exact(max(n["eps"])), "std": exact(res.config.data.std),
            "rebuilt": _stat_of(n["rebuilt"]), "control": _stat_of(n["control"]),
            "secondary": tables.comparisons(verdict.secondary, alpha),
            "noise_draws": res.config.attack.noise_draws,
            "controls": ", ".join(f"{r['details']['control_seed']} for {r['seed']}"
                                  for r in res.ok("transfer"))}


def _fitnoise(res: Results) -> dict:
    found = res.fitnoise()
    if found is None or not found.get("seeds"):
        return {"ran": False}
    cfg = res.config.fitnoise
    apart = {k: with_interval(found[f"{k}_vs_run_rel_l2"], num) if found[
        f"{k}_vs_run_rel_l2"]["n"] else "n/a" for k in ("draw2", "autograd")}
    autograd = [r["seed"] for r in res.ok("fitnoise") if "autograd_accuracy_rebuilt"
                in r["metrics"]]
    return {"ran": True, "table": tables.fitnoise(found), "cnns": len(found["seeds"]),
            "seeds": ", ".join(map(str, found["seeds"])), "offset": cfg.seed_offset,
            "autograd": ", ".join(map(str, autograd)) or "none", "n_autograd": len(autograd),
            "apart_draw": apart["draw2"], "apart_autograd": apart["autograd"]}


def _ablation(res: Results, criteria: Criteria, study: OriginalStudy) -> dict:
    """The ablation's section: design, choices, the table, and a verdict per budget."""
    ab = res.ablation()
    if ab is None or not criteria.ablation:
        return {"ran": False}
    recorded = ab.arms[0]["config"]
    a = recorded["ablation"]
    base, selection = a["base"], ab.selection
    budgets = verdicts.judge_ablation(ab, criteria)
    targets = criteria.ablation["targets"]
    faithful = ab.report[ab.report["arm"] == "faithful"]
    walls = [arm["wall_seconds"] for arm in ab.arms + ab.selected]
    dataset = dataset_of(recorded["data"]["root"])
    cnn = build_cnn(recorded["cnn"]["architecture"], dataset,
                    recorded["cnn"]["channels"]).state_dict()
    layout = kernel_layout(cnn, base["head"], base["linear_group"])
    return {
        "ran": True, "bits": BITS, "head": layout.head, "rows": num(layout.rows),
        "weights": num(len(layout.slot)), "nern_base": exact(ENCODINGS["nern"]),
        "nerf_base": exact(ENCODINGS["nerf"]), "select_train": num(dataset.validation.start),
        "select_valid": num(dataset.validation.stop - dataset.validation.start),
        "budgets": [{"label": budget_text(b.budget), "verdict": b,
                     "gap": with_interval(b.best_gap, pct_points),
                     "comparisons": tables.comparisons(
                         b.comparisons, criteria.alpha,
                         "comparison (positive: the first arm's gap is smaller)",
                         sentences.EFFECTS)} for b in budgets],
        "table": tables.ablation(ab.report, verdicts.arm_label),
        "selection_table": tables.ablation_selection(ab.select, selection, a["ideas"]),
        "config_table": tables.ablation_config(a),
        "budget_list": ", ".join(budget_text(b) for b in a["budgets"]),
        "select_budget": budget_text(a["select_budget"]),
        "selection_seeds": ", ".join(map(str, a["selection_seeds"])),
        "seeds": ", ".join(map(str, recorded["seeds"])), "n_seeds": len(recorded["seeds"]),
        # below the original's size the per-weight SIREN runs on fewer seeds (its cost)
        "faithful_seeds": faithful.loc[faithful["budget"] < study.innr["param_ratio"],
                                       "seed"].nunique(),
        "w0_sweep": ", ".join(exact(w) for w in a["w0_sweep"]),
        "w0": exact(selection["w0_initial"]),
        "best_ideas": ", ".join(selection["best_ideas"]) or "none",
        "ideas": ", ".join(a["ideas"]),
        "base": {"depth": base["depth"], "lr": exact(base["lr"]), "steps": base["steps"],
                 "schedule": base["lr_schedule"], "optimizer": base["optimizer"]},
        "targets": "; ".join(f"{pct_points(t)} at {budget_text(b)}" for b, t in targets.items()),
        "declared": criteria.ablation["declared"],
        "seen_before": criteria.ablation["seen_before"],
        "rationale": criteria.ablation["rationale"],
        "wall": duration(sum(walls)) if walls else "n/a",
        "commits": ", ".join(sorted({str(arm["provenance"].get("git_commit"))[:12]
                                     for arm in ab.arms + ab.selected})),
        "dirty": any(arm["provenance"].get("git_dirty") for arm in ab.arms + ab.selected),
        "device": ", ".join(sorted({
            arm["provenance"]["device_name"] if arm["provenance"]["device"] != "cpu" else
            f"the CPU ({arm['provenance']['cpu_count']} cores, "
            f"{arm['provenance']['cpu_capability']})" for arm in ab.arms}))}


def _machines(provenance: list[dict]) -> str:
    """Where results ran, in words: a GPU's name, or the CPU with its cores and vector unit."""
    return ", ".join(sorted({
        p.get("device_name") if p.get("device", "cpu") != "cpu" else
        f"the CPU ({p.get('cpu_count')} cores, {p.get('cpu_capability')})"
        for p in provenance if p})) or "n/a"


def _original_frontiers(res: Results, beyond: Sequence[Beyond]) -> list[load.Frontier]:
    """The frontiers of the original network (this config's and its companions' of the same
    architecture) that have points."""
    others = beyond_.others(beyond)
    return [f for f in res.frontiers() if not f.points.empty and f.name not in others]


def fewer_seeds(per_method: dict[str, int], seeds: int, label: Callable[[str], str]) -> str:
    """The methods computed on fewer than all `seeds`, grouped by their count, each group's
    labels in the report's order ('5 for 2 methods: INNR, faithful; narrow CNN (uses data)';
    labels hold commas, so semicolons part them); '' where every method has every seed."""
    groups: dict[int, list[str]] = {}
    for m in verdicts.method_order(per_method):
        if per_method[m] < seeds:
            groups.setdefault(per_method[m], []).append(label(m))
    return "; and the first ".join(
        f"{n} for {labels[0]}" if len(labels) == 1
        else f"{n} for {len(labels)} methods: {'; '.join(labels)}"
        for n, labels in sorted(groups.items(), reverse=True))


def _frontier(res: Results, criteria: Criteria, beyond: Sequence[Beyond] = ()) -> dict:
    """The frontier's section: what was compared, per dataset its budgets, seeds, table and
    verdicts, and where INNR stands over all of them (the original network's; `beyond`: the
    networks of another architecture, left to their own section)."""
    frontiers = _original_frontiers(res, beyond)
    if not frontiers or not criteria.frontier:
        return {"ran": False}
    judged = verdicts.judge_frontier(frontiers, criteria)
    label = verdicts.method_label
    datasets, lossless = [], {}  # lossless: label -> verdicts.lossless, where a margin is set
    for f in frontiers:
        pts, mine = f.points, [v for v in judged if v.dataset == f.label]
        rule = verdicts.frontier_rule(f, criteria)
        weights = load.stored_values(pts)
        seeds = sorted(set(pts["seed"]))
        per_method = pts.groupby("method")["seed"].nunique()
        if math.isfinite(rule.margin):
            lossless[f.label] = verdicts.lossless(rule)
        fewer = fewer_seeds(dict(per_method.items()), len(seeds), label)
        datasets.append({
            "label": f.label, "name": f.name, "weights": num(weights),
            "kb": kilobytes(weights * BITS),
            "budgets": ", ".join(f"{budget_text(v.budget)} ({num(v.kilobytes)} kB)"
                                 for v in mine),
            "seeds": ", ".join(map(str, seeds)),
            "fewer": fewer,
            "table": tables.frontier_accuracy(rule.envelope, verdicts.method_groups(pts),
                                              {v.budget: v.winner for v in mine}, label),
            "rule": rule.rule,
            "verdicts": [{"label": budget_text(v.budget), "verdict": v} for v in mine],
            "standings": tables.frontier_standings(mine, label),
            "methods": (tables.frontier_methods(mine, label) if rule.rule == "amended"
                        else None),
            "lossless": (sentences.frontier_lossless(
                f.label, lossless[f.label], [v.budget for v in mine], rule.margin,
                rule.alpha, label) if f.label in lossless else None),
            "best": sentences.frontier_best(f.label, mine, label),
            "nothing": sentences.frontier_learned_nothing(
                f.label, little := verdicts.learned_nothing(f), verdicts.LEARNED_NOTHING, label,
                rounded=all(map(verdicts.rounds_predictor, little))),
            "cnn": _cnn_convergence(f.label, load.cnn_history_at(res.root.parent / f.name)),
            "jobs": {"n": len(f.jobs), "seconds": duration(sum(j["job_seconds"] for j in f.jobs)),
                     "selection": any(j["selection"] for j in f.jobs)},
            "wall": duration(f.index.get("wall_seconds")),
            "machines": _machines(f.provenance),
            "commits": ", ".join(sorted({str(p.get("git_commit"))[:12]
                                         for p in f.provenance if p})) or "n/a"})
    methods = verdicts.method_order([m for f in frontiers for m in f.points["method"]])
    settings = frontiers[0].settings
    failed = sum(len(f.failed) + len(f.missing) for f in frontiers)
    rules = {d["rule"] for d in datasets}
    return {
        "ran": True, "datasets": datasets, "labels": ", ".join(f.label for f in frontiers),
        "summary": sentences.frontier_summary(judged, lossless),
        "rule": rules.pop() if len(rules) == 1 else "mixed",
        "epochs": res.config.cnn.epochs, "cnn_lr": exact(res.config.cnn.lr),
        "times": tables.frontier_times(frontiers, methods, label),
        "failed": tables.frontier_failed(frontiers, label) if failed else None,
        "n_failed": failed, "predictor_bits": settings.get("predictor_bits", "n/a"),
        "alpha": exact(criteria.frontier["alpha"]),
        "declared": criteria.frontier["declared"],
        "seen_before": criteria.frontier["seen_before"],
        "rationale": criteria.frontier["rationale"],
        "amendment": _amendment(criteria.frontier.get("amendment")),
        "families": _families(methods),
        "quant_bits": f"{min(quantisation.BIT_WIDTHS)} to {max(quantisation.BIT_WIDTHS)}",
        "distill_choices": len(res.config.frontier.distill_choices)}


def _families(methods: Sequence[str]) -> dict[str, str]:
    """The bit widths each k-bit family of the frontier ran at ('2, 4 and 8'; '' where none),
    by the methods' registry names: what the section's list of methods says of them."""
    def widths(prefix: str) -> str:
        found = sorted(int(m.removeprefix(prefix)) for m in methods
                       if m.startswith(prefix) and m.removeprefix(prefix).isdigit())
        return sentences.and_(list(map(str, found))) if found else ""
    return {"innr_bits": widths("innr_best_b"), "residual_bits": widths("innr_residual_b"),
            "pruned_bits": widths("pruned_quantised_b"), "low_rank_bits": widths("low_rank_b")}


def _beyond(res: Results, criteria: Criteria, beyond: Sequence[Beyond],
            nern: NernReported) -> dict:
    """The section "Does it hold beyond the original network?": per config (innr.report.beyond)
    its frontier's standings (another architecture's), its data track's, the headline
    method's claims; NeRN's reported numbers beside our ResNet's; whether the original
    network's conclusion carries over."""
    label = verdicts.method_label
    arch = res.config.cnn.architecture
    original_judged = verdicts.judge_frontier(_original_frontiers(res, beyond), criteria) if (
        criteria.frontier) else []
    original = [beyond_.holds(f"{arch}, {d}", "data-free",
                              [v for v in original_judged if v.dataset == d])
                for d in dict.fromkeys(v.dataset for v in original_judged)]
    others = [beyond_.holds(b.label, "data-free", b.frontier_verdicts)
              for b in beyond if not b.original]
    others += [beyond_.holds(b.label, "data track", b.datatrack_verdicts) for b in beyond]
    networks = [{
        "label": b.label, "name": b.config.name, "original": b.original,
        "frontier": b.frontier_verdicts and {
            "rule": b.rule.rule, "standings": tables.frontier_standings(b.frontier_verdicts, label),
            "seeds": ", ".join(map(str, sorted(set(b.frontier.points["seed"]))))},
        "datatrack": b.datatrack_verdicts and {
            "standings": tables.frontier_standings(b.datatrack_verdicts, label),
            "seeds": ", ".join(map(str, sorted(set(b.datatrack.points["seed"])))),
            "failed": len(b.datatrack.failed), "stale": b.datatrack.stale,
            "training": _track_training(b), "chance": _track_chance(b, label)},
        "headline": (None if b.headline.empty else {
            "table": tables.headline_claims(b.headline, label),
            "seeds": ", ".join(map(str, sorted(set(b.headline["seed"]))))})}
        for b in beyond]
    resnets = [b for b in beyond if b.config.cnn.architecture == beyond_.RESNET
               and not b.original]
    ours = list({(n.architecture, n.dataset, n.track, n.budget): n for b in resnets
                 for r in nern.results for n in beyond_.nearest(b, r.share)}.values())
    first = nern.results[0]
    data_track = criteria.data_track
    frontiers = {f.name: f for f in _original_frontiers(res, beyond)}
    nets = [n for b in beyond if (n := beyond_.network(b, frontiers.get(b.config.name)))]
    return {
        "networks": networks, "other": bool(beyond_.others(beyond)),
        "recipes": nets and tables.networks(nets),
        "original": arch, "datasets": ", ".join(dict.fromkeys(v.dataset
                                                              for v in original_judged)),
        "paragraph": sentences.generalisation(beyond_.generalises(original, others), original,
                                              others),
        "abstract": sentences.generalises(beyond_.generalises(original, others), original),
        "declared": data_track and {
            "declared": data_track["declared"], "seen_before": data_track["seen_before"],
            "rationale": data_track["rationale"], "alpha": exact(data_track["alpha"]),
            "margins": "; ".join(f"{d} {pct(m, 1)}" for d, m in data_track["margins"].items())},
        "nern": {"source": nern.source, "url": nern.url, "code": nern.code,
                 "table": tables.nern(nern, ours, label),
                 "shares": ", ".join(budget_text(round(r.share, 2)) for r in nern.results),
                 "check": first.predictor_params and {
                     "network": first.network, "predictor": num(first.predictor_params),
                     "counted": num(first.counted_params),
                     "ratio": num(first.counted_params / first.predictor_params)},
                 "ran": bool(ours),
                 "setting": sentences.nern_setting(nern, [b.config.frontier.label
                                                          for b in resnets])}}


def _track_training(b: Beyond) -> str:
    """How long the data track trained (sentences.datatrack_training); nothing where its
    points recorded no steps (beyond.track_length)."""
    length = beyond_.track_length(b.datatrack.points)
    return "" if length is None else sentences.datatrack_training(
        length.steps, b.config.datatrack.batch_size, length.images, length.scratch)


def _track_chance(b: Beyond, label: Callable[[str], str]) -> str:
    """The data track's methods that stayed near chance, in words (sentences.datatrack_chance)."""
    classes = dataset_of(b.config.data.root).classes
    return sentences.datatrack_chance(beyond_.near_chance(b.datatrack.points, classes), classes,
                                      beyond_.NEAR_CHANCE, label)


def _cnn_convergence(dataset: str, history: pd.DataFrame) -> str | None:
    """What the CNNs' training shows on one dataset (sentences.cnn_convergence), from its
    fidelity results; None where there are none or only one epoch."""
    epochs = sorted(set(history["epoch"]))
    if len(epochs) < 2:
        return None
    at = history.pivot(index="seed", columns="epoch")
    last, before = at["test_accuracy"][epochs[-1]], at["test_accuracy"][epochs[-2]]
    return sentences.cnn_convergence(dataset, len(epochs), summary(list(last)),
                                     summary(list(last - before)),
                                     summary(list(at["train_loss"][epochs[-1]])))


def _amendment(declared: dict | None) -> dict | None:
    """[frontier.amendment] as the report prints it (numbers formatted here, not typed)."""
    if not declared:
        return None
    return {**declared, "alpha": exact(declared["alpha"]),
            "margins": "; ".join(f"{label} {pct(m, 1)}"
                                 for label, m in declared["margins"].items()),
            "budgets": ", ".join(budget_text(b) for b in declared["budgets"])}


def _slip(study: OriginalStudy) -> dict | None:
    """The original notebook's reported-accuracy slip, from original_study.toml's [notebook]."""
    nb = study.notebook
    if not nb:
        return None
    batch, images = nb["test_batch_size"], nb["test_images"]
    last = images - (images // batch) * batch or batch
    return {"repository": nb["repository"], "path": nb["path"],
            "code": [line.strip() for line in nb["code"]], **study.evaluations(),
            "reported": printed(study.innr["test_accuracy"]),
            "last": printed(study.innr["last_printed_accuracy"]),
            "batch": batch, "batches": math.ceil(images / batch), "last_batch": last,
            "images": images, "weight": num(batch / last, 2)}


def _comparison(c: Comparison | None, criteria: Criteria) -> dict | None:
    """This run against the published one (innr.report.compare), when one is published."""
    if c is None:
        return None
    declared = criteria.reproduction
    return {"published": c.published, "same": c.same_files, "summary": c.summary(),
            "alpha": exact(c.alpha), "level": pct(1 - 2 * c.alpha, 0), "table": c.table(),
            "failures": c.failures_table(), "verdicts": c.verdicts_table(),
            "other_rule": c.other_rule_table(), "made_otherwise": c.made_otherwise_table(),
            "tolerances": tolerances_text(declared["tolerance"]),
            "declared": declared["declared"], "seen_before": declared["seen_before"],
            "rationale": declared["rationale"]}


def context(res: Results, config: Config, study: OriginalStudy, bench: dict | None,
            figures: dict[str, Path], build_dir: Path, bench_path: Path,
            criteria: Criteria, pilot: dict | None = None,
            comparison: Comparison | None = None, beyond: Sequence[Beyond] = (),
            nern: NernReported | None = None) -> dict:
    """Everything the template prints, formatted; figure paths relative to the build folder.
    `beyond`: the config and its companions, gathered (innr.report.beyond.gather); `nern`: NeRN's
    reported numbers (default: experiments/nern_reported.toml)."""
    recorded = res.config
    full_test = dataset_of(recorded.data.root).sizes["test"]
    test_images = min(recorded.data.test_limit or full_test, full_test)
    fig = {}
    for name, path in figures.items():
        rel = Path(os.path.relpath(path, build_dir)).as_posix()
        if not re.fullmatch(r"[\w./-]+", rel):
            raise ValueError(f"figure path {rel!r} has characters LaTeX cannot take in a file "
                             "name; move the figures folder")
        fig[name] = Latex(rel)
    claims = verdicts.judge(res, study, criteria, pilot)
    nern = nern or load.load_nern(NERN_REPORTED)
    return {
        "name": res.name, "level": LEVEL,
        "seeds": ", ".join(map(str, res.seeds)), "n_seeds": len(res.seeds),
        "n_seeds_done": len({r["seed"] for r in res.ok("fidelity")}),  # seeds with results
        "test_images": test_images, "full_test": full_test,
        "train_images": recorded.data.train_limit or None,
        "smoke": bool(recorded.data.train_limit or recorded.data.test_limit
                      or recorded.innr.steps < study.innr["steps"]),
        "results_dir": str(res.root), "setup": _setup(res, config),
        "method": _method(recorded), "claims": [v for v in claims.values() if v is not None],
        "title": {e: verdicts.title(e) for e in verdicts.CLAIMS},
        "fidelity": _fidelity(res, claims["fidelity"]),
        "compression": _compression(res, claims["compression"], study, test_images),
        "transfer": _transfer(res, claims["transfer"], criteria.alpha),
        "fitnoise": _fitnoise(res),
        "ablation": _ablation(res, criteria, study),
        "frontier": _frontier(res, criteria, beyond),
        "beyond": _beyond(res, criteria, beyond, nern),
        "criteria": _criteria(criteria, claims, pilot, len(res.ok("compression"))),
        "original": {"source": study.source, "url": study.url, "seed": str(study.seed),
                     "claim": study.attack["claim"], "eps": exact(study.attack["eps"]),
                     "protocol": study.attack["protocol"],
                     "cnn_accuracy": printed(study.cnn["test_accuracy"]),
                     "innr_accuracy": printed(study.innr["test_accuracy"]),
                     "ratio": pct(study.innr["param_ratio"])},
        "slip": _slip(study), "fig": fig, "comparison": _comparison(comparison, criteria),
        "bench": tables.bench(bench) if bench is not None else None,
        "bench_path": shown(bench_path), "bench_machine": bench and tables.bench_machine(bench),
        "cost": _cost(cost.runs_of(res, beyond)),
    }


def _cost(runs: Sequence[Results]) -> dict:
    """The compute appendix: its caption and table, from the run's configs loaded once."""
    return {"caption": cost.caption(runs), "table": cost.table(runs),
            "frontier": cost.frontier_breakdown(runs, verdicts.method_label),
            "least": pct(cost.LEAST, 0)}


def render(ctx: dict, template: Path, out: Path) -> Path:
    """Render the template with `ctx` into `out` (a .tex file)."""
    text = environment(template.parent).get_template(template.name).render(**ctx)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


# --- LaTeX ------------------------------------------------------------------------------------

class LatexMissing(RuntimeError):
    """latexmk or pdflatex is not installed."""


class LatexFailed(RuntimeError):
    """LaTeX stopped with an error; the message holds the lines of the log that matter."""


def log_excerpt(log: Path, after: int = 4) -> str:
    """The error lines of a LaTeX log (lines starting with '!') and a few lines after each."""
    if not log.is_file():
        return f"(no log at {log})"
    lines = log.read_text(errors="replace").splitlines()
    picked = []
    for i, line in enumerate(lines):
        if line.startswith("!"):
            picked += lines[i:i + after + 1] + ["..."]
    return "\n".join(picked) if picked else "\n".join(lines[-20:])


def compile_pdf(tex: Path, timeout: int = 600, epoch: int | None = None) -> Path:
    """latexmk -pdf in the .tex file's folder, non-interactive; returns the PDF. With `epoch`
    (seconds since 1970) as the PDF's date and ID seed, the same .tex gives the same bytes."""
    missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
    if missing:
        raise LatexMissing(f"{' and '.join(missing)} not found: install LaTeX to build the PDF "
                           f"(Debian/Ubuntu: sudo apt-get install {LATEX_PACKAGES}); the "
                           f"figures and {tex} were written")
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", tex.name]
    try:
        env = os.environ | ({"SOURCE_DATE_EPOCH": str(epoch), "FORCE_SOURCE_DATE": "1"}
                            if epoch is not None else {})
        proc = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired:
        raise LatexFailed(f"latexmk did not finish in {timeout} s\n"
                          + log_excerpt(tex.with_suffix(".log"))) from None
    pdf = tex.with_suffix(".pdf")
    if proc.returncode != 0 or not pdf.is_file():
        raise LatexFailed(f"LaTeX failed on {tex} (full log: {tex.with_suffix('.log')}):\n"
                          + log_excerpt(tex.with_suffix(".log")))
    return pdf
