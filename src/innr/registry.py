"""Registries: the one place that lists the things of a kind (datasets, architectures,
predictors), filled by the modules of a package, one module per entry.

A registry is a dict from name to entry; an unknown name is an error that lists the known ones.
A package fills its registry by importing each of its modules (`discover`), so adding an entry
is adding a module: nothing else lists the names.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Protocol, TypeVar


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class UnknownName(KeyError, ValueError):
    """A name no entry of the registry has; the message lists the known ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(dict[str, T]):
    """Entries of one kind by name (`kind` names it in messages)."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, entry: T) -> T:
        """Add `entry` under its name; a name taken twice is an error."""
        if entry.name in self:
            raise ValueError(f"{self.kind} {entry.name!r} is registered twice")
        self[entry.name] = entry
        return entry

    def __missing__(self, name: str) -> T:
        raise UnknownName(f"unknown {self.kind} {name!r}; known: {sorted(self)}")


def discover(package: str, path: Iterable[str]) -> None:
    """Import every module of `package` (at `path`) but private ones, so each registers itself."""
    for module in pkgutil.iter_modules(path):
        if not module.name.startswith("_"):
            importlib.import_module(f"{package}.{module.name}")
