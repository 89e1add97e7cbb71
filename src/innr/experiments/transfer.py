"""Claim 3: FGSM examples crafted on the CNN also fool the rebuilt network, across eps.

    python -m innr.experiments.transfer --config experiments/quick.toml [--seeds 1234]

For each protocol ("original": eps on normalised inputs, unclamped; "pixel": eps on [0, 1]
pixels, clamped) and eps, examples are crafted on a source network and evaluated on targets:
- forward: source = the original CNN; targets = itself, the rebuilt network, and a control
  (an independently trained CNN of another seed, same recipe), which tells how much of the
  transfer is simply what any network of this recipe would show;
- reverse: source = the rebuilt network; targets = itself and the original.
The transfer rate is, of the examples that fool the source, the fraction that fool the target.
"""

from __future__ import annotations

import sys

import torch

from innr.attacks import gradient_sign, perturb, transfer_rate
from innr.experiments.common import Context, main
from innr.fit import rebuilt_classifier
from innr.metrics import logits_of

EXAMPLES = 6  # test images kept per eps for the figure of adversarial examples


def _predict(model, inputs: torch.Tensor, batch: int) -> torch.Tensor:
    return logits_of(model, inputs, batch).argmax(1)


def _signs(model, pixels, labels, cfg, batch: int) -> torch.Tensor:
    return torch.cat([gradient_sign(model, pixels[i:i + batch], labels[i:i + batch],
                                    cfg.data.mean, cfg.data.std)
                      for i in range(0, len(labels), batch)])


def run(ctx: Context, seed: int) -> dict:
    cfg, test = ctx.config, ctx.splits[1]
    batch = cfg.attack.batch_size
    cnn, _ = ctx.cnn(seed)
    siren, problem, _ = ctx.innr(seed)
    control, _ = ctx.cnn(ctx.control_seed(seed))
    models = {"original": cnn, "rebuilt": rebuilt_classifier(cnn, problem.rebuild(siren)),
              "control": control}
    directions = {"forward": ("original", ["original", "rebuilt", "control"]),
                  "reverse": ("rebuilt", ["rebuilt", "original"])}

    records, metrics, examples = [], {}, []
    for direction, (source, targets) in directions.items():
        sign = _signs(models[source], test.pixels, test.labels, cfg, batch)
        for protocol in cfg.attack.protocols:
            for eps in cfg.attack.eps:
                adv = perturb(test.pixels, sign, eps, protocol, cfg.data.mean, cfg.data.std)
                fooled = {t: _predict(models[t], adv, batch) != test.labels for t in targets}
                for t in targets:
                    acc = 1 - float(fooled[t].float().mean())
                    rate = transfer_rate(fooled[source], fooled[t]) if t != source else None
                    records.append({"direction": direction, "protocol": protocol, "eps": eps,
                                    "source": source, "target": t, "accuracy": acc,
                                    "transfer_rate": rate})
                    metrics[f"{direction}_{protocol}_eps{eps:g}_acc_{t}"] = acc
                    if rate is not None:
                        metrics[f"{direction}_{protocol}_eps{eps:g}_transfer_{t}"] = rate
                if direction == "forward":
                    pixels = adv[:EXAMPLES] * cfg.data.std + cfg.data.mean
                    examples.append({"protocol": protocol, "eps": eps,
                                     "pixels": pixels.squeeze(1).cpu().tolist(),
                                     "label": test.labels[:EXAMPLES].tolist(),
                                     **{f"pred_{t}": _predict(models[t], adv[:EXAMPLES], batch
                                                              ).tolist() for t in targets}})
    return {"metrics": metrics,
            "details": {"records": records, "examples": examples,
                        "control_seed": ctx.control_seed(seed)}}


if __name__ == "__main__":
    sys.exit(main("transfer", run))
