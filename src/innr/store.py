"""Results and checkpoints on disk.

Layout, for a config named NAME, under RESULTS_ROOT (innr.paths) or a --results folder:
    NAME/cache/      trained CNNs and INNRs, keyed by config hash and seed
    NAME/EXPERIMENT/ seed_<seed>.json per seed, aggregate.csv over seeds
Every file is written to a temporary name and renamed, so a stop never leaves half a file under
a final name. Checkpoints carry a sha256 in a sidecar written after them: a checkpoint without
a matching sidecar is reported and recomputed, never loaded. Checkpoints are read with
`weights_only=True`, so no pickle from a results directory is ever executed.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import math
import os
import pickle
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch

from innr.paths import RESULTS_ROOT


class LockedError(RuntimeError):
    """Another run holds the results directory."""


def _umask() -> int:
    umask = os.umask(0)  # the only way to read it is to set it: put it straight back
    os.umask(umask)
    return umask


# what open() gives a new file: 0666 less the umask (mkstemp's 0600 would hide results from the
# other users of a shared machine); read once, before any thread could create a file meanwhile
FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to a temporary name beside `path` and rename it: readers see the old file or
    the new one, never half of one. A failure raises its OSError with `path` as the file name
    (the temporary one means nothing to the reader)."""
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise type(e)(e.errno, e.strerror or str(e), str(path)) from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """atomic_write_bytes of `text` in UTF-8."""
    atomic_write_bytes(path, text.encode())


def check_writable(folder: Path) -> None:
    """Write a temporary file in `folder`, or in its nearest existing parent, so that a run
    stops at once, not at its first save, when it cannot write there. It makes no folder:
    a run that stops later on bad input leaves nothing behind."""
    probe = Path(folder).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        if not probe.is_dir():
            raise NotADirectoryError(20, "Not a directory")
        tempfile.TemporaryFile(dir=probe).close()
    except OSError as e:
        raise OSError(f"cannot write to {folder}: {e.strerror}") from None


def _json_default(o):
    if isinstance(o, torch.Tensor):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def _finite(o):
    """NaN and infinity are not JSON: write them as null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    return o


def write_json(path: Path, obj: dict) -> None:
    text = json.dumps(_finite(obj), indent=1, default=_json_default, allow_nan=False)
    atomic_write_text(path, text)


def read_json(path: Path) -> dict | None:
    """A results file, or None (with a warning) when it is missing or unreadable."""
    if not path.is_file():
        return None
    try:
        obj = json.loads(path.read_text())
        if not isinstance(obj, dict) or not obj.get("complete"):
            raise ValueError("no completed marker")
        return obj
    except (ValueError, UnicodeDecodeError) as e:
        print(f"warning: results file {path} is corrupt ({e}); it will be recomputed",
              file=sys.stderr)
        return None


def save_checkpoint(path: Path, obj: dict) -> None:
    """torch.save atomically, then a sha256 sidecar that marks the checkpoint complete."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    atomic_write_bytes(path.with_suffix(".sha256"), hashlib.sha256(data).hexdigest().encode())


def load_checkpoint(path: Path) -> dict | None:
    """The checkpoint at `path`, or None when it is missing, incomplete or corrupt."""
    sidecar = path.with_suffix(".sha256")
    if not path.is_file():
        return None
    data = path.read_bytes()
    expected = sidecar.read_text().strip() if sidecar.is_file() else None
    if expected != hashlib.sha256(data).hexdigest():
        print(f"warning: checkpoint {path} is incomplete or corrupt (sha256 mismatch); "
              "it will be recomputed", file=sys.stderr)
        return None
    try:
        return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
        # weights_only refuses anything but tensors and plain containers: never run its code
        print(f"warning: checkpoint {path} holds more than weights and was not loaded "
              f"({str(e).splitlines()[0]}); it will be recomputed", file=sys.stderr)
        return None


def remove_checkpoint(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_suffix(".sha256").unlink(missing_ok=True)


class Store:
    """The results directory of one config."""

    def __init__(self, config_name: str, root: Path | None = None):
        self.root = Path(root or RESULTS_ROOT) / config_name

    def cache(self, kind: str, key: str, seed: int) -> Path:
        return self.root / "cache" / f"{kind}_{key}_seed{seed}.pt"

    def result(self, experiment: str, seed: int) -> Path:
        return self.root / experiment / f"seed_{seed}.json"

    def aggregate(self, experiment: str) -> Path:
        return self.root / experiment / "aggregate.csv"

    def lock(self):
        """Hold the directory for one run; a second run at once stops with a clear message."""
        path = self.root / ".lock"
        return flocked(path, f"another run is using {self.root} (lock {path}); wait for it to "
                             "finish, or stop it, and run again")


@contextmanager
def flocked(path: Path, busy: str):
    """Hold an exclusive lock on the file `path` (made, with our pid, when missing); when
    another process holds it, LockedError(busy) at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(busy) from None
        try:
            f.write(str(os.getpid()))
            f.flush()
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
