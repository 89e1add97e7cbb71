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
images that the source and the target both classify correctly when clean (the records:
innr.experiments.fgsm, which the headline method's claims share).

Baseline: the rebuilt network under `attack.noise_draws` random-sign perturbations of every
eps > 0, made under the same protocol (so clamped alike): how much of its error under FGSM would
noise of the same size cause?
"""

from __future__ import annotations

import sys

from innr.attacks import perturb, random_sign
from innr.compute import Counted
from innr.config import AttackConfig, DataConfig
from innr.experiments.common import main
from innr.experiments.fgsm import attack, metrics_of, predict
from innr.experiments.workbench import Workbench
from innr.fit import Split
from innr.metrics import Classifier

NOISE_TARGETS = ("rebuilt",)  # the network claim 3 is about: its error, attack or noise?


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
