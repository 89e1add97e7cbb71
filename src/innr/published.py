"""The published reproduction: what experiments/published/ holds, and how to read it.

    experiments/published/
      MANIFEST.json                    each file's sha256, size and config hash; the run's commit
      results/<config>/...             the run's results files, as written (see innr.store)
      networks/<config>/cnn_seed<S>.pt  a trained CNN: its state_dict, nothing else
      networks/<config>/innr_seed<S>.pt the SIREN fitted to the CNN of seed S, and what
                                        rebuilding the CNN from it needs (load_innr)
      bench.json                       the benchmark of the same machine (innr.perf.bench)

`python -m innr.report.publish` writes the folder from a finished run; no experiment writes
it. Every network file holds tensors, numbers and strings only, so `torch.load(path,
weights_only=True)` reads it without running any code:

    cnn = innr.published.load_cnn("experiments/published/networks/full/cnn_seed1239.pt")
    rebuilt = innr.published.load_innr("experiments/published/networks/full/innr_seed1239.pt")
    cnn.load_state_dict(rebuilt.rebuild())   # the CNN as the SIREN stores it
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from innr.architectures import build_cnn
from innr.coordinates import DIMS, Standardiser, weight_coordinates
from innr.datasets import DATASETS
from innr.fit import INNRProblem
from innr.predictors.siren import Siren

FORMAT = "innr-published/1"
INNR_FORMAT = "innr-siren/1"
MANIFEST_NAME = "MANIFEST.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- the networks -----------------------------------------------------------------------------

def export_innr(siren_state: dict[str, torch.Tensor], siren: dict, standardiser: Standardiser,
                like: dict[str, torch.Tensor]) -> dict:
    """The faithful INNR as a file of tensors and numbers: the SIREN's state_dict, its shape and
    frequencies (`siren`: hidden, layers, w0_initial, w0, c), the weights' standardisation and
    the CNN's tensor names and shapes, in order (their coordinates follow from the shapes)."""
    return {"format": INNR_FORMAT, "siren": OrderedDict(siren_state),
            **{k: siren[k] for k in ("hidden", "layers", "w0_initial", "w0", "c")},
            "mean": standardiser.mean, "std": standardiser.std,
            "shapes": OrderedDict((k, list(v.shape)) for k, v in like.items())}


@dataclass
class PublishedINNR:
    """A published SIREN and what it needs to rebuild the CNN's weights."""

    siren: Siren
    standardiser: Standardiser
    shapes: OrderedDict[str, tuple[int, ...]]

    def rebuild(self) -> OrderedDict[str, torch.Tensor]:
        """The CNN's state_dict as the SIREN stores it (innr.fit.INNRProblem.rebuild, given the
        shapes instead of the CNN)."""
        like = OrderedDict((k, torch.empty(s)) for k, s in self.shapes.items())
        problem = INNRProblem(weight_coordinates(like), torch.empty(0), self.standardiser, like)
        return OrderedDict(problem.rebuild(self.siren))


def _read(path: Path) -> object:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no network file at {path}")
    return torch.load(path, weights_only=True, map_location="cpu")


def load_innr(path: str | Path) -> PublishedINNR:
    """A published INNR file (read with weights_only: no code in the file runs)."""
    blob = _read(Path(path))
    if not isinstance(blob, dict) or blob.get("format") != INNR_FORMAT:
        raise ValueError(f"{path} is not a published INNR file ({INNR_FORMAT})")
    siren = Siren(dim_in=DIMS,
                  hidden=blob["hidden"], layers=blob["layers"], dim_out=1,
                  w0_initial=blob["w0_initial"], w0=blob["w0"], c=blob["c"])
    siren.load_state_dict(blob["siren"])
    return PublishedINNR(siren.eval(), Standardiser(blob["mean"], blob["std"]),
                         OrderedDict((k, tuple(s)) for k, s in blob["shapes"].items()))


def load_cnn(path: str | Path, architecture: str = "mnist_example_net", channels: int = 32,
             dataset: str = "mnist") -> nn.Module:
    """A published CNN (its state_dict) in the study's architecture; `architecture` and
    `channels` are the config's [cnn] (the manifest records them for each config), `dataset`
    the name of its data (innr.datasets: MNIST and Fashion-MNIST share a shape)."""
    model = build_cnn(architecture, DATASETS[dataset], channels)
    model.load_state_dict(_read(Path(path)))
    return model.eval()


# --- the manifest -----------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is missing or unreadable ({e}); run python -m "
                         "innr.report.publish") from None
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path} is not a manifest of format {FORMAT}")
    return manifest


def check(folder: Path) -> list[str]:
    """What disagrees between the folder and its manifest: files changed, missing or not
    listed. Empty when the folder is exactly what the manifest says."""
    folder = Path(folder)
    listed = read_manifest(folder)["files"]
    problems = []
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
               if p.is_file() and p.name != MANIFEST_NAME}
    for rel in sorted(present - set(listed)):
        problems.append(f"{rel}: not in the manifest")
    for rel, entry in sorted(listed.items()):
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel}: in the manifest, missing from the folder")
        elif path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
            problems.append(f"{rel}: changed since it was published (size or sha256 differs)")
    return problems
