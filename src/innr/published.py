"""The published reproduction: what experiments/published/ holds, and how to read it.

    experiments/published/
      MANIFEST.json                    each file's sha256, size and config hash; the run's commit
      results/<config>/...             the run's results files, as written (see innr.store)
      networks/<config>/cnn_seed<S>.pt  a trained CNN: its state_dict, nothing else
      networks/<config>/innr_seed<S>.pt the SIREN fitted to the CNN of seed S, an INNR file
                                        (innr.api's format; innr.load reads it)
      bench.json                       the benchmark of the same machine (innr.bench)

`python -m innr.report.release` writes the folder from a finished run; no experiment writes
it. Every network file holds tensors, numbers and strings only, so `torch.load(path,
weights_only=True)` reads it without running any code:

    cnn = innr.published.load_cnn("experiments/published/networks/full/cnn_seed1239.pt")
    rebuilt = innr.published.load_innr("experiments/published/networks/full/innr_seed1239.pt")
    cnn.load_state_dict(rebuilt.rebuild())   # the CNN as the SIREN stores it
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from torch import nn

from innr.api import INNRFileError, load, read_weights_file, reason
from innr.architectures import build_cnn
from innr.datasets import DATASETS

FORMAT = "innr-published/1"
MANIFEST_NAME = "MANIFEST.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- the networks -----------------------------------------------------------------------------

# A published INNR file is read by innr.load, the one reader of every INNR format: this name is
# kept beside load_cnn for the readers of the published run.
load_innr = load


def load_cnn(path: str | Path, architecture: str = "mnist_example_net", channels: int = 32,
             dataset: str = "mnist", depth: int = 0) -> nn.Module:
    """A published CNN (its state_dict) in the study's architecture; `architecture`,
    `channels` and `depth` (0: the architecture's own) are the config's [cnn] (the manifest
    records them for each config), `dataset` the name of its data (innr.datasets: MNIST and
    Fashion-MNIST share a shape)."""
    state = read_weights_file(path)
    if isinstance(state, dict) and "format" in state:
        raise INNRFileError(f"{path} is an INNR file, not a CNN's weights: innr.load reads it")
    model = build_cnn(architecture, DATASETS[dataset], channels, depth)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise INNRFileError(f"{path} does not hold the weights of {architecture} with "
                            f"{channels} channels ({reason(e)})") from None
    return model.eval()


# --- the manifest -----------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is missing or unreadable ({e}); run python -m "
                         "innr.report.release") from None
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
