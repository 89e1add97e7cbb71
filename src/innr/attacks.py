"""The fast gradient sign method (Goodfellow et al. 2015) under two protocols.

- "original": the study's protocol: the step is taken on the *normalised* input,
  x' = x + eps * sign(grad_x L), with no clamping (so eps = 0.3 is 0.3 * 0.3081 ~ 0.09 in pixels).
- "pixel": the usual protocol: the step is taken on pixels in [0, 1], clamped to [0, 1],
  then normalised; this is what torchattacks.FGSM does with its normalisation set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from innr.metrics import Classifier

PROTOCOLS = ("original", "pixel")


def gradient_sign(model: Classifier, pixels: torch.Tensor, labels: torch.Tensor,
                  mean: float, std: float) -> torch.Tensor:
    """sign(grad of the cross-entropy) at the clean input.

    The gradient w.r.t. pixels is the gradient w.r.t. normalised inputs divided by std > 0, so
    one sign serves both protocols and every eps: FGSM needs one backward pass per model.
    """
    x = ((pixels - mean) / std).detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), labels)
    (grad,) = torch.autograd.grad(loss, x)
    return grad.sign()


def perturb(pixels: torch.Tensor, sign: torch.Tensor, eps: float, protocol: str,
            mean: float, std: float) -> torch.Tensor:
    """Take the FGSM step of size eps under `protocol`; returns *normalised* inputs."""
    if protocol == "original":
        return (pixels - mean) / std + eps * sign
    if protocol == "pixel":
        if not 0 <= eps <= 1:
            raise ValueError(f"eps {eps} outside [0, 1] in the pixel protocol")
        return ((pixels + eps * sign).clamp(0, 1) - mean) / std
    raise ValueError(f"unknown FGSM protocol {protocol!r}; use one of {PROTOCOLS}")


def fgsm(model: Classifier, pixels: torch.Tensor, labels: torch.Tensor, eps: float,
         protocol: str, mean: float, std: float) -> torch.Tensor:
    """Adversarial versions of `pixels` ([N, C, H, W] in [0, 1]), returned *normalised*."""
    return perturb(pixels, gradient_sign(model, pixels, labels, mean, std), eps, protocol,
                   mean, std)


def random_sign(shape: torch.Size, seed: int) -> torch.Tensor:
    """Independent +-1 entries of `shape` (seeded, drawn on the CPU): FGSM's step with the
    gradient's sign replaced by chance, the baseline that tells an attack from noise."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, tuple(shape), generator=g).float().mul_(2).sub_(1)


def transfer_rate(source_fooled: torch.Tensor, target_fooled: torch.Tensor) -> float:
    """Of the examples that fool the source, the fraction that also fool the target."""
    n = int(source_fooled.sum())
    return float((source_fooled & target_fooled).sum()) / n if n else float("nan")
