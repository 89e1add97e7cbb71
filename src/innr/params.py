"""The tensors a network's inference reads, and which of them are weights.

Every tensor counts: a network is stored as every float tensor its forward pass reads, its
parameters and its float buffers (batch-norm's running mean and variance), in state_dict order;
integer buffers (batch-norm's num_batches_tracked) are bookkeeping for training and left out.
Of these, the weights (dim >= 2: conv kernels, linear matrices) are what the methods compress and
what an INNR's coordinates cover; the rest, the vectors (biases, batch-norm's weight, bias and
running statistics), every method stores as float32 and is charged 32 bits each (innr.size).
The budget's denominator, the network's float32 bits, counts every inference tensor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch

from innr.size import BITS

if TYPE_CHECKING:
    from torch import nn

Params = dict[str, torch.Tensor]


def inference_tensors(model: nn.Module) -> Params:
    """The float tensors `model`'s inference reads (parameters and float buffers), detached, in
    state_dict order; integer buffers (num_batches_tracked) left out."""
    return {k: v for k, v in model.state_dict().items() if v.is_floating_point()}


def is_weight(name: str, t: torch.Tensor) -> bool:
    """A weight (conv kernel, linear matrix: dim >= 2), which methods compress; else a vector."""
    return t.dim() >= 2


def weights_of(params: Params) -> Params:
    """The weights of `params`, in its order."""
    return {k: v for k, v in params.items() if is_weight(k, v)}


def vectors_of(params: Params) -> Params:
    """The vectors of `params` (biases, batch-norm's tensors), in its order, as float32: what
    every method stores beside its weights."""
    return {k: v.detach().float() for k, v in params.items() if not is_weight(k, v)}


def vector_bits(params: Params) -> int:
    """What the vectors of `params` cost, stored as float32."""
    return BITS * sum(v.numel() for k, v in params.items() if not is_weight(k, v))


def n_values(model: nn.Module) -> int:
    """The float values `model`'s inference reads: the budget's denominator, in float32s."""
    return sum(v.numel() for v in inference_tensors(model).values())


@contextmanager
def inference(model: nn.Module) -> Iterator[nn.Module]:
    """`model` in eval mode while the block runs (batch-norm normalises by its stored running
    statistics, not by the batch's, and updates none), each module's mode restored after."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes.items():
            m.training = mode
