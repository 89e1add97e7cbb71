"""The report's figures, drawn with seaborn from results files only.

Each function takes the loaded Results and writes NAME.pdf (for LaTeX) and NAME.png (to look
at) into a folder. Lines are means over seeds; bands and error bars are the same two-sided
95% t-intervals as the tables (innr.stats.summary), so a figure and its table never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.lines
import matplotlib.ticker

matplotlib.use("Agg")  # files only: no display, no GUI toolkit

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from innr.methods import METHODS  # noqa: E402
from innr.report import load, verdicts  # noqa: E402
from innr.report.beyond import Beyond  # noqa: E402
from innr.report.formats import budget_text  # noqa: E402
from innr.report.load import OriginalStudy, Results  # noqa: E402
from innr.stats import summary  # noqa: E402

WIDTH = 6.3  # inches: the paper's text width (A4, 2.5 cm margins), so figures print at 1:1
TARGETS = {"original": "original CNN", "rebuilt": "rebuilt (INNR)", "control": "control CNN"}
PALETTE = {"original CNN": "C0", "rebuilt (INNR)": "C1", "control CNN": "C2"}


def ci95(values) -> tuple[float, float]:
    """seaborn errorbar: the t-interval of the mean; a point when there is one seed."""
    s = summary(list(values))
    if not math.isfinite(s["ci_low"]):
        return s["mean"], s["mean"]
    return s["ci_low"], s["ci_high"]


def geomean(values) -> float:
    return float(np.exp(np.mean(np.log(np.asarray(values, dtype=float)))))


def ci95_log(values) -> tuple[float, float]:
    """The t-interval of the mean log: a multiplicative band that a log axis can show."""
    lo, hi = ci95(np.log(np.asarray(values, dtype=float)))
    return float(np.exp(lo)), float(np.exp(hi))


def _style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.0,
                  rc={"figure.dpi": 100, "savefig.bbox": "tight", "axes.titlesize": "medium",
                      "pdf.fonttype": 42})  # TrueType in the PDF: text stays text


def _save(fig: plt.Figure, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    # no creation date in the files: a rerun that draws the same figure writes the same bytes,
    # so the committed figures change in git only when what they show changes
    fig.savefig(out / f"{name}.pdf", metadata={"CreationDate": None})
    fig.savefig(out / f"{name}.png", dpi=150)
    plt.close(fig)
    return out / f"{name}.pdf"


def cnn_training(res: Results, out: Path) -> Path:
    """(1) The CNN's training loss and test accuracy per epoch."""
    df = load.cnn_history(res)
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 2.3), layout="constrained")
    sns.lineplot(df, x="epoch", y="train_loss", errorbar=ci95, marker="o", ax=a)
    sns.lineplot(df, x="epoch", y="test_accuracy", errorbar=ci95, marker="o", ax=b)
    a.set(xlabel="epoch", ylabel="training loss (cross-entropy)")
    b.set(xlabel="epoch", ylabel="test accuracy")
    for ax in (a, b):
        ax.xaxis.get_major_locator().set_params(integer=True)
    return _save(fig, out, "cnn-training")


def innr_fit(res: Results, out: Path) -> Path:
    """(2) The INNR fit: MSE per step (log scale); rebuilt test accuracy per evaluation."""
    loss, acc = load.innr_loss(res), load.innr_eval(res)
    reference = np.mean([r["metrics"]["accuracy_original"] for r in res.ok("fidelity")])
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 2.3), layout="constrained")
    sns.lineplot(loss, x="step", y="loss", estimator=geomean, errorbar=ci95_log, ax=a,
                 linewidth=1)
    a.set(yscale="log", xlabel="Adam step", ylabel="MSE on standardised weights")
    sns.lineplot(acc, x="step", y="accuracy", errorbar=ci95, marker="o", ax=b,
                 label="rebuilt network")
    b.axhline(reference, color="k", linestyle="--", linewidth=1, label="original CNN")
    b.set(xlabel="Adam step", ylabel="test accuracy", ylim=(0, 1.02))
    b.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return _save(fig, out, "innr-fit")


