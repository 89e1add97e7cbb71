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
    # rows: p_a = (.5, .5) and p_b = (.9, .1); p_a mostly class 0, p_b mostly class 1; and a row
    # where both pick class 1
    a = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 2.0]]).log_softmax(1)
    b = torch.tensor([[math.log(0.9), math.log(0.1)], [math.log(0.05), math.log(0.95)],
                      [math.log(0.3), math.log(0.7)]])
    out = agreement(a, b)
    pa = a.double().exp()

    def kl(row: int, q: tuple[float, float]) -> float:
        return sum(float(pa[row, k]) * math.log(float(pa[row, k]) / q[k]) for k in (0, 1))

    expected = (kl(0, (0.9, 0.1)) + kl(1, (0.05, 0.95)) + kl(2, (0.3, 0.7))) / 3
    assert out["mean_kl"] == pytest.approx(expected, rel=1e-6)  # float32 logits
    # row 0 ties (argmax 0) and b picks 0; row 1: a picks 0, b picks 1; row 2: both pick 1
    assert out["top1_agreement"] == pytest.approx(2 / 3)
    assert agreement(b, a)["mean_kl"] != pytest.approx(out["mean_kl"])  # KL is not symmetric
    assert agreement(a, a)["mean_kl"] == pytest.approx(0, abs=1e-12)
    assert agreement(a, a + 7.0)["mean_kl"] == pytest.approx(0, abs=1e-12)  # logits, not probs


def test_weight_error_by_hand():
    true, rebuilt = torch.tensor([1.0, 2.0, 2.0]), torch.tensor([1.0, 2.0, 4.0])
    e = weight_error(true, rebuilt)
    assert e["n"] == 3
    assert e["mse"] == pytest.approx(4 / 3)  # squared error 4 over 3 weights
    assert e["rel_l2"] == pytest.approx(2 / 3)  # ||w - w'|| / ||w|| = 2 / 3
    assert e["snr_db"] == pytest.approx(10 * math.log10(9 / 4))
    assert e["cosine"] == pytest.approx(13 / (3 * math.sqrt(21)))


def test_weight_error_of_small_and_of_zero_weights():
    small = weight_error(torch.tensor([0.1, 0.2]), torch.tensor([0.1, 0.1]))
    assert small["rel_l2"] == pytest.approx(0.1 / math.sqrt(0.05))
    assert small["snr_db"] == pytest.approx(10 * math.log10(0.05 / 0.01))
    assert weight_error(torch.tensor([0.1, 0.2]), torch.tensor([0.1, 0.2]))["snr_db"] == math.inf
    zero = weight_error(torch.zeros(3), torch.tensor([0.0, 0.0, 1.0]))
    assert math.isnan(zero["rel_l2"]) and zero["mse"] == pytest.approx(1 / 3)
    assert zero["snr_db"] == -math.inf
    assert math.isnan(weight_error(torch.zeros(2), torch.zeros(2))["snr_db"])


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
