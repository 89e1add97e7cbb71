"""Every number the report prints, formatted here: the tables, the verdicts' sentences, the
paper's context and the README block all call these, so the tests can predict exactly how a
value is printed and two places never print one value two ways.
"""

from __future__ import annotations

import math

CI_LEVEL = 0.95  # every interval in the report: innr.stats.summary's default level


def finite(x) -> bool:
    """A number that can be printed as one: not None, not NaN, not infinite."""
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def pct(x, digits: int = 1) -> str:
    """0.7812 -> '78.1%'; missing or NaN -> 'n/a'."""
    return f"{100 * x:.{digits}f}%" if finite(x) else "n/a"


LEVEL = pct(CI_LEVEL, 0)  # '95%', as the column headers and sentences name the intervals


def pct_points(x: float) -> str:
    """An accuracy difference (a gap, a margin) in percentage points, to two decimals."""
    return pct(x, 2)


def num(x, digits: int = 3) -> str:
    """Integers with thousands separators; other numbers to `digits` significant figures."""
    if isinstance(x, int) and not isinstance(x, bool):
        return f"{x:,}"
    if not finite(x):
        return "n/a"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 10 ** digits:
        return f"{x:,.0f}"
    return f"{x:#.{digits}g}".rstrip(".")  # '#': keep trailing zeros, 0.650 not 0.65


def exact(x) -> str:
    """A config value as written: integers with separators, other numbers in %g (0.0005)."""
    if isinstance(x, str | bool) or x is None:
        return str(x)
    return num(x) if isinstance(x, int) or not finite(x) else f"{x:g}"


def printed(x: float) -> str:
    """A fraction the original notebook printed (0.94411), as a percentage with its digits."""
    return pct(x, 3)


def p_text(p: float) -> str:
    """A p-value: two significant figures, '< 0.001' below that, 'n/a' when there is none."""
    return "n/a" if not finite(p) else "< 0.001" if p < 0.001 else num(p, 2)


def budget_text(share: float) -> str:
    """A budget (a share of the CNN's bits) as the report names it: 25%, 74.25%."""
    return f"{100 * share:g}%"


def speedup(x: float) -> str:
    """A ratio of two times: 2.50x."""
    return f"{x:.2f}x"


def kilobytes(bits: float) -> str:
    """A size in bits as kB (1,000 bytes), to three significant figures."""
    return num(bits / 8 / 1000)


def interval(s: dict, fmt=pct) -> str:
    """'[low, high]' of a summary dict; 'n/a' when there is no interval (fewer than 2 seeds)."""
    if not (finite(s.get("ci_low")) and finite(s.get("ci_high"))):
        return "n/a"
    return f"[{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]"


def with_interval(s: dict, fmt=pct) -> str:
    """'97.7% (95% CI [97.2%, 98.2%])', or the mean alone when there is no interval."""
    ci = interval(s, fmt)
    return fmt(s["mean"]) if ci == "n/a" else f"{fmt(s['mean'])} ({LEVEL} CI {ci})"


def mean_interval(s: dict, fmt=pct) -> str:
    """'97.7% [97.2%, 98.2%]' (a table cell), or the mean alone with fewer than two seeds."""
    return f"{fmt(s['mean'])} {interval(s, fmt)}" if s["n"] > 1 else fmt(s["mean"])