def _paired(ax: plt.Axes, frame: pd.DataFrame, x: str, y: str, order: list[str],
            colors: dict[str, str]) -> None:
    """Seeds as grey lines across the categories of `x` (the pairing the tests use), each
    category's mean with its t-interval on top."""
    wide = frame.pivot(index="seed", columns=x, values=y)[order]
    for _, row in wide.iterrows():
        ax.plot(range(len(order)), row.values, color="0.6", linewidth=0.7, alpha=0.7, zorder=1)
    for i, name in enumerate(order):
        lo, hi = ci95(wide[name])
        ax.errorbar([i], [wide[name].mean()], yerr=[[wide[name].mean() - lo],
                                                    [hi - wide[name].mean()]],
                    fmt="o", color=colors[name], capsize=4, markersize=6, zorder=3)
    ax.set_xticks(range(len(order)), order)
    ax.set(xlim=(-0.4, len(order) - 0.6))


CLOSENESS = {"rebuilt": "C1", "control": "C2", "pruned": "C4", "noise": "C5"}


def closeness(res: Results, out: Path) -> Path:
    """(3) Claim 1: how close each network is to the CNN, seeds as paired lines."""
    rows = [{"seed": r["seed"], "network": name,
             "agreement": r["metrics"][f"{prefix}top1_agreement"],
             "kl": r["metrics"][f"{prefix}mean_kl"]}
            for r in res.ok("fidelity")
            for name, prefix in (("rebuilt", ""), ("control", "control_"),
                                 ("pruned", "pruned_"), ("noise", "noise_"))]
    frame = pd.DataFrame(rows)
    order = list(CLOSENESS)
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 2.4), layout="constrained")
    _paired(a, frame, "network", "agreement", order, CLOSENESS)
    a.set(ylabel="top-1 agreement with the CNN", xlabel="")
    a.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    _paired(b, frame, "network", "kl", order, CLOSENESS)
    b.set(ylabel="mean KL(CNN || network)", xlabel="", yscale="log")
    return _save(fig, out, "closeness")


def compression(res: Results, out: Path, margin: float) -> Path:
    """(3b) Claim 2: the accuracy gaps of the rebuilt and the pruned network, seeds as paired
    lines, on a scale where the gap, its interval and the margin are what the eye sees."""
    rows = [{"seed": r["seed"], "network": name,
             "gap": r["metrics"]["accuracy_original"] - r["metrics"][key],
             "accuracy": r["metrics"][key]}
            for r in res.ok("compression")
            for name, key in (("CNN", "accuracy_original"), ("rebuilt", "accuracy_rebuilt"),
                              ("pruned", "accuracy_pruned"))]
    frame = pd.DataFrame(rows)
    colors = {"CNN": "C0", "rebuilt": "C1", "pruned": "C4"}
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 2.4), layout="constrained")
    _paired(a, frame, "network", "accuracy", list(colors), colors)
    a.set(ylabel="test accuracy", xlabel="")
    a.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=1))
    gaps = frame[frame["network"] != "CNN"]
    _paired(b, gaps, "network", "gap", ["rebuilt", "pruned"], colors)
    b.axhline(0, color="k", linewidth=0.8)
    b.axhline(margin, color="C3", linestyle="--", linewidth=1, label="margin (claim 2)")
    b.set(ylabel="gap: CNN minus network", xlabel="")
    b.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=1))
    b.legend(loc="best", fontsize="small")
    return _save(fig, out, "compression")


def transfer_claim(res: Results, out: Path, protocol: str) -> Path:
    """(6a) Claim 3 across eps (`protocol`): transfer to the rebuilt network and to the
    control; the rebuilt network's accuracy under FGSM and under random-sign noise."""
    rows = []
    for r in res.ok("transfer"):
        m = r["metrics"]
        for e in sorted({rec["eps"] for rec in r["details"]["records"]}):
            if e <= 0:
                continue
            key = f"{protocol}_eps{e:g}"
            rows += [{"seed": r["seed"], "eps": e, "what": "CNN $\\to$ rebuilt",
                      "rate": m[f"forward_{key}_transfer_rebuilt"]},
                     {"seed": r["seed"], "eps": e, "what": "CNN $\\to$ control",
                      "rate": m[f"forward_{key}_transfer_control"]}]
            rows += [{"seed": r["seed"], "eps": e, "what": "rebuilt, FGSM",
                      "accuracy": m[f"forward_{key}_acc_rebuilt"]}]
            if f"noise_{key}_acc_rebuilt" in m:
                rows += [{"seed": r["seed"], "eps": e, "what": "rebuilt, random sign",
                          "accuracy": m[f"noise_{key}_acc_rebuilt"]}]
    frame = pd.DataFrame(rows)
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 2.5), layout="constrained")
    rates = frame.dropna(subset=["rate"])
    sns.lineplot(rates, x="eps", y="rate", hue="what", marker="o", errorbar=ci95, ax=a,
                 palette={"CNN $\\to$ rebuilt": "C1", "CNN $\\to$ control": "C2"})
    a.set(xlabel="$\\varepsilon$", ylabel="transfer rate", title=f"{protocol} protocol")
    a.legend(title="", fontsize="small")
    acc = frame.dropna(subset=["accuracy"])
    sns.lineplot(acc, x="eps", y="accuracy", hue="what", marker="o", errorbar=ci95, ax=b,
                 palette={"rebuilt, FGSM": "C1", "rebuilt, random sign": "C7"})
    b.set(xlabel="$\\varepsilon$", ylabel="accuracy", ylim=(-0.02, 1.02),
          title="attack or noise?")
    b.legend(title="", fontsize="small")
    return _save(fig, out, "transfer-claim")


