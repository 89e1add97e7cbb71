"""Summarise `mutmut results --all true`: mutants per module that survived or that no test ran.

    python scripts/mutation_summary.py mutants/results.txt [PATTERN ...]

Only the mutants whose names match a PATTERN (fnmatch, as `mutmut run` takes them) count.
"""

from __future__ import annotations

import collections
import fnmatch
import re
import sys


def main(path: str, patterns: list[str]) -> int:
    status = {}
    for line in open(path).read().splitlines():
        if ":" in line:
            name, state = (part.strip() for part in line.rsplit(":", 1))
            if not patterns or any(fnmatch.fnmatch(name, p) for p in patterns):
                status[name] = state
    per_module: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for name, state in status.items():
        module = re.sub(r"\.x[_ǁ].*$", "", name)
        per_module[module][state] += 1
    print(f"{'module':32s} {'mutants':>8s} {'killed':>8s} {'survived':>9s} {'no tests':>9s}"
          f" {'other':>6s}")
    for module, counts in sorted(per_module.items()):
        total = sum(counts.values())
        other = total - counts["killed"] - counts["survived"] - counts["no tests"]
        print(f"{module:32s} {total:8d} {counts['killed']:8d} {counts['survived']:9d} "
              f"{counts['no tests']:9d} {other:6d}")
    survivors = sorted(n for n, s in status.items() if s in ("survived", "no tests"))
    print(f"{len(survivors)} of {len(status)} mutants not caught:")
    for name in survivors:
        print(f"  {name} ({status[name]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
