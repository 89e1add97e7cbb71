"""Predictors, which map a weight's coordinate to its value: one module each (siren.py, mlp.py),
registered by name in PREDICTORS (a variant's `predictor`).

Every predictor has one shape, `depth` hidden layers of width `width` and a linear output layer,
so that predictors are compared at equal parameter budgets: predictor_size gives the exact size of
each without building it (from its first layer's inputs, `fan_in`), and width_for_budget the
widest predictor a budget allows; tests hold every registered predictor to its count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from innr.budget import largest
from innr.registry import Registry, discover


@dataclass(frozen=True)
class Options:
    """What a predictor reads beside its shape (innr.config.VariantConfig's fields)."""

    w0_initial: float = 30.0  # siren: first-layer frequency
    w0: float = 1.0  # siren: hidden-layer frequency
    c: float = 6.0  # siren: init constant
    encoding: str = "nern"  # pe_mlp: a name in innr.predictors.encoding.ENCODINGS
    levels: int = 0  # pe_mlp: frequencies per coordinate


def _dim_in(dim_in: int, options: Options) -> int:
    return dim_in


@dataclass(frozen=True)
class Predictor:
    """A predictor, by name."""

    name: str  # the registry key
    # (dim_in, width, depth, dim_out, options) -> an untrained predictor, drawn from torch's
    # global generator
    build: Callable[[int, int, int, int, Options], nn.Module]
    fan_in: Callable[[int, Options], int] = _dim_in  # its first linear layer's inputs
    min_levels: int = 0  # the encoding's frequencies it needs at least


PREDICTORS: Registry[Predictor] = Registry("predictor")


def _check(kind: str, *, dim_in: int, width: int, depth: int, dim_out: int,
           options: Options) -> Predictor:
    predictor = PREDICTORS[kind]
    sizes = {"dim_in": dim_in, "width": width, "depth": depth, "dim_out": dim_out}
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be >= 1 for {kind!r}, got {value}")
    if options.levels < predictor.min_levels:
        raise ValueError(f"levels must be >= {predictor.min_levels} for {kind!r}, got "
                         f"{options.levels}")
    return predictor


def build_predictor(kind: str, *, dim_in: int, width: int, depth: int, dim_out: int,
                    **options) -> nn.Module:
    """The predictor `kind` of this shape; `options`: fields of Options."""
    o = Options(**options)
    predictor = _check(kind, dim_in=dim_in, width=width, depth=depth, dim_out=dim_out, options=o)
    return predictor.build(dim_in, width, depth, dim_out, o)


def predictor_size(kind: str, *, dim_in: int, width: int, depth: int, dim_out: int,
                 **options) -> int:
    """The exact parameter count of build_predictor(kind, ...), without building it."""
    o = Options(**options)
    predictor = _check(kind, dim_in=dim_in, width=width, depth=depth, dim_out=dim_out, options=o)
    return ((predictor.fan_in(dim_in, o) + 1) * width + (depth - 1) * (width + 1) * width
            + (width + 1) * dim_out)


def width_for_budget(budget: int, kind: str, *, dim_in: int, depth: int, dim_out: int,
                     **options) -> int:
    """The largest width whose predictor has at most `budget` parameters (32 bits each)."""
    def size(width: int) -> int:
        return predictor_size(kind, dim_in=dim_in, width=width, depth=depth, dim_out=dim_out,
                            **options)

    width = largest(lambda w: size(w) <= budget, 1)  # the size grows with the width
    if width is None:
        raise ValueError(f"a budget of {budget} parameters is below the {size(1)} that the "
                         f"smallest {kind!r} predictor (width 1, depth {depth}) needs")
    return width


discover(__name__, __path__)
