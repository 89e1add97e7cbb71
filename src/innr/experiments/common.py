"""What every experiment script shares: arguments, the seed loop, results files, aggregates.

An experiment is a function `run(ctx, seed) -> {"metrics": {...}, "details": {...}}`. This
module gives it a Workbench (innr.experiments.workbench: config, device, store, data splits and
CNNs loaded once, each seed's networks), skips seeds whose results file is already complete,
wraps every result in the envelope (config, hash, provenance, times), marks a diverged seed as
failed instead of stopping the others, and writes the aggregate over seeds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import torch

from innr import cli
from innr.config import Config, ConfigError, load_config
from innr.experiments.workbench import Clock, Workbench, envelope
from innr.progress import time_left
from innr.runtime import (
    check_results_device,
    git_state,
    keep_freed_memory,
    pick_device,
    set_deterministic,
)
from innr.stats import summary
from innr.steps import DivergenceError
from innr.store import Store, atomic_write_text, check_writable, read_json, write_json

Experiment = Callable[[Workbench, int], dict]
Key = Callable[[Config], str]  # the hash that decides whether a results file is current


def run_seed(name: str, run: Experiment, ctx: Workbench, seed: int,
             key: Key = Config.hash) -> tuple[dict, bool]:
    """Run one seed and write its results file, or load its finished results (current when
    made with the config's `key`); returns the results and whether they were computed now."""
    path = ctx.store.result(name, seed)
    previous = read_json(path)
    if previous is not None and previous.get("config_hash") == key(ctx.config):
        print(f"{name}: seed {seed} already done ({path})")
        return previous, False
    if previous is not None:
        print(f"{name}: seed {seed}: {path} was made with another config "
              f"({previous.get('config_hash')}); recomputing it")
    clock = Clock()
    try:
        out = {"status": "ok", **run(ctx, seed)}
    except DivergenceError as e:
        print(f"warning: {name}: seed {seed} failed: {e}", file=sys.stderr)
        out = {"status": "failed", "error": str(e), "metrics": {}, "details": {}}
    result = {"experiment": name, "seed": seed, **out,
              **envelope(ctx.config, key(ctx.config), ctx.device, clock)}
    write_json(path, result)
    print(f"{name}: seed {seed} {out['status']} in {result['wall_seconds']:.1f} s -> {path}",
          flush=True)
    return result, True


def run_seeds(name: str, run: Experiment, ctx: Workbench, seeds: Sequence[int],
              key: Key = Config.hash) -> None:
    """Every seed in turn; after each one run here, how many are left and about how long."""
    ran: list[float] = []
    for i, seed in enumerate(seeds):
        result, computed = run_seed(name, run, ctx, seed, key)
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
    device = pick_device(config.device, config.allow_tf32)
    check_results_device(store.root, device)
    return store, device


def main(name: str, run: Experiment, argv: Sequence[str] | None = None,
         finish: Callable[[list[dict], Store], None] | None = None,
         seeds_of: Callable[[Config], Sequence[int]] = lambda config: config.seeds,
         key: Key = Config.hash, idle: Callable[[Config], str] = lambda config: "") -> int:
    """Command-line entry point shared by the experiment scripts; returns the exit code.
    `seeds_of(config)`: the seeds the experiment covers (default: all of the config's);
    `key`: the hash its results are current under (default: the claims'); `idle(config)`:
    why the config leaves the experiment nothing to do (said in one line; "": it has work)."""
    p = cli.parser(f"innr.experiments.{name}", f"Run the {name} experiment over seeds.",
                   overrides=True, seeds=True, results=True)

    def body(args: argparse.Namespace) -> None:
        config = load_config(args.config, args.overrides)
        if why := idle(config):
            print(f"{name}: nothing to do under {args.config}: {why}")
            return
        covered = list(seeds_of(config))
        seeds = args.seeds or covered
        unknown = sorted(set(seeds) - set(covered))
        if unknown:
            raise ConfigError(f"--seeds {unknown} are not among the seeds {covered} that {name} "
                              f"covers in {args.config}")
        ctx = Workbench(config, *start(config, args.results))
        ctx.splits()  # bad data stops here, before anything is written
        with ctx.store.lock():
            run_seeds(name, run, ctx, seeds, key)
            every = [r for s in covered if (r := read_json(ctx.store.result(name, s)))
                     and r["config_hash"] == key(config)]
            aggregate(name, every, ctx.store)
            if finish is not None:
                finish(every, ctx.store)

    return cli.run(p, body, argv)
