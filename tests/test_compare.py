"""A rerun held against the published run (innr.report.compare): judged by equivalence within
declared tolerances, verdicts compared, the published folder checked first, and a clear stop
when there is nothing to compare. The reruns are copies of experiments/published/ in tmp
folders, edited."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from innr import runtime
from innr.config import ConfigError
from innr.paths import CRITERIA, FULL_CONFIG, PUBLISHED
from innr.report import compare, load
from innr.report.compare import ABSENT, NOT_REPRODUCED, NOT_SHOWN, REPRODUCED, Number

TOLERANCES = load.load_criteria(CRITERIA).reproduction["tolerance"]
GAP = ("Claim 2 (compression)", "accuracy gap (CNN - rebuilt)")


@pytest.fixture
def rerun(tmp_path):
    """A copy of the published results as a rerun's results root: the same numbers, other
    times (so not the published files themselves)."""
    root = tmp_path / "results"
    shutil.copytree(PUBLISHED / "results", root)
    path = root / "full" / "transfer" / "seed_1239.json"
    path.write_text(path.read_text().replace('"finished": "', '"finished": "0', 1))
    return root


def _shift_claim2_gap(root, by: float) -> None:
    """Every seed's claim-2 gap `by` higher: the rebuilt network that much less accurate."""
    for path in sorted((root / "full" / "compression").glob("seed_*.json")):
        record = json.loads(path.read_text())
        record["metrics"]["accuracy_gap"] += by
        record["metrics"]["accuracy_rebuilt"] -= by
        path.write_text(json.dumps(record))


def _main(*args) -> int:
    return compare.main(["--config", str(FULL_CONFIG), *map(str, args)])


def test_an_unshifted_copy_is_reproduced_and_says_why_exact_mode_is_not_available(
        rerun, capsys):
    c = compare.run_comparison(FULL_CONFIG, rerun)
    assert not c.same_files and not c.exact_possible  # the published files name no CPU model
    assert {r.outcome for r in c.rows} == {REPRODUCED} and len(c.rows) > 150
    assert not c.changed() and len(c.verdicts) > 20
    assert "do not record their CPU model" in c.summary()
    assert _main("--results", rerun) == 0
    assert "0 not reproduced and 0 not shown" in capsys.readouterr().out


def test_a_claim2_gap_half_a_point_higher_on_every_seed_is_not_reproduced(rerun, capsys):
    _shift_claim2_gap(rerun, 0.005)
    c = compare.run_comparison(FULL_CONFIG, rerun)
    [row] = [r for r in c.rows if (r.group, r.name) == GAP]
    assert (row.mode, row.outcome) == ("equivalence", NOT_REPRODUCED)
    assert row.difference == pytest.approx(0.005) and row.tolerance == 0.003
    assert [r.outcome for r in c.rows].count(REPRODUCED) == len(c.rows) - 1
    # the changed verdict is named
    assert [(v.about, v.published, v.fresh) for v in c.changed()] == [
        ("Claim 2 (compression)", "supported", "inconclusive")]
    assert _main("--results", rerun) == 1
    out = capsys.readouterr().out
    assert "not reproduced: difference 0.50%" in out
    assert "| Claim 2 (compression) | supported | inconclusive |" in out


def test_an_edited_published_file_stops_compare_naming_it(rerun, tmp_path, capsys):
    folder = tmp_path / "published"
    shutil.copytree(PUBLISHED, folder)
    edited = folder / "results" / "full" / "compression" / "seed_1240.json"
    record = json.loads(edited.read_text())
    record["metrics"]["accuracy_gap"] += 0.005
    edited.write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="compression/seed_1240.json: changed since it was"):
        compare.run_comparison(FULL_CONFIG, rerun, folder)
    assert _main("--results", rerun, "--published", folder) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "results/full/compression/seed_1240.json" in err


def test_nothing_to_compare_exits_non_zero_with_one_line(tmp_path, capsys):
    assert _main("--results", tmp_path / "nothing") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: nothing to compare") and \
        captured.err.count("\n") == 1


# --- one number: exact, equivalence, not shown ----------------------------------------------

def _machine(model: str | None) -> tuple:
    return compare.machine({"device_name": "cpu", "processor": "x86_64", "cpu_model": model,
                            "cpu_capability": "AVX512", "math_library": {"blas": "mkl"},
                            "versions": {"torch": "2"}, "torch_threads": 2})


def _number(values, model: str | None = "CPU A", kind: str = "accuracy") -> Number:
    return Number("Claim 2 (compression)", "x", dict(enumerate(values)),
                  made=frozenset({("hash", _machine(model))}), kind=kind)


def _draw(mean: float, sd: float, seeds: int, seed: int) -> list[float]:
    return np.random.default_rng(seed).normal(mean, sd, seeds).tolist()


