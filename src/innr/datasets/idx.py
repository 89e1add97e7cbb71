"""IDX files, the format of MNIST and Fashion-MNIST: a uint8 array behind a header of its shape,
optionally gzipped, under the standard file names."""

from __future__ import annotations

import gzip
import hashlib
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from innr.datasets import DataError

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read(path: Path, ndim: int, count: int, sha256: Mapping[str, str], missing: str,
         corrupt: str) -> np.ndarray:
    """The uint8 array of `ndim` dimensions and `count` items in `path` or `path`.gz, checked
    against `sha256` when it lists the file; `missing`, `corrupt`: what the errors say to do."""
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            break
    else:
        raise DataError(f"IDX file {path}[.gz] not found; {missing}")
    raw = candidate.read_bytes()
    expected = sha256.get(candidate.name)
    if expected is not None and hashlib.sha256(raw).hexdigest() != expected:
        raise DataError(f"IDX file {candidate} is corrupt (its sha256 is not the known one); "
                        f"{corrupt}")
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
        raise DataError(f"IDX file {candidate} is unreadable or truncated ({e}); "
                        "download it again") from None


def read_split(root: Path, split: str, count: int, sha256: Mapping[str, str], missing: str,
               corrupt: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's grey images [N, 1, H, W] and labels from the standard files under `root`."""
    images_name, labels_name = FILES[split]
    images = read(root / images_name, 3, count, sha256, missing, corrupt)
    labels = read(root / labels_name, 1, count, sha256, missing, corrupt)
    return (torch.from_numpy(images.copy()).unsqueeze(1),
            torch.from_numpy(labels.astype(np.int64)))


def write(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file."""
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(">" + "I" * array.ndim,
                                                                  *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_split(root: Path, split: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    """Write grey images [N, 1, H, W] and labels as a split's standard files (tests, exports)."""
    images_name, labels_name = FILES[split]
    write(root / images_name, images[:, 0].numpy())
    write(root / labels_name, labels.numpy().astype(np.uint8))
