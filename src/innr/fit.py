"""Training the CNN and fitting its INNR, each cached on disk and resumable.

The CNN: Adam, cross-entropy, mini-batches drawn from a permutation seeded by (seed, epoch), so an
interrupted run resumes at the epoch it stopped at and gives the same weights.

The INNR: a SIREN fitted full-batch (every coordinate every step) with Adam and MSE to the
standardised weights. Losses stay on the device and are read back once per evaluation interval,
so the step loop never waits on the host; a non-finite loss stops the fit with the seed and step.
The rebuilt network's test accuracy is recorded every `eval_every` steps for the figures only:
the number reported is always the final step's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from innr.config import CNNConfig, Config, INNRConfig
from innr.coordinates import Standardiser, flatten_params, unflatten_params, weight_coordinates
from innr.data import MNIST, load_mnist, normalise
from innr.metrics import accuracy, logits_of
from innr.models import Siren, build_cnn
from innr.runtime import seed_everything
from innr.store import Store, load_checkpoint, remove_checkpoint, save_checkpoint

CHANNELS_LAST = torch.channels_last


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite."""


@dataclass
class Split:
    """A split on the device: normalised inputs, pixels in [0, 1] and labels."""

    inputs: torch.Tensor
    pixels: torch.Tensor
    labels: torch.Tensor


def prepare(data: MNIST, cfg: Config, device: torch.device) -> Split:
    d = data.to(device)
    pixels = d.images.float().div_(255.0).unsqueeze(1)
    return Split(normalise(pixels, cfg.data.mean, cfg.data.std), pixels, d.labels)


def load_splits(cfg: Config, device: torch.device) -> tuple[Split, Split]:
    """Train and test splits of the config (limited for quick runs), on the device."""
    train = load_mnist("train", cfg.data.root).head(cfg.data.train_limit)
    test = load_mnist("test", cfg.data.root).head(cfg.data.test_limit)
    return prepare(train, cfg, device), prepare(test, cfg, device)


def _progress(total: int, desc: str, initial: int = 0) -> tqdm:
    # disable=None: bars on a terminal, silent in logs and CI
    return tqdm(total=total, initial=initial, desc=desc, disable=None, leave=False)


# --- the CNN ---------------------------------------------------------------------------------

