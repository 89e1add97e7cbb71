"""From a network's parameters to an INR's training set, and back.

Every scalar weight gets a 5-D coordinate (layer, out, in, row, col), each axis spaced linearly
on [-1, 1] over that tensor's size along it:
- a conv kernel W[o, i, r, c] -> (layer, o, i, r, c);
- a linear weight W[o, i] -> (layer, o, i, 0, 0);
- a bias b[o] -> (layer, o, 0, 0, 0);
where `layer` is linspace(-1, 1, number of tensors) over the parameter tensors in `state_dict`
order. (The original's code appends the layer axis last; its text, and we, put it first: the
same function class under the SIREN's first linear layer, with the same init.)
Targets are the weights flattened in the same order and standardised by their global mean and
std; a rebuild inverts that and reshapes each slice back to its tensor.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

AXES = ("layer", "out", "in", "row", "col")
DIMS = len(AXES)  # the SIREN's input size


def _axis(size: int) -> torch.Tensor:
    return torch.linspace(-1.0, 1.0, size)


def tensor_coordinates(shape: torch.Size, layer: float) -> torch.Tensor:
    """Coordinates [numel, DIMS] of one tensor, in its row-major (flatten) order."""
    if len(shape) not in (1, 2, 4):
        raise ValueError(f"cannot give coordinates to a tensor of shape {tuple(shape)}: "
                         "expected a bias (1-D), a linear weight (2-D) or a conv kernel (4-D)")
    axes = [_axis(s) for s in shape]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, len(shape))
    coords = torch.zeros(grid.shape[0], DIMS)
    coords[:, 0] = layer
    coords[:, 1:1 + len(shape)] = grid
    return coords


def weight_coordinates(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Coordinates [N, DIMS] of every scalar in `params` (a state_dict), in flatten order."""
    layers = _axis(len(params))
    return torch.cat([tensor_coordinates(p.shape, float(layers[k]))
                      for k, p in enumerate(params.values())])


def flatten_params(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """All scalars of `params` as one vector, tensor after tensor, each row-major."""
    return torch.cat([p.detach().reshape(-1) for p in params.values()])


def unflatten_params(flat: torch.Tensor, like: dict[str, torch.Tensor]
                     ) -> OrderedDict[str, torch.Tensor]:
    """Inverse of flatten_params: slices of `flat` shaped as the tensors of `like`."""
    total = sum(p.numel() for p in like.values())
    if flat.numel() != total:
        raise ValueError(f"{flat.numel()} values cannot fill {total} parameters")
    out, start = OrderedDict(), 0
    for name, p in like.items():
        out[name] = flat[start:start + p.numel()].reshape(p.shape).to(p.dtype)
        start += p.numel()
    return out


@dataclass(frozen=True)
class Standardiser:
    """z = (w - mean) / std with the global statistics of the weights being stored."""

    mean: float
    std: float

    @classmethod
    def fit(cls, flat: torch.Tensor) -> Standardiser:
        return cls(float(flat.mean()), float(flat.std()))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return (w - self.mean) / self.std

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.std + self.mean
