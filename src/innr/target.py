"""What an INNR variant is fitted to, for several networks of one architecture at once.

From each network's tensors (innr.params.inference_tensors), the weights (conv kernels and
linear matrices: innr.params.is_weight) are fitted, in order:
1. permute (optional, innr.permutations.smooth): units reordered so that neighbouring kernels
   are alike. The network computes the same function, so the permuted network is the one stored
   and rebuilt, and no ordering is kept;
2. residual (optional): a base taken away, e.g. the weights' own k-bit codes' values (the INNR
   then fits what they miss, and decoding adds the base back);
3. outliers (optional): the largest |w|, a share of all weights, are stored apart with their
   indices (innr.size counts them) and left out of the loss;
4. standardise by the mean and std of the remaining weights;
5. lay out in the coordinate scheme's grid of [rows, head] outputs (innr.coordinates).
Decoding the predictor's outputs inverts 5 to 2 with a gather, an affine map and a `where`, all
differentiable, so a loss on the rebuilt network's outputs reaches the predictor. The vectors
(biases, batch-norm's tensors) are no part of the fit: each network stores its own as float32
beside the predictor (side_bits charges them), and decoding puts them back unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from innr.config import VariantConfig
from innr.coordinates import Layout, flatten_params, kernel_layout, per_weight_layout
from innr.params import vectors_of, weights_of
from innr.permutations import Link, smooth
from innr.size import BITS, side_bits


def layout_of(params: dict[str, torch.Tensor], variant: VariantConfig) -> Layout:
    if variant.scheme == "weight":
        return per_weight_layout(params)
    return kernel_layout(params, variant.head, variant.linear_group)


def moved(layout: Layout, device: torch.device) -> Layout:
    return Layout(layout.coords.to(device), layout.slot.to(device), layout.head)


def outlier_mask(flat: torch.Tensor, share: float) -> torch.Tensor:
    """True at the round(share * N) weights of largest magnitude."""
    mask = torch.zeros_like(flat, dtype=torch.bool)
    count = round(share * flat.numel())
    if count:
        mask[flat.abs().topk(count).indices] = True
    return mask


@dataclass
class Targets:
    """M networks of one architecture, prepared for a variant: tensors carry a leading [M]."""

    layout: Layout
    values: torch.Tensor  # [M, rows * head] standardised weights, 0 at padding and outliers
    weight: torch.Tensor  # [M, rows * head] 1 where the loss counts, 0 at padding and outliers
    mean: torch.Tensor  # [M, 1]
    std: torch.Tensor  # [M, 1]
    outlier: torch.Tensor  # [M, N] bool
    outlier_values: torch.Tensor  # [M, N] the weights kept apart (0 elsewhere)
    stored: list[OrderedDict[str, torch.Tensor]]  # each network as stored (permuted if so)
    base: torch.Tensor | None = None  # [M, N] what decoding adds back (a residual's base)
    vectors: dict[str, torch.Tensor] = field(default_factory=dict)  # [M, ...] stored as float32

    @classmethod
    def of(cls, networks: Sequence[dict[str, torch.Tensor]], variant: VariantConfig,
           chain: Sequence[Link] = (), device: torch.device | None = None,
           base: Sequence[Callable[[dict], dict]] | None = None) -> Targets:
        """The targets, prepared on `device`: the CPU by default, where the layout is built
        (Targets.to moves them after); the networks' own device for the faithful INNR, whose
        standardisation has always been computed there (a sum's digits depend on the device).
        `base`: per network, its weights -> the base their residual is taken from."""
        device = torch.device("cpu") if device is None else device
        stored = []
        for params in networks:
            params = OrderedDict((k, v.detach().float().to(device)) for k, v in params.items())
            if variant.permute:
                params = OrderedDict(smooth(params, chain)[0])
            stored.append(params)
        weights = [weights_of(p) for p in stored]
        layout = moved(layout_of(weights[0], variant), device)
        flat = torch.stack([flatten_params(w) for w in weights])  # [M, N]
        offset = None
        if base is not None:
            offset = torch.stack([flatten_params(f(w)) for f, w in zip(base, weights,
                                                                        strict=True)])
            flat = flat - offset
        outlier = torch.stack([outlier_mask(f, variant.outliers) for f in flat])
        inliers = [f[~o] for f, o in zip(flat, outlier, strict=True)]
        mean = torch.stack([f.mean() for f in inliers])[:, None]
        std = torch.stack([f.std() for f in inliers])[:, None]
        z = torch.where(outlier, 0.0, (flat - mean) / std)
        grid = flat.new_zeros(len(stored), layout.rows * layout.head)
        values = grid.index_copy(1, layout.slot, z)
        weight = grid.index_copy(1, layout.slot, (~outlier).float())
        vectors = {k: torch.stack([vectors_of(p)[k] for p in stored])
                   for k in vectors_of(stored[0])}
        return cls(layout, values, weight, mean, std, outlier,
                   torch.where(outlier, flat, 0.0), stored, offset, vectors)

    @classmethod
    def for_decoding(cls, shapes: dict[str, Sequence[int]], variant: VariantConfig, mean: float,
                     std: float, outlier_index: torch.Tensor | None = None,
                     outlier_values: torch.Tensor | None = None) -> Targets:
        """What decoding one stored network needs, without its weights: the layout of tensors of
        `shapes` (every one laid out, as innr.api's files list them), the standardisation and
        the outliers (the loss's values left empty)."""
        like = OrderedDict((k, torch.zeros(tuple(s))) for k, s in shapes.items())
        layout = layout_of(like, variant)
        n = sum(p.numel() for p in like.values())
        outlier, values = torch.zeros(1, n, dtype=torch.bool), torch.zeros(1, n)
        if outlier_index is not None:
            outlier[0, outlier_index] = True
            values[0, outlier_index] = outlier_values
        empty = torch.zeros(1, layout.rows * layout.head)
        return cls(layout, empty, empty, torch.tensor([[mean]]), torch.tensor([[std]]), outlier,
                   values, [like])

    def to(self, device: torch.device) -> Targets:
        tensors = {k: getattr(self, k).to(device) for k in
                   ("values", "weight", "mean", "std", "outlier", "outlier_values")}
        stored = [OrderedDict((k, v.to(device)) for k, v in p.items()) for p in self.stored]
        base = None if self.base is None else self.base.to(device)
        vectors = {k: v.to(device) for k, v in self.vectors.items()}
        return Targets(moved(self.layout, device), stored=stored, base=base, vectors=vectors,
                       **tensors)

    def __len__(self) -> int:
        return len(self.stored)

    def side_bits(self) -> int:
        """Bits each network stores beside its predictor (innr.size), its vectors' included."""
        n = self.outlier.shape[1]
        return side_bits(n, int(self.outlier[0].sum())) + BITS * sum(
            v[0].numel() for v in self.vectors.values())

    @property
    def n_values(self) -> int:
        """The float values each network's inference reads, weights and vectors: what a budget
        is a share of (in float32 bits)."""
        return sum(v.numel() for v in self.stored[0].values())

    def row_magnitude(self) -> torch.Tensor:
        """[M, rows] each row's L1 norm of weights (standardised), for magnitude sampling."""
        rows = self.values.abs().reshape(len(self), self.layout.rows, self.layout.head)
        return rows.sum(-1)

    def decode(self, outputs: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """Predictor outputs [M, rows, head] -> each stored tensor with a leading [M] (the
        weights decoded, the vectors as stored)."""
        flat = outputs.reshape(len(self), -1)[:, self.layout.slot] * self.std + self.mean
        flat = torch.where(self.outlier, self.outlier_values, flat)
        if self.base is not None:
            flat = flat + self.base
        out, start = OrderedDict(), 0
        for name, p in self.stored[0].items():
            if name in self.vectors:
                out[name] = self.vectors[name]
                continue
            out[name] = flat[:, start:start + p.numel()].reshape(len(self), *p.shape)
            start += p.numel()
        return out