def train_cnn(cfg: CNNConfig, seed: int, train: Split, test: Split,
              state: dict | None = None, checkpoint=None) -> tuple[nn.Module, dict]:
    """Train the CNN of `seed`; resume from `state`; call `checkpoint(state)` after each epoch."""
    device = train.inputs.device
    seed_everything(seed)
    # channels-last convolutions are ~25% faster on the CPU here (oneDNN's native layout)
    model = build_cnn(cfg.architecture, cfg.channels).to(device, memory_format=CHANNELS_LAST)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history = {"epoch": [], "train_loss": [], "test_accuracy": [], "seconds": []}
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        history = state["history"]
    n = len(train.labels)
    for epoch in range(len(history["epoch"]), cfg.epochs):
        start = time.perf_counter()
        g = torch.Generator().manual_seed(seed * 1000 + epoch)
        order = torch.randperm(n, generator=g).to(device)
        model.train()
        total = torch.zeros((), device=device)
        bar = _progress(math.ceil(n / cfg.batch_size), f"CNN seed {seed} epoch {epoch + 1}")
        for i in range(0, n, cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            x = train.inputs[idx].contiguous(memory_format=CHANNELS_LAST)
            loss = F.cross_entropy(model(x), train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
            bar.update()
        bar.close()
        mean_loss = float(total) / n
        if not math.isfinite(mean_loss):
            raise DivergenceError(f"seed {seed}: CNN loss became non-finite in epoch {epoch + 1};"
                                  f" lower cnn.lr (now {cfg.lr})")
        model.eval()
        history["epoch"].append(epoch + 1)
        history["train_loss"].append(mean_loss)
        history["test_accuracy"].append(accuracy(logits_of(model, test.inputs), test.labels))
        history["seconds"].append(time.perf_counter() - start)
        if checkpoint is not None:
            checkpoint({"model": model.state_dict(), "opt": opt.state_dict(),
                        "history": history})
    return model.to(memory_format=torch.contiguous_format).eval(), history


def get_cnn(cfg: Config, seed: int, store: Store, train: Split, test: Split
            ) -> tuple[nn.Module, dict]:
    """The trained CNN of (config, seed): loaded when cached, trained (resumably) otherwise."""
    key = cfg.section_hash("data", "cnn")
    final, partial = store.cache("cnn", key, seed), store.cache("cnn-partial", key, seed)
    done = load_checkpoint(final)
    if done is None:
        state = load_checkpoint(partial)
        if state is not None:
            print(f"resuming CNN seed {seed} after epoch {len(state['history']['epoch'])}")
        model, history = train_cnn(cfg.cnn, seed, train, test, state,
                                   checkpoint=lambda s: save_checkpoint(partial, s))
        save_checkpoint(final, {"model": model.state_dict(), "history": history})
        remove_checkpoint(partial)
        return model, history
    model = build_cnn(cfg.cnn.architecture, cfg.cnn.channels).to(train.inputs.device)
    model.load_state_dict(done["model"])
    return model.eval(), done["history"]


# --- the INNR --------------------------------------------------------------------------------

@dataclass
class INNRProblem:
    """What the SIREN is fitted to: coordinates, standardised targets and how to invert them."""

    coords: torch.Tensor  # [N, 5]
    targets: torch.Tensor  # [N]
    standardiser: Standardiser
    like: dict[str, torch.Tensor]  # the CNN's state_dict: names, shapes, order

    @classmethod
    def of(cls, cnn: nn.Module) -> INNRProblem:
        params = {k: v.detach() for k, v in cnn.state_dict().items()}
        flat = flatten_params(params)
        std = Standardiser.fit(flat)
        coords = weight_coordinates(params).to(flat.device)
        return cls(coords, std.forward(flat), std, params)

    def rebuild(self, siren: nn.Module) -> dict[str, torch.Tensor]:
        """Query the SIREN at every coordinate and reshape into the CNN's tensors."""
        with torch.no_grad():
            z = siren(self.coords).squeeze(-1)
        return unflatten_params(self.standardiser.inverse(z), self.like)


def build_siren(cfg: INNRConfig) -> Siren:
    return Siren(5, cfg.hidden, cfg.layers, 1, cfg.w0_initial, cfg.w0, cfg.c)


def make_step(siren: nn.Module, opt: torch.optim.Optimizer, coords: torch.Tensor,
              targets: torch.Tensor, compile: bool = False):
    """One full-batch Adam step on the MSE; returns the loss as a device tensor (no sync).

    innr.sirenstep's chunked step with a hand-written backward: autograd's gradient summed in
    another order; `compile` builds its chunk, as innr.native's C++ kernel on an AVX-512 CPU
    and with inductor elsewhere, the fastest on the CPU (`python -m innr.bench` measures each).
    """
    from innr.sirenstep import SirenStep  # here, not at the top: this function is its only user

    return SirenStep(siren, opt, coords, targets, compile=compile)


def fit_innr(cfg: INNRConfig, seed: int, problem: INNRProblem, evaluate=None,
             state: dict | None = None, checkpoint=None) -> tuple[Siren, dict]:
    """Fit the SIREN of `seed` to `problem`; resume from `state`; checkpoint periodically.

    `evaluate(params) -> accuracy` is called every `eval_every` steps on the rebuilt weights.
    """
    device = problem.coords.device
    seed_everything(seed)
    siren = build_siren(cfg).to(device)
    opt = torch.optim.Adam(siren.parameters(), lr=cfg.lr)
    history = {"loss": [], "eval_step": [], "eval_accuracy": [], "seconds": 0.0}
    if state is not None:
        siren.load_state_dict(state["siren"])
        opt.load_state_dict(state["opt"])
        history = state["history"]
    step = make_step(siren, opt, problem.coords, problem.targets, cfg.compile)
    done = len(history["loss"])
    bar = _progress(cfg.steps, f"INNR seed {seed}", initial=done)
    while done < cfg.steps:
        start = time.perf_counter()
        # run to the next evaluation or checkpoint boundary, reading losses back once
        stop = min(cfg.steps, (done // cfg.eval_every + 1) * cfg.eval_every,
                   (done // cfg.checkpoint_every + 1) * cfg.checkpoint_every)
        losses = torch.stack([step() for _ in range(done, stop)]).tolist()
        bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
        if bad:
            raise DivergenceError(f"seed {seed}: INNR loss became non-finite at step "
                                  f"{done + bad[0] + 1}; lower innr.lr (now {cfg.lr})")
        history["loss"] += losses
        done = stop
        if evaluate is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
            history["eval_step"].append(done)
            history["eval_accuracy"].append(evaluate(problem.rebuild(siren)))
        history["seconds"] += time.perf_counter() - start
        bar.update(stop - bar.n)
        bar.set_postfix(loss=f"{losses[-1]:.3g}")
        if checkpoint is not None and done % cfg.checkpoint_every == 0 and done < cfg.steps:
            checkpoint({"siren": siren.state_dict(), "opt": opt.state_dict(),
                        "history": history})
    bar.close()
    return siren, history


def get_innr(cfg: Config, seed: int, store: Store, cnn: nn.Module, test: Split
             ) -> tuple[Siren, INNRProblem, dict]:
    """The fitted INNR of (config, seed): loaded when cached, fitted (resumably) otherwise."""
    key = cfg.section_hash("data", "cnn", "innr")
    final, partial = store.cache("innr", key, seed), store.cache("innr-partial", key, seed)
    problem = INNRProblem.of(cnn)
    done = load_checkpoint(final)
    if done is None:
        def evaluate(params: dict[str, torch.Tensor]) -> float:
            return accuracy(logits_of(rebuilt_classifier(cnn, params), test.inputs), test.labels)

        state = load_checkpoint(partial)
        if state is not None:
            print(f"resuming INNR seed {seed} at step {len(state['history']['loss'])}")
        siren, history = fit_innr(cfg.innr, seed, problem, evaluate, state,
                                  checkpoint=lambda s: save_checkpoint(partial, s))
        save_checkpoint(final, {"siren": siren.state_dict(), "history": history})
        remove_checkpoint(partial)
        return siren.eval(), problem, history
    siren = build_siren(cfg.innr).to(test.inputs.device)
    siren.load_state_dict(done["siren"])
    return siren.eval(), problem, done["history"]


def rebuilt_classifier(cnn: nn.Module, params: dict[str, torch.Tensor]):
    """The CNN's architecture run with other weights (torch.func.functional_call)."""
    def classify(x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(cnn, params, (x,))
    return classify
