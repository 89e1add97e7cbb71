"""A dry run of a config and its companions: the same experiments, methods, budgets and code
paths at tiny sizes (2 seeds, a few hundred images, a few steps), so that a crash in a late stage
shows in minutes rather than hours into the real run. Its numbers mean nothing.

    scripts/dry_run.py experiments/next/full.toml [--to DIR] [--run]

Writes the shrunk configs beside each other under DIR (default: a temporary folder); with --run,
runs ./run_all.sh on them there (results, figures and PDF under DIR, never the repository's).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = 2  # the fewest that give an interval


def shrink(raw: dict) -> dict:
    """A config's settings at tiny sizes; what it runs (experiments, methods, budgets) kept."""
    raw = json.loads(json.dumps(raw))  # a deep copy
    raw["seeds"] = raw.get("seeds", [1234])[:SEEDS]
    raw["control_seeds"] = raw.get("control_seeds", [])[:SEEDS]
    raw.setdefault("data", {}).update(train_limit=3000, test_limit=500)
    raw.setdefault("cnn", {})["epochs"] = 1
    raw.setdefault("innr", {}).update(steps=10, eval_every=5, checkpoint_every=5)
    raw.setdefault("attack", {})["noise_draws"] = 1
    fitnoise = raw.setdefault("fitnoise", {})
    fitnoise.update(cnns=min(fitnoise.get("cnns", 5), SEEDS),
                    autograd_cnns=min(fitnoise.get("autograd_cnns", 5), 1))
    ablation = raw.setdefault("ablation", {})
    ablation.setdefault("base", {})["steps"] = 10
    ablation["w0_sweep"] = ablation.get("w0_sweep", [30.0, 100.0])[:2]
    if ablation.get("faithful_seeds"):
        ablation["faithful_seeds"] = 1
    for alternatives in ablation.get("ideas", {}).values():
        for idea in alternatives:
            _short(idea)
    frontier = raw.setdefault("frontier", {})
    frontier["method_seeds"] = {m: min(n, SEEDS) for m, n in frontier.get("method_seeds",
                                                                          {}).items()}
    frontier["decode_repeats"] = 1
    for choice in frontier.get("distill_choices", []):
        _short(choice)
    if "datatrack" in raw:
        raw["datatrack"].update(steps=4, batch_size=16, images=300)
    return raw


def _short(settings: dict) -> None:
    """A variant's or a distillation's steps cut to a few."""
    for key, steps in (("steps", 20), ("distill_steps", 2)):
        if key in settings:
            settings[key] = steps


def toml(raw: dict, prefix: str = "") -> str:
    """`raw` as TOML (the types a config holds: strings, numbers, booleans, lists, tables)."""
    scalars = [f"{k} = {_value(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    tables = [f"\n[{prefix}{k}]\n" + toml(v, f"{prefix}{k}.") for k, v in raw.items()
              if isinstance(v, dict)]
    return "\n".join(scalars) + "".join(tables) + "\n"


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML for {v!r}")


def write(config: Path, to: Path) -> list[Path]:
    """The shrunk config and its companions (found beside it), written under `to`."""
    raw = tomllib.loads(config.read_text())
    names = [config.stem, *raw.get("frontier", {}).get("companions", [])]
    out = []
    for name in names:
        source = config.parent / f"{name}.toml"
        if not source.is_file():
            sys.exit(f"error: companion {source} not found")
        path = to / f"{name}.toml"
        path.write_text(toml(shrink(tomllib.loads(source.read_text()))))
        out.append(path)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config", type=Path)
    p.add_argument("--to", type=Path, default=None, help="folder for the shrunk configs")
    p.add_argument("--run", action="store_true", help="run ./run_all.sh on them there")
    args = p.parse_args()
    if not args.config.is_file():
        sys.exit(f"error: config {args.config} not found")
    to = args.to or Path(tempfile.mkdtemp(prefix="innr-dry-"))
    to.mkdir(parents=True, exist_ok=True)
    paths = write(args.config.resolve(), to)
    print(f"shrunk configs: {', '.join(str(p) for p in paths)}")
    if not args.run:
        return 0
    return subprocess.call([str(REPO / "run_all.sh"), "--config", str(paths[0]),
                            "--results", str(to / "results"), "--out", str(to / "out")])


if __name__ == "__main__":
    sys.exit(main())
