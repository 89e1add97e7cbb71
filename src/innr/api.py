"""Store any network of Conv2d and Linear layers as an INNR, and rebuild it.

    import innr
    stored = innr.compress(model, innr.VariantConfig(), budget=0.5)   # fits, on model's device
    stored.save("model.innr")
    state_dict = innr.load("model.innr").rebuild()                      # model.load_state_dict(...)

Every Conv2d and Linear weight and bias is represented by the predictor (innr.target,
innr.variants); every other parameter or buffer (a norm layer's, say) is stored as it is, and
counted. With `permute`, the model must say which layers may be reordered together
(`permutable_chain()`, innr.permutations): the rebuilt state_dict is then a reordered network
that computes the same function. Distillation needs the shape of one input (`input_shape`).
"""

from __future__ import annotations

import dataclasses
import io
import pickle
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from innr.config import VariantConfig, check_variant
from innr.coordinates import Layout
from innr.permutations import chain_of
from innr.size import BITS, predictor_budget
from innr.store import atomic_write_bytes
from innr.target import Targets, layout_of
from innr.variants import fit, new_predictor, predictor_params, synthetic_inputs, width_for

FORMAT = "innr/1"


def represented(model: nn.Module) -> list[str]:
    """Names of the parameters the predictor stores: Conv2d and Linear weights and biases."""
    names = []
    for prefix, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            names += [f"{prefix}.{n}" if prefix else n
                      for n, p in module.named_parameters(recurse=False) if p is not None]
    return names


@dataclasses.dataclass
class INNR:
    """A network stored as a predictor plus what it needs beside it."""

    variant: VariantConfig
    budget: float
    width: int
    predictor: OrderedDict[str, torch.Tensor]  # the predictor's state_dict
    shapes: OrderedDict[str, tuple[int, ...]]  # the represented tensors, in order
    mean: float
    std: float
    outlier_index: torch.Tensor  # int64 positions among the represented weights
    outlier_values: torch.Tensor
    others: OrderedDict[str, torch.Tensor]  # stored as they are
    order: list[str]  # the full state_dict's key order

    def _targets(self) -> Targets:
        like = OrderedDict((k, torch.zeros(s)) for k, s in self.shapes.items())
        layout: Layout = layout_of(like, self.variant)
        n = sum(p.numel() for p in like.values())
        outlier = torch.zeros(1, n, dtype=torch.bool)
        outlier[0, self.outlier_index] = True
        values = torch.zeros(1, n)
        values[0, self.outlier_index] = self.outlier_values
        empty = torch.zeros(1, layout.rows * layout.head)
        return Targets(layout, empty, empty, torch.tensor([[self.mean]]),
                       torch.tensor([[self.std]]), outlier, values, [like])

    def rebuild(self) -> OrderedDict[str, torch.Tensor]:
        """The network's state_dict, as the predictor rebuilds it."""
        targets = self._targets()
        predictor = new_predictor(self.variant, targets, self.width)
        predictor.load_state_dict(self.predictor)
        with torch.no_grad():
            outputs = predictor(targets.layout.coords)[None]
            decoded = {k: v[0] for k, v in targets.decode(outputs).items()}
        return OrderedDict((k, decoded[k] if k in decoded else self.others[k])
                           for k in self.order)

    def stored_bits(self) -> int:
        """Everything the INNR stores, in bits (innr.size): predictor, standardisation,
        outliers (value and index) and the other tensors at 32 bits each."""
        targets = self._targets()
        predictor = predictor_params(self.variant, targets, self.width)
        return (predictor * BITS + targets.side_bits()
                + sum(t.numel() for t in self.others.values()) * BITS)

    def save(self, path: str | Path) -> None:
        blob = {"format": FORMAT, "variant": dataclasses.asdict(self.variant),
                "budget": self.budget, "width": self.width, "predictor": dict(self.predictor),
                "shapes": {k: list(s) for k, s in self.shapes.items()}, "mean": self.mean,
                "std": self.std, "outlier_index": self.outlier_index,
                "outlier_values": self.outlier_values, "others": dict(self.others),
                "order": self.order}
        buffer = io.BytesIO()
        torch.save(blob, buffer)
        atomic_write_bytes(Path(path), buffer.getvalue())


def load(path: str | Path) -> INNR:
    """An INNR saved by INNR.save (read with weights_only: no code in the file runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no INNR file at {path}")
    try:
        blob = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
        raise ValueError(f"{path} is not a readable INNR file ({str(e).splitlines()[0]})"
                         ) from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not an INNR file of format {FORMAT}")
    return INNR(check_variant(VariantConfig(**blob["variant"]), str(path)), blob["budget"],
                blob["width"], OrderedDict(blob["predictor"]),
                OrderedDict((k, tuple(s)) for k, s in blob["shapes"].items()), blob["mean"],
                blob["std"], blob["outlier_index"], blob["outlier_values"],
                OrderedDict(blob["others"]), list(blob["order"]))


def compress(model: nn.Module, variant: VariantConfig | None = None, *, budget: float = 0.5,
             seed: int = 0, input_shape: tuple[int, ...] | None = None) -> INNR:
    """Fit an INNR of `model` within `budget` (a share of the represented weights' bits, the
    side information included; `variant.width` > 0 fixes the width instead)."""
    variant = check_variant(variant or VariantConfig(), "variant")
    state = OrderedDict((k, v.detach()) for k, v in model.state_dict().items())
    names = represented(model)
    if not names:
        raise ValueError("the model has no Conv2d or Linear layer to store as an INNR")
    if variant.distill_steps and input_shape is None:
        raise ValueError("distillation draws synthetic inputs: pass input_shape, e.g. (1, 28, 28)")
    chain = chain_of(model) if variant.permute else ()
    device = next(model.parameters()).device
    targets = Targets.of([OrderedDict((k, state[k]) for k in names)], variant, chain).to(device)
    n = targets.outlier.shape[1]
    width = width_for(variant, targets, predictor_budget(budget, n, int(targets.outlier.sum())))
    inputs = synthetic_inputs(variant.distill_inputs, input_shape) if input_shape else None
    stack, _ = fit(variant, targets, [seed], width, network=model, inputs=inputs)
    # everything the INNR keeps lives on the CPU, so that its file loads anywhere
    stored = targets.stored[0]
    flat_index = targets.outlier[0].nonzero().squeeze(1).cpu()
    others = OrderedDict((k, v.cpu().clone()) for k, v in state.items() if k not in stored)
    # with permute, the represented tensors are the reordered ones; the others are per-network
    # (a norm layer between permuted layers would break the function: chain_of's declaration
    # is the model's promise that there is none)
    return INNR(variant, budget, width, OrderedDict((k, v.detach().cpu().clone()) for k, v in
                                                    stack.select(0).state_dict().items()),
                OrderedDict((k, tuple(v.shape)) for k, v in stored.items()),
                float(targets.mean[0, 0]), float(targets.std[0, 0]), flat_index,
                targets.outlier_values[0].cpu()[flat_index].clone(), others, list(state))
