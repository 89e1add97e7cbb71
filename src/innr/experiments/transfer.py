"""Claim 3 (transfer): FGSM examples crafted on the CNN also fool the rebuilt network, across eps.

    python -m innr.experiments.transfer --config experiments/quick.toml [--seeds 1234]

For each protocol ("original": eps on normalised inputs, unclamped; "pixel": eps on [0, 1]
pixels, clamped) and eps, examples are crafted on a source network and evaluated on targets:
- forward: source = the CNN; targets = itself, the rebuilt network, and a control (an
  independently trained CNN of another seed, same recipe), which tells how much of the transfer
  is simply what any network of this recipe would show;
- reverse: source = the rebuilt network; targets = itself and the CNN.
The transfer rate is, of the examples that fool the source, the fraction that fool the target;
it counts images the target misclassifies even clean. `transfer_rate_clean` restricts it to the
images that the source and the target both classify correctly when clean.

Baseline: the rebuilt network under `attack.noise_draws` random-sign perturbations of every
eps > 0, made under the same protocol (so clamped alike): how much of its error under FGSM would
noise of the same size cause?
"""

from __future__ import annotations

import sys

import torch

from innr.attacks import gradient_sign, perturb, random_sign, transfer_rate
from innr.compute import Counted
from innr.config import AttackConfig, DataConfig
from innr.experiments.common import main
from innr.experiments.workbench import Workbench
from innr.fit import Split
from innr.metrics import Classifier, logits_of
from innr.progress import Progress

# direction -> (the network the examples are crafted on, the networks they are evaluated on)
DIRECTIONS = {"forward": ("original", ("original", "rebuilt", "control")),
              "reverse": ("rebuilt", ("rebuilt", "original"))}
EXAMPLES = 6  # test images kept per eps for the figure of adversarial examples
NOISE_TARGETS = ("rebuilt",)  # the network claim 3 is about: its error, attack or noise?


def predict(model: Classifier, inputs: torch.Tensor, batch: int) -> torch.Tensor:
    return logits_of(model, inputs, batch).argmax(1)


def signs(model: Classifier, test: Split, data: DataConfig, batch: int) -> torch.Tensor:
    """FGSM's gradient sign of `model` at every clean test image, in batches."""
    return torch.cat([gradient_sign(model, test.pixels[i:i + batch], test.labels[i:i + batch],
                                    data.mean, data.std)
                      for i in range(0, len(test.labels), batch)])


def attack(models: dict[str, Classifier], test: Split, attack_cfg: AttackConfig,
           data: DataConfig, what: str = "FGSM") -> tuple[list[dict], list[dict]]:
    """Every direction, protocol and eps: one record per target (accuracy under attack and,
    for targets other than the source, the transfer rate, also among clean-correct images),
    and a few forward examples."""
    batch = attack_cfg.batch_size
    records, examples = [], []
    clean = {name: predict(m, test.inputs, batch) for name, m in models.items()}
    clean_ok = {name: p == test.labels for name, p in clean.items()}
    progress = Progress(what, len(DIRECTIONS) * len(attack_cfg.protocols) * len(attack_cfg.eps),
                        "attack")
    for direction, (source, targets) in DIRECTIONS.items():
        sign = signs(models[source], test, data, batch)
        for protocol in attack_cfg.protocols:
            for eps in attack_cfg.eps:
                adv = perturb(test.pixels, sign, eps, protocol, data.mean, data.std)
                # at eps 0 both protocols give the clean inputs, bit for bit: their predictions
                fooled = {t: (clean[t] if eps == 0 else predict(models[t], adv, batch))
                          != test.labels for t in targets}
                records += [{"direction": direction, "protocol": protocol, "eps": eps,
                             "source": source, "target": t,
                             "accuracy": 1 - float(fooled[t].float().mean()),
                             "transfer_rate": (None if t == source else
                                               transfer_rate(fooled[source], fooled[t])),
                             "transfer_rate_clean": (
                                 None if t == source else
                                 transfer_rate(fooled[source] & clean_ok[source] & clean_ok[t],
                                               fooled[t]))}
                            for t in targets]
                if direction == "forward":
                    pixels = adv[:EXAMPLES] * data.std + data.mean
                    examples.append({"protocol": protocol, "eps": eps,
                                     "pixels": pixels.squeeze(1).cpu().tolist(),
                                     "label": test.labels[:EXAMPLES].tolist(),
                                     **{f"pred_{t}": predict(models[t], adv[:EXAMPLES], batch
                                                             ).tolist() for t in targets}})
                progress.update(progress.done + 1, f"{direction} {protocol} eps {eps:g}")
    progress.close()
    return records, examples


def noise_baseline(models: dict[str, Classifier], test: Split, attack_cfg: AttackConfig,
                   data: DataConfig, seed: int) -> list[dict]:
    """The accuracy of each of NOISE_TARGETS under `noise_draws` random-sign perturbations of
    every eps > 0 and protocol (seeded by `seed` and the draw)."""
    batch, draws = attack_cfg.batch_size, attack_cfg.noise_draws
    noise = [random_sign(test.pixels.shape, seed * 1000 + d).to(test.pixels.device)
             for d in range(draws)]
    records = []
    for protocol in attack_cfg.protocols:
        for eps in (e for e in attack_cfg.eps if e > 0 and draws):
            inputs = [perturb(test.pixels, n, eps, protocol, data.mean, data.std) for n in noise]
            for t in NOISE_TARGETS:
                acc = [float((predict(models[t], x, batch) == test.labels).float().mean())
                       for x in inputs]
                records.append({"protocol": protocol, "eps": eps, "target": t,
                                "accuracy": sum(acc) / len(acc), "draws": acc})
    return records


def metrics_of(records: list[dict], noise: list[dict] = ()) -> dict:
    """The records as flat metrics (aggregate.csv's columns)."""
    metrics = {}
    for r in records:
        key = f"{r['direction']}_{r['protocol']}_eps{r['eps']:g}"
        metrics[f"{key}_acc_{r['target']}"] = r["accuracy"]
        if r["transfer_rate"] is not None:
            metrics[f"{key}_transfer_{r['target']}"] = r["transfer_rate"]
            metrics[f"{key}_transfer_clean_{r['target']}"] = r["transfer_rate_clean"]
    for r in noise:
        metrics[f"noise_{r['protocol']}_eps{r['eps']:g}_acc_{r['target']}"] = r["accuracy"]
    return metrics


def run(ctx: Workbench, seed: int) -> dict:
    control_seed = ctx.control_seed(seed)
    nets = ctx.networks(seed)
    control, _ = ctx.cnn(control_seed)
    shape = tuple(ctx.splits()[1].inputs.shape[1:])
    models = {name: Counted(model, nets.cnn, shape) for name, model in
              {"original": nets.cnn, "rebuilt": nets.rebuilt, "control": control}.items()}
    records, examples = attack(models, ctx.splits()[1], ctx.config.attack, ctx.config.data,
                               what=f"FGSM seed {seed}")
    noise = noise_baseline(models, ctx.splits()[1], ctx.config.attack, ctx.config.data, seed)
    return {"metrics": metrics_of(records, noise),
            "details": {"records": records, "examples": examples, "noise": noise,
                        "control_seed": control_seed}}


if __name__ == "__main__":
    sys.exit(main("transfer", run))