def test_too_few_seeds_is_not_shown_never_reproduced():
    published = _number([0.006 + (-1) ** s * 0.002 for s in range(10)])
    close = {s: v + 0.0005 for s, v in published.values.items()}  # well inside 0.3 points
    for seeds in (1, 2):
        run = _number([close[s] for s in range(seeds)], "CPU B")
        row = compare.judge(published, run, 0.05, TOLERANCES)
        assert (row.mode, row.outcome) == ("equivalence", NOT_SHOWN), seeds
        assert f"{10 - seeds} of 10 seeds not run yet" in row.note
    # the same shift on every seed: the interval fits inside the tolerance
    row = compare.judge(published, _number(list(close.values()), "CPU B"), 0.05, TOLERANCES)
    assert row.outcome == REPRODUCED
    # a wide spread: the difference is inside, its interval is not
    wide = _number([v + (-1) ** s * 0.01 for s, v in published.values.items()], "CPU B")
    row = compare.judge(published, wide, 0.05, TOLERANCES)
    assert row.difference == pytest.approx(0) and row.outcome == NOT_SHOWN


def test_equivalence_needs_the_interval_inside_and_fails_when_the_difference_is_outside():
    assert compare.equivalence(0.001, -0.002, 0.0029, 0.003) == REPRODUCED
    assert compare.equivalence(0.001, -0.002, 0.0031, 0.003) == NOT_SHOWN
    assert compare.equivalence(0.0031, 0.002, 0.004, 0.003) == NOT_REPRODUCED
    assert compare.equivalence(-0.0031, -0.004, -0.002, 0.003) == NOT_REPRODUCED
    assert compare.equivalence(0.0, float("nan"), float("nan"), 0.003) == NOT_SHOWN
    assert compare.equivalence(0.0, 0.0, 0.0, 0.0) == REPRODUCED  # a counted number, equal


def test_each_number_is_judged_alone_however_many_are_compared():
    published = [_number(_draw(0.5, 0.001, 10, s)) for s in range(20)]
    for i, n in enumerate(published):
        n.name = f"number {i}"
    run = [Number(n.group, n.name, {s: v + 0.0015 for s, v in n.values.items()}, made=n.made)
           for n in published]
    alone = compare.compare(published[:1], run[:1], 0.05, TOLERANCES)
    together = compare.compare(published, run, 0.05, TOLERANCES)
    assert alone[0].outcome == together[0].outcome == REPRODUCED
    assert alone[0].note == together[0].note


def test_a_relative_tolerance_scales_with_the_published_value():
    kl = _number([0.05] * 5, kind="relative")
    assert compare.tolerance(kl, TOLERANCES) == pytest.approx(0.005)
    row = compare.judge(kl, _number([0.056] * 5, "CPU B", "relative"), 0.05, TOLERANCES)
    assert row.outcome == NOT_REPRODUCED


def test_bits_are_expected_only_where_both_runs_name_one_complete_build():
    values = _draw(0.9, 0.001, 10, 3)
    same = compare.judge(_number(values), _number(values), 0.05, TOLERANCES)
    assert (same.mode, same.outcome, same.bits_expected) == ("exact", REPRODUCED, True)
    # one build, one bit off: said so, and judged by equivalence
    moved = values.copy()
    moved[4] = float(np.nextafter(moved[4], 2.0))
    row = compare.judge(_number(values), _number(moved), 0.05, TOLERANCES)
    assert (row.mode, row.outcome) == ("equivalence", REPRODUCED)
    assert "bits differ on 1 of 10 seeds although both runs record one build" in row.note
    # another CPU model, or none recorded: bits are not expected, and not said to differ
    for then, now in (("CPU A", "CPU B"), (None, None)):
        row = compare.judge(_number(values, then), _number(moved, now), 0.05, TOLERANCES)
        assert not row.bits_expected and "bits differ" not in row.note
    comparison = compare.Comparison("p", "r", False, 0.05, [row], [], False)
    assert "do not record their CPU model" in comparison.summary()


def test_a_number_the_run_lacks_is_not_in_this_run_and_fails_nothing():
    published = [_number([0.5, 0.6]), _number([0.7, 0.8])]
    published[1].name = "y"
    rows = compare.compare(published, published[:1], 0.05, TOLERANCES)
    assert [(r.mode, r.outcome) for r in rows] == [("exact", REPRODUCED), ("absent", ABSENT)]
    comparison = compare.Comparison("p", "r", False, 0.05, rows)
    assert comparison.reproduced() and "1 are not in this run" in comparison.summary()


def test_a_number_made_otherwise_is_not_compared_unless_equal_to_the_bit():
    then = _number([0.50, 0.60, 0.70])
    then.settings = {0: "keep 10", 1: "keep 10", 2: "keep 10"}
    moved = _number([0.60, 0.70, 0.80])  # 10 points better: a changed method, not a failure
    moved.settings = {0: "keep 10", 1: "keep 12", 2: "keep 10"}
    [row] = compare.compare([then], [moved], 0.05, TOLERANCES)
    assert (row.mode, row.outcome) == ("none", compare.OTHER_SETTING)
    assert "made otherwise on 1 of 3 seeds (seed 1: keep 10 published, keep 12 now)" in row.note
    comparison = compare.Comparison("p", "r", False, 0.05, [row])
    assert comparison.reproduced() and not comparison.failures()
    assert comparison.counts()["compared"] == 0
    assert comparison.table().groups[0][0][-1] == "1"  # the column 'made otherwise'
    assert "1 were made otherwise" in comparison.summary()
    assert comparison.made_otherwise_table().groups == [[
        ["Claim 2 (compression)", "x", "60.0%", "70.0%", row.note]]]
    same = _number([0.60, 0.70, 0.80])
    same.settings = dict(then.settings)
    assert compare.compare([then], [same], 0.05, TOLERANCES)[0].outcome == NOT_REPRODUCED
    unrecorded = _number([0.60, 0.70, 0.80])  # a run that records no settings is compared
    assert compare.compare([then], [unrecorded], 0.05, TOLERANCES)[0].outcome == NOT_REPRODUCED
    equal = _number([0.50, 0.60, 0.70])
    equal.settings = moved.settings
    assert compare.compare([then], [equal], 0.05, TOLERANCES)[0].outcome == REPRODUCED


