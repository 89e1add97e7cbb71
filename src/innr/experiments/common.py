"""What every experiment script shares: arguments, the seed loop, results files, aggregates.

An experiment is a function `run(ctx, seed) -> {"metrics": {...}, "details": {...}}`. This
module gives it a Context (config, device, store, data splits loaded once, and each seed's
networks), skips seeds whose results file is already complete, records provenance next to every
result, marks a diverged seed as failed instead of stopping the others, and writes the aggregate
over seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from innr import cli
from innr.config import Config, ConfigError, load_config
from innr.coordinates import flatten_params
from innr.fit import (
    DivergenceError,
    INNRProblem,
    Split,
    get_cnn,
    get_innr,
    load_splits,
    rebuilt_classifier,
)
from innr.metrics import Classifier, accuracy, logits_of, weight_error
from innr.predictors.siren import Siren
from innr.progress import time_left
from innr.runtime import (
    describe,
    git_state,
    keep_freed_memory,
    pick_device,
    set_deterministic,
)
from innr.size import count_params
from innr.stats import summary
from innr.store import Store, atomic_write_text, check_writable, read_json, write_json
from innr.yardsticks import noisy, pruned

Experiment = Callable[["Context", int], dict]


@dataclass
class Networks:
    """A seed's CNN, its INNR and the network rebuilt from the INNR."""

    cnn: nn.Module
    cnn_history: dict
    siren: Siren
    problem: INNRProblem  # coordinates, targets, standardisation, the CNN's tensors
    innr_history: dict
    rebuilt_params: dict[str, torch.Tensor]  # the CNN's state_dict as the INNR rebuilds it

    @property
    def rebuilt(self) -> Classifier:
        return rebuilt_classifier(self.cnn, self.rebuilt_params)

    @property
    def pruned(self) -> Classifier:
        """The CNN magnitude-pruned to the INNR's parameter count (innr.yardsticks)."""
        return rebuilt_classifier(self.cnn, pruned(self.cnn, count_params(self.siren)))

    def noisy(self, seed: int) -> Classifier:
        """The CNN plus Gaussian noise as large as the INNR's weight error (innr.yardsticks)."""
        error = weight_error(flatten_params(self.problem.like),
                             flatten_params(self.rebuilt_params))["rel_l2"]
        return rebuilt_classifier(self.cnn, noisy(self.problem.like, error, seed))

    def test_logits(self, test: Split) -> tuple[torch.Tensor, torch.Tensor]:
        """The CNN's and the rebuilt network's logits on the test split."""
        return logits_of(self.cnn, test.inputs), logits_of(self.rebuilt, test.inputs)


def accuracies(logits_cnn: torch.Tensor, logits_rebuilt: torch.Tensor,
                    labels: torch.Tensor) -> dict:
    """The two test accuracies every claim reports, under the names the results use."""
    return {"accuracy_original": accuracy(logits_cnn, labels),
            "accuracy_rebuilt": accuracy(logits_rebuilt, labels)}


@dataclass
class Context:
    config: Config
    store: Store
    device: object = field(default=None)

    @cached_property
    def splits(self) -> tuple[Split, Split]:
        return load_splits(self.config, self.device)

    def cnn(self, seed: int) -> tuple[nn.Module, dict]:
        """The trained CNN of `seed` and its history (trained once, then cached)."""
        train, test = self.splits
        return get_cnn(self.config, seed, self.store, train, test)

    def networks(self, seed: int) -> Networks:
        """The CNN of `seed`, its INNR (fitted once, then cached) and the rebuilt network."""
        cnn, cnn_history = self.cnn(seed)
        siren, problem, innr_history = get_innr(self.config, seed, self.store, cnn,
                                                self.splits[1])
        return Networks(cnn, cnn_history, siren, problem, innr_history, problem.rebuild(siren))

    def control_seed(self, seed: int) -> int:
        """The independently trained CNN paired with source `seed` (config.control_seeds)."""
        control = self.config.control_of(seed)
        if control is None:
            raise ConfigError(f"config {self.config.name!r} lists no control_seeds: add one "
                              f"seed per source seed, none of them in seeds")
        return control


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_seed(name: str, run: Experiment, ctx: Context, seed: int) -> tuple[dict, bool]:
    """Run one seed and write its results file, or load its finished results; returns the
    results and whether they were computed now."""
    path = ctx.store.result(name, seed)
    previous = read_json(path)
    if previous is not None and previous.get("config_hash") == ctx.config.hash():
        print(f"{name}: seed {seed} already done ({path})")
        return previous, False
    if previous is not None:
        print(f"{name}: seed {seed}: {path} was made with another config "
              f"({previous.get('config_hash')}); recomputing it")
    started, t0 = _now(), time.perf_counter()
    try:
        out = {"status": "ok", **run(ctx, seed)}
    except DivergenceError as e:
        print(f"warning: {name}: seed {seed} failed: {e}", file=sys.stderr)
        out = {"status": "failed", "error": str(e), "metrics": {}, "details": {}}
    result = {"experiment": name, "seed": seed, **out,
              "config": ctx.config.to_dict(), "config_hash": ctx.config.hash(),
              "provenance": describe(ctx.device), "started": started, "finished": _now(),
              "wall_seconds": time.perf_counter() - t0, "complete": True}
    write_json(path, result)
    print(f"{name}: seed {seed} {out['status']} in {result['wall_seconds']:.1f} s -> {path}",
          flush=True)
    return result, True


