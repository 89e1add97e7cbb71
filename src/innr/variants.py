"""Fitting an INNR variant: one predictor per network, many networks at once.

A variant (config.VariantConfig) is a coordinate scheme, a predictor, the preprocessing of
innr.target, a sampling rule and an optional distillation stage. Networks of one architecture
share the coordinates, so their predictors are fitted together: their parameters are stacked
(torch.func.stack_module_state) and one vmapped forward evaluates all of them, a batched matmul
per layer. Each network's loss is its own mean; their sum has, for each predictor, exactly that
predictor's gradient, and Adam acts elementwise, so a batched fit is the separate fits computed
together (tests hold it to that over 20 steps; the fit is chaotic beyond).

Stage 1 (reconstruction): `steps` of masked MSE on the standardised weights, full batch, or
mini-batches of `batch_rows` rows of which a share `magnitude_share` is drawn in proportion to
each row's L1 norm (NeRN: large kernels matter most) and the rest uniformly.
Stage 2 (distillation, Choi et al. 2024): `distill_steps` of KL(network || rebuilt network) on
synthetic inputs (never the data), plus `distill_mse` times the stage-1 loss over every row.

The faithful INNR is one point of this space, `faithful_variant(cfg.innr)`: the same targets,
predictor, decoding and loop (innr.steps.run_steps); innr.fit fits it one network at a time,
resumably, with innr.perf's fast step where it applies.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from innr.coding import prefixed
from innr.config import INNRConfig, VariantConfig
from innr.distil import distil, kl_loss
from innr.params import inference
from innr.predictors import build_predictor, predictor_size, width_for_budget
from innr.progress import Progress
from innr.quantise import levels, straight_through
from innr.runtime import seed_everything
from innr.size import BITS
from innr.steps import run_steps
from innr.target import Targets

# --- the predictor and its size --------------------------------------------------------------

def faithful_variant(innr: INNRConfig) -> VariantConfig:
    """The original's INNR as a point of the variant space: a per-weight SIREN of `innr`'s
    shape and frequencies, fitted full batch by Adam at a constant lr (innr.fit.fit_innr)."""
    return VariantConfig(scheme="weight", predictor="siren", depth=innr.layers,
                         width=innr.hidden, w0_initial=innr.w0_initial, w0=innr.w0, c=innr.c,
                         lr=innr.lr, lr_schedule="constant", steps=innr.steps)


def predictor_shape(variant: VariantConfig, targets: Targets, width: int) -> dict:
    return {"dim_in": targets.layout.coords.shape[1], "width": width, "depth": variant.depth,
            "dim_out": targets.layout.head}


def width_for(variant: VariantConfig, targets: Targets, budget: int) -> int:
    """The variant's width: as configured, or the widest whose parameters fit `budget`."""
    if variant.width:
        return variant.width
    shape = predictor_shape(variant, targets, 1)
    return width_for_budget(budget, variant.predictor, dim_in=shape["dim_in"],
                            depth=variant.depth, dim_out=shape["dim_out"], levels=variant.levels)


def predictor_params(variant: VariantConfig, targets: Targets, width: int) -> int:
    return predictor_size(variant.predictor, levels=variant.levels,
                        **predictor_shape(variant, targets, width))


def new_predictor(variant: VariantConfig, targets: Targets, width: int) -> nn.Module:
    return build_predictor(variant.predictor, w0_initial=variant.w0_initial, w0=variant.w0,
                           c=variant.c, encoding=variant.encoding, levels=variant.levels,
                           **predictor_shape(variant, targets, width))


# --- a predictor stored in fewer bits (Strümpler et al. 2022; COIN) ---------------------------
# Each parameter tensor is rounded to `bits` symmetric levels of one float32 scale (its max |w|);
# the fit sees the rounded predictor and its gradient passes straight through the rounding.

def predictor_bits(variant: VariantConfig, targets: Targets, width: int, bits: int = 0) -> int:
    """What the predictor stores: float32 parameters, or `bits` each plus a scale per tensor."""
    n = predictor_params(variant, targets, width)
    if not bits:
        return n * BITS
    tensors = len(list(new_predictor(variant, targets, 1).parameters()))
    return n * bits + tensors * BITS