def test_a_frontier_point_records_how_it_was_made():
    made = load.made_with({"setting": {"keep": 5, "bits": 3},
                           "choice": {"option": {"clip": "mse"}}})
    assert made == '{"chosen": {"clip": "mse"}, "setting": {"bits": 3, "keep": 5}}'
    assert load.made_with({"setting": {"keep": 5}, "choice": None}) == load.made_with(
        {"setting": {"keep": 5}, "choice": {"option": {}}})


def test_a_changed_verdict_fails_the_comparison_by_name():
    rows = compare.compare([_number([0.5, 0.6])], [_number([0.5, 0.6])], 0.05, TOLERANCES)
    S = compare.Standing
    verdicts = compare.compare_verdicts(
        {"Claim 1 (fidelity)": S("supported"), "Ablation at 25% of the bits": S("target met"),
         "Frontier (MNIST) at 10%": S("loses", "published")},
        {"Claim 1 (fidelity)": S("supported"), "Ablation at 25% of the bits": S("target missed")})
    comparison = compare.Comparison("p", "r", False, 0.05, rows, verdicts)
    assert [v.about for v in comparison.changed()] == ["Ablation at 25% of the bits"]
    assert not comparison.reproduced()
    assert comparison.verdicts_table().groups == [[
        ["Ablation at 25% of the bits", "target met", "target missed"]]]
    assert "Of 3 published verdicts, 2 were decided on this run and 1 changed." in \
        comparison.summary()
    assert comparison.other_rule_table() is None


def test_a_verdict_decided_by_another_rule_is_listed_apart_neither_kept_nor_changed():
    rows = compare.compare([_number([0.5, 0.6])], [_number([0.5, 0.6])], 0.05, TOLERANCES)
    S = compare.Standing
    published = {"Frontier (MNIST) at 25%": S("on the frontier", "published"),
                 "Frontier (MNIST) at 50%": S("loses", "published")}
    verdicts = compare.compare_verdicts(published, {
        "Frontier (MNIST) at 25%": S("level with", "amended"),
        "Frontier (MNIST) at 50%": S("loses", "amended")})
    comparison = compare.Comparison("p", "r", False, 0.05, rows, verdicts)
    assert comparison.changed() == [] and comparison.reproduced()
    assert comparison.other_rule_table().groups == [[
        ["Frontier (MNIST) at 25%", "on the frontier (published rule)",
         "level with (amended rule)"],
        ["Frontier (MNIST) at 50%", "loses (published rule)", "loses (amended rule)"]]]
    assert ("2 were decided on this run: 2 by another rule (the amended rule) than the "
            "published ones, so that they neither agree nor change (listed apart), and of the "
            "other 0, 0 changed.") in comparison.summary()
    # the PDF's comparison lists them apart too
    from innr.report.paper import _comparison
    section = _comparison(comparison, load.load_criteria(CRITERIA))
    assert section["other_rule"].groups == comparison.other_rule_table().groups
    assert section["verdicts"] is None
    # the same rule: a changed standing is a change
    same = compare.compare_verdicts(published, {
        "Frontier (MNIST) at 25%": S("loses", "published")})
    assert [v.about for v in compare.Comparison("p", "r", False, 0.05, rows, same).changed()] \
        == ["Frontier (MNIST) at 25%"]


# --- what decides the bits, as results record it ---------------------------------------------

def test_results_record_the_cpu_model_and_the_math_library():
    described = runtime.describe(torch.device("cpu"))
    library = described["math_library"]
    assert "cpu_model" in described and library["blas"] is not None
    assert set(library) == {"blas", "lapack", "libraries", "environment"}
    json.dumps(described)  # it goes into every results file


def test_the_reproduction_criteria_are_declared_with_a_tolerance_per_kind(tmp_path):
    declared = load.load_criteria(CRITERIA).reproduction
    assert set(declared["tolerance"]) == set(load.TOLERANCES)
    assert declared["alpha"] == 0.05 and declared["rationale"]
    bad = tmp_path / "criteria.toml"
    bad.write_text(CRITERIA.read_text().replace("transfer = 0.02", "transfer = -0.02"))
    with pytest.raises(ConfigError, match=r"\[reproduction\]"):
        load.load_criteria(bad)
