"""FGSM under both protocols equals torchattacks.FGSM; the original protocol is unclamped; every
attack raises the loss it attacks; the transfer rate counts what it says."""

from __future__ import annotations

import pytest
import torch
import torchattacks

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.attacks import PROTOCOLS, fgsm, gradient_sign, perturb, transfer_rate
from innr.datasets import load

MEAN, STD = 0.1307, 0.3081


@pytest.fixture(scope="module")
def batch():
    torch.manual_seed(0)
    model = MnistExampleNet(8).eval()
    test = load("", "test").head(256)
    return model, test.images.float() / 255, test.labels


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


class UnitInterval(torch.nn.Module):
    """`model` seen through an affine map of its input from [lo, hi] to [0, 1]."""

    def __init__(self, model, lo: float, hi: float):
        super().__init__()
        self.model, self.lo, self.hi = model, lo, hi

    def forward(self, u):
        return self.model(self.lo + (self.hi - self.lo) * u)


@pytest.mark.parametrize("eps", [0.05, 0.3, 1.0])
def test_original_protocol_equals_torchattacks_on_the_normalised_input(batch, eps):
    # torchattacks always clamps to [0, 1], the original never clamps: give torchattacks the
    # normalised input mapped into the middle of [0, 1] (an increasing affine map keeps the
    # gradient's sign), where its clamp cannot bite, and map its answer back
    model, pixels, labels = batch
    clean = (pixels - MEAN) / STD
    lo, hi = float(clean.min()) - eps - 1, float(clean.max()) + eps + 1
    attack = torchattacks.FGSM(UnitInterval(model, lo, hi), eps=eps / (hi - lo))
    theirs = lo + (hi - lo) * attack((clean - lo) / (hi - lo), labels)
    ours = fgsm(model, pixels, labels, eps, "original", MEAN, STD)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-4)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_attack_raises_the_loss_of_the_network_it_attacks(batch, protocol):
    model, pixels, labels = batch
    clean = (pixels - MEAN) / STD
    loss = torch.nn.functional.cross_entropy
    previous = loss(model(clean), labels)
    for eps in (0.02, 0.1, 0.3):
        adv = fgsm(model, pixels, labels, eps, protocol, MEAN, STD)
        assert loss(model(adv), labels) > previous
        previous = loss(model(adv), labels)


def test_gradient_sign_is_the_sign_of_the_loss_gradient(batch):
    model, pixels, labels = batch
    x = ((pixels - MEAN) / STD).requires_grad_(True)
    torch.nn.functional.cross_entropy(model(x), labels).backward()
    torch.testing.assert_close(gradient_sign(model, pixels, labels, MEAN, STD), x.grad.sign())


def test_perturb_takes_the_step_in_each_protocols_space():
    pixels = torch.tensor([0.0, 0.5, 0.98, 1.0])
    sign = torch.tensor([-1.0, 1.0, 1.0, 1.0])
    original = perturb(pixels, sign, 0.1, "original", MEAN, STD)
    torch.testing.assert_close(original, (pixels - MEAN) / STD + 0.1 * sign)
    pixel = perturb(pixels, sign, 0.1, "pixel", MEAN, STD)
    torch.testing.assert_close(pixel * STD + MEAN, torch.tensor([0.0, 0.6, 1.0, 1.0]))
    whole = perturb(pixels, sign, 1.0, "pixel", MEAN, STD)  # eps = 1: the widest pixel step
    torch.testing.assert_close(whole * STD + MEAN, torch.tensor([0.0, 1.0, 1.0, 1.0]))


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
    assert transfer_rate(target, source) == pytest.approx(2 / 3)
    assert transfer_rate(source, torch.tensor([False, False, True, True])) == pytest.approx(1 / 3)
    assert transfer_rate(torch.tensor([True, False]), torch.tensor([True, True])) == 1.0
    assert torch.isnan(torch.tensor(transfer_rate(torch.zeros(3, dtype=torch.bool), target[:3])))
