"""Running independent jobs of a sweep: here, on this machine's cores, or on a SLURM cluster.

A sweep is a list of points (plain dicts: dataset, method, budget, seed, ...); each point is one
job that writes its own results file, so jobs can run in any order, in parallel, or on other
machines that share the folder. `run_sweep`:
- skips a point whose results file is complete (a stopped sweep resumes);
- runs the others inline, or through submitit (Meta's job launcher, on PyPI): its local executor
  (one subprocess per job) or its SLURM executor, chosen by `executor`; the SLURM path is
  exercised here only through submitit's own interface, for want of a cluster;
- holds a lock per point while it runs, so two jobs never write the same file;
- records a failed point as failed, with its error, for the report to list and never average.
"""

from __future__ import annotations

import fcntl
import traceback
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from innr.store import LockedError, read_json, write_json

EXECUTORS = ("inline", "local", "slurm")
Point = dict
Job = Callable[[Point], dict]  # a point -> its results (JSON-serialisable)


@contextmanager
def point_lock(path: Path):
    """Hold `path`'s own lock file while its point runs; a second holder stops at once."""
    lock = path.with_name(f".{path.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another job is computing {path}") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def run_point(job: Job, point: Point, path: Path) -> dict:
    """One point: its results file, computed now unless it is already complete."""
    done = read_json(path)
    if done is not None:
        return done
    with point_lock(path):
        done = read_json(path)  # finished by another job while this one waited to start
        if done is not None:
            return done
        try:
            out = {"point": point, "status": "ok", **job(point)}
        except Exception as e:  # a job's failure is a result, listed by the report
            out = {"point": point, "status": "failed", "error": f"{type(e).__name__}: {e}",
                   "traceback": traceback.format_exc()}
        write_json(path, {**out, "complete": True})
    return out


def run_sweep(points: Sequence[Point], job: Job, path_of: Callable[[Point], Path],
              executor: str = "inline", folder: Path | None = None,
              parameters: dict | None = None) -> list[dict]:
    """Every point's results, in the order given. `folder`: submitit's logs and pickles;
    `parameters`: submitit's update_parameters (e.g. slurm_partition, timeout_min)."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    todo = [p for p in points if read_json(path_of(p)) is None]
    if executor == "inline" or not todo:
        for p in todo:
            run_point(job, p, path_of(p))
    else:
        import submitit  # only where jobs are submitted

        if folder is None:
            raise ValueError("a submitit executor needs a folder for its logs")
        ex = (submitit.LocalExecutor(folder=folder) if executor == "local"
              else submitit.AutoExecutor(folder=folder, cluster="slurm"))
        ex.update_parameters(**{"timeout_min": 24 * 60, **(parameters or {})})
        jobs = [ex.submit(run_point, job, p, path_of(p)) for p in todo]
        for j in jobs:
            j.result()  # a job that crashed outside run_point raises here, with its log
    return [read_json(path_of(p)) for p in points]
