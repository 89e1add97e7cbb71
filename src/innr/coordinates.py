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

import math
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


# --- kernel-wise coordinates (NeRN, Ashkenazi et al. 2023) ---------------------------------
# One row per k x k kernel: a 3-D coordinate (layer, out, in), the two last axes spaced on
# [-1, 1] per tensor, and `head` outputs, the kernel in row-major order, padded where it is
# smaller. A linear weight [o, i] is cut into rows of `group` consecutive inputs (o, i // group):
# for the study's CNN, with group 16, a row is the 4 x 4 map one channel of conv2 feeds to one
# output; with group 25 (the default, the head's size) rows are denser and none is padding but
# the last. A bias [o] is a tensor of rows of `head` consecutive values.

KERNEL_DIMS = 3


@dataclass(frozen=True)
class Layout:
    """Where each weight lives in a [rows, head] grid of predictor outputs."""

    coords: torch.Tensor  # [rows, dims]
    slot: torch.Tensor  # [N] int64: weight n (flatten order) is output slot[n] of the flat grid
    head: int  # outputs per row

    @property
    def rows(self) -> int:
        return self.coords.shape[0]


def per_weight_layout(params: dict[str, torch.Tensor]) -> Layout:
    """The original's scheme as a layout: one row, one output per weight."""
    coords = weight_coordinates(params)
    return Layout(coords, torch.arange(coords.shape[0]), 1)


def kernel_head(params: dict[str, torch.Tensor]) -> int:
    """The largest conv kernel's size (k * k), or 16 for a network without convolutions."""
    sizes = [p.shape[2] * p.shape[3] for p in params.values() if p.dim() == 4]
    return max(sizes, default=16)


def _tensor_rows(shape: torch.Size, head: int, group: int) -> tuple[int, int, torch.Tensor]:
    """(rows along `out`, rows along `in`, each element's row-major slot within the tensor)."""
    if len(shape) == 4:
        o, i, kh, kw = shape
        if kh * kw > head:
            raise ValueError(f"a {kh}x{kw} kernel does not fit a head of {head} outputs")
        k = torch.arange(kh * kw)
        rows = torch.arange(o * i)[:, None] * head + k[None, :]
        return o, i, rows.reshape(-1)
    if len(shape) == 2:
        o, i = shape
        groups = math.ceil(i / group)
        q = torch.arange(i)
        within = (q // group) * head + q % group
        return o, groups, (torch.arange(o)[:, None] * groups * head + within[None, :]).reshape(-1)
    if len(shape) == 1:
        q = torch.arange(shape[0])
        return 1, math.ceil(shape[0] / head), (q // head) * head + q % head
    raise ValueError(f"cannot give kernel coordinates to a tensor of shape {tuple(shape)}: "
                     "expected a bias (1-D), a linear weight (2-D) or a conv kernel (4-D)")


def kernel_layout(params: dict[str, torch.Tensor], head: int = 0, group: int = 0) -> Layout:
    """Kernel-wise rows of every tensor in `params` (state_dict order); head 0 = kernel_head,
    group 0 = head."""
    head = head or kernel_head(params)
    group = group or head
    if group > head:
        raise ValueError(f"a linear group of {group} inputs does not fit a head of {head}")
    layers = _axis(len(params))
    coords, slots, start = [], [], 0
    for k, p in enumerate(params.values()):
        n_out, n_in, slot = _tensor_rows(p.shape, head, group)
        grid = torch.stack(torch.meshgrid(_axis(n_out), _axis(n_in), indexing="ij"), dim=-1)
        c = torch.cat([torch.full((n_out * n_in, 1), float(layers[k])), grid.reshape(-1, 2)], 1)
        coords.append(c)
        slots.append(slot + start * head)
        start += n_out * n_in
    return Layout(torch.cat(coords), torch.cat(slots), head)
