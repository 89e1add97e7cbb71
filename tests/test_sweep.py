"""The sweep runner: one results file per point, resumed, locked, failures recorded; and a
two-point sweep through submitit's local executor."""

from __future__ import annotations

import pytest

from innr.store import LockedError
from innr.sweep import point_lock, run_point, run_sweep

POINTS = [{"method": "pruned", "budget": 0.25, "seed": 1}, {"method": "svd", "budget": 0.5,
                                                            "seed": 2}]


def path_in(root):
    return lambda p: root / f"{p['method']}_{p['budget']:g}_seed{p['seed']}.json"


def test_points_are_written_once_and_resumed(tmp_path):
    calls = []

    def job(p):
        calls.append(p["seed"])
        return {"metrics": {"twice": 2 * p["seed"]}}

    out = run_sweep(POINTS, job, path_in(tmp_path))
    assert [r["metrics"]["twice"] for r in out] == [2, 4] and calls == [1, 2]
    assert all(r["status"] == "ok" and r["point"] == p for r, p in zip(out, POINTS, strict=True))
    (tmp_path / "svd_0.5_seed2.json").unlink()
    again = run_sweep(POINTS, job, path_in(tmp_path))
    assert calls == [1, 2, 2] and again == out  # only the lost point ran again


def test_a_failed_point_is_recorded_not_raised(tmp_path):
    def job(p):
        if p["seed"] == 2:
            raise RuntimeError("loss became NaN")
        return {}

    out = run_sweep(POINTS, job, path_in(tmp_path))
    assert [r["status"] for r in out] == ["ok", "failed"]
    assert "loss became NaN" in out[1]["error"]


def test_a_point_in_progress_is_locked(tmp_path):
    path = path_in(tmp_path)(POINTS[0])
    with point_lock(path), pytest.raises(LockedError, match="another job"):
        run_point(lambda p: {}, POINTS[0], path)


def test_unknown_executor_is_named(tmp_path):
    with pytest.raises(ValueError, match="executor must be one of"):
        run_sweep(POINTS, dict, path_in(tmp_path), executor="ray")


def test_a_two_point_sweep_through_submitit_local(tmp_path):
    # `dict` is a job any subprocess can unpickle: it returns a copy of the point
    out = run_sweep(POINTS, dict, path_in(tmp_path / "results"), executor="local",
                    folder=tmp_path / "submitit", parameters={"timeout_min": 5})
    assert [r["status"] for r in out] == ["ok", "ok"]
    assert [{k: r[k] for k in ("method", "budget", "seed")} for r in out] == POINTS
    assert list((tmp_path / "submitit").glob("*_log.out"))  # submitit ran them as jobs
