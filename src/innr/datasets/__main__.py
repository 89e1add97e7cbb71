"""The Debian packages that the datasets of some configs need and that are not installed yet,
one a line (./run_all.sh passes them to scripts/install_data.sh):

    python -m innr.datasets experiments/full.toml experiments/fashion.toml
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from innr.config import load_config
from innr.datasets import dataset_of


def missing_packages(configs: Sequence[str]) -> list[str]:
    """The packages of the configs' datasets that are not installed, each once, in order."""
    datasets = [dataset_of(load_config(path).data.root) for path in configs]
    return list(dict.fromkeys(d.package for d in datasets if d.package and not d.installed()))


if __name__ == "__main__":
    for package in missing_packages(sys.argv[1:]):
        print(package)
