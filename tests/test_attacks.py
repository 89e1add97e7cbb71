"""FGSM: the pixel protocol equals torchattacks.FGSM; the original protocol is unclamped."""

from __future__ import annotations

import pytest
import torch
import torchattacks

from innr.attacks import fgsm, transfer_rate
from innr.data import load_mnist
from innr.models import MnistExampleNet

MEAN, STD = 0.1307, 0.3081


@pytest.fixture(scope="module")
def batch():
    torch.manual_seed(0)
    model = MnistExampleNet(8).eval()
    test = load_mnist("test").head(256)
    return model, test.images.float().unsqueeze(1) / 255, test.labels


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_pixel_protocol_equals_torchattacks(batch, eps):
    model, pixels, labels = batch
    attack = torchattacks.FGSM(model, eps=eps)
    # with its normalisation set, torchattacks takes and returns normalised inputs and steps,
    # clamps in pixel space in between: the usual protocol
    attack.set_normalization_used(mean=[MEAN], std=[STD])
    theirs = attack((pixels - MEAN) / STD, labels)
    ours = fgsm(model, pixels, labels, eps, "pixel", MEAN, STD)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


def test_original_protocol_steps_on_normalised_input_without_clamping(batch):
    model, pixels, labels = batch
    clean = (pixels - MEAN) / STD
    adv = fgsm(model, pixels, labels, 0.3, "original", MEAN, STD)
    step = (adv - clean).abs()
    assert torch.allclose(step[step > 0], torch.tensor(0.3), atol=1e-5)
    # no clamping: some pixels leave the image range [0, 1]
    assert (adv * STD + MEAN).min() < -0.05 and (adv * STD + MEAN).max() > 1.05


def test_attack_lowers_accuracy_and_eps_zero_is_clean(batch):
    model, pixels, labels = batch
    clean = (pixels - MEAN) / STD
    torch.testing.assert_close(fgsm(model, pixels, labels, 0.0, "original", MEAN, STD), clean)
    loss = torch.nn.functional.cross_entropy
    adv = fgsm(model, pixels, labels, 0.1, "pixel", MEAN, STD)
    assert loss(model(adv), labels) > loss(model(clean), labels)


def test_bad_protocol_and_eps_are_refused(batch):
    model, pixels, labels = batch
    with pytest.raises(ValueError, match="unknown FGSM protocol"):
        fgsm(model, pixels, labels, 0.1, "linf", MEAN, STD)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        fgsm(model, pixels, labels, 1.5, "pixel", MEAN, STD)


def test_transfer_rate_counts_only_examples_that_fool_the_source():
    source = torch.tensor([True, True, True, False])
    target = torch.tensor([True, False, True, True])
    assert transfer_rate(source, target) == pytest.approx(2 / 3)
    assert torch.isnan(torch.tensor(transfer_rate(torch.zeros(3, dtype=torch.bool), target[:3])))
