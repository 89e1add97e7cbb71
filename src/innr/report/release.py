"""Publish a finished run into experiments/published/: its results files as written, the full
configuration's trained networks (weights only), the benchmark, and a manifest of them all.

    python -m innr.report.release [--config experiments/full.toml] [--results DIR]
                                  [--bench FILE] [--to DIR]

Only a finished run is published: every seed of every claim, the fit noise, the ablation and
the frontier of the config, and the claims and frontier of each companion config
(`[frontier] companions`), as ./run_all.sh makes them. The folder is written beside the old one
and swapped in whole, so a stop never leaves a half-published folder. No experiment writes it;
innr.published reads it, and innr.report.compare holds a rerun against it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from innr import cli
from innr.api import faithful
from innr.config import Config, ConfigError, experiments_of, load_config
from innr.coordinates import Standardiser, flatten_params
from innr.paths import BENCH_RESULTS, FULL_CONFIG, PUBLISHED, shown
from innr.published import FORMAT, MANIFEST_NAME, sha256
from innr.report import load
from innr.store import Store, load_checkpoint, read_json

RESULT_SUFFIXES = (".json", ".csv")


def configs_of(config_path: Path) -> list[tuple[Config, bool]]:
    """The config and its companions (found beside it), each with whether it is the main one."""
    config = load_config(config_path)
    out = [(config, True)]
    for name in config.frontier.companions:
        path = Path(config_path).parent / f"{name}.toml"
        if not path.is_file():
            raise ConfigError(f"companion config {path} not found")
        out.append((load_config(path), False))
    return out


def unfinished(config: Config, main: bool, root: Path) -> list[str]:
    """What a run of ./run_all.sh would still have to do for `config` (its experiments, as
    config.experiments_of lists them): empty when finished."""
    runs = experiments_of(config, main)
    res = load.load_results(config, root)
    todo = [f"{config.name}/{e}: seeds {', '.join(map(str, res.missing(e)))} have no results"
            for e in load.EXPERIMENTS if e in runs and res.missing(e)]
    if "fitnoise" in runs and res.fitnoise() is None and config.fitnoise_seeds():
        todo.append(f"{config.name}/fitnoise has not finished")
    if "ablation" in runs and config.ablation.budgets and res.ablation() is None:
        todo.append(f"{config.name}/ablation has not finished")
    frontier = res.frontier()
    if "frontier" in runs and config.frontier.budgets and frontier is None:
        todo.append(f"{config.name}/frontier has not finished")
    elif frontier is not None and frontier.missing:
        todo.append(f"{config.name}/frontier: {len(frontier.missing)} points missing or stale")
    store = Store(config.name, root)
    if "headline" in runs:
        done = {r["seed"] for s in config.seeds
                if (r := read_json(store.result(load.HEADLINE, s)))
                and r.get("status") == "ok" and r.get("config_hash") == config.frontier_hash()}
        if missing := [s for s in config.seeds if s not in done]:
            todo.append(f"{config.name}/headline: seeds {', '.join(map(str, missing))} have no "
                        "results")
    if "datatrack" in runs:
        d = config.datatrack
        track = load.load_datatrack(store.root, config.name, config.frontier.label,
                                    config.datatrack_hash())
        found = 0 if track is None else len(track.points) + len(track.failed)
        expected = len(d.budgets) * len(d.methods) * len(config.seeds)
        if found < expected:
            todo.append(f"{config.name}/datatrack: {expected - found} of {expected} points "
                        "missing or stale")
    return todo


def results_files(root: Path) -> list[Path]:
    """A config's results files (JSON, CSV) under `root`, without the cache, locks and the
    temporary files of a write in progress."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in RESULT_SUFFIXES
                  and "cache" not in p.relative_to(root).parts[:1]
                  and not p.name.startswith("."))


def _checkpoint(store: Store, kind: str, key: str, seed: int) -> dict:
    path = store.cache(kind, key, seed)
    state = load_checkpoint(path)
    if state is None:
        raise ConfigError(f"the {kind.upper()} of seed {seed} is not in the cache ({path}): "
                          "publish from the results folder the run wrote, cache included")
    return state


def networks(config: Config, root: Path, main: bool = True, controls: bool = True
             ) -> dict[str, tuple[bytes, dict]]:
    """The config's source CNNs (state_dicts), its control CNNs unless `controls` is False,
    and, where its claims ran (`experiments_of(config, main)`), the faithful INNR of each
    source CNN, as file name -> (bytes, manifest fields)."""
    claims = "fidelity" in experiments_of(config, main)
    store = Store(config.name, root)
    cnn_key, innr_key = config.section_hash("data", "cnn"), config.section_hash("data", "cnn",
                                                                                 "innr")
    out = {}

    def add(name: str, blob: object, fields: dict) -> None:
        buffer = io.BytesIO()
        torch.save(blob, buffer)
        out[name] = (buffer.getvalue(), fields)

    for seed in config.seeds:
        cnn = _checkpoint(store, "cnn", cnn_key, seed)["model"]
        add(f"cnn_seed{seed}.pt", cnn, {"role": "source CNN", "seed": seed,
                                        "config_hash": cnn_key})
        if not claims:
            continue
        siren = _checkpoint(store, "innr", innr_key, seed)["siren"]
        standardiser = Standardiser.fit(flatten_params({k: v.detach() for k, v in cnn.items()}))
        stored = faithful(siren, config.innr, standardiser.mean, standardiser.std,
                          {k: tuple(v.shape) for k, v in cnn.items()})
        add(f"innr_seed{seed}.pt", stored.to_dict(),
            {"role": f"INNR of the source CNN of seed {seed}", "seed": seed,
             "config_hash": innr_key})
    for seed in config.control_seeds if controls else ():
        add(f"cnn_seed{seed}.pt", _checkpoint(store, "cnn", cnn_key, seed)["model"],
            {"role": "control CNN", "seed": seed, "config_hash": cnn_key})
    return out


