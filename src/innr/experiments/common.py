"""What every experiment script shares: arguments, the seed loop, results files, aggregates.

An experiment is a function `run(ctx, seed) -> {"metrics": {...}, "details": {...}}`. This
module gives it a Context (config, device, store, data splits loaded once), skips seeds whose
results file is already complete, records provenance next to every result, marks a diverged
seed as failed instead of stopping the others, and writes the aggregate over seeds.
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

from innr.config import Config, ConfigError, load_config
from innr.data import DataError
from innr.fit import DivergenceError, Split, get_cnn, get_innr, load_splits
from innr.runtime import describe, keep_freed_memory, pick_device, set_deterministic
from innr.stats import summary
from innr.store import LockedError, Store, read_json, write_json

Experiment = Callable[["Context", int], dict]


@dataclass
class Context:
    config: Config
    store: Store
    device: object = field(default=None)

    @cached_property
    def splits(self) -> tuple[Split, Split]:
        return load_splits(self.config, self.device)

    def cnn(self, seed: int):
        train, test = self.splits
        return get_cnn(self.config, seed, self.store, train, test)

    def innr(self, seed: int):
        cnn, _ = self.cnn(seed)
        return get_innr(self.config, seed, self.store, cnn, self.splits[1])

    def control_seed(self, seed: int) -> int:
        """An independently trained CNN: the next seed of the config's list (cyclic)."""
        seeds = self.config.seeds
        return seeds[(seeds.index(seed) + 1) % len(seeds)] if len(seeds) > 1 else seed + 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_seed(name: str, run: Experiment, ctx: Context, seed: int) -> dict:
    """Run one seed (or load its finished results) and write its results file."""
    path = ctx.store.result(name, seed)
    done = read_json(path)
    if done is not None and done.get("config_hash") == ctx.config.hash():
        print(f"{name}: seed {seed} already done ({path})")
        return done
    if done is not None:
        print(f"{name}: seed {seed}: {path} was made with another config "
              f"({done.get('config_hash')}); recomputing it")
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
    print(f"{name}: seed {seed} {out['status']} in {result['wall_seconds']:.1f} s -> {path}")
    return result


def aggregate(name: str, results: Sequence[dict], store: Store) -> pd.DataFrame:
    """Per-seed rows of the scalar metrics plus mean, std and 95% CI rows, written as CSV."""
    ok = [r for r in results if r["status"] == "ok"]
    rows = [{"seed": r["seed"], **r["metrics"]} for r in ok]
    frame = pd.DataFrame(rows).astype({"seed": object}) if rows else pd.DataFrame()
    if ok:
        stats = {k: summary(frame[k].tolist()) for k in frame.columns if k != "seed"}
        for row in ("mean", "std", "ci_low", "ci_high", "n"):
            frame.loc[len(frame)] = {"seed": row, **{k: s[row] for k, s in stats.items()}}
    store.aggregate(name).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(store.aggregate(name), index=False)
    failed = [r["seed"] for r in results if r["status"] != "ok"]
    if failed:
        print(f"warning: {name}: seeds {failed} failed and are left out of the aggregate",
              file=sys.stderr)
    return frame


def parse_args(name: str, argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"python -m innr.experiments.{name}",
                                description=f"Run the {name} experiment over seeds.")
    p.add_argument("--config", required=True, type=Path, help="TOML file under experiments/")
    p.add_argument("--seeds", type=int, nargs="+", help="a subset of the config's seeds")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="SECTION.KEY=VALUE", help="override a config value (repeatable)")
    p.add_argument("--results", type=Path, default=None, help="results root (for tests)")
    return p.parse_args(argv)


def main(name: str, run: Experiment, argv: Sequence[str] | None = None,
         finish: Callable[[list[dict], Store], None] | None = None) -> int:
    """Command-line entry point shared by the experiment scripts; returns the exit code."""
    args = parse_args(name, argv)
    try:
        config = load_config(args.config, args.overrides)
        seeds = args.seeds or list(config.seeds)
        unknown = sorted(set(seeds) - set(config.seeds))
        if unknown:
            raise ConfigError(f"--seeds {unknown} are not in the config's seeds "
                              f"{list(config.seeds)}; add them to {args.config}")
        set_deterministic()
        keep_freed_memory()
        ctx = Context(config, Store(config.name, args.results),
                      pick_device(config.device, config.allow_tf32))
        _ = ctx.splits  # bad data stops here, before anything is written
        with ctx.store.lock():
            for s in seeds:
                run_seed(name, run, ctx, s)
            every = [r for s in config.seeds if (r := read_json(ctx.store.result(name, s)))
                     and r["config_hash"] == config.hash()]
            aggregate(name, every, ctx.store)
            if finish is not None:
                finish(every, ctx.store)
    except (ConfigError, DataError, LockedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
