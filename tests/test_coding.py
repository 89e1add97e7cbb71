"""innr.coding: what a method stores comes back exactly from its bytes, and skewed integer codes
take fewer bytes than their raw bits."""

from __future__ import annotations

import pytest
import torch

from innr.coding import coded_bytes, pack, unpack


def _stored() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "weights": torch.randn(3, 4, generator=g),
        "scales": torch.rand(7, generator=g, dtype=torch.float64),
        "half": torch.randn(5, generator=g).to(torch.bfloat16),
        "codes": (torch.randn(16, 50, generator=g) * 2).round().clamp(-7, 7).to(torch.int8),
        "mask": torch.rand(1000, generator=g) < 0.1,
        "indices": torch.randint(0, 60000, (40,), generator=g, dtype=torch.int32),
        "wide": torch.tensor([-(2 ** 60) - 1, 0, 2 ** 60 + 1]),  # beyond float64's integers
        "high": torch.tensor([2 ** 60 + 1, 2 ** 60 + 2]),
        "constant": torch.full((2, 3), -3, dtype=torch.int16),
        "bytes": torch.randint(0, 256, (9,), generator=g, dtype=torch.uint8),
        "empty": torch.zeros(0, 4, dtype=torch.int8),
        "empty_float": torch.zeros(0),
        "scalar": torch.tensor(2.5),
    }


def test_unpack_gives_back_names_dtypes_shapes_and_values_exactly():
    stored = _stored()
    back = unpack(pack(stored))
    assert list(back) == list(stored)
    for name, t in stored.items():
        assert back[name].dtype == t.dtype and back[name].shape == t.shape, name
        assert torch.equal(back[name], t), name
    assert pack(stored) == pack(back)  # deterministic
    assert coded_bytes(stored) == len(pack(stored))


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_skewed_codes_take_fewer_bytes_than_their_raw_bits(bits):
    g = torch.Generator().manual_seed(1)
    top = 2 ** (bits - 1) - 1
    codes = (torch.randn(64, 400, generator=g) * top / 4).round().clamp(-top, top).to(torch.int8)
    assert coded_bytes({"codes": codes}) < codes.numel() * bits / 8
    uniform = torch.randint(-top, top + 1, (64, 400), generator=g, dtype=torch.int8)
    assert coded_bytes({"codes": uniform}) <= codes.numel() * bits / 8 + 64  # never much more


def test_floats_are_stored_raw_and_a_constant_costs_no_data():
    x = torch.randn(1000)
    assert 4000 < coded_bytes({"x": x}) < 4000 + 16  # the values, and a header of a few bytes
    assert coded_bytes({"c": torch.full((1000,), 5, dtype=torch.int8)}) < 16


def test_a_bad_blob_is_refused():
    blob = pack(_stored())
    with pytest.raises(ValueError):
        unpack(blob[:-3])
    with pytest.raises(ValueError):
        unpack(blob + b"\0")
    with pytest.raises(TypeError):
        pack({"z": torch.zeros(2, dtype=torch.complex64)})