def weight_error(res: Results, out: Path) -> Path:
    """(4) Relative L2 error per layer; rebuilt against true weights (2-D histogram)."""
    layers, pts = load.per_layer(res), load.scatter(res)
    fig, (a, b) = plt.subplots(1, 2, figsize=(WIDTH, 2.6), width_ratios=[1, 1.1],
                           layout="constrained")
    sns.barplot(layers, x="layer", y="rel_l2", errorbar=ci95, capsize=0.2, ax=a, color="C1")
    a.set(xlabel="tensor", ylabel=r"relative $L_2$ error $\|w-\hat w\|/\|w\|$")
    a.tick_params(axis="x", labelrotation=20)
    sns.histplot(pts, x="true", y="rebuilt", bins=60, cmap="mako_r", cbar=True, ax=b,
                 cbar_kws={"label": "weights"})
    lo, hi = np.nanmin(pts[["true", "rebuilt"]].values), np.nanmax(pts[["true", "rebuilt"]].values)
    b.plot([lo, hi], [lo, hi], color="C3", linestyle="--", linewidth=1, label="$\\hat w = w$")
    b.set(xlabel="true weight $w$", ylabel="rebuilt weight $\\hat w$")
    b.legend(loc="upper left", fontsize="small")
    return _save(fig, out, "weight-error")


