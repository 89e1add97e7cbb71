"""Training the CNN and fitting its INNR, each cached on disk and resumable.

The CNN: its config's recipe (the original's: Adam at a constant rate, cross-entropy), mini-batches
drawn from a permutation seeded by (seed, epoch), and each image's augmentation drawn after it from
the same generator, so an interrupted run resumes at the epoch it stopped at and gives the same
weights (a schedule's state is checkpointed with the optimiser's).

The INNR: the faithful variant (innr.variants.faithful_variant), a per-weight SIREN fitted
full-batch (every coordinate every step) with Adam and MSE to the standardised weights of
innr.target, each step computed by a backend of innr.steps (innr.perf's fast step where it
applies) and driven by its one loop, `run_steps`, the variants' too. The rebuilt network's test
accuracy is recorded every `eval_every` steps for the figures only: the number reported is
always the final step's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from innr import augment, compute
from innr.architectures import build_cnn
from innr.config import CNNConfig, Config, INNRConfig
from innr.coordinates import DIMS
from innr.datasets import Dataset, Images, load, normalise
from innr.metrics import accuracy, logits_of
from innr.params import inference_tensors
from innr.predictors import build_predictor
from innr.predictors.siren import Siren
from innr.progress import Progress
from innr.runtime import seed_everything
from innr.steps import DivergenceError, make_step, run_steps
from innr.store import Store, load_checkpoint, remove_checkpoint, save_checkpoint
from innr.target import Targets
from innr.variants import faithful_variant, rebuild_one

# Convolutions in channels-last memory: oneDNN's native layout on the CPU, and what cuDNN's
# tensor-core kernels prefer; the same function either way.
CHANNELS_LAST = torch.channels_last


@dataclass
class Split:
    """A split on the device: normalised inputs, pixels in [0, 1] and labels, the dataset they
    come from (whose shape and classes the CNN is built for), and a black pixel's input value
    (what an augmenting crop pads with)."""

    inputs: torch.Tensor
    pixels: torch.Tensor
    labels: torch.Tensor
    dataset: Dataset
    blank: float = 0.0


def prepare(data: Images, cfg: Config, device: torch.device) -> Split:
    d = data.to(device)
    pixels = d.images.float().div_(255.0)
    return Split(normalise(pixels, cfg.data.mean, cfg.data.std), pixels, d.labels, d.dataset,
                 normalise(0.0, cfg.data.mean, cfg.data.std))


def load_splits(cfg: Config, device: torch.device) -> tuple[Split, Split]:
    """Train and test splits of the config (limited for quick runs), on the device."""
    train = load(cfg.data.root, "train").head(cfg.data.train_limit)
    test = load(cfg.data.root, "test").head(cfg.data.test_limit)
    return prepare(train, cfg, device), prepare(test, cfg, device)


# --- the CNN ---------------------------------------------------------------------------------

def cnn_optimizer(cfg: CNNConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The recipe's optimiser of the model's parameters."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def cnn_schedule(cfg: CNNConfig, opt: torch.optim.Optimizer, steps: int
                 ) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The recipe's rate over `steps` batches (None: constant), stepped after each batch."""
    if cfg.schedule == "onecycle":  # the momentum stays the config's (not cycled)
        return torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps,
                                                   cycle_momentum=False)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    return None


