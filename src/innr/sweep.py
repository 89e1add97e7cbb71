"""Running independent jobs of a sweep: here, on this machine's cores, or on a SLURM cluster.

A sweep is a list of points (plain dicts: dataset, method, budget, seed, ...); each point writes
its own results file, so jobs can run in any order, in parallel, or on other machines that share
the folder; a job may compute several points at once (fits batched over seeds). `run_sweep`:
- skips a point whose results file is complete (a stopped sweep resumes);
- runs the others inline, or through submitit (Meta's job launcher, on PyPI): its local executor
  (one subprocess per job) or its SLURM executor, chosen by `executor`; the SLURM path is
  exercised here only through submitit's own interface, for want of a cluster;
- holds a lock per point while it runs, so two jobs never write the same file;
- records a failed point as failed, with its error, for the report to list and never average.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from innr.store import flocked, read_json, write_json

EXECUTORS = ("inline", "local", "slurm")
Point = dict
Job = Callable[[list[Point]], list[dict]]  # points -> their results (JSON-serialisable), in order
Done = Callable[[dict], bool]  # is a complete results file still valid (e.g. its config hash)?


def point_lock(path: Path):
    """Hold `path`'s own lock file while its point runs; a second holder stops at once."""
    return flocked(path.with_name(f".{path.name}.lock"), f"another job is computing {path}")


def _done(path: Path, valid: Done | None) -> dict | None:
    out = read_json(path)
    return out if out is not None and (valid is None or valid(out)) else None


def run_batch(job: Job, points: Sequence[Point], paths: Sequence[Path],
              valid: Done | None = None) -> list[dict]:
    """One job over several points (e.g. fits batched over seeds): each point's results file,
    the missing ones computed together under their locks, each written on its own."""
    with ExitStack() as stack:
        todo = [i for i, path in enumerate(paths) if _done(path, valid) is None]
        for i in todo:
            stack.enter_context(point_lock(paths[i]))
        todo = [i for i in todo if _done(paths[i], valid) is None]  # finished while waiting
        if todo:
            try:
                results = job([points[i] for i in todo])
                outs = [{"point": points[i], "status": "ok", **r}
                        for i, r in zip(todo, results, strict=True)]
            except Exception as e:  # a job's failure is a result, listed by the report
                outs = [{"point": points[i], "status": "failed",
                         "error": f"{type(e).__name__}: {e}",
                         "traceback": traceback.format_exc()} for i in todo]
            for i, out in zip(todo, outs, strict=True):
                write_json(paths[i], {**out, "complete": True})
    return [read_json(path) for path in paths]


def run_sweep(points: Sequence[Point], job: Job, path_of: Callable[[Point], Path],
              executor: str = "inline", folder: Path | None = None,
              parameters: dict | None = None, batch_of: Callable[[Point], object] | None = None,
              valid: Done | None = None, parallel: int = 1) -> list[dict]:
    """Every point's results, in the order given. Points with the same `batch_of(point)` run as
    one job (default: each alone); `valid`: whether a finished file still counts; `folder`:
    submitit's logs and pickles; `parameters`: submitit's update_parameters (e.g.
    slurm_partition, timeout_min); `parallel`: jobs running at once on the local executor."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    batches: dict[object, list[Point]] = {}
    for i, p in enumerate(points):
        if _done(path_of(p), valid) is None:
            batches.setdefault(batch_of(p) if batch_of else i, []).append(p)
    work = [(ps, [path_of(p) for p in ps]) for ps in batches.values()]
    if executor == "inline" or not work:
        for ps, paths in work:
            run_batch(job, ps, paths, valid)
    else:
        import submitit  # only where jobs are submitted

        if folder is None:
            raise ValueError("a submitit executor needs a folder for its logs")
        ex = (submitit.LocalExecutor(folder=folder) if executor == "local"
              else submitit.AutoExecutor(folder=folder, cluster="slurm"))
        ex.update_parameters(**{"timeout_min": 24 * 60, **(parameters or {})})
        running: list = []
        for ps, paths in work:
            if executor == "local":
                while len(running) >= parallel:  # this machine's cores, not a queue
                    running = [j for j in running if not _finished(j)]
            running.append(ex.submit(run_batch, job, ps, paths, valid))
        for j in running:
            j.result()
    return [read_json(path_of(p)) for p in points]


def _finished(job) -> bool:
    """A submitted job is done (its own failure raises here, with its log)."""
    if job.done():
        job.result()
        return True
    time.sleep(0.5)
    return False
