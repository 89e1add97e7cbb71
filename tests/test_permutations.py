"""Crossfilter reordering keeps the network's function, is invertible, and smooths the filters."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.permutations import (
    Link,
    chain_of,
    nearest_neighbour_order,
    permute_link,
    smooth,
    unpermute,
)

MNIST_CHAIN = (Link("conv1", "conv2"), Link("conv2", "fc", group=16))


class BiasedNet(nn.Module):
    """conv -> conv -> linear with biases and dotted names; 2x2 maps feed the head (group 4)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(2, 5, 3), nn.ReLU(), nn.Conv2d(5, 4, 3), nn.Tanh())
        self.head = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1))

    def permutable_chain(self):
        return [Link("body.0", "body.2"), Link("body.2", "head", group=4)]


def _mnist_params(c: int = 4) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = MnistExampleNet(c)
    return model, {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_smoothed_mnist_net_computes_the_same_logits():
    model, params = _mnist_params()
    x = torch.randn(8, 1, 28, 28)
    smoothed, orders = smooth(params, MNIST_CHAIN)
    assert any(not torch.equal(o, torch.arange(len(o))) for o in orders)
    assert any(not torch.equal(smoothed[k], params[k]) for k in params)
    torch.testing.assert_close(functional_call(model, smoothed, (x,)),
                               functional_call(model, params, (x,)), atol=1e-5, rtol=0)


def test_an_arbitrary_permutation_with_biases_and_groups_keeps_the_logits():
    torch.manual_seed(1)
    model = BiasedNet()
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    before = {k: v.clone() for k, v in params.items()}
    x = torch.randn(6, 2, 6, 6)
    chain = chain_of(model)
    # orders that are not their own inverses, so that a swapped direction is caught
    permuted = permute_link(params, chain[0], torch.tensor([2, 0, 4, 1, 3]))
    permuted = permute_link(permuted, chain[1], torch.tensor([1, 3, 0, 2]))
    assert not torch.equal(permuted["body.2.bias"], params["body.2.bias"])
    torch.testing.assert_close(functional_call(model, permuted, (x,)), model(x),
                               atol=1e-5, rtol=0)
    smoothed, _ = smooth(params, chain)
    torch.testing.assert_close(functional_call(model, smoothed, (x,)), model(x),
                               atol=1e-5, rtol=0)
    # the caller's tensors are untouched, and a tensor outside the link is shared, not copied
    assert all(torch.equal(params[k], before[k]) for k in params)
    assert permute_link(params, chain[0], torch.arange(5))["head.weight"] is params["head.weight"]


def test_permute_link_moves_whole_blocks_of_consumer_inputs():
    params = {"a.weight": torch.arange(3.0)[:, None], "b.weight": torch.arange(6.0)[None, :]}
    out = permute_link(params, Link("a", "b", group=2), torch.tensor([2, 0, 1]))
    assert out["a.weight"].flatten().tolist() == [2, 0, 1]
    assert out["b.weight"].flatten().tolist() == [4, 5, 0, 1, 2, 3]


def test_nearest_neighbour_chain_on_hand_made_vectors():
    rows = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    assert nearest_neighbour_order(rows).tolist() == [0, 2, 3, 1]
    # ties go to the lowest index; a zero row has cosine 0 with everything
    tied = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0], [3.0, 0.0], [0.0, 0.0]])
    assert nearest_neighbour_order(tied).tolist() == [0, 2, 3, 1, 4]
    order = nearest_neighbour_order(torch.randn(7, 3, generator=torch.Generator().manual_seed(2)))
    assert order.dtype == torch.long and sorted(order.tolist()) == list(range(7))


def test_unpermute_restores_the_original_tensors_exactly():
    _, params = _mnist_params()
    smoothed, orders = smooth(params, MNIST_CHAIN)
    restored = unpermute(smoothed, MNIST_CHAIN, orders)
    assert restored.keys() == params.keys()
    assert all(torch.equal(restored[k], params[k]) for k in params)


def _neighbour_similarity(weight: torch.Tensor) -> float:
    filters = weight.flatten(1)
    return F.cosine_similarity(filters[:-1], filters[1:], dim=1).mean().item()


def test_smoothing_makes_neighbouring_filters_more_similar():
    _, params = _mnist_params(c=8)
    smoothed, _ = smooth(params, MNIST_CHAIN)
    for name in ("conv1.weight", "conv2.weight"):
        assert _neighbour_similarity(smoothed[name]) > _neighbour_similarity(params[name])


def test_chain_of_reads_the_models_declaration_or_says_how_to_declare_one():
    assert chain_of(BiasedNet()) == (Link("body.0", "body.2"), Link("body.2", "head", group=4))
    with pytest.raises(ValueError, match="permutable_chain"):
        chain_of(nn.Sequential(nn.Linear(2, 2)))


@pytest.mark.parametrize("link, order, message", [
    (Link("conv1", "conv2", group=2), torch.arange(4), "inputs"),
    (Link("conv2", "fc", group=1), torch.arange(8), "inputs"),
    (Link("conv1", "conv2"), torch.tensor([0, 1, 1, 3]), "not a permutation"),
    (Link("conv1", "conv2"), torch.tensor([0, 1, 2]), "not a permutation"),
    (Link("conv1", "conv2"), torch.tensor([0, 1, 2, 4]), "not a permutation"),
    (Link("conv1", "conv2"), torch.arange(4.0), "integer"),
    (Link("conv1", "missing"), torch.arange(4), "no parameter"),
])
def test_bad_links_and_orders_are_refused(link, order, message):
    _, params = _mnist_params()
    with pytest.raises(ValueError, match=message):
        permute_link(params, link, order)
