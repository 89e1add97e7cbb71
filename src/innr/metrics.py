"""Accuracy, agreement between two networks, and how close rebuilt weights are to the originals."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

Classifier = Callable[[torch.Tensor], torch.Tensor]  # normalised images -> logits


@torch.no_grad()
def logits_of(model: Classifier, inputs: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """Logits of `model` on normalised `inputs`, in batches."""
    return torch.cat([model(inputs[i:i + batch_size]) for i in range(0, len(inputs), batch_size)])


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean())


def agreement(a: torch.Tensor, b: torch.Tensor) -> dict:
    """Top-1 agreement and mean KL(p_a || p_b) between two networks' logits."""
    log_pa, log_pb = F.log_softmax(a.double(), 1), F.log_softmax(b.double(), 1)
    kl = (log_pa.exp() * (log_pa - log_pb)).sum(1).mean()
    return {"top1_agreement": float((a.argmax(1) == b.argmax(1)).float().mean()),
            "mean_kl": float(kl)}


def _decibels(signal: float, noise: float) -> float:
    """10 log10(signal / noise); +inf for no noise, -inf for no signal, NaN for neither."""
    if noise == 0:
        return math.inf if signal > 0 else math.nan
    return 10 * math.log10(signal / noise) if signal > 0 else -math.inf


def weight_error(true: torch.Tensor, rebuilt: torch.Tensor) -> dict:
    """MSE, relative L2 error, SNR in dB and cosine similarity of two weight vectors."""
    t, r = true.double().reshape(-1), rebuilt.double().reshape(-1)
    err = float(((t - r) ** 2).sum())
    signal = float((t ** 2).sum())
    return {
        "n": t.numel(),
        "mse": err / t.numel(),
        "rel_l2": math.sqrt(err / signal) if signal > 0 else math.nan,
        "snr_db": _decibels(signal, err),
        "cosine": float(F.cosine_similarity(t, r, dim=0)),
    }