def width_for_bits(variant: VariantConfig, targets: Targets, budget: int, bits: int = 0) -> int:
    """The widest predictor whose stored bits fit `budget` (after the targets' side bits)."""
    if not bits:
        return width_for(variant, targets, budget // BITS)
    tensors = len(list(new_predictor(variant, targets, 1).parameters()))
    return width_for(variant, targets, (budget - tensors * BITS) // bits)


@dataclass
class Stack:
    """M predictors of one shape: a template without storage and stacked parameters [M, ...]."""

    template: nn.Module
    params: dict[str, torch.Tensor]
    buffers: dict[str, torch.Tensor]
    bits: int = 0  # 0: float32 parameters; else each tensor rounded to `bits` bits

    @classmethod
    def init(cls, variant: VariantConfig, targets: Targets, width: int, seeds: list[int],
             device: torch.device, bits: int = 0) -> Stack:
        """Each predictor initialised from its own seed, as a separate fit would be."""
        models = []
        for seed in seeds:
            seed_everything(seed)
            models.append(new_predictor(variant, targets, width).to(device))
        params, buffers = torch.func.stack_module_state(models)
        return cls(copy.deepcopy(models[0]).to("meta"), params, buffers, bits)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x [M, B, dims] -> outputs [M, B, head], predictor m on its own rows."""
        def one(p, b, xm):
            if self.bits:
                p = {k: straight_through(v, self.bits, per_channel=False) for k, v in p.items()}
            return torch.func.functional_call(self.template, (p, b), (xm,))
        return torch.vmap(one)(self.params, self.buffers, x)

    def payload(self, m: int) -> dict[str, torch.Tensor]:
        """What predictor m stores (predictor_payload)."""
        return predictor_payload({k: v[m] for k, v in self.params.items()}, self.bits)

    def select(self, m: int) -> nn.Module:
        """Predictor m as an ordinary module (detached copy; rounded as it is stored)."""
        module = copy.deepcopy(self.template).to_empty(device=next(iter(self.params.values()))
                                                      .device)
        params = {k: v[m].detach() for k, v in self.params.items()}
        if self.bits:
            params = {k: straight_through(v, self.bits, per_channel=False)
                      for k, v in params.items()}
        module.load_state_dict({**params, **{k: v[m] for k, v in self.buffers.items()}})
        return module


# --- predictors of several widths and bit widths, fitted as one stack ------------------------
# Each member's parameters sit in a corner of the widest member's shapes, the rest held at zero:
# a mask multiplies them in the forward pass, so their gradient is zero and Adam (elementwise)
# never moves them, and a unit whose weights are zero adds nothing to the next layer. A member
# is stored trimmed to its own width (`payload`), in `bits` a parameter with one float32 scale
# per tensor (the rule of `predictor_bits`: a scale per row would cost 32 / (width * bits) of
# every layer again, a quarter at width 64 and 2 bits). The padded matmuls sum over the wider
# length, which BLAS may group otherwise than the member's own: a padded fit equals the
# one-at-a-time fit to rounding; with no padding (equal widths), to the bit.

def rounded(p: torch.Tensor, top: torch.Tensor) -> torch.Tensor:
    """straight_through(p, bits, per_channel=False) with its largest code `top` a tensor (so
    that it may differ across a vmapped stack); `top` 0: p itself (float32)."""
    scale = p.detach().abs().amax() / top.clamp(min=1)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero tensor
    q = (p / scale).round().clamp(-top, top) * scale
    return torch.where(top > 0, p + (q - p).detach(), p)


def corner(shape: torch.Size) -> tuple[slice, ...]:
    return tuple(slice(0, n) for n in shape)


@dataclass
class Padded(Stack):
    """Predictors of one variant but several widths and bit widths: each padded to the widest."""

    masks: dict[str, torch.Tensor] = field(default_factory=dict)  # [M, ...] 1 on its own
    tops: torch.Tensor = field(default_factory=lambda: torch.zeros(0))  # [M] largest code, 0: f32
    members: list[nn.Module] = field(default_factory=list)  # each member's own shapes (meta)
    member_bits: list[int] = field(default_factory=list)  # each member's bits, 0: float32

    @classmethod
    def init(cls, variant: VariantConfig, targets: Targets, widths: list[int], seeds: list[int],
             device: torch.device, bits: list[int], width: int = 0) -> Padded:
        """Member m of width widths[m], stored in bits[m] (0: float32), initialised from
        seeds[m] as its own fit would be, then padded with zeros to the widest (or `width`)."""
        with torch.device("meta"):
            template = new_predictor(variant, targets, max(*widths, width))
        params, masks, members, buffers = [], [], [], []
        for seed, own_width in zip(seeds, widths, strict=True):
            seed_everything(seed)
            model = new_predictor(variant, targets, own_width).to(device)
            own = dict(model.named_parameters())
            params.append({}), masks.append({})
            for name, wide in template.named_parameters():
                params[-1][name] = torch.zeros(wide.shape, device=device)
                params[-1][name][corner(own[name].shape)] = own[name].detach()
                masks[-1][name] = torch.zeros(wide.shape, device=device)
                masks[-1][name][corner(own[name].shape)] = 1.0
            buffers.append(dict(model.named_buffers()))
            members.append(model.to("meta"))
        tops = torch.tensor([levels(b) if b else 0 for b in bits], dtype=torch.float32,
                            device=device)
        leaves = {k: v.requires_grad_() for k, v in stacked(params).items()}
        return cls(template, leaves, stacked(buffers) if buffers[0] else {}, 0,
                   stacked(masks), tops, members, list(bits))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        def one(p, b, mask, top, xm):
            p = {k: rounded(v * mask[k], top) for k, v in p.items()}
            return torch.func.functional_call(self.template, (p, b), (xm,))
        return torch.vmap(one)(self.params, self.buffers, self.masks, self.tops, x)

    def own(self, m: int) -> dict[str, torch.Tensor]:
        """Member m's parameters at its own width, before rounding."""
        shapes = dict(self.members[m].named_parameters())
        return {k: v[m][corner(shapes[k].shape)].detach() for k, v in self.params.items()}

    def select(self, m: int) -> nn.Module:
        """Member m as an ordinary module of its own width (rounded as it is stored)."""
        device = next(iter(self.params.values())).device
        module = copy.deepcopy(self.members[m]).to_empty(device=device)
        top = self.tops[m]
        params = {k: rounded(v, top) for k, v in self.own(m).items()}
        module.load_state_dict({**params, **{k: v[m] for k, v in self.buffers.items()}})
        return module

    def payload(self, m: int) -> dict[str, torch.Tensor]:
        """What member m's predictor stores (predictor_payload)."""
        return predictor_payload(self.own(m), self.member_bits[m])


def predictor_payload(params: dict[str, torch.Tensor], bits: int = 0) -> dict[str, torch.Tensor]:
    """What a predictor stores, per tensor NAME: predictor/NAME/codes (`bits` each, int8) and
    predictor/NAME/scales (one float32), or (`bits` 0) predictor/NAME, its float32 parameters;
    the bits of `predictor_bits`."""
    out = {}
    for name, p in params.items():
        if not bits:
            out[f"predictor/{name}"] = p.detach().float().cpu()
            continue
        codes, scale = symmetric_codes(p, bits)
        out.update(prefixed(f"predictor/{name}", {"codes": codes.cpu(), "scales": scale.cpu()}))
    return out


def side_payload(targets: Targets, m: int) -> dict[str, torch.Tensor]:
    """What network m stores beside its predictor (Targets.side_bits): the standardisation,
    the outliers (their indices in the smallest integer dtype that holds them) and the vectors
    (float32, under their own names)."""
    where = targets.outlier[m].nonzero().flatten().cpu()
    n = targets.outlier.shape[1]
    index = torch.int16 if n <= 2 ** 15 else torch.int32
    return {"mean": targets.mean[m].float().cpu(), "std": targets.std[m].float().cpu(),
            "outliers/index": where.to(index),
            "outliers/values": targets.outlier_values[m, where].float().cpu(),
            **{k: v[m].float().cpu() for k, v in targets.vectors.items()}}


def symmetric_codes(p: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The int8 codes and float32 scale (one per tensor) that symmetric(p, bits,
    per_channel=False) stores: codes * scale is its value to the bit."""
    top = levels(bits)
    scale = p.detach().abs().amax() / top
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (p.detach() / scale).round().clamp(-top, top).to(torch.int8), scale.float()


def rebuild_members(stack: Padded, targets: Targets) -> list[dict[str, torch.Tensor]]:
    """Each member's weights as its stored predictor (own width, rounded) rebuilds them."""
    with torch.no_grad():
        outputs = torch.stack([stack.select(m)(targets.layout.coords)
                               for m in range(len(targets))])
        decoded = targets.decode(outputs)
    return [{k: v[m] for k, v in decoded.items()} for m in range(len(targets))]


# --- losses ----------------------------------------------------------------------------------

def weight_loss(outputs: torch.Tensor, values: torch.Tensor, weight: torch.Tensor
                ) -> torch.Tensor:
    """[M] each network's mean squared error over the slots that count."""
    return ((outputs - values) ** 2 * weight).sum(1) / weight.sum(1)


def batched_logits(network: nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor
                   ) -> torch.Tensor:
    """network's architecture run with stacked params [M, ...] on inputs [M, B, ...]."""
    def one(p, xm):
        return torch.func.functional_call(network, p, (xm,))
    return torch.vmap(one)(params, x)


def distill_loss(stack: Stack, targets: Targets, network: nn.Module, x: torch.Tensor,
                 mse_weight: float, teacher_params: dict[str, torch.Tensor] | None = None
                 ) -> torch.Tensor:
    """[M] KL between each network and its rebuilt self on inputs x [M, B, ...], plus the
    weight loss times `mse_weight`. `teacher_params`: stacked(targets.stored), when the caller
    has it already."""
    coords = targets.layout.coords.expand(len(targets), -1, -1)
    outputs = stack(coords)
    rebuilt = targets.decode(outputs)
    with torch.no_grad():
        teacher = batched_logits(network, teacher_params or stacked(targets.stored), x)
    kl = kl_loss(teacher, batched_logits(network, rebuilt, x))
    return kl + mse_weight * weight_loss(outputs.reshape(len(targets), -1), targets.values,
                                         targets.weight)


def stacked(networks: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([p[k] for p in networks]) for k in networks[0]}


SyntheticInputs = Callable[[torch.Generator, int], torch.Tensor]


def synthetic_inputs(kind: str, shape: tuple[int, ...], mean: float = 0.0, std: float = 1.0
                     ) -> SyntheticInputs:
    """Inputs that are not data: N(0, 1) in the normalised space, or uniform pixels normalised
    by (mean, std) like the data would be."""
    def draw(g: torch.Generator, batch: int) -> torch.Tensor:
        if kind == "gaussian":
            return torch.randn((batch, *shape), generator=g)
        return (torch.rand((batch, *shape), generator=g) - mean) / std
    return draw


# --- the fit ---------------------------------------------------------------------------------

def _optimizer(variant: VariantConfig, params, lr: float, steps: int):
    cls = torch.optim.AdamW if variant.optimizer == "adamw" else torch.optim.Adam
    kwargs = {"weight_decay": 1e-4} if variant.optimizer == "adamw" else {}
    opt = cls(params, lr=lr, **kwargs)
    if variant.lr_schedule == "cosine":
        schedule = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    else:
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    return opt, schedule


def _rows(variant: VariantConfig, rows: int, magnitude: torch.Tensor,
          generators: list[torch.Generator]) -> torch.Tensor:
    """[M, batch_rows] row indices of one mini-batch per network, from its own generator;
    `magnitude`: [M, rows] on the CPU, where the generators draw."""
    batch = variant.batch_rows
    by_magnitude = round(variant.magnitude_share * batch)
    picks = []
    for m, g in enumerate(generators):
        uniform = torch.randint(rows, (batch - by_magnitude,), generator=g)
        weighted = torch.multinomial(magnitude[m], by_magnitude, replacement=True, generator=g)
        picks.append(torch.cat([weighted, uniform]))
    return torch.stack(picks)


def sampled_weight_loss(variant: VariantConfig, targets: Targets, stack: Stack,
                        magnitude: torch.Tensor | None, generators: list[torch.Generator]
                        ) -> torch.Tensor:
    """[M] each network's weight loss on one mini-batch of `batch_rows` rows (drawn as
    `_rows` does; `magnitude`: targets.row_magnitude() on the CPU), or on every row."""
    M, head = len(targets), targets.layout.head
    if not variant.batch_rows:
        return weight_loss(stack(targets.layout.coords.expand(M, -1, -1)).reshape(M, -1),
                           targets.values, targets.weight)
    device = targets.values.device
    rows = _rows(variant, targets.layout.rows, magnitude, generators).to(device)
    slots = (rows[..., None] * head + torch.arange(head, device=device)).reshape(M, -1)
    outputs = stack(targets.layout.coords[rows]).reshape(M, -1)
    return weight_loss(outputs, targets.values.gather(1, slots), targets.weight.gather(1, slots))


def reconstruction_step(variant: VariantConfig, targets: Targets, stack: Stack,
                        opt: torch.optim.Optimizer, generators: list[torch.Generator]
                        ) -> Callable[[], torch.Tensor]:
    """One stage-1 step for every network at once; returns the [M] losses (no host sync)."""
    magnitude = targets.row_magnitude().cpu() if variant.batch_rows else None  # fixed: once

    def step() -> torch.Tensor:
        losses = sampled_weight_loss(variant, targets, stack, magnitude, generators)
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
        return losses.detach()
    return step


def fit(variant: VariantConfig, targets: Targets, seeds: list[int], width: int,
        network: nn.Module | None = None, inputs: SyntheticInputs | None = None,
        label: str = "INNR", log_every: int = 50, bits: int = 0, stack: Stack | None = None
        ) -> tuple[Stack, dict]:
    """Fit one predictor per network of `targets`, predictor m initialised from seeds[m].
    Distillation needs the networks' architecture (`network`) and an input sampler; `bits`:
    the predictor stored in that many bits per parameter, fitted through the rounding;
    `stack`: predictors initialised already (a Padded one), in place of Stack.init's."""
    if variant.distill_steps and (network is None or inputs is None):
        raise ValueError("distillation needs the network's architecture and an input sampler")
    device = targets.values.device
    if stack is None:
        stack = Stack.init(variant, targets, width, seeds, device, bits)
    generators = [torch.Generator().manual_seed(s + 1) for s in seeds]
    M = len(targets)
    history = {"step": [], "loss": [], "distill_step": [], "distill_loss": []}
    total = variant.steps + variant.distill_steps
    progress = Progress(f"{label} x{M}", total, "step")
    start = time.perf_counter()
    opt, schedule = _optimizer(variant, list(stack.params.values()), variant.lr, variant.steps)

    def logged(step: int, losses: torch.Tensor) -> None:
        history["step"].append(step)
        history["loss"].append(losses[-1].tolist())
        progress.update(step, f"loss {losses[-1].mean():.3g}")
    run_steps(reconstruction_step(variant, targets, stack, opt, generators), variant.steps,
              (log_every,), logged, seeds=seeds, stage="reconstruction",
              hint="lower the variant's lr", schedule=schedule, progress=progress)
    if variant.distill_steps:
        teacher = stacked(targets.stored)
        opt, schedule = _optimizer(variant, list(stack.params.values()), variant.distill_lr,
                                   variant.distill_steps)

        def losses() -> torch.Tensor:
            x = torch.stack([inputs(g, variant.distill_batch) for g in generators]).to(device)
            return distill_loss(stack, targets, network, x, variant.distill_mse, teacher)

        def logged(step: int, losses: torch.Tensor) -> None:
            history["distill_step"].append(step)
            history["distill_loss"].append(losses.tolist())
            progress.update(variant.steps + step, f"KL+MSE {losses.mean():.3g}")
        with inference(network):  # batch-norm by its stored statistics (innr.distil)
            distil(losses, opt, variant.distill_steps, seeds, schedule, log_every, logged)
    progress.close()
    history["seconds"] = time.perf_counter() - start
    return stack, history


def rebuild_one(predictor: nn.Module, targets: Targets) -> dict[str, torch.Tensor]:
    """The weights of the one network of `targets` as `predictor` rebuilds them."""
    with torch.no_grad():
        decoded = targets.decode(predictor(targets.layout.coords)[None])
    return {k: v[0] for k, v in decoded.items()}


def rebuild(stack: Stack, targets: Targets) -> list[dict[str, torch.Tensor]]:
    """Each network's weights as its predictor rebuilds them (the stored, permuted, layout)."""
    with torch.no_grad():
        decoded = targets.decode(stack(targets.layout.coords.expand(len(targets), -1, -1)))
    return [{k: v[m] for k, v in decoded.items()} for m in range(len(targets))]
