"""The largest setting that fits a budget: one bisection for every method whose size grows with
its setting (kept weights, rank, bit width, channels, a predictor's width)."""

from __future__ import annotations

from collections.abc import Callable


def largest(fits: Callable[[int], bool], low: int, high: int | None = None) -> int | None:
    """The largest integer x >= low (and <= high, if given) with fits(x), fits being true up to
    some x and false after it; None if fits(low) is false. Without `high`, the bracket doubles
    until fits fails."""
    if not fits(low):
        return None
    if high is None:  # bracket the answer: fits(low) holds, fits(high) does not
        high = max(1, 2 * low)
        while fits(high):
            low, high = high, 2 * high
        high -= 1
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(mid) else (low, mid - 1)
    return low