def run_seeds(name: str, run: Experiment, ctx: Context, seeds: Sequence[int]) -> None:
    """Every seed in turn; after each one run here, how many are left and about how long."""
    ran: list[float] = []
    for i, seed in enumerate(seeds):
        result, computed = run_seed(name, run, ctx, seed)
        if computed:
            ran.append(result["wall_seconds"])
        left = len(seeds) - i - 1
        if eta := time_left(left, sum(ran), len(ran)):
            print(f"{name}: {left} seed(s) to go, {eta}", flush=True)


def aggregate(name: str, results: Sequence[dict], store: Store) -> pd.DataFrame:
    """Per-seed rows of the scalar metrics plus mean, std and 95% CI rows, written as CSV."""
    ok = [r for r in results if r["status"] == "ok"]
    rows = [{"seed": r["seed"], **r["metrics"]} for r in ok]
    frame = pd.DataFrame(rows).astype({"seed": object}) if rows else pd.DataFrame()
    if ok:
        stats = {k: summary(frame[k].tolist()) for k in frame.columns if k != "seed"}
        for row in ("mean", "std", "ci_low", "ci_high", "n"):
            frame.loc[len(frame)] = {"seed": row, **{k: s[row] for k, s in stats.items()}}
    atomic_write_text(store.aggregate(name), frame.to_csv(index=False))
    failed = [r["seed"] for r in results if r["status"] != "ok"]
    if failed:
        print(f"warning: {name}: seeds {failed} failed and are left out of the aggregate",
              file=sys.stderr)
    return frame


def start(config: Config, results: Path | None) -> tuple[Store, torch.device]:
    """What a run does before any work: stop if its results folder cannot be written, record the
    tree it starts from (runtime.git_state), make it deterministic; returns its store and
    device."""
    store = Store(config.name, results)
    check_writable(store.root)
    git_state()
    set_deterministic()
    keep_freed_memory()
    return store, pick_device(config.device, config.allow_tf32)


def main(name: str, run: Experiment, argv: Sequence[str] | None = None,
         finish: Callable[[list[dict], Store], None] | None = None,
         seeds_of: Callable[[Config], Sequence[int]] = lambda config: config.seeds) -> int:
    """Command-line entry point shared by the experiment scripts; returns the exit code.
    `seeds_of(config)`: the seeds the experiment covers (default: all of the config's)."""
    p = cli.parser(f"innr.experiments.{name}", f"Run the {name} experiment over seeds.",
                   overrides=True, seeds=True, results=True)

    def body(args: argparse.Namespace) -> None:
        config = load_config(args.config, args.overrides)
        covered = list(seeds_of(config))
        seeds = args.seeds or covered
        unknown = sorted(set(seeds) - set(covered))
        if unknown:
            raise ConfigError(f"--seeds {unknown} are not among the seeds {covered} that {name} "
                              f"covers in {args.config}")
        ctx = Context(config, *start(config, args.results))
        _ = ctx.splits  # bad data stops here, before anything is written
        with ctx.store.lock():
            run_seeds(name, run, ctx, seeds)
            every = [r for s in covered if (r := read_json(ctx.store.result(name, s)))
                     and r["config_hash"] == config.hash()]
            aggregate(name, every, ctx.store)
            if finish is not None:
                finish(every, ctx.store)

    return cli.run(p, body, argv)
