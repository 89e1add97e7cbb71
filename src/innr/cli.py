"""The command line every `python -m innr...` script shares: one parser builder, one way to stop.

A script builds its parser with `parser()` and runs its body through `run()`. A problem the user
can fix (a bad config or dataset, a results folder locked by another run or not writable, a
missing file) ends as one line `error: ...` on stderr and exit code 2; Ctrl-C ends as one line
saying that the same command resumes (results are saved as they are made, and finished ones are
skipped) and exit code 130, the shell's code for a stop by SIGINT.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from innr.config import ConfigError
from innr.datasets import DataError
from innr.paths import shown
from innr.store import LockedError

ERRORS = (ConfigError, DataError, LockedError, OSError)
INTERRUPTED = "interrupted; run the same command again to resume"
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT


def description(doc: str) -> str:
    """The first paragraph of a module's docstring, for --help (whole sentences, one line)."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def parser(module: str, doc: str, *, config: bool | Path = True, overrides: bool = False,
           seeds: bool = False, results: bool | Path = False,
           bench: Path | None = None) -> argparse.ArgumentParser:
    """The parser of `python -m module`, described by `doc`'s first paragraph, with the options
    the scripts share. config: True for a required --config, a Path for its default, False for
    none; overrides: --set; seeds: --seeds; results: True for --results (default
    experiments/results), a Path for its default, False for none; bench: the default of
    --bench (None: no --bench)."""
    p = argparse.ArgumentParser(prog=f"python -m {module}", description=description(doc))
    if config is True:
        p.add_argument("--config", required=True, type=Path,
                       help="the experiment's TOML file, e.g. experiments/quick.toml")
    elif config:
        path_option(p, "--config", config, "the experiment's TOML file")
    if overrides:
        p.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="SECTION.KEY=VALUE", help="override a config value (repeatable)")
    if seeds:
        p.add_argument("--seeds", type=int, nargs="+",
                       help="run only these of the seeds the experiment covers (default: all)")
    if results is True:
        p.add_argument("--results", type=Path, default=None, metavar="DIR",
                       help="results root (default experiments/results); the run's files are "
                            "under DIR/<config name>/")
    elif results:
        path_option(p, "--results", results, "results root", metavar="DIR")
    if bench is not None:
        path_option(p, "--bench", bench, "the benchmark's file")
    return p


def path_option(p: argparse.ArgumentParser, flag: str, default: Path, what: str,
                **kwargs) -> None:
    """A path option of `p` whose help says `what` and names the default as a clone does."""
    p.add_argument(flag, type=Path, default=default, help=f"{what} (default {shown(default)})",
                   **kwargs)


def _one_line(e: BaseException) -> str:
    if isinstance(e, OSError) and e.filename is not None:
        return f"{e.filename}: {e.strerror}"
    return " ".join(str(e).split("\n"))


def run(p: argparse.ArgumentParser, body: Callable[[argparse.Namespace], int | None],
        argv: Sequence[str] | None = None) -> int:
    """Parse `argv` with `p` and run `body(args)`; returns its exit code (None: 0), 2 after a
    user error and 130 after Ctrl-C, each said in one line on stderr."""
    args = p.parse_args(argv)
    try:
        return body(args) or 0
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except ERRORS as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return EXIT_ERROR
