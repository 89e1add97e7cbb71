"""Fashion-MNIST (Xiao et al. 2017): 28 x 28 grey images of clothing, 10 classes, 60,000
training and 10,000 test images, in MNIST's IDX layout, from Debian's `dataset-fashion-mnist`
package (scripts/install_data.sh installs it as root); each file is checked by sha256."""

from __future__ import annotations

from pathlib import Path

import torch

from innr.datasets import DATASETS, Dataset, idx

ROOT = "/usr/share/datasets/fashion-mnist"
SHA256 = {
    "t10k-images-idx3-ubyte.gz":
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz":
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    "train-images-idx3-ubyte.gz":
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz":
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
}
PACKAGE = "dataset-fashion-mnist"
SIZES = {"train": 60_000, "test": 10_000}


def read(root: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The split from the IDX files under `root`."""
    return idx.read_split(Path(root), split, SIZES[split], SHA256,
                          missing=f"install Debian's package: apt-get install {PACKAGE} "
                                  "(scripts/install_data.sh does it when run as root)",
                          corrupt=f"reinstall it: apt-get install --reinstall {PACKAGE}")


DATASETS.register(Dataset(
    name="fashion_mnist", label="Fashion-MNIST", shape=(1, 28, 28), classes=10,
    mean=0.2860, std=0.3530,  # its training set's pixel statistics (experiments/fashion.toml)
    sizes=SIZES, validation=slice(50_000, 60_000),  # as MNIST's: the last 10,000
    root=ROOT, read=read, sha256=SHA256, package=PACKAGE))
