"""Progress lines: at a steady rate, with how far, how long and about how long is left."""

from __future__ import annotations

import io

from innr.progress import Progress, duration


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
