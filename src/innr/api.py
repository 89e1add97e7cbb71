"""Store any network of Conv2d and Linear layers as an INNR, and rebuild it.

    import innr
    stored = innr.compress(model, innr.VariantConfig(), budget=0.5)   # fits, on model's device
    stored.save("model.innr")
    state_dict = innr.load("model.innr").rebuild()                      # model.load_state_dict(...)

Every Conv2d and Linear weight (innr.params.is_weight: not the biases) is represented by the
predictor (innr.target, innr.variants); every other parameter or buffer (a bias, a norm layer's)
is stored as it is and counted within the budget, and innr.compress names the layers other than
Conv2d and Linear in a warning. A tensor shared under two names (tied weights) is stored once and
shared again by the rebuilt state_dict. A budget is a share of every float tensor the model's
inference reads (innr.params), each value at the weights' dtype's bits; the rebuilt tensors have
the model's dtypes. Files written before the biases were kept apart list them among the
represented tensors (`shapes`) and are rebuilt as they were fitted. With
`permute`, the model must say which layers may be reordered together (`permutable_chain()`,
innr.permutations): the rebuilt state_dict is then a reordered network that computes the same
function. Distillation needs the shape of one input (`input_shape`).

One file format for every INNR, FORMAT ("innr/2"): a dict of tensors, numbers and strings that
`torch.load(path, weights_only=True)` reads without running code, with the keys of INNR's
fields beside "format" (dtypes as names, "float32"). innr.load also reads the two formats before
it: "innr/1" (the same without dtypes and tied) and "innr-siren/1", the faithful SIREN of
innr.report.release, in which experiments/published/ holds its networks.
"""

from __future__ import annotations

import dataclasses
import io
import math
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from innr.config import INNRConfig, VariantConfig, check_variant
from innr.params import is_weight
from innr.permutations import chain_of
from innr.size import BITS, budget_bits
from innr.store import atomic_write_bytes
from innr.target import Targets
from innr.variants import (
    faithful_variant,
    fit,
    new_predictor,
    predictor_params,
    synthetic_inputs,
    width_for,
)

FORMAT = "innr/2"
OLD_FORMAT = "innr/1"  # without "dtypes" (every tensor float32) and "tied" (none)
SIREN_FORMAT = "innr-siren/1"  # innr.report.release's, before FORMAT: the faithful SIREN alone


class INNRFileError(ValueError):
    """A file that innr cannot read as what it was given as; the message names the file."""