def train_cnn(cfg: CNNConfig, seed: int, train: Split, test: Split,
              state: dict | None = None, checkpoint=None) -> tuple[nn.Module, dict]:
    """Train the CNN of `seed`; resume from `state`; call `checkpoint(state)` after each epoch."""
    device = train.inputs.device
    seed_everything(seed)
    model = build_cnn(cfg.architecture, train.dataset, cfg.channels, cfg.depth).to(
        device, memory_format=CHANNELS_LAST)
    opt = cnn_optimizer(cfg, model)
    n = len(train.labels)
    batches = math.ceil(n / cfg.batch_size)
    schedule = cnn_schedule(cfg, opt, cfg.epochs * batches)
    history = {"epoch": [], "train_loss": [], "test_accuracy": [], "seconds": []}
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        if schedule is not None:
            schedule.load_state_dict(state["schedule"])
        history = state["history"]
    shape = tuple(train.inputs.shape[1:])  # an epoch's work: n images trained, the test passed
    epoch_flops = (n * compute.training_flops(model, shape)
                   + len(test.labels) * compute.forward_flops(model, shape))
    progress = Progress(f"CNN seed {seed}", cfg.epochs * batches, "batch",
                        done=len(history["epoch"]) * batches)
    for epoch in range(len(history["epoch"]), cfg.epochs):
        start = time.perf_counter()
        g = torch.Generator().manual_seed(seed * 1000 + epoch)
        order = torch.randperm(n, generator=g).to(device)
        draws = augment.draw(cfg.augment, n, g)  # image i of the epoch's order: draws[i]
        model.train()
        total = torch.zeros((), device=device)
        for i in range(0, n, cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            x = train.inputs[idx]
            if draws is not None:
                x = augment.apply(x, draws.part(slice(i, i + cfg.batch_size)), train.blank)
            x = x.contiguous(memory_format=CHANNELS_LAST)
            loss = F.cross_entropy(model(x), train.labels[idx],
                                   label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            total += loss.detach() * len(idx)
            progress.update(progress.done + 1, f"epoch {epoch + 1}/{cfg.epochs}")
        mean_loss = float(total) / n
        compute.add(epoch_flops)
        if not math.isfinite(mean_loss):
            progress.close("stopped")
            raise DivergenceError(f"seed {seed}: CNN loss became non-finite in epoch {epoch + 1};"
                                  f" lower cnn.lr (now {cfg.lr})")
        model.eval()
        history["epoch"].append(epoch + 1)
        history["train_loss"].append(mean_loss)
        history["test_accuracy"].append(accuracy(logits_of(model, test.inputs), test.labels))
        history["seconds"].append(time.perf_counter() - start)
        if checkpoint is not None:
            checkpoint({"model": model.state_dict(), "opt": opt.state_dict(),
                        "history": history}
                       | ({} if schedule is None else {"schedule": schedule.state_dict()}))
    progress.close()
    return model.to(memory_format=torch.contiguous_format).eval(), history


def trained_once(store: Store, kind: str, key: str, seed: int,
                 train: Callable[[dict | None, Callable[[dict], None]], dict],
                 where: Callable[[dict], str]) -> dict:
    """The finished state of (kind, key, seed): loaded when cached; otherwise made by
    `train(state, checkpoint)`, resumed from the partial checkpoint when there is one
    (`where(state)` says how far it had got), then cached."""
    final, partial = store.cache(kind, key, seed), store.cache(f"{kind}-partial", key, seed)
    finished = load_checkpoint(final)
    if finished is None:
        state = load_checkpoint(partial)
        if state is not None:
            print(f"resuming {kind.upper()} seed {seed} {where(state)}")
        finished = train(state, lambda s: save_checkpoint(partial, s))
        save_checkpoint(final, finished)
        remove_checkpoint(partial)
    return finished


def get_cnn(cfg: Config, seed: int, store: Store, train: Split, test: Split
            ) -> tuple[nn.Module, dict]:
    """The trained CNN of (config, seed): loaded when cached, trained (resumably) otherwise."""
    def train_it(state, checkpoint) -> dict:
        model, history = train_cnn(cfg.cnn, seed, train, test, state, checkpoint)
        return {"model": model.state_dict(), "history": history}

    finished = trained_once(store, "cnn", cfg.section_hash("data", "cnn"), seed, train_it,
                            lambda state: f"after epoch {len(state['history']['epoch'])}")
    model = build_cnn(cfg.cnn.architecture, train.dataset, cfg.cnn.channels, cfg.cnn.depth).to(
        train.inputs.device)
    model.load_state_dict(finished["model"])
    return model.eval(), finished["history"]


# --- the INNR --------------------------------------------------------------------------------

def innr_targets(cfg: INNRConfig, cnn: nn.Module) -> Targets:
    """The faithful INNR's targets: every weight of `cnn`, standardised, one row each (its
    vectors stored beside: innr.target)."""
    params = inference_tensors(cnn)
    device = next(iter(params.values())).device
    return Targets.of([params], faithful_variant(cfg), device=device)


def new_siren(cfg: INNRConfig) -> Siren:
    """The faithful INNR's predictor, a SIREN from a weight's coordinate to its standardised
    value (innr.predictors), initialised from the global RNG."""
    v = faithful_variant(cfg)
    return build_predictor(v.predictor, dim_in=DIMS, width=v.width, depth=v.depth, dim_out=1,
                           w0_initial=v.w0_initial, w0=v.w0, c=v.c)


def fit_innr(cfg: INNRConfig, seed: int, targets: Targets, evaluate=None,
             state: dict | None = None, checkpoint=None) -> tuple[Siren, dict]:
    """Fit the SIREN of `seed` to `targets` (innr_targets); resume from `state`; checkpoint
    periodically. `evaluate(params) -> accuracy` is called every `eval_every` steps on the
    rebuilt weights."""
    device = targets.values.device
    seed_everything(seed + cfg.seed_offset)
    siren = new_siren(cfg).to(device)
    opt = torch.optim.Adam(siren.parameters(), lr=cfg.lr)
    history = {"loss": [], "eval_step": [], "eval_accuracy": [], "seconds": 0.0}
    if state is not None:
        siren.load_state_dict(state["siren"])
        opt.load_state_dict(state["opt"])
        history = state["history"]
    step = make_step(siren, opt, targets.layout.coords, targets.values[0], cfg.step)
    ran = history.get("step")  # the build decides the last digits: say which one ran
    history["step"] = step.build if ran in (None, step.build) else f"{ran}, then {step.build}"
    step_flops = compute.fit_step_flops(siren, *targets.layout.coords.shape)
    progress = Progress(f"INNR seed {seed}", cfg.steps, "step", done=len(history["loss"]))
    start = time.perf_counter()

    def logged(done: int, losses: torch.Tensor) -> None:
        nonlocal start
        history["loss"] += losses.tolist()
        compute.add(step_flops * len(losses))
        if evaluate is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
            history["eval_step"].append(done)
            history["eval_accuracy"].append(evaluate(rebuild_one(siren, targets)))
        history["seconds"] += time.perf_counter() - start
        progress.update(done, f"loss {history['loss'][-1]:.3g}")
        if checkpoint is not None and done % cfg.checkpoint_every == 0 and done < cfg.steps:
            checkpoint({"siren": siren.state_dict(), "opt": opt.state_dict(),
                        "history": history})
        start = time.perf_counter()

    run_steps(step, cfg.steps, (cfg.eval_every, cfg.checkpoint_every), logged, seeds=[seed],
              stage="INNR", hint=f"lower innr.lr (now {cfg.lr})", done=len(history["loss"]),
              progress=progress)
    progress.close()
    return siren, history


def get_innr(cfg: Config, seed: int, store: Store, cnn: nn.Module, test: Split
             ) -> tuple[Siren, Targets, dict]:
    """The fitted INNR of (config, seed), loaded when cached, fitted (resumably) otherwise,
    with its targets (innr_targets) and history."""
    targets = innr_targets(cfg.innr, cnn)

    def evaluate(params: dict[str, torch.Tensor]) -> float:
        compute.add(len(test.labels) * compute.forward_flops(cnn, tuple(test.inputs.shape[1:])))
        return accuracy(logits_of(rebuilt_classifier(cnn, params), test.inputs), test.labels)

    def fit_it(state, checkpoint) -> dict:
        siren, history = fit_innr(cfg.innr, seed, targets, evaluate, state, checkpoint)
        return {"siren": siren.state_dict(), "history": history}

    finished = trained_once(store, "innr", cfg.section_hash("data", "cnn", "innr"), seed,
                            fit_it, lambda state: f"at step {len(state['history']['loss'])}")
    siren = new_siren(cfg.innr).to(test.inputs.device)
    siren.load_state_dict(finished["siren"])
    return siren.eval(), targets, finished["history"]


def rebuilt_classifier(cnn: nn.Module, params: dict[str, torch.Tensor]):
    """The CNN's architecture run with other tensors (torch.func.functional_call: batch-norm's
    running statistics are buffers, taken from `params` like the parameters)."""
    def classify(x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(cnn, params, (x,))
    return classify
