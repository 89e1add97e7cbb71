"""The compute table: each stage's wall time, the work it counted (innr.compute) and the share
of the float32 matmul rate it reached, and the whole run's; for the README and the PDF.

A stage whose results files record no work (made before innr.compute) says "not recorded":
nothing is estimated after the fact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from innr.compute import share, whole
from innr.progress import duration
from innr.report import load, verdicts
from innr.report.beyond import Beyond
from innr.report.formats import num, pct
from innr.report.load import Results
from innr.report.tables import Table
from innr.store import read_json

NOT_RECORDED = "not recorded"
WORK = ("flops", "matmul_flops_per_second")  # what innr.compute.record adds to a results file


def _frontier_jobs(res: Results) -> list[dict]:
    """The frontier's jobs, the selection sweep's included (load.Frontier.jobs): one record per
    job, its seconds under `wall_seconds`."""
    f = res.frontier()
    return [] if f is None else [{**p, "wall_seconds": p["job_seconds"]} for p in f.jobs]


def _timed(paths) -> list[dict]:
    """The results records among `paths` that record their wall time, each clock once (the
    data track's choice writes one clock to every selection seed's file)."""
    out = {}
    for path in sorted(paths):
        r = read_json(path)
        if r is not None and "wall_seconds" in r:
            out[r.get("started"), r["wall_seconds"]] = r
    return list(out.values())


def stages(res: Results) -> dict[str, list[dict]]:
    """Each stage that ran: its results records (one per seed, arm, job or point)."""
    out = {e: res.runs.get(e, []) for e in (*load.EXPERIMENTS, load.FITNOISE)}
    ab = res.ablation()
    out[load.ABLATION] = [] if ab is None else [*ab.selected, *ab.arms]
    out[load.FRONTIER] = _frontier_jobs(res)
    out[load.HEADLINE] = _timed((res.root / load.HEADLINE).glob("seed*.json"))
    out[load.DATATRACK] = _timed((res.root / load.DATATRACK).rglob("*_seed*.json"))
    return {stage: records for stage, records in out.items() if records}


LEAST = 0.01  # a frontier's jobs under this share of its time are summed in one row


def frontier_breakdown(runs: Sequence[Results], label: Callable[[str], str],
                       least: float = LEAST) -> Table | None:
    """Where each frontier's time went: per config, sweep (selection or test) and the methods
    a job made together (a k-bit family's stack is one job), the jobs, their wall time, its
    share of the frontier's and of the matmul rate; rows under `least` of a frontier's time
    are summed into one."""
    groups = []
    for res in runs:
        f = res.frontier()
        if f is None or not f.jobs:
            continue
        by: dict[tuple, list[dict]] = {}
        for job in f.jobs:
            key = ("selection" if job["selection"] else "test",
                   "; ".join(label(m) for m in verdicts.method_order(job["methods"])))
            by.setdefault(key, []).append({**job, "wall_seconds": job["job_seconds"]})
        total = sum(j["job_seconds"] for j in f.jobs)
        rows, rest = [], []
        for (sweep, methods), records in sorted(by.items(), key=lambda kv: -totals(kv[1])[1]):
            if totals(records)[1] < least * total:
                rest += records
                continue
            rows.append(_breakdown_row(res.name, sweep, methods, records, total))
        if rest:
            rows.append(_breakdown_row(res.name, "both", f"the other {len(rest)} jobs", rest,
                                       total))
        groups.append(rows)
    if not groups:
        return None
    return Table(["config", "sweep", "methods of a job", "jobs", "wall time", "of the frontier",
                  "of matmul rate"], groups, align="llp{5.5cm}rrrr")


def _breakdown_row(config: str, sweep: str, methods: str, records: list[dict],
                   total: float) -> list[str]:
    flops, seconds, rate = totals(records)
    return [config, sweep, methods, num(len(records)), duration(seconds), pct(seconds / total, 0),
            NOT_RECORDED if flops is None else pct(share(flops, seconds, rate), 0)]


def runs_of(res: Results, others: Sequence[Beyond] = ()) -> list[Results]:
    """The main config's results and its companions' (innr.report.beyond's configs): what
    one ./run_all.sh computes."""
    return [res, *(b.results for b in others if b.config.name != res.name)]


def _stages_of(runs: Sequence[Results]) -> dict[str, list[dict]]:
    """Every config's stages, each named '<stage> (<config>)' where there are several."""
    if len(runs) == 1:
        return stages(runs[0])
    return {f"{stage} ({r.name})": records for r in runs for stage, records in stages(r).items()}


def totals(records: list[dict]) -> tuple[float | None, float, float | None]:
    """A stage's (flops, wall seconds, matmul rate): the rate of the time's capacity, so that
    flops / (seconds * rate) is the stage's share; flops None when any record lacks them."""
    seconds = sum(r["wall_seconds"] for r in records)
    if not all(r.get(k) is not None for r in records for k in WORK) or not seconds:
        return None, seconds, None
    capacity = sum(r["wall_seconds"] * r["matmul_flops_per_second"] for r in records)
    return sum(r["flops"] for r in records), seconds, capacity / seconds


def table(runs: Sequence[Results]) -> Table:
    """Stage, wall time, GFLOP, share of the matmul rate (each config's stages, runs_of);
    then the whole run."""
    def row(label: str, flops, seconds, rate) -> list[str]:
        if flops is None:
            return [label, duration(seconds), NOT_RECORDED, NOT_RECORDED]
        return [label, duration(seconds), num(flops / 1e9), pct(share(flops, seconds, rate), 0)]

    per_stage = {stage: totals(records) for stage, records in _stages_of(runs).items()}
    rows = [row(stage, *t) for stage, t in per_stage.items()]
    recorded = [t for t in per_stage.values() if t[0] is not None]
    seconds = sum(t[1] for t in per_stage.values())
    if recorded and len(recorded) == len(per_stage):
        run = ["whole run", duration(seconds), num(sum(t[0] for t in recorded) / 1e9),
               pct(whole(recorded), 0)]
    else:
        run = ["whole run", duration(seconds), NOT_RECORDED, NOT_RECORDED]
    return Table(["stage", "wall time", "GFLOP", "of matmul rate"], [rows, [run]])


def caption(runs: Sequence[Results]) -> str:
    """What the table shows, with the matmul rates its shares are of (measured at each
    process's start), or that these results predate the counting."""
    found = sorted({r["matmul_flops_per_second"] for records in _stages_of(runs).values()
                    for r in records if r.get("matmul_flops_per_second")})
    text = ("Compute: each stage's wall time and the work it counted from its shapes "
            "(matmuls and convolutions, forward and backward), as a share of the float32 matmul "
            "rate")
    if not found:
        return text + f" ({NOT_RECORDED}: these results predate the counting):"
    low, high = num(found[0] / 1e9), num(found[-1] / 1e9)
    rate = f"{low} GFLOP/s" if low == high else f"{low} to {high} GFLOP/s"
    return text + f" measured at the run's start ({rate}):"