def reason(e: BaseException) -> str:
    """An error in a few words: its type and the first line of its message (two where the
    first only announces the second, as load_state_dict's does)."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    if not lines:
        return type(e).__name__
    return f"{type(e).__name__}: {' '.join(lines[:2] if lines[0].endswith(':') else lines[:1])}"


def ties(model: nn.Module) -> dict[str, str]:
    """Each state_dict name whose tensor an earlier name holds already -> that earlier name."""
    first: dict[int, str] = {}
    return {name: first[id(t)] for name, t in model.state_dict(keep_vars=True).items()
            if first.setdefault(id(t), name) != name}


def represented(model: nn.Module) -> list[str]:
    """Names of the parameters the predictor stores: Conv2d and Linear weights (not their
    biases: innr.params.is_weight), each tensor once (under its first name)."""
    tied = ties(model)
    names = []
    for prefix, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            names += [f"{prefix}.{n}" if prefix else n
                      for n, p in module.named_parameters(recurse=False)
                      if p is not None and is_weight(n, p)]
    return [n for n in names if n not in tied]


def kept_layers(model: nn.Module) -> list[str]:
    """The layers with tensors of their own that are not Conv2d or Linear: stored as they are."""
    return [f"{prefix or '(the model itself)'} ({type(module).__name__})"
            for prefix, module in model.named_modules()
            if not isinstance(module, nn.Conv2d | nn.Linear)
            and (next(module.parameters(recurse=False), None) is not None
                 or next(module.buffers(recurse=False), None) is not None)]


def _dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown dtype {name!r}")
    return dtype


@dataclasses.dataclass
class INNR:
    """A network stored as a predictor plus what it needs beside it."""

    variant: VariantConfig
    budget: float  # the share of the model's float tensors' bits it was fitted within
    width: int
    predictor: OrderedDict[str, torch.Tensor]  # the predictor's state_dict
    shapes: OrderedDict[str, tuple[int, ...]]  # the represented tensors, in order
    dtypes: OrderedDict[str, torch.dtype]  # theirs in the model (the predictor fits in float32)
    mean: float
    std: float
    outlier_index: torch.Tensor  # int64 positions among the represented weights
    outlier_values: torch.Tensor
    others: OrderedDict[str, torch.Tensor]  # stored as they are
    tied: dict[str, str]  # a name whose tensor is another's -> that name
    order: list[str]  # the full state_dict's key order

    def _targets(self) -> Targets:
        return Targets.for_decoding(self.shapes, self.variant, self.mean, self.std,
                                    self.outlier_index, self.outlier_values)

    def _module(self, targets: Targets) -> nn.Module:
        with torch.device("meta"):  # no storage and no random draw for an init it replaces
            predictor = new_predictor(self.variant, targets, self.width)
        predictor.load_state_dict({k: v.clone() for k, v in self.predictor.items()}, assign=True)
        return predictor.eval()

    def module(self) -> nn.Module:
        """The predictor itself (for the faithful INNR, the SIREN), its weights loaded."""
        return self._module(self._targets())

    def rebuild(self) -> OrderedDict[str, torch.Tensor]:
        """The network's state_dict, as the predictor rebuilds it."""
        targets = self._targets()
        with torch.no_grad():
            outputs = self._module(targets)(targets.layout.coords)[None]
            kept = {k: v[0].to(self.dtypes[k]) for k, v in targets.decode(outputs).items()}
        kept.update(self.others)
        return OrderedDict((k, kept[self.tied.get(k, k)]) for k in self.order)

    def stored_bits(self) -> int:
        """Everything the INNR stores, in bits (innr.size): predictor, standardisation,
        outliers (value and index) and the other tensors at their own dtype's bits."""
        targets = self._targets()
        predictor = predictor_params(self.variant, targets, self.width)
        return predictor * BITS + targets.side_bits() + own_bits(self.others)

    def to_dict(self) -> dict:
        """The INNR as the file holds it: tensors, numbers and strings only."""
        return {"format": FORMAT, "variant": dataclasses.asdict(self.variant),
                "budget": self.budget, "width": self.width, "predictor": dict(self.predictor),
                "shapes": {k: list(s) for k, s in self.shapes.items()},
                "dtypes": {k: str(d).removeprefix("torch.") for k, d in self.dtypes.items()},
                "mean": self.mean, "std": self.std, "outlier_index": self.outlier_index,
                "outlier_values": self.outlier_values, "others": dict(self.others),
                "tied": dict(self.tied), "order": self.order}

    def save(self, path: str | Path) -> None:
        """Write the INNR to `path` (FORMAT), atomically."""
        buffer = io.BytesIO()
        torch.save(self.to_dict(), buffer)
        atomic_write_bytes(Path(path), buffer.getvalue())


def own_bits(tensors: Mapping[str, torch.Tensor]) -> int:
    """Tensors stored as they are, each value at its own dtype's bits."""
    return sum(t.numel() * t.element_size() * 8 for t in tensors.values())


