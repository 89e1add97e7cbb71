"""CNN architectures: one module each, registered by name in ARCHITECTURES (a config's
`cnn.architecture`).

An entry builds an untrained network for a dataset (innr.datasets: its image shape and classes)
at a width (`cnn.channels`), drawing its initial weights from torch's global generator, and says
whether the network declares a permutable chain (innr.permutations), which the INNR variants'
`permute` needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from innr.datasets import Dataset, dataset_of
from innr.registry import Registry, discover

if TYPE_CHECKING:
    from innr.config import Config


@dataclass(frozen=True)
class Architecture:
    """A CNN builder, by name."""

    name: str  # the registry key: the module's name
    build: Callable[[Dataset, int], nn.Module]  # (dataset, channels) -> an untrained network
    permutable: bool  # its networks declare permutable_chain() (innr.permutations)


ARCHITECTURES: Registry[Architecture] = Registry("architecture")


def build_cnn(name: str, dataset: Dataset, channels: int) -> nn.Module:
    """The untrained CNN `name` for `dataset`, `channels` wide."""
    return ARCHITECTURES[name].build(dataset, channels)


def cnn_of(config: Config, channels: int = 0) -> nn.Module:
    """The config's untrained CNN for its dataset; `channels` wide when given, instead of
    cnn.channels."""
    return build_cnn(config.cnn.architecture, dataset_of(config.data.root),
                     channels or config.cnn.channels)


discover(__name__, __path__)
