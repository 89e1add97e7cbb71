"""innr.metrics against values worked by hand."""

from __future__ import annotations

import math

import pytest
import torch

from innr.metrics import accuracy, agreement, logits_of, weight_error


def test_accuracy_counts_argmax_hits():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 1.0, 5.0], [9.0, 0.0, 0.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1, 2])) == 0.5


def test_agreement_is_top1_agreement_and_kl_of_the_first_from_the_second():
    a = torch.tensor([[0.0, 0.0], [3.0, 0.0]]).log_softmax(1)  # p = (.5, .5), then mostly class 0
    b = torch.tensor([[math.log(0.9), math.log(0.1)], [math.log(0.2), math.log(0.8)]])
    out = agreement(a, b)
    pa = a.double().exp()
    first = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    second = float(pa[1, 0]) * math.log(float(pa[1, 0]) / 0.2) + float(pa[1, 1]) * math.log(
        float(pa[1, 1]) / 0.8)
    assert out["mean_kl"] == pytest.approx((first + second) / 2, rel=1e-6)  # float32 logits
    # row 0 ties (argmax 0) and b picks 0; row 1: a picks 0, b picks 1
    assert out["top1_agreement"] == 0.5
    assert agreement(b, a)["mean_kl"] != pytest.approx(out["mean_kl"])  # KL is not symmetric
    assert agreement(a, a)["mean_kl"] == pytest.approx(0, abs=1e-12)
    assert agreement(a, a + 7.0)["mean_kl"] == pytest.approx(0, abs=1e-12)  # logits, not probs


def test_weight_error_by_hand():
    true, rebuilt = torch.tensor([1.0, 2.0, 2.0]), torch.tensor([1.0, 2.0, 3.0])
    e = weight_error(true, rebuilt)
    assert e["n"] == 3
    assert e["mse"] == pytest.approx(1 / 3)
    assert e["rel_l2"] == pytest.approx(1 / 3)  # ||w - w'|| / ||w|| = 1 / 3
    assert e["snr_db"] == pytest.approx(10 * math.log10(9))
    assert e["cosine"] == pytest.approx(11 / (3 * math.sqrt(14)))


def test_weight_error_of_an_exact_rebuild_and_of_shapes():
    w = torch.randn(4, 3, 2, generator=torch.Generator().manual_seed(0))
    e = weight_error(w, w.clone())
    assert e["mse"] == 0 and e["rel_l2"] == 0 and e["snr_db"] == math.inf
    assert e["cosine"] == pytest.approx(1)
    assert weight_error(w, 2 * w)["rel_l2"] == pytest.approx(1)
    assert weight_error(w, -w)["cosine"] == pytest.approx(-1)


def test_logits_of_batches_equal_one_pass():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    x = torch.randn(10, 4)
    torch.testing.assert_close(logits_of(model, x, batch_size=3), model(x))
