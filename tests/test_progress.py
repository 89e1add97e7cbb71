"""Progress lines: at a steady rate, with how far, how long and about how long is left."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import sys
import termios

from innr.progress import Progress, duration, time_left


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_interval_with_an_estimate_of_what_is_left():
    clock, log = Clock(), io.StringIO()
    p = Progress("INNR seed 7", 100, "step", every=30, log=log, bar=False, clock=clock)
    for step in range(1, 101):
        clock.now = step * 1.0  # a second a step
        p.update(step, "loss 0.5")
    p.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 4  # at 30, 60 and 90 s, and the end
    assert lines[0] == ("INNR seed 7: step 30/100 (30%), 30.0 s elapsed, ~70.0 s left, "
                        "loss 0.5")
    assert lines[-1] == "INNR seed 7: step 100/100 (100%), 100.0 s elapsed"


def test_a_resumed_stage_estimates_from_this_runs_rate():
    clock, log = Clock(), io.StringIO()
    p = Progress("CNN seed 1", 10, "epoch", done=5, every=1, log=log, bar=False, clock=clock)
    clock.now = 10.0
    p.update(6)  # one epoch in 10 s; four left
    assert log.getvalue().strip().endswith("~40.0 s left")


def test_a_stage_that_stops_says_how_far_it_got():
    clock, log = Clock(), io.StringIO()
    p = Progress("FGSM", 8, "attack", every=1000, log=log, bar=False, clock=clock)
    clock.now = 3.0
    p.update(2)
    p.close("stopped")
    assert log.getvalue() == "FGSM: attack 2/8 (25%), 3.0 s elapsed, ~9.0 s left, stopped\n"


def test_durations_keep_two_digits():
    assert [duration(x) for x in (0.0044, 0.081, 7.84, 300, 9000, float("nan"), None)] == [
        "4.4 ms", "81 ms", "7.8 s", "5.0 min", "2.5 h", "n/a", "n/a"]


def test_time_left_is_said_one_way():
    assert time_left(4, 10.0, 1) == "~40.0 s left"
    assert time_left(0, 10.0, 1) == time_left(4, 0.0, 0) == ""  # nothing left, or no rate yet


def test_a_terminal_of_zero_columns_gets_the_lines(tmp_path):
    # a pseudo-terminal that reports zero columns (as some consoles and containers do) on stdout
    # and stderr: tqdm's bar cannot show there, so the lines must
    script = ("from innr.progress import Progress\n"
              "p = Progress('INNR seed 7', 5, 'step', every=0)\n"
              "for i in range(1, 6):\n"
              "    p.update(i)\n"
              "p.close()\n")
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 0, 0, 0))
        os.execv(sys.executable, [sys.executable, "-c", script])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    assert "INNR seed 7: step 5/5 (100%)" in out.decode()
