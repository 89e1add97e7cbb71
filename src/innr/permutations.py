"""Function-preserving filter reorderings that make a CNN's weights a smoother signal.

A hidden unit's position in its layer is arbitrary: permuting layer l's output units (the rows of
its weight and its bias) and applying the same permutation to layer l+1's input units leaves the
network's function unchanged, as long as everything between the two layers acts per unit
(elementwise activations, per-channel pooling). Such a reordering therefore costs nothing to
store, yet it changes the weight signal an INR has to fit. Following NeRN (Ashkenazi et al., ICLR
2023, "crossfilter" ordering), each layer's filters are chained greedily: start at filter 0 and
repeatedly step to the most cosine-similar filter not yet visited, so that neighbouring kernels
look alike.

A model declares which layers may be permuted together through `permutable_chain()`, a sequence
of `Link`s. When a convolution feeds a linear layer through a flatten, each channel owns a
contiguous block of `group` = H*W inputs of the linear layer (channel-major flattening), and the
blocks move as a whole. Links are applied in chain order, so a layer's filters are ordered after
its inputs have been permuted by the link before; the cosine similarity of two filters does not
depend on that input order, since both are permuted alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Link:
    """Layer `producer`'s output units feed layer `consumer`'s inputs, `group` consumer inputs
    per unit."""

    producer: str  # parameter-name prefix: the weight is f"{producer}.weight", an optional bias
    consumer: str
    group: int = 1  # 1 for conv -> conv; H*W for conv -> flatten -> linear


def chain_of(model: nn.Module) -> tuple[Link, ...]:
    """The function-preserving links of `model`, as declared by its `permutable_chain()`."""
    declare = getattr(model, "permutable_chain", None)
    if not callable(declare):
        # which layers commute with a reordering depends on the forward pass, which cannot be
        # read off the parameters: the model has to say so
        raise ValueError(
            f"{type(model).__name__} does not declare which of its layers may be permuted "
            "together; give it a method permutable_chain(self) returning a sequence of "
            "innr.permutations.Link(producer, consumer, group)")
    return tuple(declare())


def nearest_neighbour_order(vectors: torch.Tensor) -> torch.Tensor:
    """A greedy chain through the rows of `vectors` [n, d]: start at row 0, then repeatedly go to
    the unvisited row of highest cosine similarity with the current one (ties: lowest index).
    Returns a LongTensor permutation of range(n)."""
    if vectors.dim() != 2:
        raise ValueError(f"expected vectors of shape [n, d], got {tuple(vectors.shape)}")
    n = vectors.shape[0]
    if n == 0:
        return torch.empty(0, dtype=torch.long)
    # double precision so that near-ties are broken the same way on every machine
    v = vectors.detach().to(torch.float64)
    norms = v.norm(dim=1, keepdim=True)
    # a zero row has no direction: dividing by 1 keeps it zero, so its cosine with anything is 0
    unit = v / torch.where(norms > 0, norms, torch.ones_like(norms))
    similarity = unit @ unit.T
    visited = torch.zeros(n, dtype=torch.bool)
    order = [0]
    visited[0] = True
    for _ in range(n - 1):
        candidates = similarity[order[-1]].masked_fill(visited, float("-inf"))
        nxt = int(torch.argmax(candidates))  # argmax returns the first of equal maxima
        order.append(nxt)
        visited[nxt] = True
    return torch.tensor(order, dtype=torch.long)


def _check_order(order: torch.Tensor, n: int, link: Link) -> None:
    if order.dim() != 1 or order.dtype.is_floating_point or order.dtype == torch.bool:
        raise ValueError(f"{link}: order must be a 1-D integer tensor, got {order.dtype} "
                         f"of shape {tuple(order.shape)}")
    if order.numel() != n or not torch.equal(torch.sort(order.cpu()).values, torch.arange(n)):
        raise ValueError(f"{link}: order is not a permutation of range({n}): {order.tolist()}")


def permute_link(params: dict[str, torch.Tensor], link: Link,
                 order: torch.Tensor) -> dict[str, torch.Tensor]:
    """The state_dict with `link.producer`'s units reordered by `order` (weight rows and bias)
    and `link.consumer`'s inputs reordered to match: input block j*group:(j+1)*group of the new
    consumer weight is block order[j] of the old. Other tensors are shared, inputs unmodified."""
    if link.group < 1:
        raise ValueError(f"{link}: group must be >= 1")
    weight_key, bias_key = f"{link.producer}.weight", f"{link.producer}.bias"
    consumer_key = f"{link.consumer}.weight"
    for key in (weight_key, consumer_key):
        if key not in params:
            raise ValueError(f"{link}: no parameter {key!r}")
    weight, consumer = params[weight_key], params[consumer_key]
    n = weight.shape[0]
    if consumer.dim() < 2 or consumer.shape[1] != n * link.group:
        raise ValueError(
            f"{link}: {consumer_key} has {consumer.shape[1] if consumer.dim() > 1 else 'no'} "
            f"inputs, but {link.producer} has {n} units x group {link.group} = {n * link.group}")
    bias = params.get(bias_key)
    if bias is not None and bias.shape != (n,):
        raise ValueError(f"{link}: {bias_key} has shape {tuple(bias.shape)}, expected ({n},)")
    _check_order(order, n, link)

    order = order.to(device=weight.device, dtype=torch.long)
    # each unit's block of `group` consecutive inputs moves as a whole
    blocks = (order[:, None] * link.group
              + torch.arange(link.group, device=order.device)).flatten()
    out = dict(params)  # index_select allocates: the caller's tensors are never written
    out[weight_key] = weight.index_select(0, order)
    if bias is not None:
        out[bias_key] = bias.index_select(0, order)
    out[consumer_key] = consumer.index_select(1, blocks.to(consumer.device))
    return out


def smooth(params: dict[str, torch.Tensor],
           chain: Sequence[Link]) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    """Crossfilter ordering, link by link in chain order: each producer's filters (its weight
    rows, flattened) are chained by `nearest_neighbour_order`. Returns the permuted params, which
    compute the same function, and the orders (for `unpermute`)."""
    orders = []
    for link in chain:
        filters = params[f"{link.producer}.weight"].flatten(1)
        order = nearest_neighbour_order(filters)
        params = permute_link(params, link, order)
        orders.append(order)
    return params, orders


def unpermute(params: dict[str, torch.Tensor], chain: Sequence[Link],
              orders: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of `smooth`: the inverse permutations, applied in reverse order."""
    if len(orders) != len(chain):
        raise ValueError(f"{len(chain)} links but {len(orders)} orders")
    for link, order in zip(reversed(chain), reversed(orders), strict=True):
        params = permute_link(params, link, torch.argsort(order))
    return params
