"""A few seeds rerun on another build (a GPU, another CPU) against the published run, by the
fit's own noise.

    python -m innr.report.drawnoise [--config experiments/full.toml] [--results DIR]
                                    [--published DIR]

The fit is chaotic: on another build the same seed is a new draw of it (innr.experiments.fitnoise),
so a rerun seed cannot be expected to repeat the published numbers, nor a seed or two to show
them reproduced by innr.report.compare's tolerances, which are sized for means over ten seeds.
What a few seeds can show is whether the build differs from the published one by more than a
new draw of the fit would. The published fit-noise study fitted each of its CNNs twice on one
build (the claims' draw and a second); for each metric it measured (the rebuilt CNN's accuracy,
its top-1 agreement with the CNN, the relative L2 weight error) the spread of the difference
between two draws of one CNN is the root mean square of those paired differences. A rerun seed
is within the fit noise when, for each metric, its difference from the published seed is at
most Z of those spreads. The CNN itself is retrained on the rerun's build, so a difference in
the CNN adds to the fit's: the check is the stricter for it.

Exit codes: 0 every metric of every seed both runs have lies within; 1 one lies outside; 2 bad
input, or no seed to compare.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from innr import cli
from innr.config import ConfigError, load_config
from innr.paths import FULL_CONFIG, PUBLISHED_RESULTS, RESULTS_ROOT, shown
from innr.report.formats import num, pct, pct_points
from innr.report.load import Results, load_results
from innr.report.tables import Table

Z = 3.0  # declared before any rerun: about 1 in 370 draws of a normal difference lies beyond
METRICS = {"accuracy_rebuilt": "rebuilt test accuracy", "top1_agreement": "top-1 agreement, "
           "CNN vs rebuilt", "weight_rel_l2": "relative L2 weight error"}
FRACTIONS = ("accuracy_rebuilt", "top1_agreement")  # shown in percent, differences in points


def draw_spread(fitnoise: Sequence[dict]) -> dict[str, float]:
    """Per metric, the root mean square of (second draw - claims' draw) over the fit-noise
    study's CNNs: the spread of the difference between two draws of the fit of one CNN (the
    two draws are exchangeable, so the difference has mean zero)."""
    spread = {}
    for m in METRICS:
        diffs = [r["metrics"][f"draw2_{m}"] - r["metrics"][f"run_{m}"] for r in fitnoise
                 if r["metrics"].get(f"draw2_{m}") is not None]
        spread[m] = math.sqrt(sum(d * d for d in diffs) / len(diffs)) if diffs else math.nan
    return spread


@dataclass(frozen=True)
class Row:
    seed: int
    metric: str
    published: float
    rerun: float
    spread: float

    @property
    def difference(self) -> float:
        return self.rerun - self.published

    @property
    def within(self) -> bool:
        return abs(self.difference) <= Z * self.spread


def judge(published: Sequence[dict], rerun: Sequence[dict], spread: dict[str, float]
          ) -> list[Row]:
    """Each metric of each seed both runs have (innr.experiments.fidelity's results)."""
    then = {r["seed"]: r["metrics"] for r in published}
    return [Row(r["seed"], m, then[r["seed"]][m], r["metrics"][m], spread[m])
            for r in rerun if r["seed"] in then for m in METRICS]


def table(rows: Sequence[Row]) -> Table:
    def shown_as(m: str, x: float, difference: bool = False) -> str:
        if m in FRACTIONS:
            return pct_points(x) if difference else pct(x)
        return num(x)
    return Table(["seed", "number", "published", "rerun", "difference",
                  f"bound ({Z:g} x draw spread)", "within"],
                 [[[str(r.seed), METRICS[r.metric], shown_as(r.metric, r.published),
                    shown_as(r.metric, r.rerun), shown_as(r.metric, r.difference, True),
                    shown_as(r.metric, Z * r.spread, True), "yes" if r.within else "NO"]
                   for r in rows]])


def load(config_path: Path, results: Path, published: Path) -> tuple[Results, Results]:
    config = load_config(config_path)
    return load_results(config, published), load_results(config, results)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.report.drawnoise", __doc__, config=FULL_CONFIG, results=True)
    cli.path_option(p, "--published", PUBLISHED_RESULTS, "the published run's results root")
    return cli.run(p, _main, argv)


def _main(args: argparse.Namespace) -> int:
    then, now = load(args.config, Path(args.results or RESULTS_ROOT), args.published)
    studied = then.ok("fitnoise")
    if not studied:
        raise ConfigError(f"{shown(then.root)} holds no fit-noise study: nothing to size the "
                          "draw-to-draw spread by")
    rows = judge(then.ok("fidelity"), now.ok("fidelity"), draw_spread(studied))
    if not rows:
        raise ConfigError(f"no seed of {shown(now.root)}/fidelity is in {shown(then.root)}: "
                          "nothing to compare")
    outside = [r for r in rows if not r.within]
    print(f"{shown(now.root)} against {shown(then.root)}, by the published fit's draw-to-draw "
          f"spread ({len(studied)} CNNs fitted twice)")
    print("\n".join(table(rows).markdown()))
    seeds = sorted({r.seed for r in rows})
    print(f"{len(rows) - len(outside)} of {len(rows)} numbers on {len(seeds)} seed(s) within "
          f"{Z:g} times the spread of two draws of the fit" +
          (f"; outside: {', '.join(f'{METRICS[r.metric]} (seed {r.seed})' for r in outside)}"
           if outside else ""))
    return 1 if outside else 0


if __name__ == "__main__":
    sys.exit(main())
