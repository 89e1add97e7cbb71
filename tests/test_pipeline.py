"""One INNR pipeline: the faithful INNR is the variant faithful_variant(cfg.innr), prepared,
built and decoded as every variant is, and still the original's numbers bit for bit."""

from __future__ import annotations

from collections import OrderedDict

import torch

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import INNRConfig, VariantConfig
from innr.coordinates import Standardiser, flatten_params, weight_coordinates
from innr.fit import innr_targets, new_siren
from innr.target import Targets
from innr.variants import faithful_variant, new_predictor, rebuild_one

CFG = INNRConfig(hidden=16, layers=3)


def cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    return MnistExampleNet(2)


class Given(torch.nn.Module):
    """A 'predictor' that outputs given values, one per coordinate."""

    def __init__(self, values: torch.Tensor):
        super().__init__()
        self.values = values

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.values.reshape(len(coords), -1)


def test_the_faithful_targets_are_the_originals_standardised_weights_bit_for_bit():
    params = cnn().state_dict()
    flat = flatten_params(params)
    targets = innr_targets(CFG, cnn())
    assert torch.equal(targets.values[0], Standardiser.fit(flat).forward(flat))
    assert torch.equal(targets.layout.coords, weight_coordinates(params))
    assert targets.layout.head == 1 and not targets.outlier.any()


def test_decoding_the_faithful_targets_gives_the_cnn_back_bit_for_bit():
    params = cnn().state_dict()
    flat = flatten_params(params)
    std = Standardiser.fit(flat)
    z = torch.randn(len(flat))
    rebuilt = rebuild_one(Given(z), innr_targets(CFG, cnn()))
    assert list(rebuilt) == list(params)
    assert torch.equal(flatten_params(rebuilt), std.inverse(z))


def test_the_faithful_siren_is_the_variants_predictor():
    targets = innr_targets(CFG, cnn())
    torch.manual_seed(3)
    siren = new_siren(CFG)
    torch.manual_seed(3)
    predictor = new_predictor(faithful_variant(CFG), targets, CFG.hidden)
    assert type(siren) is type(predictor)
    a, b = siren.state_dict(), predictor.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert [float(m.w0) for m in siren.net] == [CFG.w0_initial] + [CFG.w0] * (CFG.layers - 1)


def test_a_stored_network_decodes_like_its_targets():
    variant = VariantConfig(outliers=0.01)
    targets = Targets.of([cnn().state_dict()], variant)
    index = targets.outlier[0].nonzero().squeeze(1)
    stored = Targets.for_decoding(OrderedDict((k, v.shape) for k, v in targets.stored[0].items()),
                                  variant, float(targets.mean), float(targets.std), index,
                                  targets.outlier_values[0, index])
    outputs = torch.randn(1, targets.layout.rows, targets.layout.head)
    a, b = targets.decode(outputs), stored.decode(outputs)
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