def faithful(siren: Mapping[str, torch.Tensor], cfg: INNRConfig, mean: float, std: float,
             shapes: Mapping[str, tuple[int, ...]]) -> INNR:
    """The faithful INNR (innr.fit) of a network of float32 tensors `shapes` (all represented):
    its SIREN's state_dict and the weights' standardisation. Its budget is the share it stores:
    the fit had none of its own."""
    shapes = OrderedDict((k, tuple(s)) for k, s in shapes.items())
    stored = INNR(faithful_variant(cfg), 1.0, cfg.hidden, OrderedDict(siren), shapes,
                  OrderedDict((k, torch.float32) for k in shapes), float(mean), float(std),
                  torch.zeros(0, dtype=torch.int64), torch.zeros(0), OrderedDict(), {},
                  list(shapes))
    n = sum(math.prod(s) for s in shapes.values())
    return dataclasses.replace(stored, budget=stored.stored_bits() / (n * BITS))


def read_weights_file(path: str | Path) -> object:
    """What a network file holds, read with weights_only (no code in the file runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no network file at {path}")
    if path.stat().st_size == 0:
        raise INNRFileError(f"{path} is empty")
    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:  # torch.load raises a different error for each kind of junk
        raise INNRFileError(f"{path} is not a file torch.load reads as weights ({reason(e)})"
                            ) from None


def _siren_file(blob: dict) -> dict:
    """An "innr-siren/1" file's contents in FORMAT."""
    cfg = INNRConfig(**{k: blob[k] for k in ("hidden", "layers", "w0_initial", "w0", "c")})
    return faithful(blob["siren"], cfg, blob["mean"], blob["std"], blob["shapes"]).to_dict()


def load(path: str | Path) -> INNR:
    """An INNR file (FORMAT or one before it), read with weights_only: no code in it runs."""
    path = Path(path)
    blob = read_weights_file(path)
    if not isinstance(blob, dict) or "format" not in blob:
        raise INNRFileError(f"{path} is not an INNR file: it has no format (a CNN's weights? "
                            "innr.published.load_cnn reads those)")
    fmt = blob["format"]
    if fmt not in (FORMAT, OLD_FORMAT, SIREN_FORMAT):
        raise INNRFileError(f"{path} is of format {fmt!r}, not one this version reads "
                            f"({FORMAT}, {OLD_FORMAT}, {SIREN_FORMAT})")
    try:
        if fmt == SIREN_FORMAT:
            blob = _siren_file(blob)
        elif fmt == OLD_FORMAT:
            blob = {"dtypes": dict.fromkeys(blob.get("shapes", ()), "float32"), "tied": {},
                    **blob}
        missing = [f.name for f in dataclasses.fields(INNR) if f.name not in blob]
        if missing:
            raise INNRFileError(f"{path} is not a whole INNR file: it lacks {missing}")
        known = {f.name for f in dataclasses.fields(VariantConfig)}
        unknown = sorted(set(blob["variant"]) - known)
        if unknown:
            raise INNRFileError(f"{path} has variant settings this version does not know: "
                                f"{unknown}")
        stored = INNR(check_variant(VariantConfig(**blob["variant"]), str(path)),
                      float(blob["budget"]), int(blob["width"]), OrderedDict(blob["predictor"]),
                      OrderedDict((k, tuple(s)) for k, s in blob["shapes"].items()),
                      OrderedDict((k, _dtype(d)) for k, d in blob["dtypes"].items()),
                      float(blob["mean"]), float(blob["std"]), blob["outlier_index"],
                      blob["outlier_values"], OrderedDict(blob["others"]), dict(blob["tied"]),
                      list(blob["order"]))
        stored.module()  # the predictor's state_dict must fit its variant and width
    except INNRFileError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
        raise INNRFileError(f"{path} is not a valid INNR file ({reason(e)})") from None
    return stored


