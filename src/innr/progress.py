"""Progress of long stages: a bar on a terminal, and a line at a steady rate in a log.

A run whose output goes to a file (`./run_all.sh > run.log`, CI, a cluster job) gets a line
every EVERY seconds and one when the stage ends: what, how far, time elapsed and an estimate of
what is left (`time_left`, the one phrasing of it). A terminal gets a tqdm bar (on stderr); a
terminal too narrow for a bar (zero columns, as some consoles report) gets the lines instead.
When stdout goes to a log and stderr to a terminal, both.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm.auto import tqdm

EVERY = 30.0  # seconds between log lines: a few per minute of work, not one per step
BAR_COLUMNS = 20  # narrower than this, tqdm's bar is a blur that it then wipes at the end


def duration(x: float | None) -> str:
    """Seconds in a unit that keeps two digits: '4.4 ms', '81 ms', '7.8 s', '5.0 min', '2.5 h'."""
    if x is None or not isinstance(x, int | float) or x != x or x in (float("inf"), -float("inf")):
        return "n/a"
    if x < 1:
        return f"{1000 * x:.1f} ms" if x < 0.01 else f"{1000 * x:.0f} ms"
    if x < 120:
        return f"{x:.1f} s"
    return f"{x / 60:.1f} min" if x < 7200 else f"{x / 3600:.1f} h"


def time_left(left: float, seconds: float, done: float) -> str:
    """'~5.0 min left' for `left` more units when `done` units took `seconds`; '' when there is
    nothing left or nothing to estimate from yet."""
    if left <= 0 or done <= 0 or seconds <= 0:
        return ""
    return f"~{duration(left * seconds / done)} left"


def _is_terminal(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def _fits_a_bar(stream: TextIO) -> bool:
    """Whether `stream` is a terminal wide enough for a bar."""
    if not _is_terminal(stream):
        return False
    try:
        return os.get_terminal_size(stream.fileno()).columns >= BAR_COLUMNS
    except (OSError, ValueError):
        return False


class Progress:
    """`total` units of work named `what`; `update(done)` reports the position (absolute).

    done: units already finished before this run (a resumed stage): the estimate of what is
    left uses only this run's rate. bar: whether to show a bar (None: when stderr is a terminal
    wide enough for one); log: where the lines go (None: stdout when it is not a terminal or
    when there is no bar).
    """

    def __init__(self, what: str, total: int, unit: str, done: int = 0, *,
                 every: float = EVERY, log: TextIO | None = None, bar: bool | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.what, self.total, self.unit, self.start_done = what, total, unit, done
        self.done, self.every, self.clock = done, every, clock
        self.started = self.last_line = clock()
        show_bar = _fits_a_bar(sys.stderr) if bar is None else bar
        if log is None and (not show_bar or not _is_terminal(sys.stdout)):
            log = sys.stdout
        self.log = log
        self.bar = tqdm(total=total, initial=done, desc=what, unit=unit, leave=False,
                        disable=not show_bar)

    def line(self, note: str = "") -> str:
        """What the log says now."""
        elapsed = self.clock() - self.started
        text = (f"{self.what}: {self.unit} {self.done}/{self.total} "
                f"({100 * self.done / max(self.total, 1):.0f}%), {duration(elapsed)} elapsed")
        left = time_left(self.total - self.done, elapsed, self.done - self.start_done)
        return text + "".join(f", {part}" for part in (left, note) if part)

    def update(self, done: int, note: str = "") -> None:
        self.bar.update(done - self.done)
        if note:
            self.bar.set_postfix_str(note)
        self.done = done
        if self.log is not None and self.clock() - self.last_line >= self.every:
            self.last_line = self.clock()
            print(self.line(note), file=self.log, flush=True)

    def close(self, note: str = "") -> None:
        """The stage ended: a last line in the log (finished or not, it says how far it got)."""
        self.bar.close()
        if self.log is not None:
            print(self.line(note), file=self.log, flush=True)
