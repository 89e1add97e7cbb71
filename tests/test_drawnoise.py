"""A rerun seed on another build is held to the fit's draw-to-draw spread, not to tolerances
sized for ten-seed means (innr.report.drawnoise)."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from innr.paths import PUBLISHED_RESULTS
from innr.report import drawnoise
from innr.report.drawnoise import METRICS, Row, Z, draw_spread, judge

SEED = 1239
PUBLISHED_SEED = PUBLISHED_RESULTS / "full" / "fidelity" / f"seed_{SEED}.json"


def _study(pairs: dict[str, list[tuple[float, float | None]]]) -> list[dict]:
    """Fit-noise results: per CNN, (claims' draw, second draw) of each metric."""
    n = len(next(iter(pairs.values())))
    return [{"metrics": {**{f"run_{m}": v[i][0] for m, v in pairs.items()},
                         **{f"draw2_{m}": v[i][1] for m, v in pairs.items()}}}
            for i in range(n)]


def test_the_draw_spread_is_the_root_mean_square_of_paired_draw_differences():
    study = _study({m: [(0.5, 0.53), (0.5, 0.46), (0.4, None)] for m in METRICS})
    spread = draw_spread(study)
    # (0.03^2 + 0.04^2) / 2 = 0.00125; the CNN without a second draw is left out
    assert spread == {m: pytest.approx(math.sqrt(0.00125)) for m in METRICS}


def test_a_difference_up_to_z_spreads_is_within_and_beyond_it_is_not():
    assert Row(1, "top1_agreement", 0.9, 0.9 - Z * 0.01, 0.01 + 1e-12).within
    assert not Row(1, "top1_agreement", 0.9, 0.9 - Z * 0.01 - 1e-6, 0.01).within
    assert not Row(1, "weight_rel_l2", 0.2, 0.2 + Z * 0.01 + 1e-6, 0.01).within


def test_only_the_seeds_both_runs_have_are_judged():
    metrics = {m: 0.5 for m in METRICS}
    rows = judge([{"seed": 1, "metrics": metrics}], [{"seed": 1, "metrics": metrics},
                                                     {"seed": 2, "metrics": metrics}],
                 {m: 0.1 for m in METRICS})
    assert {r.seed for r in rows} == {1} and len(rows) == len(METRICS)


def _rerun(root, shift: float) -> None:
    """The published seed's fidelity file, its top-1 agreement moved by `shift`."""
    result = json.loads(PUBLISHED_SEED.read_text())
    result["metrics"]["top1_agreement"] += shift
    (root / "full" / "fidelity").mkdir(parents=True)
    (root / "full" / "fidelity" / PUBLISHED_SEED.name).write_text(json.dumps(result))


@pytest.mark.skipif(not PUBLISHED_SEED.exists(), reason="no published run")
@pytest.mark.parametrize("inside", [True, False])
def test_the_command_passes_a_seed_within_the_fit_noise_and_fails_one_beyond(
        tmp_path, capsys, inside):
    studied = [json.loads((PUBLISHED_RESULTS / "full" / "fitnoise" / f"seed_{s}.json")
                          .read_text()) for s in range(1239, 1244)]
    bound = Z * draw_spread(studied)["top1_agreement"]
    _rerun(tmp_path, -0.9 * bound if inside else -1.1 * bound)
    code = drawnoise.main(["--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == (0 if inside else 1), out
    assert ("3 of 3 numbers" if inside else "2 of 3 numbers") in out


def test_without_a_fit_noise_study_it_stops_in_one_line(tmp_path, capsys):
    published = tmp_path / "published"
    (published / "full" / "fidelity").mkdir(parents=True)
    if PUBLISHED_SEED.exists():
        shutil.copy(PUBLISHED_SEED, published / "full" / "fidelity")
    _rerun(tmp_path / "rerun", 0.0)
    code = drawnoise.main(["--results", str(tmp_path / "rerun"), "--published", str(published)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error:") and "no fit-noise study" in err
    assert len(err.splitlines()) == 1