def kernels(res: Results, out: Path) -> Path:
    """(5) The first conv layer's kernels of the first ok seed, original next to rebuilt."""
    k = res.ok("fidelity")[0]["details"]["kernels"]
    true, rebuilt = np.asarray(k["true"]), np.asarray(k["rebuilt"])
    n = len(true)
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    vmax = float(np.abs(true).max()) or 1.0  # one colour scale for both: errors stay visible
    fig = plt.figure(figsize=(WIDTH, 0.42 * WIDTH * rows / cols + 0.6), layout="constrained")
    panels = fig.subfigures(1, 2, wspace=0.04)
    for panel, title, kernels_ in zip(panels, ("original", "rebuilt"), (true, rebuilt),
                                      strict=True):
        axes = np.atleast_1d(panel.subplots(rows, cols)).ravel()
        for i, ax in enumerate(axes):
            ax.set_axis_off()
            if i < n:
                image = ax.imshow(kernels_[i], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        panel.suptitle(title, fontsize="medium")
    fig.colorbar(image, ax=panels[1].axes, shrink=0.8, label="weight")
    return _save(fig, out, "kernels")


def transfer(res: Results, out: Path) -> Path:
    """(6) FGSM accuracy and transfer rate against eps, both protocols and directions."""
    df = load.transfer_records(res)
    df["network"] = df["target"].map(TARGETS)
    protocols = list(dict.fromkeys(df["protocol"]))
    fig, axes = plt.subplots(len(protocols), 3, figsize=(WIDTH, 2.0 * len(protocols) + 0.7),
                             squeeze=False, sharex=True, layout="constrained")
    pairs = {"CNN $\\to$ rebuilt": "C1", "CNN $\\to$ control": "C2",
             "rebuilt $\\to$ original": "C4"}
    for i, (row, protocol) in enumerate(zip(axes, protocols, strict=True)):
        d = df[df["protocol"] == protocol]
        fwd, rev = d[d["direction"] == "forward"], d[d["direction"] == "reverse"]
        sns.lineplot(fwd, x="eps", y="accuracy", hue="network", palette=PALETTE, marker="o",
                     errorbar=ci95, ax=row[0], legend=i == 0)
        rates = pd.concat([fwd[fwd["target"] != "original"].assign(
                               pair=lambda f: "CNN $\\to$ " + f["target"]),
                           rev[rev["target"] == "original"].assign(
                               pair="rebuilt $\\to$ original")]).dropna(subset=["transfer_rate"])
        sns.lineplot(rates, x="eps", y="transfer_rate", hue="pair", palette=pairs, marker="o",
                     errorbar=ci95, ax=row[1], legend=i == 0)
        sns.lineplot(rev, x="eps", y="accuracy", hue="network", palette=PALETTE, marker="s",
                     errorbar=ci95, ax=row[2], legend=False, linestyle="--")
        row[0].set(ylabel=f"{protocol} protocol\naccuracy")
        row[1].set(ylabel="transfer rate", ylim=(-0.02, 1.02))
        row[2].set(ylabel="accuracy")
        for ax in row:
            ax.set(xlabel="$\\varepsilon$", ylim=(-0.02, 1.02))
    for ax, title in zip(axes[0], ("forward: crafted on the CNN", "transfer rate",
                                   "reverse: crafted on the rebuilt"), strict=True):
        ax.set_title(title)
    # two legends below the figure: networks (accuracy panels), pairs (transfer-rate panels)
    for ax, where, title in ((axes[0, 0], "outside lower left", "network"),
                             (axes[0, 1], "outside lower right", "crafted on $\\to$ evaluated on")):
        handles, labels = ax.get_legend_handles_labels()
        ax.get_legend().remove()
        fig.legend(handles, labels, loc=where, ncol=len(labels), fontsize="x-small",
                   title=title, title_fontsize="x-small")
    return _save(fig, out, "transfer")


def examples(res: Results, out: Path, protocol: str) -> Path:
    """(6b) Adversarial examples crafted on the CNN (first ok seed) at a few eps."""
    ex = [e for e in res.ok("transfer")[0]["details"]["examples"] if e["protocol"] == protocol]
    picks = sorted(set(np.linspace(0, len(ex) - 1, min(4, len(ex))).round().astype(int)))
    ex = [ex[i] for i in picks]
    cols = len(ex[0]["pixels"])
    fig, axes = plt.subplots(len(ex), cols, figsize=(WIDTH * 0.7, 0.85 * len(ex)), squeeze=False,
                             layout="constrained")
    for row, e in zip(axes, ex, strict=True):
        for i, ax in enumerate(row):
            ax.imshow(np.asarray(e["pixels"][i]), cmap="gray", vmin=0, vmax=1)
            preds = "/".join(str(e[f"pred_{t}"][i]) for t in TARGETS if f"pred_{t}" in e)
            ax.set_title(f"{e['label'][i]}: {preds}", fontsize="small")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"$\\varepsilon$ = {e['eps']:g}")
    return _save(fig, out, "examples")


def ablation(ab: load.Ablation, out: Path, targets: dict[float, float]) -> Path:
    """(6) The ablation: each arm's accuracy gap per budget, mean with its interval and the
    seeds as dots, on a symmetric-log axis; the target where one was set."""
    frame = ab.report.assign(label=ab.report["arm"].map(verdicts.arm_label))
    budgets = list(dict.fromkeys(frame["budget"]))
    order = list(dict.fromkeys(frame["label"]))
    fig, axes = plt.subplots(1, len(budgets), figsize=(WIDTH, 0.25 * len(order) + 1.2),
                             sharey=True, layout="constrained", squeeze=False)
    for ax, budget in zip(axes[0], budgets, strict=True):
        at = frame[frame["budget"] == budget]
        sns.stripplot(at, x="accuracy_gap", y="label", order=order, color="0.6", size=2.5,
                      ax=ax, jitter=0.15)
        sns.pointplot(at, x="accuracy_gap", y="label", order=order, errorbar=ci95,
                      linestyle="none", color="C1", markersize=4, ax=ax)
        ax.axvline(0, color="k", linewidth=0.8)
        target = next((t for b, t in targets.items() if math.isclose(b, budget)), None)
        if target is not None:
            ax.axvline(target, color="C3", linestyle="--", linewidth=1)
        ax.set(title=f"{budget_text(budget)} of the bits", xlabel="gap: CNN minus arm", ylabel="")
        # linear within a point of zero, logarithmic beyond: a gap of 0.1 point and one of 40
        # points are both readable
        ax.set_xscale("symlog", linthresh=0.01, linscale=1)
        ax.set_xlim(-0.01, 1.0)
        ax.set_xticks([-0.01, 0, 0.01, 0.1])
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    return _save(fig, out, "ablation")


