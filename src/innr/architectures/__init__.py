"""CNN architectures: one module each, registered by name in ARCHITECTURES (a config's
`cnn.architecture`).

An entry builds an untrained network for a dataset (innr.datasets: its image shape and classes)
at a width (`cnn.channels`) and a depth (`cnn.depth`; 0 = the architecture's own), drawing its
initial weights from torch's global generator, says which depths it has, and whether the network
declares a permutable chain (innr.permutations), which the INNR variants' `permute` needs.
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


def one_depth(depth: int) -> str:
    """An architecture of one depth: what is wrong with `depth` ("" when nothing)."""
    return "" if depth == 0 else f"this architecture has one depth: give 0, not {depth}"


@dataclass(frozen=True)
class Architecture:
    """A CNN builder, by name."""

    name: str  # the registry key: the module's name
    # (dataset, channels) -> an untrained network; (dataset, channels, depth) for an
    # architecture of several depths (one that `depths` allows)
    build: Callable[..., nn.Module]
    permutable: bool  # its networks declare permutable_chain() (innr.permutations)
    # depth -> what is wrong with it, "" when nothing; 0 is always its default depth
    depths: Callable[[int], str] = one_depth

    def network(self, dataset: Dataset, channels: int, depth: int = 0) -> nn.Module:
        """An untrained network of this architecture; a bad depth is a ValueError."""
        if problem := self.depths(depth):
            raise ValueError(f"{self.name}: {problem}")
        if self.depths is one_depth:
            return self.build(dataset, channels)
        return self.build(dataset, channels, depth)


ARCHITECTURES: Registry[Architecture] = Registry("architecture")


def build_cnn(name: str, dataset: Dataset, channels: int, depth: int = 0) -> nn.Module:
    """The untrained CNN `name` for `dataset`, `channels` wide, `depth` deep (0 = its own)."""
    return ARCHITECTURES[name].network(dataset, channels, depth)


def cnn_of(config: Config, channels: int = 0) -> nn.Module:
    """The config's untrained CNN for its dataset; `channels` wide when given, instead of
    cnn.channels."""
    return build_cnn(config.cnn.architecture, dataset_of(config.data.root),
                     channels or config.cnn.channels, config.cnn.depth)


discover(__name__, __path__)