def _config_entry(config: Config) -> dict:
    return {"file": f"experiments/{config.name}.toml", "hash": config.hash(),
            "ablation_hash": config.ablation_hash(), "frontier_hash": config.frontier_hash(),
            "seeds": list(config.seeds), "control_seeds": list(config.control_seeds),
            "cnn": {"architecture": config.cnn.architecture, "channels": config.cnn.channels,
                    "depth": config.cnn.depth}}


def _run(records: list[dict]) -> dict:
    """Where and from which code the published results were made, as they record it."""
    provenance = [r["provenance"] for r in records if isinstance(r.get("provenance"), dict)]
    machines = sorted({json.dumps({k: p.get(k) for k in ("device_name", "processor",
                                                          "cpu_capability", "cpu_count")}
                                  | {"torch": (p.get("versions") or {}).get("torch")},
                                  sort_keys=True) for p in provenance})
    return {"commits": sorted({str(p.get("git_commit")) for p in provenance}),
            "uncommitted_changes": any(p.get("git_dirty") for p in provenance),
            "machines": [json.loads(m) for m in machines],
            "started": min((r["started"] for r in records if "started" in r), default=None),
            "finished": max((r["finished"] for r in records if "finished" in r), default=None)}


def release(config_path: Path, results: Path | None = None, bench: Path = BENCH_RESULTS,
            to: Path = PUBLISHED) -> Path:
    """Write the published folder `to` from the results under `results`; returns the manifest.

    Raises ConfigError when the run is not finished or a network is not in the cache."""
    root = Path(results) if results is not None else None
    pairs = configs_of(config_path)
    todo = [t for config, main in pairs for t in unfinished(config, main, root)]
    if todo:
        raise ConfigError("the run is not finished, so nothing was published:\n  "
                          + "\n  ".join(todo) + "\nrun ./run_all.sh (it resumes) and publish "
                          "again")
    to = Path(to)
    new = to.with_name(f".{to.name}.new")
    shutil.rmtree(new, ignore_errors=True)
    files, records = {}, []
    for config, main in pairs:
        source = Store(config.name, root).root
        for path in results_files(source):
            rel = Path("results") / config.name / path.relative_to(source)
            (new / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, new / rel)
            recorded = None
            if path.suffix == ".json":
                obj = json.loads(path.read_text())
                recorded = obj.get("config_hash")
                if "provenance" in obj:
                    records.append(obj)
            files[rel.as_posix()] = {"kind": "results", "config": config.name,
                                     "config_hash": recorded or config.hash()}
        # the main config's networks, and the source CNNs of a companion that runs no claims
        # (another architecture's: nothing else keeps them; its controls, which only its
        # headline claims use, are left out: a BN-CNN is about 1 MB, and its controls would
        # take the published networks past their size limit)
        if main or "fidelity" not in experiments_of(config, main):
            for name, (data, fields) in networks(config, source.parent, main,
                                                 controls=main).items():
                rel = Path("networks") / config.name / name
                (new / rel).parent.mkdir(parents=True, exist_ok=True)
                (new / rel).write_bytes(data)
                files[rel.as_posix()] = {"kind": "network", "config": config.name, **fields}
    if Path(bench).is_file():
        shutil.copyfile(bench, new / "bench.json")
        files["bench.json"] = {"kind": "benchmark", "config": None, "config_hash": None}
    for rel, entry in files.items():
        entry.update(sha256=sha256(new / rel), bytes=(new / rel).stat().st_size)
    manifest = {"format": FORMAT,
                "made_by": "./run_all.sh" + ("" if Path(config_path).resolve()
                                             == FULL_CONFIG.resolve()
                                             else f" --config {shown(Path(config_path))}"),
                "configs": {c.name: _config_entry(c) for c, _ in pairs},
                "run": _run(records),
                "files": dict(sorted(files.items()))}
    (new / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    old = to.with_name(f".{to.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if to.exists():
        os.replace(to, old)
    os.replace(new, to)
    shutil.rmtree(old, ignore_errors=True)
    return to / MANIFEST_NAME


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.report.release", __doc__, config=FULL_CONFIG, results=True,
                   bench=BENCH_RESULTS)
    cli.path_option(p, "--to", PUBLISHED, "the published folder to replace")

    def body(args: argparse.Namespace) -> None:
        manifest = release(args.config, args.results, args.bench, args.to)
        n = len(json.loads(manifest.read_text())["files"])
        print(f"published {n} files; manifest {shown(manifest)}")

    return cli.run(p, body, argv)

if __name__ == "__main__":
    sys.exit(main())