def _check_input_shape(model: nn.Module, input_shape: tuple[int, ...], device: torch.device,
                       dtype: torch.dtype) -> None:
    """A forward of two zero inputs in eval mode (no statistic updated, no draw), modes kept."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    x = torch.zeros((2, *input_shape), device=device, dtype=dtype)
    try:
        with torch.no_grad():
            model(x)
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        raise ValueError(f"input_shape {tuple(input_shape)} is not the shape of one input: the "
                         f"model fails on a batch of shape {tuple(x.shape)} ({reason(e)})"
                         ) from None
    finally:
        for m, mode in modes.items():
            m.training = mode


def compress(model: nn.Module, variant: VariantConfig | None = None, *, budget: float = 0.5,
             seed: int = 0, input_shape: tuple[int, ...] | None = None) -> INNR:
    """Fit an INNR of `model` within `budget` (a share of the bits of every float tensor its
    inference reads, at the weights' dtype, everything stored included: the side information
    and the tensors stored as they are; `variant.width` > 0 fixes the width instead, and must
    fit the budget too)."""
    if not 0 < budget <= 1:  # NaN fails both comparisons, so it is refused too
        raise ValueError(f"budget must be a share of the stored layers' bits in (0, 1], got "
                         f"{budget!r}")
    variant = check_variant(variant or VariantConfig(), "variant")
    tied = ties(model)
    state = OrderedDict((k, v.detach()) for k, v in model.state_dict().items() if k not in tied)
    names = represented(model)
    if not names:
        raise ValueError("the model has no Conv2d or Linear layer to store as an INNR")
    if variant.distill_steps and input_shape is None:
        raise ValueError("distillation draws synthetic inputs: pass input_shape, e.g. (1, 28, 28)")
    dtypes = {state[k].dtype for k in names}
    if len(dtypes) > 1:
        raise ValueError(f"the Conv2d and Linear layers mix dtypes {sorted(map(str, dtypes))}: "
                         "convert the model to one dtype first")
    dtype = dtypes.pop()
    device = next(model.parameters()).device
    if input_shape is not None:
        _check_input_shape(model, input_shape, device, dtype)
    kept = kept_layers(model)
    if kept:
        warnings.warn("innr.compress stores the layers that are not Conv2d or Linear as they "
                      f"are, not in the INNR (counted in stored_bits): {', '.join(kept)}",
                      stacklevel=2)
    chain = chain_of(model) if variant.permute else ()
    targets = Targets.of([OrderedDict((k, state[k]) for k in names)], variant, chain).to(device)
    others = OrderedDict((k, v.cpu().clone()) for k, v in state.items() if k not in names)
    n = sum(v.numel() for v in state.values() if v.is_floating_point())
    allowed = budget_bits(budget, n, torch.finfo(dtype).bits)
    left = allowed - targets.side_bits() - own_bits(others)
    if left < BITS:
        raise ValueError(f"a budget of {budget} allows {allowed} bits for {n} {dtype} values: "
                         f"nothing is left for the predictor beside the "
                         f"{allowed - left} bits stored as they are")
    width = width_for(variant, targets, left // BITS)
    needed = predictor_params(variant, targets, width) * BITS + allowed - left
    if needed > allowed:
        raise ValueError(f"width {width} stores {needed} bits, more than the {allowed} that a "
                         f"budget of {budget} allows for {n} {dtype} values: lower the width, "
                         "raise the budget, or set width 0 for the widest that fits")
    inputs = synthetic_inputs(variant.distill_inputs, input_shape) if input_shape else None
    stack, _ = fit(variant, targets, [seed], width, network=model, inputs=inputs)
    # everything the INNR keeps lives on the CPU, so that its file loads anywhere
    stored = targets.stored[0]
    flat_index = targets.outlier[0].nonzero().squeeze(1).cpu()
    # with permute, the represented tensors are the reordered ones; the others are per-network
    # (a norm layer between permuted layers would break the function: chain_of's declaration
    # is the model's promise that there is none)
    return INNR(variant, budget, width, OrderedDict((k, v.detach().cpu().clone()) for k, v in
                                                    stack.select(0).state_dict().items()),
                OrderedDict((k, tuple(v.shape)) for k, v in stored.items()),
                OrderedDict((k, dtype) for k in stored), float(targets.mean[0, 0]),
                float(targets.std[0, 0]), flat_index,
                targets.outlier_values[0].cpu()[flat_index].clone(), others, tied,
                list(model.state_dict()))
