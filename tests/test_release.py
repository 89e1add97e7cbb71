"""Publishing a run (innr.report.release), reading what was published (innr.published) and
holding a rerun against it (innr.report.compare)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from innr import published
from innr.config import ConfigError, load_config
from innr.coordinates import flatten_params
from innr.datasets import dataset_of
from innr.report import compare, release

from .conftest import QUICK


@pytest.fixture(scope="module")
def quick_published(quick_results, tmp_path_factory):
    """The quick run published into a folder of its own (the run is left untouched)."""
    to = tmp_path_factory.mktemp("published") / "published"
    release.release(QUICK, quick_results.parent, bench=to / "no-bench.json", to=to)
    return to


def test_publish_copies_every_results_file_and_lists_it(quick_results, quick_published):
    manifest = published.read_manifest(quick_published)
    copied = {f"results/quick/{p.relative_to(quick_results).as_posix()}"
              for p in release.results_files(quick_results)}
    assert copied and copied <= set(manifest["files"])
    assert not any("/cache/" in f or f.endswith(".lock") for f in manifest["files"])
    for rel in copied:
        assert (quick_published / rel).read_bytes() == (
            quick_results.parent / rel.removeprefix("results/")).read_bytes()
    fidelity = json.loads((quick_results / "fidelity" / "seed_1234.json").read_text())
    assert manifest["files"]["results/quick/fidelity/seed_1234.json"]["config_hash"] == \
        fidelity["config_hash"]
    config = load_config(QUICK)
    assert manifest["configs"]["quick"]["hash"] == config.hash()
    assert manifest["run"]["commits"] == [fidelity["provenance"]["git_commit"]]
    assert published.check(quick_published) == []


def test_published_networks_load_as_weights_and_rebuild_the_measured_error(quick_results,
                                                                          quick_published):
    config = load_config(QUICK)
    nets = quick_published / "networks" / "quick"
    assert sorted(p.name for p in nets.iterdir()) == sorted(
        [f"cnn_seed{s}.pt" for s in config.seeds + config.control_seeds]
        + [f"innr_seed{s}.pt" for s in config.seeds])
    for seed in config.seeds:
        state = torch.load(nets / f"cnn_seed{seed}.pt", weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in state.values())
        cnn = published.load_cnn(nets / f"cnn_seed{seed}.pt", config.cnn.architecture,
                                 config.cnn.channels)
        rebuilt = published.load_innr(nets / f"innr_seed{seed}.pt").rebuild()
        assert list(rebuilt) == list(cnn.state_dict())
        error = (flatten_params(rebuilt) - flatten_params(cnn.state_dict())).norm() / \
            flatten_params(cnn.state_dict()).norm()
        # the weight error the fidelity experiment measured on this seed's SIREN
        measured = json.loads((quick_results / "fidelity" / f"seed_{seed}.json").read_text())
        assert float(error) == pytest.approx(measured["metrics"]["weight_rel_l2"], rel=1e-5)


def test_a_companion_of_another_architecture_publishes_its_source_cnns_only(quick_published):
    for name in load_config(QUICK).frontier.companions:
        config = load_config(QUICK.parent / f"{name}.toml")
        nets = quick_published / "networks" / name
        assert sorted(p.name for p in nets.iterdir()) == sorted(
            f"cnn_seed{s}.pt" for s in config.seeds)
        entry = published.read_manifest(quick_published)["configs"][name]["cnn"]
        cnn = published.load_cnn(nets / f"cnn_seed{config.seeds[0]}.pt", entry["architecture"],
                                 entry["channels"], dataset_of(config.data.root).name,
                                 entry["depth"])
        assert sum(p.numel() for p in cnn.parameters()) > 0


def test_a_published_innr_is_refused_when_it_is_not_one(tmp_path):
    torch.save({"format": "something else"}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="is of format 'something else'"):
        published.load_innr(tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError):
        published.load_innr(tmp_path / "missing.pt")


def test_check_names_a_changed_a_missing_and_an_unlisted_file(quick_published, tmp_path):
    copy = tmp_path / "published"
    shutil.copytree(quick_published, copy)
    changed = copy / "results" / "quick" / "compression" / "aggregate.csv"
    changed.write_text(changed.read_text().replace("1", "2", 1))
    (copy / "results" / "quick" / "fidelity" / "seed_1235.json").unlink()
    (copy / "extra.txt").write_text("x")
    problems = published.check(copy)
    assert problems == ["extra.txt: not in the manifest",
                        "results/quick/compression/aggregate.csv: changed since it was "
                        "published (size or sha256 differs)",
                        "results/quick/fidelity/seed_1235.json: in the manifest, missing from "
                        "the folder"]


def test_an_unfinished_run_is_not_published(quick_results, tmp_path):
    run = tmp_path / "results"
    shutil.copytree(quick_results, run / "quick")
    (run / "quick" / "transfer" / "seed_1235.json").unlink()
    to = tmp_path / "published"
    with pytest.raises(ConfigError, match=r"quick/transfer: seeds 1235 have no results"):
        release.release(QUICK, run, to=to)
    assert not to.exists()
    assert release.main(["--config", str(QUICK), "--results", str(run), "--to", str(to)]) == 2


def test_a_network_missing_from_the_cache_stops_the_publication(quick_results, tmp_path):
    run = tmp_path / "results"
    shutil.copytree(quick_results.parent, run)  # the companions' results too: a finished run
    for p in (run / "quick" / "cache").glob("innr_*seed1235.*"):
        p.unlink()
    with pytest.raises(ConfigError, match="INNR of seed 1235 is not in the cache"):
        release.release(QUICK, run, to=tmp_path / "published")


# --- compare ----------------------------------------------------------------------------------

def test_a_rerun_on_the_same_build_is_compared_exactly_and_one_bit_off_is_said(
        quick_results, quick_published, tmp_path):
    run = tmp_path / "results"
    shutil.copytree(quick_results.parent, run)  # the companions' results too: a finished run
    assert compare.run_comparison(QUICK, run, quick_published).same_files  # a copy proves nothing
    rerun = run / "quick" / "transfer" / "seed_1234.json"  # a rerun: the same bits, other times
    rerun.write_text(rerun.read_text().replace('"finished": "', '"finished": "0', 1))
    same = compare.run_comparison(QUICK, run, quick_published)
    counts = same.counts()
    assert not same.same_files and same.exact_possible and counts["numbers"] > 40
    assert counts["exact"] == counts["reproduced"] == counts["numbers"]
    assert all(r.bits_expected for r in same.rows) and not same.changed()
    assert compare.main(["--config", str(QUICK), "--results", str(run), "--published",
                         str(quick_published)]) == 0
    # one seed's rebuilt accuracy moved by the last bit of a float64: said, and judged by
    # equivalence, which two seeds cannot show
    path = run / "quick" / "fidelity" / "seed_1235.json"
    record = json.loads(path.read_text())
    record["metrics"]["accuracy_rebuilt"] = float(np.nextafter(
        record["metrics"]["accuracy_rebuilt"], 2.0))
    path.write_text(json.dumps(record))
    moved = compare.run_comparison(QUICK, run, quick_published)
    [row] = moved.failures()
    assert (row.group, row.name, row.outcome) == ("Claim 1 (fidelity)", "rebuilt test accuracy",
                                                  compare.NOT_SHOWN)
    assert "bits differ on 1 of 2 seeds although both runs record one build" in row.note
    assert "1 numbers differ in their bits" in moved.summary()
    assert compare.main(["--config", str(QUICK), "--results", str(run), "--published",
                         str(quick_published)]) == 1


def test_the_published_results_compared_with_themselves_say_so(quick_published):
    itself = compare.run_comparison(QUICK, quick_published / "results", quick_published)
    assert itself.same_files and "published results themselves" in itself.summary()


def test_nothing_published_is_a_clear_error(quick_results, tmp_path, capsys):
    assert compare.run_comparison(QUICK, quick_results.parent, tmp_path) is None
    assert compare.main(["--config", str(QUICK), "--published", str(tmp_path)]) == 2
    assert "nothing of" in capsys.readouterr().err


# --- the report: the comparison in it, and outputs that change only with their content -------

def test_the_report_holds_the_run_against_the_published_one(quick_results, quick_published,
                                                            tmp_path):
    from innr.report import __main__ as cli

    run = tmp_path / "results"
    shutil.copytree(quick_results, run / "quick")
    path = run / "quick" / "compression" / "seed_1234.json"
    record = json.loads(path.read_text())
    record["metrics"]["accuracy_gap"] += 0.5
    path.write_text(json.dumps(record))

    def tex(published_folder) -> str:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        return cli.build(QUICK, run, published=published_folder, pdf=False,
                         figures_dir=out / "figures", build_dir=out / "build").read_text()

    text = tex(quick_published)
    assert r"\section{This run against the published one}" in text
    assert "1 not reproduced" in text and "tolerances of 0.3 points" in text
    assert "accuracy gap (CNN - rebuilt)" in text and "not reproduced: difference 25.00" in text
    assert "No published run of this configuration was found" in tex(tmp_path / "nothing")


def test_figures_drawn_twice_are_the_same_bytes(quick_results, tmp_path):
    """The committed figures change in git only when what they show changes (no dates in the
    files; the ablation's jittered dots drawn the same)."""
    from innr.report import figures, load

    config = load_config(QUICK)
    res = load.load_results(config, quick_results.parent)
    study = load.load_original(QUICK.parent / "original_study.toml")
    for out in ("a", "b"):
        figures.make_all(res, tmp_path / out, study, 0.01, {0.5: 0.003})
    drawn = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "ablation.png" in drawn and "ablation.pdf" in drawn
    for name in drawn:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
