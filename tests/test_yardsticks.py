"""The yardsticks: the pruned CNN keeps exactly the largest weights, the noisy one has exactly the
requested error, and neither touches the CNN."""

from __future__ import annotations

import pytest
import torch

from innr.architectures import build_cnn
from innr.coordinates import flatten_params
from innr.datasets import DATASETS
from innr.metrics import weight_error
from innr.yardsticks import noisy, pruned


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    return build_cnn("mnist_example_net", DATASETS["mnist"], 4)


def test_pruning_keeps_exactly_the_largest_weights_over_all_layers(cnn):
    before = {k: v.clone() for k, v in cnn.state_dict().items()}
    flat = flatten_params(before)
    keep = len(flat) // 3
    out = flatten_params(pruned(cnn, keep))
    assert int((out != 0).sum()) == keep
    kept = out != 0
    # global, not per layer: the smallest kept magnitude beats the largest pruned one
    assert flat[kept].abs().min() > flat[~kept].abs().max()
    assert torch.equal(out[kept], flat[kept])  # kept weights are unchanged, not rescaled
    for k, v in cnn.state_dict().items():  # the CNN itself is untouched
        assert torch.equal(v, before[k])


def test_pruning_to_everything_or_nothing_and_bad_counts(cnn):
    n = len(flatten_params(cnn.state_dict()))
    assert torch.equal(flatten_params(pruned(cnn, n)), flatten_params(cnn.state_dict()))
    assert int((flatten_params(pruned(cnn, 0)) != 0).sum()) == 0
    with pytest.raises(ValueError, match="keep"):
        pruned(cnn, n + 1)


def test_noise_has_exactly_the_requested_relative_error_and_is_seeded(cnn):
    params = cnn.state_dict()
    out = noisy(params, 0.25, seed=3)
    err = weight_error(flatten_params(params), flatten_params(out))
    assert err["rel_l2"] == pytest.approx(0.25, rel=1e-5)
    assert all(out[k].shape == v.shape and out[k].dtype == v.dtype for k, v in params.items())
    again, other = noisy(params, 0.25, seed=3), noisy(params, 0.25, seed=4)
    assert all(torch.equal(out[k], again[k]) for k in params)
    assert not torch.equal(flatten_params(out), flatten_params(other))
    # spread over every layer, not piled into one
    assert all(not torch.equal(out[k], v) for k, v in params.items())
