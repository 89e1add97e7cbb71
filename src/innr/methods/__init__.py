"""The compression methods of the frontier, registered by name (one module per family).

A method is an instance of `Method` (or of `Compression`, for a data-free compression of the
CNN's weights) given to `register`. Everything else reads `METHODS`: the config's validation
(frontier.methods), the frontier's jobs (innr.experiments.frontier), the report's labels and
groups. The families below are imported in the order the report lists their methods; a method
registered later (a new module, a test) comes after them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from innr.budget import largest
from innr.coding import coded_bytes
from innr.distil import distilled
from innr.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from innr.config import Config

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Compressed:
    """The weights a method gives the CNN, the bits it stores to give them (raw: each value at
    its width, before entropy coding) and what it would write to disk (`stored`: integer codes in
    the smallest integer dtype, float32 scales or values, indices; innr.coding.pack makes the
    file, whose length is the coded size)."""

    method: str
    params: Params
    bits: int
    setting: dict = field(default_factory=dict)
    stored: Params = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    """A frontier method: its points run as jobs of the frontier (`job`, an
    innr.experiments.frontier.Frontier), each returning one results dict per point."""

    name: str
    label: str  # how the report names it
    uses_data: bool = False  # a reference trained on the data: shown, never judged
    innr: bool = False  # an INNR: the report judges the data-free rivals against these
    uses_selection: bool = False  # needs the ablation's chosen variant (the frontier's stage 2)
    batch: tuple[str, ...] = ()  # the point's keys that split it into jobs: () one job for all
    family: str = ""  # methods that share their jobs (split by `batch`); "": its own jobs

    def point(self, config: Config) -> dict:
        """What a point records beside (method, budget, seed): a setting that, when the config
        changes it, makes a finished point stale."""
        return {}

    def run(self, job: Any, points: list[dict]) -> list[dict]:
        """One results dict per point of one job."""
        raise NotImplementedError


@dataclass(frozen=True)
class Compression(Method):
    """A data-free compression of the CNN's weights: settings, their sizes, an encoder and a
    decoder; the frontier takes the largest setting whose coded file (innr.coding) fits each
    budget. Fields named by `choices` are chosen on validation by the frontier instead."""

    distil: bool = False  # then distilled (innr.distil); needs the ablation's selection

    def choices(self) -> dict[str, tuple]:
        """The fields the frontier chooses on validation, with the values to try:
        `dataclasses.replace(method, **{field: value})` is the method at one of them."""
        return {}

    def settings(self, params: Params) -> Sequence:
        """The settings, smallest stored size first (raw sizes must not shrink along it)."""
        raise NotImplementedError

    def bits(self, params: Params, setting: Any) -> int:
        """What `encode(params, setting)` stores, in raw bits, without encoding."""
        raise NotImplementedError

    def encode(self, params: Params, setting: Any) -> Compressed:
        """The weights the CNN runs with at `setting`, their raw bits and what is stored."""
        raise NotImplementedError

    def decode(self, stored: Params, like: Params) -> Params:
        """The weights rebuilt from what `encode` stored alone (`like` gives names and
        shapes): exactly the weights the CNN runs with."""
        raise NotImplementedError

    def decoder(self, c: Compressed, like: Params) -> Callable[[], Params]:
        """Rebuilding the weights from what `c` stores: timed by the frontier."""
        return lambda: self.decode(c.stored, like)

    def kept(self, c: Compressed) -> int | None:
        """The float32 values it keeps, where that is how it is read (pruning); else None."""
        return None

    def projection(self, c: Compressed, original: Params
                   ) -> tuple[Params, Callable[[Params], Params]]:
        """For distillation: where theta starts, and theta -> the weights the CNN runs with,
        keeping what `c` fixed (a mask, a bit width)."""
        raise NotImplementedError(f"{self.name} cannot be distilled")

    def setting_of(self, c: Compressed) -> Any:
        """The setting (of `settings`) that `c` was encoded at."""
        raise NotImplementedError

    def tune(self, job: Any, cnn: nn.Module, c: Compressed, seed: int) -> Compressed:
        """What the CNN runs with: `c`, or with `distil` the weights tuned like the INNR's
        second stage (job.distillation(): the best variant's settings, or the candidate the
        frontier tries on validation), encoded again at c's setting so that what is stored is
        what runs."""
        if not self.distil:
            return c
        variant, inputs = job.distillation()
        start, project = self.projection(c, {k: v.detach() for k, v in cnn.state_dict().items()})
        return self.encode(distilled(cnn, start, project, variant, inputs, seed),
                           self.setting_of(c))

    def at_budget(self, params: Params, budget_bits: int, sizes: str = "coded"
                  ) -> Compressed | None:
        """The largest setting whose coded file (innr.coding: `sizes="coded"`, the amended
        frontier's) or raw bits (`sizes="raw"`, the published claims') fit `budget_bits`; None
        if none does. Coded sizes grow along the settings only roughly (an entropy coder's table
        and words): the bisection then returns a setting that fits beside one that does not."""
        options = self.settings(params)
        if sizes == "raw":
            i = largest(lambda i: self.bits(params, options[i]) <= budget_bits, 0,
                        len(options) - 1)
            return None if i is None else self.encode(params, options[i])
        if sizes != "coded":
            raise ValueError(f"sizes must be 'coded' or 'raw', got {sizes!r}")
        encoded = functools.cache(lambda i: self.encode(params, options[i]))
        i = largest(lambda i: 8 * coded_bytes(encoded(i).stored) <= budget_bits, 0,
                    len(options) - 1)
        return None if i is None else encoded(i)

    def run(self, job: Any, points: list[dict]) -> list[dict]:
        return [job.baseline(self, p) for p in points]


METHODS: Registry[Method] = Registry("method")
register = METHODS.register


def get(name: str) -> Method:
    """The method registered as `name`; an unknown name says which exist."""
    return METHODS[name]


# the built-in families, imported by name rather than discovered (innr.registry.discover goes
# alphabetically): the order here is the report's (each registers its methods when imported)
from innr.methods import innrs, pruning, low_rank, quantisation, pruned_quantised  # noqa: E402, F401, I001
from innr.methods import narrow_cnn  # noqa: E402, F401