INNR_STYLE = {"innr_faithful": "C3", "innr_best": "C1", "innr_quantised": "C6"}
RIVAL_MARKERS = "sD^v<>pPX"


def innr_style(method: str) -> dict:
    """An INNR method's line: the three named methods in their colours with round markers; a
    family of the registry (the k-bit predictors, the residual INNRs) in shades of one colour,
    darker with more bits, with a marker of its own, so that ten INNR lines stay apart (one red
    for all of them made the families unreadable)."""
    base = {"linewidth": 2.2, "markersize": 4.5, "zorder": 4}
    family = getattr(METHODS.get(method), "family", "")
    if family in INNR_FAMILY_STYLE:
        palette, marker = INNR_FAMILY_STYLE[family]
        widths = sorted(_width(m) for m in METHODS.values() if m.family == family)
        shade = sns.color_palette(palette, 9)[min(4 + widths.index(_width(METHODS[method])), 8)]
        return base | {"color": shade, "marker": marker}
    return base | {"color": INNR_STYLE.get(method, "C3"), "marker": "o"}


INNR_FAMILY_STYLE = {"innr_best_b": ("Oranges", "h"), "innr_residual_b": ("Purples", "d")}


def _width(method) -> int:
    """The bits that tell a family's members apart: a residual INNR's codes, else the
    predictor's."""
    return method.residual or method.bits


def frontier(frontiers: list[load.Frontier], out: Path, margin: dict[str, float] | None = None,
             name: str = "frontier", titles: Sequence[str] | None = None,
             sizes: str = "coded") -> Path:
    """(7) The compression frontier: accuracy lost (the CNN's minus the method's, percentage
    points, symmetric-log axis: differences near zero stay visible) against stored kB (log;
    the entropy-coded file's bytes where a point records them), one panel per dataset, a line
    per method over the points it computed (mean over seeds with its interval); INNR methods
    bold, data-free rivals thin, the narrow CNN (trained on the data) dashed; dotted: the
    budgets; red dashed: the declared equivalence margin (`margin`: dataset label -> fraction).
    Saved as `name`; each panel titled by `titles` (default: its dataset's label). `sizes`
    "raw": every point at its raw stored bits instead (the frontier the coded one is read
    beside: criteria.toml's amendment)."""
    fig, axes = plt.subplots(1, len(frontiers), figsize=(WIDTH, 3.8), sharey=True,
                             squeeze=False, layout="constrained")
    handles = {}
    for ax, f, title in zip(axes[0], frontiers, titles or [f.label for f in frontiers],
                            strict=True):
        stored = stored_sizes(f.points, sizes)
        pts = f.points.assign(lost=100 * f.points["gap"], stored=stored, kb=lambda d: d.groupby(
            ["method", "budget"])["stored"].transform("mean") / 1000)
        innr, rivals, data = verdicts.method_groups(pts)
        for budget, bits in pts.groupby("budget")["budget_bits"].min().items():
            ax.axvline(bits / 8 / 1000, color="0.75", linestyle=":", linewidth=0.8, zorder=0)
            ax.text(bits / 8 / 1000, 1.0, budget_text(budget), rotation=90, fontsize="x-small",
                    color="0.45", ha="right", va="top", transform=ax.get_xaxis_transform())
        for i, m in enumerate(rivals):
            style = {"color": sns.color_palette("deep")[(0, 2, 4, 5, 7, 8, 9)[i % 7]],
                     "linewidth": 1.0, "marker": RIVAL_MARKERS[i % len(RIVAL_MARKERS)],
                     "markersize": 3.5, "alpha": 0.85, "zorder": 2}
            _method_line(ax, pts[pts["method"] == m], m, style, handles)
        for m in data:
            _method_line(ax, pts[pts["method"] == m], m,
                         {"color": "k", "linestyle": "--", "linewidth": 1.2, "marker": "x",
                          "markersize": 4, "zorder": 3}, handles)
        for m in innr:
            _method_line(ax, pts[pts["method"] == m], m, innr_style(m), handles)
        ax.axhline(0, color="k", linewidth=0.8)
        if margin and math.isfinite(margin.get(f.label, math.nan)):
            ax.axhline(100 * margin[f.label], color="C3", linestyle="--", linewidth=1)
        # short enough for three panels side by side (longer ones ran into each other; a
        # figure-wide label collided with the legend below)
        ax.set(xscale="log", title=title,
               xlabel=f"stored kB ({'raw bits' if sizes == 'raw' else 'coded'}, log)",
               ylabel="accuracy lost (CNN minus method, points)" if ax is axes[0][0] else "")
        # linear within a tenth of a point of zero, logarithmic beyond: a loss of 0.1 point and
        # one of 80 points are both readable, and a method better than the CNN shows below 0
        ax.set_yscale("symlog", linthresh=0.1, linscale=0.5)
        ax.set_ylim(-1, 100)
        ax.set_yticks([-1, -0.1, 0, 0.1, 1, 10, 100])
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}"))
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    order = verdicts.method_order(handles)  # INNR first, the rivals, the narrow CNN last
    fig.legend([handles[m] for m in order], [verdicts.method_label(m) for m in order],
               loc="outside lower center", ncol=4, fontsize="small", frameon=False)
    return _save(fig, out, name)


