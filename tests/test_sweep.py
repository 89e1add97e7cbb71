"""The sweep runner: one results file per point, resumed, locked, failures recorded; and a
two-point sweep through submitit's local executor."""

from __future__ import annotations

import pytest

from innr.store import LockedError
from innr.sweep import point_lock, run_batch, run_sweep

POINTS = [{"method": "pruned", "budget": 0.25, "seed": 1}, {"method": "svd", "budget": 0.5,
                                                            "seed": 2}]


def path_in(root):
    return lambda p: root / f"{p['method']}_{p['budget']:g}_seed{p['seed']}.json"


def test_points_are_written_once_and_resumed(tmp_path):
    calls = []

    def job(ps):
        calls.extend(p["seed"] for p in ps)
        return [{"metrics": {"twice": 2 * p["seed"]}} for p in ps]

    out = run_sweep(POINTS, job, path_in(tmp_path))
    assert [r["metrics"]["twice"] for r in out] == [2, 4] and calls == [1, 2]
    assert all(r["status"] == "ok" and r["point"] == p for r, p in zip(out, POINTS, strict=True))
    (tmp_path / "svd_0.5_seed2.json").unlink()
    again = run_sweep(POINTS, job, path_in(tmp_path))
    assert calls == [1, 2, 2] and again == out  # only the lost point ran again


def test_a_failed_point_is_recorded_not_raised(tmp_path):
    def job(ps):
        if ps[0]["seed"] == 2:
            raise RuntimeError("loss became NaN")
        return [{}]

    out = run_sweep(POINTS, job, path_in(tmp_path))
    assert [r["status"] for r in out] == ["ok", "failed"]
    assert "loss became NaN" in out[1]["error"]


def test_a_point_in_progress_is_locked(tmp_path):
    path = path_in(tmp_path)(POINTS[0])
    with point_lock(path), pytest.raises(LockedError, match="another job"):
        run_batch(lambda ps: [{}], POINTS[:1], [path])


def test_unknown_executor_is_named(tmp_path):
    with pytest.raises(ValueError, match="executor must be one of"):
        run_sweep(POINTS, dict, path_in(tmp_path), executor="ray")


def test_a_two_point_sweep_through_submitit_local(tmp_path):
    # `list` is a job any subprocess can unpickle: each point's results are a copy of the point
    out = run_sweep(POINTS, list, path_in(tmp_path / "results"), executor="local",
                    folder=tmp_path / "submitit", parameters={"timeout_min": 5})
    assert [r["status"] for r in out] == ["ok", "ok"]
    assert [{k: r[k] for k in ("method", "budget", "seed")} for r in out] == POINTS
    assert list((tmp_path / "submitit").glob("*_log.out"))  # submitit ran them as jobs


def test_a_batch_runs_as_one_job_and_writes_a_file_per_point(tmp_path):
    jobs = []

    def job(ps):
        jobs.append([p["seed"] for p in ps])
        return [{"seed_seen": p["seed"]} for p in ps]

    points = [{"method": "innr", "budget": 0.5, "seed": s} for s in (1, 2, 3)]
    out = run_sweep(points, job, path_in(tmp_path), batch_of=lambda p: p["method"])
    assert jobs == [[1, 2, 3]] and [r["seed_seen"] for r in out] == [1, 2, 3]
    path_in(tmp_path)(points[1]).unlink()
    run_sweep(points, job, path_in(tmp_path), batch_of=lambda p: p["method"])
    assert jobs == [[1, 2, 3], [2]]  # only the lost point, still through the batch's job


def test_a_stale_file_is_recomputed(tmp_path):
    def job(ps):
        return [{"key": "new"} for _ in ps]

    run_sweep(POINTS[:1], lambda ps: [{"key": "old"}], path_in(tmp_path))
    out = run_sweep(POINTS[:1], job, path_in(tmp_path), valid=lambda r: r["key"] == "new")
    assert out[0]["key"] == "new"
