"""The compression methods of the frontier, registered by name (one module per family).

A method is an instance of `Method` (or of `Compression`, for a data-free compression of the
CNN's weights) given to `register`. Every tensor counts (innr.params): each family compresses
the weights (dim >= 2) its own way and stores every vector (bias, batch-norm's weight, bias and
running statistics) as float32, charged 32 bits a value: the data-free compressions in
`Compressed.stored` under the vector's name, the INNRs beside their predictor (innr.target), the
narrow CNN as its own float32 tensors. Everything else reads `METHODS`: the config's validation
(frontier.methods), the frontier's jobs (innr.experiments.frontier), the report's labels and
groups. The families below are imported in the order the report lists their methods; a method
registered later (a new module, a test) comes after them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from innr.budget import largest
from innr.coding import coded_bytes
from innr.distil import distilled
from innr.params import inference_tensors, vector_bits, vectors_of, weights_of
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
    budget. Fields named by `choices` are chosen on validation by the frontier instead. A
    family defines its settings, sizes, encoder and decoder on the weights alone; `encode`,
    `bits` and `decode` add the vectors (innr.params), stored as float32 and charged 32 bits
    each, raw and coded."""

    distil: bool = False  # then distilled (innr.distil); needs the ablation's selection

    def choices(self) -> dict[str, tuple]:
        """The fields the frontier chooses on validation, with the values to try:
        `dataclasses.replace(method, **{field: value})` is the method at one of them."""
        return {}

    # what a family defines, on the weights alone (innr.params.weights_of)
    def settings(self, weights: Params) -> Sequence:
        """The settings, smallest stored size first (raw sizes must not shrink along it)."""
        raise NotImplementedError

    def weights_bits(self, weights: Params, setting: Any) -> int:
        """What `encode_weights(weights, setting)` stores, in raw bits, without encoding."""
        raise NotImplementedError

    def encode_weights(self, weights: Params, setting: Any) -> Compressed:
        """The weights the CNN runs with at `setting`, their raw bits and what is stored."""
        raise NotImplementedError

    def decode_weights(self, stored: Params, like: Params) -> Params:
        """The weights rebuilt from what `encode_weights` stored alone (`like` gives names and
        shapes): exactly the weights the CNN runs with."""
        raise NotImplementedError

    # the whole network: its weights as the family stores them, its vectors as float32
    def bits(self, params: Params, setting: Any) -> int:
        """What `encode(params, setting)` stores, in raw bits, without encoding."""
        return self.weights_bits(weights_of(params), setting) + vector_bits(params)

    def encode(self, params: Params, setting: Any) -> Compressed:
        """Every tensor the CNN runs with at `setting` (innr.params: its weights compressed, its
        vectors as they are, in float32), their raw bits and what is stored (the vectors under
        their own names)."""
        c = self.encode_weights(weights_of(params), setting)
        vectors = vectors_of(params)
        return dataclasses.replace(c, params={k: c.params.get(k, vectors.get(k)) for k in params},
                                   bits=c.bits + vector_bits(params),
                                   stored={**c.stored, **vectors})

    def decode(self, stored: Params, like: Params) -> Params:
        """Every tensor rebuilt from what `encode` stored alone (`like` gives names and
        shapes): exactly the tensors the CNN runs with."""
        weights = self.decode_weights(stored, weights_of(like))
        return {k: weights[k] if k in weights else stored[k] for k in like}

    def decoder(self, c: Compressed, like: Params) -> Callable[[], Params]:
        """Rebuilding the weights from what `c` stores: timed by the frontier."""
        return lambda: self.decode(c.stored, like)

    def kept(self, c: Compressed) -> int | None:
        """The float32 values it keeps, where that is how it is read (pruning); else None."""
        return None

    def projection(self, c: Compressed, original: Params
                   ) -> tuple[Params, Callable[[Params], Params]]:
        """For distillation: where theta starts, and theta -> the weights the CNN runs with,
        keeping what `c` fixed (a mask, a bit width); `c.params` and `original` are weights."""
        raise NotImplementedError(f"{self.name} cannot be distilled")

    def setting_of(self, c: Compressed) -> Any:
        """The setting (of `settings`) that `c` was encoded at."""
        raise NotImplementedError

    def tune(self, job: Any, cnn: nn.Module, c: Compressed, seed: int) -> Compressed:
        """What the CNN runs with: `c`, or with `distil` the weights tuned like the INNR's
        second stage (job.distillation(): the best variant's settings, or the candidate the
        frontier tries on validation), encoded again at c's setting so that what is stored is
        what runs. The vectors stay the CNN's (innr.distil)."""
        if not self.distil:
            return c
        variant, inputs = job.distillation()
        original = inference_tensors(cnn)
        start, project = self.projection(
            dataclasses.replace(c, params=weights_of(c.params)), weights_of(original))
        return self.encode({**original, **distilled(cnn, start, project, variant, inputs, seed)},
                           self.setting_of(c))

    def at_budget(self, params: Params, budget_bits: int, sizes: str = "coded"
                  ) -> Compressed | None:
        """The largest setting whose coded file (innr.coding: `sizes="coded"`, the amended
        frontier's) or raw bits (`sizes="raw"`, the published claims') fit `budget_bits`; None
        if none does. Coded sizes grow along the settings only roughly (an entropy coder's table
        and words): the bisection then returns a setting that fits beside one that does not."""
        options = self.settings(weights_of(params))
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


def headline(scores: Mapping[str, float]) -> str | None:
    """The headline INNR method: of the data-free INNR methods scored in `scores` (method ->
    its mean validation accuracy at one budget), the highest, the first in the registry's
    order on a tie; None without one. The report's amended rule and the headline experiment
    both choose with it."""
    found = [n for n, m in METHODS.items() if m.innr and not m.uses_data and n in scores]
    return max(found, key=lambda n: scores[n], default=None)


# the built-in families, imported by name rather than discovered (innr.registry.discover goes
# alphabetically): the order here is the report's (each registers its methods when imported)
from innr.methods import innrs, pruning, low_rank, quantisation, pruned_quantised  # noqa: E402, F401, I001
from innr.methods import narrow_cnn  # noqa: E402, F401
