"""FGSM transfer across protocols and eps: what claim 3 (innr.experiments.transfer) and the
headline method's claims (innr.experiments.headline) both measure.

Examples are crafted on a source network (innr.attacks: one gradient sign per network serves
every eps and protocol) and evaluated on targets; a record per (direction, protocol, eps,
target) gives the target's accuracy under attack and, for a target other than the source, the
transfer rate (of the examples that fool the source, the fraction that fool the target) and
`transfer_rate_clean` (the same among the images that the source and the target both classify
correctly when clean).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from innr.attacks import gradient_sign, perturb, transfer_rate
from innr.config import AttackConfig, DataConfig
from innr.fit import Split
from innr.metrics import Classifier, logits_of
from innr.progress import Progress

# direction -> (the network the examples are crafted on, the networks they are evaluated on)
DIRECTIONS = {"forward": ("original", ("original", "rebuilt", "control")),
              "reverse": ("rebuilt", ("rebuilt", "original"))}
EXAMPLES = 6  # test images kept per eps for the figure of adversarial examples


def predict(model: Classifier, inputs: torch.Tensor, batch: int) -> torch.Tensor:
    return logits_of(model, inputs, batch).argmax(1)


def signs(model: Classifier, test: Split, data: DataConfig, batch: int) -> torch.Tensor:
    """FGSM's gradient sign of `model` at every clean test image, in batches."""
    return torch.cat([gradient_sign(model, test.pixels[i:i + batch], test.labels[i:i + batch],
                                    data.mean, data.std)
                      for i in range(0, len(test.labels), batch)])


def attack(models: dict[str, Classifier], test: Split, attack_cfg: AttackConfig,
           data: DataConfig, what: str = "FGSM",
           directions: Mapping[str, tuple[str, tuple[str, ...]]] = DIRECTIONS
           ) -> tuple[list[dict], list[dict]]:
    """Every direction (of `directions`), protocol and eps: one record per target (accuracy
    under attack and, for targets other than the source, the transfer rate, also among
    clean-correct images), and a few forward examples."""
    batch = attack_cfg.batch_size
    records, examples = [], []
    clean = {name: predict(m, test.inputs, batch) for name, m in models.items()}
    clean_ok = {name: p == test.labels for name, p in clean.items()}
    progress = Progress(what, len(directions) * len(attack_cfg.protocols) * len(attack_cfg.eps),
                        "attack")
    for direction, (source, targets) in directions.items():
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
