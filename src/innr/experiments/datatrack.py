"""NeRN's setting (Ashkenazi et al., ICLR 2023, arXiv:2212.13554): a second track, whose methods
use the training images, judged by its own criteria (experiments/criteria.toml's [data_track])
and never mixed with the data-free frontier.

    python -m innr.experiments.datatrack --config experiments/quick.toml

At each budget of [datatrack] (a share of the CNN's float32 bits, every tensor its inference
reads), a method stores the CNN in a coded file (innr.coding, everything stored counted, the
vectors in float32) of at most that many bits, and trains for the same steps on batches of the
same size, drawn in the same order from the same first `images` training images:
- "nern": a kernel-wise INNR of the weights (ablation.base, or the ablation's chosen variant), as
  wide as the budget allows, fitted on NeRN's losses: weight reconstruction on a batch of kernels
  (a share drawn by magnitude: NeRN's sampling), KL(CNN || rebuilt) on the logits, and the MSE
  of the normalised feature maps of the architecture's blocks; its vectors are the CNN's;
- "pruned_finetuned": the weights pruned by global magnitude to the budget (innr.methods'
  "pruned"), then fine-tuned on the labels with the mask fixed (torch.nn.utils.prune);
- "qat": per-channel symmetric k-bit weights (innr.methods' "quantised"; k the largest that
  fits, 2 to 8), trained from the CNN on the labels through the straight-through estimator;
- "scratch": the architecture narrowed to fit, trained from scratch by the config's CNN recipe
  (in whole epochs: at least the steps; the steps it ran are recorded).
Everything chosen is chosen on the validation split: each method's learning rate (of
datatrack.lrs; scratch's of datatrack.scratch_lrs, or its recipe's own), on the selection CNNs
(ablation.selection_seeds, trained on the training images before the dataset's validation part,
which scores them), as the frontier's stage 3 chooses, into
RESULTS/<config>/datatrack/selection/<method>/<budget>_seed<s>.json (val_accuracy, chosen,
candidates); then each point on the claims' CNNs at its chosen rate, scored on the test split,
into RESULTS/<config>/datatrack/<method>/<budget>_seed<s>.json. A finished file is skipped.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize, prune

from innr import cli, compute
from innr.architectures import cnn_of
from innr.budget import largest
from innr.coding import coded_bytes
from innr.config import Config, ConfigError, VariantConfig, load_config, variant_of
from innr.coordinates import unflatten_params
from innr.distil import kl_loss
from innr.experiments.common import start
from innr.experiments.workbench import (
    Clock,
    Workbench,
    best_option,
    budget_label,
    envelope,
    evaluate,
    mean_accuracies,
)
from innr.fit import Split, get_cnn, rebuilt_classifier
from innr.methods import Compressed, Compression, get
from innr.metrics import Classifier, logits_of
from innr.params import inference_tensors, n_values, vector_bits, vectors_of, weights_of
from innr.progress import Progress, time_left
from innr.prune import mask_of, positions
from innr.quantise import straight_through
from innr.size import BITS, budget_bits
from innr.steps import DivergenceError, run_steps
from innr.store import read_json, write_json
from innr.target import Targets
from innr.variants import (
    Stack,
    new_predictor,
    predictor_bits,
    predictor_payload,
    sampled_weight_loss,
    side_payload,
    width_for_bits,
)

SELECT, REPORT = "select", "report"  # the stages (innr.experiments.workbench)
LOG_EVERY = 50  # steps between the loss checks (innr.steps.run_steps)
QAT_BITS = range(2, 9)  # symmetric codes -top..top: torch's per-channel fake quantiser's grid


@dataclass(frozen=True)
class Job:
    """One method trained at one budget on one CNN (stage and seed) at one learning rate."""

    stage: str
    seed: int
    budget: float
    lr: float


@dataclass
class Trained:
    """What a method made: the network as it runs, the tensors it runs with, what it stores
    (innr.coding packs it) and its raw bits, its setting and the steps it trained for."""

    network: Classifier
    params: dict[str, torch.Tensor]
    stored: dict[str, torch.Tensor]
    stored_bits: int
    setting: dict
    steps: int


def head(split: Split, n: int) -> Split:
    """The first n examples of `split` (all of them when n is 0)."""
    if n <= 0:
        return split
    return Split(split.inputs[:n], split.pixels[:n], split.labels[:n], split.dataset)


# --- NeRN's losses -----------------------------------------------------------------------------

def blocks(model: nn.Module) -> list[nn.Module]:
    """The modules whose outputs feature-map distillation compares: the network's top-level
    modules, a container's (nn.Sequential, nn.ModuleList: a ResNet's stage) members in its place;
    of these, those whose output is a feature map [B, C, H, W] (`feature_maps` keeps only
    those)."""
    out = []
    for child in model.children():
        out += list(child) if isinstance(child, nn.Sequential | nn.ModuleList) else [child]
    return out


def feature_maps(model: nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor
                 ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The logits of `model`'s architecture run with `params` on x, and its blocks' feature
    maps (forward hooks; each copied, so that a later in-place activation leaves it alone)."""
    maps: list[torch.Tensor] = []

    def keep(module, inputs, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4:
            maps.append(output.clone())
    hooks = [b.register_forward_hook(keep) for b in blocks(model)]
    try:
        logits = torch.func.functional_call(model, params, (x,))
    finally:
        for h in hooks:
            h.remove()
    return logits, maps


def feature_loss(teacher: Sequence[torch.Tensor], student: Sequence[torch.Tensor]
                 ) -> torch.Tensor:
    """The mean over blocks of the MSE between each image's feature map and the CNN's, each
    flattened and scaled to unit L2 norm (NeRN's feature-map distillation)."""
    terms = [F.mse_loss(F.normalize(s.flatten(1), dim=1), F.normalize(t.flatten(1), dim=1))
             for t, s in zip(teacher, student, strict=True)]
    return torch.stack(terms).mean() if terms else torch.zeros(())


@dataclass
class NeRN:
    """A kernel-wise INNR of one CNN and its three losses (NeRN, sec. 3)."""

    cnn: nn.Module
    variant: VariantConfig
    targets: Targets
    stack: Stack
    vectors: dict[str, torch.Tensor]  # the CNN's, float32: stored as they are
    generator: torch.Generator  # draws the kernels of each step
    width: int  # the predictor's

    def rebuilt(self) -> dict[str, torch.Tensor]:
        """The tensors the rebuilt network runs with: the predicted weights, the CNN's vectors."""
        coords = self.targets.layout.coords[None]
        return {**{k: v[0] for k, v in self.targets.decode(self.stack(coords)).items()},
                **self.vectors}

    def terms(self, x: torch.Tensor, magnitude: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The three losses on images x: weight reconstruction (on a batch of kernels),
        KL(CNN || rebuilt) on the logits, feature-map distillation."""
        reconstruction = sampled_weight_loss(self.variant, self.targets, self.stack, magnitude,
                                             [self.generator])[0]
        with torch.no_grad():
            teacher, teacher_maps = feature_maps(self.cnn, inference_tensors(self.cnn), x)
        student, student_maps = feature_maps(self.cnn, self.rebuilt(), x)
        return {"reconstruction": reconstruction, "distillation": kl_loss(teacher, student),
                "feature_maps": feature_loss(teacher_maps, student_maps)}


# --- the track's training --------------------------------------------------------------------

class Track:
    """The data track of one config: its Workbench (data and CNNs per stage) and the training
    every method shares."""

    def __init__(self, bench: Workbench):
        self.bench, self.config = bench, bench.config
        self.key = self.config.datatrack_hash()

    def cnn(self, job: Job) -> nn.Module:
        return self.bench.cnn(job.seed, job.stage)[0]

    def images(self, stage: str) -> Split:
        """The training images every method may use: the first `images` of the stage's."""
        return head(self.bench.splits(stage)[0], self.config.datatrack.images)

    def allowed(self, job: Job) -> int:
        """The budget in bits: its share of the CNN's float32 bits, every inference tensor."""
        return budget_bits(job.budget, n_values(self.cnn(job)))

    def train(self, job: Job, params: list[torch.Tensor],
              loss_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], label: str,
              step_flops: int) -> None:
        """datatrack.steps of Adam at job.lr (cosine to 0) on `loss_of(images, labels)`, each
        step on a batch of the track's images drawn from a generator of the seed: the same
        batches for every method; each step's work, `step_flops` (counted from the shapes),
        goes to innr.compute's meter."""
        d = self.config.datatrack
        train = self.images(job.stage)
        g = torch.Generator().manual_seed(job.seed)
        opt = torch.optim.Adam(params, lr=job.lr)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / d.steps)))
        progress = Progress(f"{label} {job.budget:.0%} seed {job.seed}", d.steps, "step")

        def step() -> torch.Tensor:
            idx = torch.randint(len(train.labels), (d.batch_size,), generator=g)
            idx = idx.to(train.labels.device)
            loss = loss_of(train.inputs[idx], train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            compute.add(step_flops)
            return loss.detach()

        def logged(done: int, losses: torch.Tensor) -> None:
            progress.update(done, f"loss {losses[-1]:.3g}")
        run_steps(step, d.steps, (LOG_EVERY,), logged, seeds=[job.seed], stage=label,
                  hint="drop that learning rate from datatrack.lrs", schedule=schedule,
                  progress=progress)
        progress.close()

    def training_flops(self, job: Job, network: nn.Module) -> int:
        """A step of training `network` (the CNN's architecture) on a batch of the track's
        images: each image's forward and backward pass."""
        shape = tuple(self.images(job.stage).inputs.shape[1:])
        return self.config.datatrack.batch_size * compute.training_flops(network, shape)

    def lrs(self, method: str) -> tuple[float, ...]:
        """The learning rates `method` chooses among: datatrack.lrs (Adam's); the narrow network
        from scratch, trained by the CNN's recipe (its own optimizer), datatrack.scratch_lrs or
        else the recipe's own rate."""
        d = self.config.datatrack
        if method == "scratch":
            return d.scratch_lrs or (self.config.cnn.lr,)
        return d.lrs

    def variant(self) -> VariantConfig:
        """nern's predictor: ablation.base or the ablation's chosen variant, with NeRN's
        kernel sampling."""
        base = self.config.ablation.base
        if self.config.datatrack.variant == "best":
            selection = read_json(self.bench.store.root / "ablation" / "selection.json")
            if selection is None:
                raise ConfigError("datatrack.variant 'best' needs the ablation's selection: "
                                  "run the ablation (or the frontier) first")
            base = variant_of(VariantConfig(), selection["best"])
        d = self.config.datatrack
        return variant_of(base, {"batch_rows": d.kernels, "magnitude_share": d.magnitude_share,
                                 "distill_steps": 0})


def fitted(method: Compression, params: dict, allowed: int, settings: Sequence
           ) -> Compressed | None:
    """`method` at its largest setting of `settings` whose coded file (its weights compressed,
    the vectors in float32: Compression.encode) fits `allowed` bits (innr.budget.largest);
    None where none does."""
    i = largest(lambda i: 8 * coded_bytes(method.encode(params, settings[i]).stored) <= allowed,
                0, len(settings) - 1)
    return None if i is None else method.encode(params, settings[i])


def split_name(name: str) -> tuple[str, str]:
    """'layer1.0.conv1.weight' -> ('layer1.0.conv1', 'weight'): a tensor's module and name."""
    module, _, attr = name.rpartition(".")
    return module, attr


# --- the methods -------------------------------------------------------------------------------

def nern_model(track: Track, job: Job) -> NeRN | None:
    """The kernel-wise INNR of the job's CNN before its fit, its predictor as wide as the coded
    file allows (None where no predictor fits)."""
    cnn = track.cnn(job)
    params = inference_tensors(cnn)
    vectors = vectors_of(params)
    variant, device = track.variant(), track.bench.device
    targets = Targets.of([weights_of(params)], variant).to(device)
    allowed = track.allowed(job)

    def size(width: int) -> int:  # float32: the coded size does not depend on the values
        predictor = new_predictor(variant, targets, width)
        return 8 * coded_bytes({**predictor_payload(dict(predictor.named_parameters())),
                                **side_payload(targets, 0), **vectors})
    try:  # the widest by raw bits, then narrower while the coded file's header does not fit
        widest = width_for_bits(variant, targets,
                                allowed - targets.side_bits() - vector_bits(params))
    except ValueError:  # not even the narrowest predictor
        return None
    width = largest(lambda w: size(w) <= allowed, 1, widest)
    if width is None:
        return None
    return NeRN(cnn, variant, targets, Stack.init(variant, targets, width, [job.seed], device),
                vectors, torch.Generator().manual_seed(job.seed + 1), width)


def nern_step_flops(track: Track, job: Job, model: NeRN) -> int:
    """One step of NeRN's losses: the predictor over every kernel (the rebuilt weights) and
    over the sampled ones (reconstruction), forward and backward; the CNN's forward pass
    (the teacher) and the rebuilt network's training pass on the batch."""
    predictor = compute.built_on_meta(lambda: new_predictor(model.variant, model.targets,
                                                            model.width))
    rows, dim_in = model.targets.layout.coords.shape
    sampled = model.variant.batch_rows or rows
    shape = tuple(track.images(job.stage).inputs.shape[1:])
    batch = track.config.datatrack.batch_size
    return (compute.fit_step_flops(predictor, rows, dim_in)
            + compute.fit_step_flops(predictor, sampled, dim_in)
            + batch * compute.forward_flops(model.cnn, shape)
            + track.training_flops(job, model.cnn))


def nern(track: Track, job: Job) -> Trained | None:
    """The kernel-wise INNR fitted on NeRN's losses, weighted as datatrack says."""
    d = track.config.datatrack
    model = nern_model(track, job)
    if model is None:
        return None
    targets, width = model.targets, model.width
    magnitude = targets.row_magnitude().cpu() if model.variant.batch_rows else None
    weights = {"reconstruction": d.reconstruction, "distillation": d.distillation,
               "feature_maps": d.feature_maps}

    def loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        terms = model.terms(x, magnitude)
        return sum(weights[k] * terms[k] for k in weights)
    track.train(job, list(model.stack.params.values()), loss, "nern", nern_step_flops(
        track, job, model))
    with torch.no_grad():
        final = model.rebuilt()
    stored = {**model.stack.payload(0), **side_payload(targets, 0), **model.vectors}
    bits = (predictor_bits(model.variant, targets, width) + targets.side_bits()
            + vector_bits(model.vectors))
    return Trained(rebuilt_classifier(model.cnn, final), final, stored, bits, {"width": width},
                   d.steps)


def pruned_finetuned(track: Track, job: Job) -> Trained | None:
    """Global magnitude pruning to the budget, then fine-tuning on the labels, mask fixed."""
    cnn = track.cnn(job)
    params = inference_tensors(cnn)
    weights = weights_of(params)
    method = get("pruned")
    c = fitted(method, params, track.allowed(job), method.settings(weights))
    if c is None:
        return None
    n = sum(w.numel() for w in weights.values())
    mask = mask_of(c.stored, n)
    masks = unflatten_params(mask.float(), weights)
    model = copy.deepcopy(cnn)
    modules = dict(model.named_modules())
    for name in weights:  # weight = weight_orig * mask: the pruned ones stay zero
        module, attr = split_name(name)
        prune.custom_from_mask(modules[module], attr, masks[name].bool())
    model.train()
    track.train(job, list(model.parameters()), lambda x, y: F.cross_entropy(model(x), y),
                "pruned_finetuned", track.training_flops(job, cnn))
    for name in weights:
        module, attr = split_name(name)
        prune.remove(modules[module], attr)
    model.eval()
    final = inference_tensors(model)
    kept = torch.cat([w.reshape(-1) for w in weights_of(final).values()])[mask]
    stored = {"values": kept, **positions(mask), **vectors_of(final)}
    return Trained(model, final, stored, c.bits, {"keep": c.setting["keep"]},
                   track.config.datatrack.steps)


class STE(nn.Module):
    """A weight's per-channel symmetric k-bit value forward, the identity's gradient backward
    (innr.quantise.straight_through)."""

    def __init__(self, bits: int):
        super().__init__()
        self.bits = bits

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return straight_through(w, self.bits)


def qat(track: Track, job: Job) -> Trained | None:
    """Quantisation-aware training from the CNN at the largest k bits that fit."""
    cnn = track.cnn(job)
    params = inference_tensors(cnn)
    weights = weights_of(params)
    method = get("quantised")
    c = fitted(method, params, track.allowed(job), list(QAT_BITS))
    if c is None:
        return None
    bits = c.setting["bits"]
    model = copy.deepcopy(cnn)
    modules = dict(model.named_modules())
    for name in weights:
        module, attr = split_name(name)
        parametrize.register_parametrization(modules[module], attr, STE(bits))
    model.train()
    track.train(job, list(model.parameters()), lambda x, y: F.cross_entropy(model(x), y), "qat",
                track.training_flops(job, cnn))
    for name in weights:  # back to the latent float weights, which the codes are taken from
        module, attr = split_name(name)
        parametrize.remove_parametrizations(modules[module], attr, leave_parametrized=False)
    model.eval()
    final = inference_tensors(model)
    q = method.encode(final, bits)  # the values the forward pass saw, exactly; its vectors
    return Trained(rebuilt_classifier(model, q.params), q.params, q.stored, q.bits,
                   {"bits": bits}, track.config.datatrack.steps)


def scratch(track: Track, job: Job) -> Trained | None:
    """The architecture narrowed to fit the budget, trained from scratch by the CNN's recipe
    at job.lr on the track's images and batch size, for the whole epochs that hold the steps."""
    d = track.config.datatrack
    train, held_out = track.images(job.stage), track.bench.splits(job.stage)[1]
    recipe = track.bench.stage_config(job.stage)
    per_epoch = math.ceil(len(train.labels) / d.batch_size)
    epochs = math.ceil(d.steps / per_epoch)

    def narrow(channels: int) -> Config:
        return dataclasses.replace(
            recipe, data=dataclasses.replace(recipe.data, train_limit=len(train.labels)),
            cnn=dataclasses.replace(recipe.cnn, channels=channels, lr=job.lr, epochs=epochs,
                                    batch_size=d.batch_size))

    def size(channels: int) -> int:  # float32: zeros of its shapes code to the same size
        with torch.device("meta"):
            shapes = inference_tensors(cnn_of(narrow(channels)))
        return 8 * coded_bytes({k: torch.zeros(v.shape) for k, v in shapes.items()})
    channels = largest(lambda c: size(c) <= track.allowed(job), 1, recipe.cnn.channels)
    if channels is None:
        return None
    model, _ = get_cnn(narrow(channels), job.seed, track.bench.store, train, held_out)
    final = inference_tensors(model)
    return Trained(model, final, final, BITS * n_values(model), {"channels": channels},
                   epochs * per_epoch)


TRACK: dict[str, Callable[[Track, Job], Trained | None]] = {
    "nern": nern, "pruned_finetuned": pruned_finetuned, "qat": qat, "scratch": scratch}


# --- the points ------------------------------------------------------------------------------

VALIDATION = {"accuracy": "val_accuracy", "accuracy_cnn": "val_accuracy_cnn",
              "top1_agreement": "val_top1_agreement"}


def run_point(track: Track, method: str, job: Job) -> dict:
    """`method` at job's budget, seed and rate, scored on the stage's held-out split (the
    validation part on the selection CNNs, the test split on the claims')."""
    t0 = time.perf_counter()
    out = {"budget_bits": track.allowed(job), "lr": job.lr,
           "images": len(track.images(job.stage).labels)}
    nothing = {"fits": False, "accuracy": None, "stored_bits": None, "bytes_coded": None}
    try:
        trained = TRACK[method](track, job)
    except DivergenceError as e:  # a rate that diverges is never chosen; a point, failed
        print(f"warning: datatrack: {method}: {e}", file=sys.stderr)
        return {**out, **nothing, "status": "failed", "error": str(e)}
    if trained is None:  # nothing of this method fits: no point (the report shows none)
        return {**out, **nothing}
    cnn, held_out = track.cnn(job), track.bench.splits(job.stage)[1]
    scores = evaluate(track.bench.cnn_logits(job.stage, job.seed, cnn),
                      logits_of(trained.network, held_out.inputs), held_out.labels)
    return {**out, "fits": True, "accuracy": scores["accuracy_rebuilt"],
            "accuracy_cnn": scores["accuracy_original"], "accuracy_gap": scores["accuracy_gap"],
            "top1_agreement": scores["top1_agreement"], "stored_bits": trained.stored_bits,
            "bytes_coded": coded_bytes(trained.stored), "steps": trained.steps,
            "setting": trained.setting, "fit_seconds": time.perf_counter() - t0}


def path_of(track: Track, method: str, budget: float, seed: int, stage: str = REPORT) -> Path:
    folder = track.bench.store.root / "datatrack"
    if stage == SELECT:
        folder = folder / "selection"
    return folder / method / f"{budget_label(budget)}_seed{seed}.json"


def finished(track: Track, path: Path) -> dict | None:
    """A results file made with this config's settings, or None."""
    done = read_json(path)
    return done if done is not None and done.get("config_hash") == track.key else None


def option(lr: float) -> dict:
    return {"lr": lr}


def select(track: Track, method: str, budget: float, counter: Counter) -> list[dict]:
    """The selection points of (method, budget): every rate on every selection CNN, scored on
    the validation split; each seed's file names the rate of the best mean validation accuracy
    over the selection seeds (innr.experiments.workbench.best_option)."""
    clock, lrs = Clock(), track.lrs(method)
    seeds = track.config.ablation.selection_seeds
    files = [finished(track, path_of(track, method, budget, s, SELECT)) for s in seeds]
    every = []
    for s, done in zip(seeds, files, strict=True):
        if done is not None:
            every.append(done["candidates"])
            counter.skip(len(lrs))
            continue
        tried = []
        for lr in lrs:
            r = counter.run(lambda lr=lr, s=s: run_point(track, method, Job(SELECT, s, budget,
                                                                            lr)))
            tried.append({"option": option(lr), **{VALIDATION.get(k, k): v for k, v in r.items()
                                                  if k != "accuracy_gap"}})
        every.append(tried)
    best = best_option(every)
    out = []
    for s, done, tried in zip(seeds, files, every, strict=True):
        if done is None:
            done = {"method": method, "budget": budget, "seed": s, "stage": SELECT,
                    **{k: v for k, v in tried[best].items() if k != "option"},
                    "chosen": tried[best]["option"],
                    "candidates": [{k: c.get(k) for k in ("option", "fits", "val_accuracy",
                                                          "stored_bits", "bytes_coded")}
                                   for c in tried],
                    **envelope(track.config, track.key, track.bench.device, clock)}
            write_json(path_of(track, method, budget, s, SELECT), done)
        out.append(done)
    return out


def choice(track: Track, files: Sequence[dict]) -> dict:
    """What a point on the claims' CNNs runs with: the rate chosen on the validation split, the
    rates chosen among, the chosen one's mean validation accuracy and each candidate's."""
    tried = [f["candidates"] for f in files]
    return {"option": files[0]["chosen"],
            "options": [option(c["option"]["lr"]) for c in tried[0]],
            "seeds": list(track.config.ablation.selection_seeds),
            "val_accuracy": mean_accuracies([[f] for f in files])[0],
            "candidates": [{"option": c["option"], "val_accuracy": m} for c, m in
                           zip(tried[0], mean_accuracies(tried), strict=True)]}


class Counter:
    """The track's points: how many are done, and the time left at this run's rate."""

    def __init__(self, total: int):
        self.total, self.done, self.ran, self.seconds = total, 0, 0, 0.0

    def run(self, work: Callable[[], dict]) -> dict:
        t0 = time.perf_counter()
        out = work()
        self.seconds += time.perf_counter() - t0
        self.ran += 1
        self.skip(1)
        return out

    def skip(self, n: int) -> None:
        self.done += n
        eta = time_left(self.total - self.done, self.seconds, self.ran)
        print(f"datatrack: {self.done}/{self.total} points" + (f", {eta}" if eta else ""),
              flush=True)


def run_track(track: Track) -> list[dict]:
    """Every (budget, method): its choice on the validation split, then its points on the
    claims' CNNs at the chosen rate; returns the points' results."""
    d, config = track.config.datatrack, track.config
    unknown = sorted(set(d.methods) - set(TRACK))
    if unknown:
        raise ConfigError(f"datatrack.methods: unknown {unknown}; known: {list(TRACK)}")
    choices = sum(len(config.ablation.selection_seeds) * len(track.lrs(m)) for m in d.methods)
    counter = Counter(len(d.budgets) * (choices + len(d.methods) * len(config.seeds)))
    out = []
    for budget in d.budgets:
        for method in d.methods:
            files = select(track, method, budget, counter)
            for seed in config.seeds:
                path = path_of(track, method, budget, seed)
                done = finished(track, path)
                if done is None:
                    clock = Clock()
                    job = Job(REPORT, seed, budget, files[0]["chosen"]["lr"])
                    r = counter.run(lambda job=job, m=method: run_point(track, m, job))
                    done = {"method": method, "budget": budget, "seed": seed, "status": "ok", **r,
                            "choice": choice(track, files), "uses_data": True,
                            **envelope(config, track.key, track.bench.device, clock)}
                    write_json(path, done)
                else:
                    counter.skip(1)
                out.append(done)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.experiments.datatrack", __doc__, overrides=True, results=True)

    def body(args: argparse.Namespace) -> None:
        config = load_config(args.config, args.overrides)
        if not config.datatrack.budgets:
            print(f"datatrack: {args.config} gives no datatrack.budgets: nothing to run")
            return
        bench = Workbench(config, *start(config, args.results))
        bench.splits()  # bad data stops here, before anything is written
        with bench.store.lock():
            run_track(Track(bench))

    return cli.run(p, body, argv)


if __name__ == "__main__":
    sys.exit(main())
