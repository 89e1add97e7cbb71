"""innr.params: the tensors inference reads (parameters and float buffers, no integer ones),
weights against vectors, and what the vectors cost."""

from __future__ import annotations

import torch
from torch import nn

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.params import (
    inference_tensors,
    is_weight,
    n_values,
    vector_bits,
    vectors_of,
    weights_of,
)


class Toy(nn.Module):
    """A conv with a bias, batch-norm, a residual block and a linear head with a bias."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.inner = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.inner_bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv(x)))
        x = torch.relu(x + self.inner_bn(self.inner(x)))
        return self.fc(x.mean((2, 3)))


def test_inference_reads_parameters_and_float_buffers_in_state_dict_order():
    model = Toy()
    tensors = inference_tensors(model)
    assert list(tensors) == [k for k in model.state_dict() if "num_batches_tracked" not in k]
    assert "bn.running_mean" in tensors and "bn.running_var" in tensors
    assert all(not v.requires_grad for v in tensors.values())
    weights, vectors = weights_of(tensors), vectors_of(tensors)
    assert list(weights) == ["conv.weight", "inner.weight", "fc.weight"]
    assert set(vectors) == set(tensors) - set(weights)
    assert all(v.dtype == torch.float32 and v.dim() == 1 for v in vectors.values())
    # conv bias 4, bn 4 x 4, inner_bn 4 x 4, fc bias 3
    assert vector_bits(tensors) == 32 * (4 + 16 + 16 + 3)
    assert n_values(model) == 36 + 144 + 12 + 4 + 16 + 16 + 3


def test_a_network_without_vectors_is_all_weights():
    model = MnistExampleNet(4)
    tensors = inference_tensors(model)
    assert list(tensors) == list(model.state_dict())
    assert weights_of(tensors).keys() == tensors.keys() and vector_bits(tensors) == 0
    assert n_values(model) == sum(p.numel() for p in model.parameters())


def test_a_weight_has_two_dimensions_or_more():
    assert is_weight("w", torch.zeros(2, 3)) and is_weight("k", torch.zeros(2, 3, 3, 3))
    assert not is_weight("b", torch.zeros(3)) and not is_weight("s", torch.zeros(()))