def stored_sizes(points: pd.DataFrame, sizes: str = "coded") -> pd.Series:
    """Each frontier point's stored bytes: its entropy-coded file's (the raw bits / 8 where a
    point records none), or with `sizes` "raw" its raw bits / 8."""
    if sizes == "raw":
        return points["stored_bytes"]
    return points["bytes_coded"].fillna(points["stored_bytes"])


def _method_line(ax: plt.Axes, rows: pd.DataFrame, method: str, style: dict,
                 handles: dict) -> None:
    """One method's points: mean accuracy lost per stored size, its t-interval as a band."""
    sns.lineplot(rows, x="kb", y="lost", errorbar=ci95, ax=ax, legend=False,
                 err_kws={"alpha": 0.12, "linewidth": 0}, **style)
    handles.setdefault(method, matplotlib.lines.Line2D(
        [], [], **{k: v for k, v in style.items() if k != "zorder"}))


def make_all(res: Results, out: Path, study: OriginalStudy, margin: float,
             targets: dict[float, float] | None = None,
             equivalence: dict[str, float] | None = None,
             beyond: Sequence[Beyond] = ()) -> dict[str, Path]:
    """Every figure whose results exist; returns name -> PDF path. `equivalence`: the amended
    frontier criteria's margin per dataset label, drawn on the frontier. `beyond`: the configs
    of innr.report.beyond; those of another architecture get a panel each where their frontier
    ran, apart from the original network's frontier."""
    _style()
    np.random.seed(0)  # seaborn's jitter draws from numpy's global generator: the same dots
    made = {}
    if res.ok("fidelity"):
        made |= {"cnn_training": cnn_training(res, out), "innr_fit": innr_fit(res, out),
                 "weight_error": weight_error(res, out), "kernels": kernels(res, out)}
        made["closeness"] = closeness(res, out)
    if res.ok("compression"):
        made["compression"] = compression(res, out, margin)
    if res.ok("transfer"):
        made["transfer"] = transfer(res, out)
        protocol = verdicts.transfer_protocol(res, study)
        made["transfer_claim"] = transfer_claim(res, out, protocol)
        made["examples"] = examples(res, out, protocol)
    if (ab := res.ablation()) is not None:
        made["ablation"] = ablation(ab, out, targets or {})
    others = {b.config.name for b in beyond if not b.original}
    if frontiers := [f for f in res.frontiers() if not f.points.empty and f.name not in others]:
        made["frontier"] = frontier(frontiers, out, equivalence)
        made["frontier_raw"] = frontier(frontiers, out, equivalence, "frontier-raw", sizes="raw")
    if ran := [b for b in beyond if b.frontier is not None]:
        made["frontier_beyond"] = frontier([b.frontier for b in ran], out, equivalence,
                                           "frontier-beyond", [b.label for b in ran])
    return made
