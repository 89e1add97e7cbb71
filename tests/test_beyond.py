"""The section "Does it hold beyond the original network?": companion configs of another
architecture, their data-free frontier, data track and headline claims, from results files
written here in the experiments' schemas (innr.experiments.frontier, datatrack, headline), and
NeRN's reported numbers read from their data file."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest

from innr import stats
from innr.config import ConfigError
from innr.experiments.workbench import budget_label
from innr.paths import CRITERIA, NERN_REPORTED
from innr.report import __main__ as cli
from innr.report import beyond, compare, load, paper, readme, sentences, tables, verdicts
from innr.store import write_json
from tests.test_frontier_report import BITS_AT_100, _write_frontier
from tests.test_report import synthetic  # noqa: F401  (the fixture: a report's results)

RESNET, BN = "synthres", "synthbn"  # companions: a ResNet that ran, a modern CNN that did not
LABEL = "Synth-Fashion"
SEEDS = (1, 2, 3, 4, 5)
NOISE = np.random.default_rng(1).normal(0, 0.002, len(SEEDS))
# the data track's mean test accuracy per budget and method: at 50% the INNR is level with the
# strongest rival (qat), at 35% qat beats it by 6 points
DATATRACK = {0.35: {"nern": 0.80, "pruned_finetuned": 0.78, "qat": 0.86, "scratch": 0.70},
             0.5: {"nern": 0.881, "pruned_finetuned": 0.85, "qat": 0.88, "scratch": 0.75}}
# innr.experiments.headline's measures (FGSM's per eps: claim 3's measure averages eps > 0)
HEADLINE = {"top1_agreement": 0.97, "control_top1_agreement": 0.95, "mean_kl": 0.031,
            "control_mean_kl": 0.052, "accuracy_original": 0.9, "accuracy_rebuilt": 0.88,
            "accuracy_control": 0.89, "accuracy_gap": 0.02, "control_accuracy_gap": 0.01,
            "val_accuracy": 0.87, "forward_original_eps0_acc_rebuilt": 0.88,
            "forward_original_eps0.1_acc_rebuilt": 0.4,
            "forward_original_eps0.1_transfer_rebuilt": 0.6,
            "forward_original_eps0.1_transfer_clean_rebuilt": 0.59,
            "forward_original_eps0.1_transfer_control": 0.5,
            "forward_original_eps0.2_transfer_rebuilt": 0.8,
            "forward_original_eps0.2_transfer_control": 0.7}


def _write_datatrack(root) -> None:
    """innr.experiments.datatrack's files: every point and its selection records."""
    for budget, methods in DATATRACK.items():
        for k, (method, acc) in enumerate(methods.items()):
            for i, seed in enumerate(SEEDS):
                a = acc + NOISE[i - k]
                # scratch at 35% is coded larger than its budget: it stands nowhere
                coded = budget * (10_500 if (method, budget) == ("scratch", 0.35) else 9_000)
                write_json(root / "datatrack" / method / f"{budget_label(budget)}_seed{seed}.json",
                           {"method": method, "budget": budget, "seed": seed, "accuracy": a,
                            "accuracy_cnn": 0.9, "accuracy_gap": 0.9 - a,
                            "top1_agreement": a + 0.05, "stored_bits": int(budget * 70_000),
                            "budget_bits": int(budget * 80_000), "fits": True,
                            "bytes_coded": coded, "images": 6400,
                            # the narrow network trains whole epochs of its recipe
                            "steps": 200 if method == "scratch" else 100,
                            "choice": {"options": {}, "val_accuracy": a, "candidates": []},
                            "status": "ok", "complete": True})
            write_json(root / "datatrack" / load.VALIDATION / method
                       / f"{budget_label(budget)}_seed101.json",
                       {"val_accuracy": acc, "chosen": {}, "candidates": [], "status": "ok",
                        "complete": True})


def _write_stale(root) -> None:
    """A data track point made with another config: left out."""
    write_json(root / "datatrack" / "nern" / "75_seed1.json",
               {"method": "nern", "budget": 0.75, "seed": 1, "accuracy": 0.5, "fits": True,
                "config_hash": "another", "complete": True})


def _write_headline(root) -> None:
    """innr.experiments.headline's files: a result per seed, measures per budget."""
    for i, seed in enumerate(SEEDS[:4]):
        metrics = {f"b{budget_label(b)}_{m}": v + NOISE[i] * (j % 3) * ("eps" not in m)
                   for b in (0.5, 0.7425) for j, (m, v) in enumerate(HEADLINE.items())}
        details = {budget_label(b): {"budget": b, "method": "innr_best",
                                     "chosen_on": "validation", "val_accuracy": 0.9,
                                     "transfer": {}} for b in (0.5, 0.7425)}
        write_json(root / "headline" / f"seed_{seed}.json",
                   {"experiment": "headline", "seed": seed, "status": "ok",
                    "metrics": metrics, "details": details, "complete": True})


@pytest.fixture(scope="module")
def criteria_path(tmp_path_factory):
    """The declared criteria with a [data_track] section and margins for the test's label."""
    path = tmp_path_factory.mktemp("criteria") / "criteria.toml"
    text = CRITERIA.read_text()
    if "[data_track]" not in text:  # until helper "datatrack" declares it
        text += ('\n[data_track]\ndeclared = "2026-12-03, before any point"\n'
                 'seen_before = "nothing of this track"\nrationale = "as the amended rule."\n'
                 'alpha = 0.05\nequivalence_margin = {"MNIST" = 0.005, "Fashion-MNIST" = 0.005}\n'
                 'sizes = "coded"\ninnr = "nern"\n'
                 'rivals = ["pruned_finetuned", "qat", "scratch"]\n')
    # a margin for the test's dataset, in the frontier's amendment and in the data track
    path.write_text(text.replace('"Fashion-MNIST" = 0.005}',
                                 f'"Fashion-MNIST" = 0.005, "{LABEL}" = 0.02}}'))
    return path


@pytest.fixture(scope="module")
def companions(synthetic, tmp_path_factory, criteria_path):  # noqa: F811
    """The synthetic config naming two companions of another architecture, beside it; the
    ResNet's frontier, data track and headline results; the modern CNN's none."""
    tmp = tmp_path_factory.mktemp("beyond")
    results = tmp / "results"
    shutil.copytree(synthetic["results"], results)
    config = tmp / "synth.toml"
    config.write_text(synthetic["config"].read_text() + '[frontier]\nlabel = "Synth-MNIST"\n'
                      f'companions = ["{RESNET}", "{BN}"]\n')
    for name, architecture in ((RESNET, "resnet"), (BN, "bn_cnn")):
        (tmp / f"{name}.toml").write_text(
            f'name = "{name}"\nseeds = {list(SEEDS)}\n[cnn]\narchitecture = "{architecture}"\n'
            f'[frontier]\nlabel = "{LABEL}"\n')
    _write_frontier(results, "synth", "Synth-MNIST", [RESNET, BN], 0.0)
    _write_frontier(results, RESNET, LABEL, [], -0.1, validation=True)
    _write_datatrack(results / RESNET)
    _write_stale(results / RESNET)
    _write_headline(results / RESNET)
    dirs = {**synthetic["dirs"], "build_dir": tmp / "build", "figures_dir": tmp / "figures",
            "criteria": criteria_path}
    tex = cli.build(config, results, pdf=False, **dirs)
    return {"config": config, "results": results, "dirs": dirs, "text": tex.read_text(),
            "tmp": tmp}


def _section(text: str) -> str:
    return text.split(r"\section{Does it hold beyond the original network?}")[1].split(
        r"\section{")[0]


def _gathered(ctx) -> list[beyond.Beyond]:
    declared = load.load_criteria(ctx["dirs"]["criteria"])
    configs = beyond.configs(ctx["config"])
    return beyond.gather(configs, load.load_results(configs[0][0], ctx["results"]), declared)


# --- NeRN's reported numbers ---------------------------------------------------------------

def test_nerns_numbers_load_typed_with_their_source():
    nern = load.load_nern(NERN_REPORTED)
    assert "arXiv:2212.13554" in nern.source and nern.url.startswith("https://openreview.net")
    first = nern.results[0]
    assert (first.network, first.accuracy_original, first.accuracy_rebuilt) == (
        "ResNet-20", 0.9169, 0.9150)
    assert round(first.counted_params / first.predictor_params, 2) == first.compression
    assert [round(r.share, 2) for r in nern.results] == [0.53, 0.35, 0.46]


def test_a_missing_key_of_nerns_numbers_stops_naming_it(tmp_path):
    path = tmp_path / "nern.toml"
    path.write_text(NERN_REPORTED.read_text().replace("compression = 2.87\n", ""))
    with pytest.raises(ConfigError, match="compression"):
        load.load_nern(path)


# --- decisions -----------------------------------------------------------------------------

def test_the_data_track_is_judged_by_its_own_criteria(companions):
    res = next(b for b in _gathered(companions) if b.config.name == RESNET)
    standings = {v.budget: v for v in res.datatrack_verdicts}
    assert standings[0.35].standing == "loses" and standings[0.35].strongest == "qat"
    assert standings[0.5].standing == "level with" and standings[0.5].innr == "nern"
    # the strongest rival is chosen on validation: qat's selection record is the best
    assert standings[0.5].strongest == "qat"
    assert "scratch" not in standings[0.35].accuracy  # coded larger than the budget
    assert 0.75 not in standings and res.datatrack.stale == 1  # another config's file
    # Holm over the INNR's duels at every budget (5: scratch has none at 35%)
    duels = [d for v in res.datatrack_verdicts for d in v.duels]
    assert len(duels) == 5
    assert [d.p_holm for d in duels] == pytest.approx(stats.holm([d.p for d in duels]))


def test_the_track_length_is_read_from_the_points_and_absent_where_not_recorded(companions):
    points = next(b for b in _gathered(companions) if b.config.name == RESNET).datatrack.points
    assert beyond.track_length(points) == beyond.TrackLength(100, 6400, 200)
    # the narrow network did not run: no length of its own
    assert beyond.track_length(points[points["method"] != "scratch"]).scratch is None
    # files written before steps were recorded: no length, no sentence (no crash)
    shared = points["method"] != "scratch"
    assert beyond.track_length(points.assign(steps=points["steps"].where(~shared))) is None
    assert beyond.track_length(points.assign(images=float("nan"))) is None


def test_a_method_is_near_chance_only_where_every_point_is():
    points = pd.DataFrame({"method": ["nern"] * 4 + ["qat"] * 2 + ["scratch"] * 2 + ["odd"],
                           "accuracy": [0.10, 0.113, 0.19, 0.05, 0.10, 0.21, 0.99, 0.98,
                                        float("nan")]})
    # qat has one point at 21%: not every point guesses; odd recorded no accuracy
    assert beyond.near_chance(points, classes=10) == ["nern"]
    assert beyond.near_chance(points, classes=100) == []  # 2% is the line with 100 classes
    assert beyond.near_chance(points.assign(accuracy=0.2), classes=10) == []  # under, not at


def test_a_method_near_chance_is_said_plainly_in_the_report(companions):
    res = next(b for b in _gathered(companions) if b.config.name == RESNET)
    assert paper._track_chance(res, verdicts.method_label) == ""  # every method learned
    points = res.datatrack.points
    guessing = points.assign(accuracy=points["accuracy"].where(points["method"] != "nern", 0.11))
    res = dataclasses.replace(res, datatrack=dataclasses.replace(res.datatrack, points=guessing))
    said = paper._track_chance(res, verdicts.method_label)
    assert said.startswith(f"At every budget and seed, {verdicts.method_label('nern')} stays "
                           "near chance")
    assert "under 20% (guessing among 10 classes gives 10%)" in said
    both = sentences.datatrack_chance(["nern", "qat"], 10, 2.0, verdicts.method_label)
    assert " stay near chance" in both and "they did not learn" in both


def test_each_network_is_described_by_what_its_points_recorded(companions):
    gathered = {b.config.name: b for b in _gathered(companions)}
    net = beyond.network(gathered[RESNET])
    # the values: the largest budget's bits over its share of float32 bits
    assert net.values == round(BITS_AT_100 / 32)
    # each seed's CNN once: seeds 1-4 from the data-free points, 5 from the data track's only
    assert list(net.accuracy.index) == list(SEEDS)
    assert net.accuracy.tolist() == pytest.approx([0.9] * len(SEEDS))
    assert beyond.network(gathered[BN]) is None  # nothing of it ran
    config = gathered[RESNET].config
    assert beyond.architecture(config) == "resnet"
    deeper = dataclasses.replace(config, cnn=dataclasses.replace(config.cnn, depth=8))
    assert beyond.architecture(deeper) == "resnet-8"
    row = " ".join(_section(companions["text"]).split())
    assert r"Table~\ref{tab:beyond-networks}" in row
    assert ("Synth-Fashion, resnet & resnet, 32 channels & 312 & adam, 5 epochs of 512, rate "
            "0.0005 & 90.00\\% [90.00\\%, 90.00\\%] & 5") in row
    # the original network's row, from the frontier section's points (4 seeds)
    assert "Synth-MNIST, mnist\\_example\\_net & mnist\\_example\\_net, 32 channels" in row


def test_the_original_conclusion_generalises_only_where_the_others_agree():
    def h(name, track, wins=(), ran=True):
        return beyond.Holds(name, track, ran, wins)

    original = [h("net, MNIST", "data-free")]
    assert beyond.generalises(original, [h("resnet", "data-free")]) == "generalises"
    assert beyond.generalises(original, [h("resnet", "data-free", (0.5,))]) == (
        "does not generalise")
    # the data track never enters the data-free conclusion, nor a network that did not run
    assert beyond.generalises(original, [h("resnet", "data track", (0.5,)),
                                         h("resnet", "data-free")]) == "generalises"
    assert beyond.generalises(original, [h("bn", "data-free", ran=False)]) == "not run"
    # the paragraph states the conclusion as the original network drew it
    others = [h("resnet", "data-free", (0.5,))]
    said = sentences.generalisation("does not generalise", original, others)
    assert ("conclusion, that no INNR method beats every data-free rival at any budget, does "
            "not generalise") in said
    assert "on resnet (data-free), INNR beats every rival at 50%" in said
    said = sentences.generalisation("generalises", [h("net", "data-free", (0.5,))],
                                    [*others, h("bn", "data track", ran=False)])
    assert said.count("bn (data track)") == 1 and " Not run: bn (data track)." in said
    assert "bn (data track), not run" not in said
    assert "that INNR beats every data-free rival at some budget, generalises" in said


def test_the_headline_measures_are_read_per_budget(companions):
    frame = load.load_headline(companions["results"] / RESNET)
    assert sorted(set(frame["budget"])) == [0.5, 0.7425]
    assert set(frame["method"]) == {"innr_best"}
    assert set(frame["measure"]) == set(HEADLINE)
    table = tables.headline_claims(frame, verdicts.method_label)
    rows = [r for g in table.groups for r in g]
    assert [r[2] for r in rows[:2]] == ["top-1 agreement with the CNN", "mean KL(CNN || network)"]
    assert all("control" not in r[2] and "forward" not in r[2] for r in rows)  # columns; a mean
    transfer = [r for r in rows if r[2].startswith("transfer rate, original protocol")]
    assert len(transfer) == 2  # one a budget: eps 0.1 and 0.2 averaged, the rebuilt's and
    assert transfer[0][3].startswith("70.0%") and transfer[0][4].startswith("60.0%")  # control's
    gap = next(r for r in rows if r[2] == "accuracy gap (CNN minus)")
    assert gap[4] != "--"  # control_accuracy_gap is its control


# --- the report ----------------------------------------------------------------------------

def test_the_section_renders_from_the_results(companions):
    section = _section(companions["text"]).replace(r"\%", "%")
    assert "Synth-Fashion, resnet" in section
    assert "Data-free: Table~\\ref{tab:beyond-free-2}" in section
    assert "Data track: Table~\\ref{tab:beyond-data-2}" in section
    assert "claims: Table~\\ref{tab:beyond-claims-2}" in section
    # the track's length, as its points recorded it (the batch: the companion's [datatrack])
    assert ("trains for 100 steps of 64 images (6,400 images, 1.00 of an epoch of the 6,400 "
            "training images), but the narrow network from scratch, which trains by its recipe "
            "for 2 whole epochs (200 steps)") in " ".join(section.split())
    assert "near chance" not in section  # every method of the track learned
    assert "frontier-beyond.pdf" in section
    assert (companions["dirs"]["figures_dir"] / "frontier-beyond.png").stat().st_size > 1000
    # the modern CNN named as a companion has no results: not run, and the PDF still builds
    bn = section.split(r"Synth-Fashion, bn\_cnn")[1].split(r"\paragraph")[0]
    assert "Data-free: not run" in bn and "Data track: not run" in bn
    assert "claims: not run" in bn
    # the generated paragraph: from the standings, nothing typed
    assert r"\paragraph{Does the conclusion generalise?} On the original network:" in section
    # and its conclusion in the abstract
    abstract = " ".join(companions["text"].split(r"\section{")[0].split())
    assert (r"Beyond the original network (Section~\ref{sec:beyond}): the original network's "
            "conclusion") in abstract


def test_the_original_frontier_section_leaves_the_other_networks_out(companions):
    frontier = companions["text"].split(r"\section{The compression frontier}")[1].split(
        r"\section{")[0]
    assert "Synth-MNIST: the standings" in frontier
    assert f"{LABEL}: the standings" not in frontier


def test_the_two_tracks_tables_never_share_a_row(companions):
    res = next(b for b in _gathered(companions) if b.config.name == RESNET)
    free = tables.frontier_standings(res.frontier_verdicts, verdicts.method_label)
    data = tables.frontier_standings(res.datatrack_verdicts, verdicts.method_label)
    free_rows = {tuple(r) for g in free.groups for r in g}
    data_rows = {tuple(r) for g in data.groups for r in g}
    assert free_rows and data_rows and not free_rows & data_rows
    data_methods = {verdicts.method_label(m) for m in DATATRACK[0.5]}
    assert {r[1] for r in data_rows} | {r[3] for r in data_rows} <= data_methods
    assert not ({r[1] for r in free_rows} | {r[3] for r in free_rows}) & data_methods
    tex = _section(companions["text"])
    table = tex.split(r"\label{tab:beyond-data-2}")[1].split(r"\end{table}")[0]
    assert verdicts.method_label("nern") in table  # the data-free INNR methods are not
    assert not any(verdicts.method_label(m) in table for m in ("innr_best", "innr_quantised"))


def test_nerns_numbers_come_from_the_data_file(companions, tmp_path):
    section = _section(companions["text"]).replace(r"\%", "%")
    nern = section.split(r"\label{tab:nern}")[1].split(r"\end{table}")[0]
    assert "91.69%" in nern and "91.50%" in nern and "1.89x" in nern
    # our ResNet's points nearest NeRN's shares (53%, 35%, 46%): the data track at 50% and 35%
    for budget in ("35%", "50%"):
        assert (f"ours: resnet & {LABEL} & data track & {verdicts.method_label('nern')} & "
                f"{budget}") in nern
    assert "CIFAR-10" in section and "batch-norm and the final linear layer" in section
    changed = tmp_path / "nern.toml"
    changed.write_text(NERN_REPORTED.read_text().replace("0.9150", "0.9012"))
    dirs = {**companions["dirs"], "build_dir": tmp_path / "build",
            "figures_dir": tmp_path / "figures", "nern": changed}
    text = cli.build(companions["config"], companions["results"], pdf=False, **dirs).read_text()
    nern = _section(text).replace(r"\%", "%").split(r"\label{tab:nern}")[1]
    assert "90.12%" in nern and "91.50%" not in nern


def test_the_section_says_not_run_without_companions(synthetic):  # noqa: F811
    section = _section(synthetic["text"])
    assert "were not run for it" in section
    assert "91.69" in section.replace(r"\%", "%")  # NeRN's numbers, ours not run beside them
    assert "our ResNet's points beside them: not run" in " ".join(section.split())
    assert "cannot be told yet" in section


def test_the_readme_has_a_line_per_network_and_track_that_ran(companions, synthetic):  # noqa: F811
    def block(config, results) -> str:
        return readme.block(config, results, companions["dirs"]["bench"],
                            companions["dirs"]["original"], companions["dirs"]["criteria"])

    text = block(companions["config"], companions["results"])
    assert "- **Synth-Fashion, resnet, data-free:** " in text
    assert "- **Synth-Fashion, resnet, data track:** 35% loses; 50% level with" in text
    assert "bn_cnn" not in text  # not run: no line
    assert "Beyond the original network" not in block(synthetic["config"],
                                                      synthetic["results"])


def test_a_report_and_a_readme_read_each_frontier_once(companions, monkeypatch, tmp_path):
    """The frontier section, the other networks' section, the compute table and the README's
    block each ask for frontiers of several configs: a build reads each config's once (a
    frontier is thousands of point files)."""
    reads = []
    real = load.load_frontier
    monkeypatch.setattr(load, "load_frontier", lambda root, *a: reads.append(root) or real(
        root, *a))
    once = sorted(str(companions["results"] / name) for name in ("synth", RESNET, BN))
    dirs = {**companions["dirs"], "build_dir": tmp_path / "build",
            "figures_dir": tmp_path / "figures"}
    cli.build(companions["config"], companions["results"], pdf=False, **dirs)
    assert sorted(map(str, reads)) == once
    reads.clear()
    readme.block(companions["config"], companions["results"], companions["dirs"]["bench"],
                 companions["dirs"]["original"], companions["dirs"]["criteria"])
    assert sorted(map(str, reads)) == once


def test_results_beside_share_the_frontiers_read(companions, monkeypatch):
    configs = [c for c, _ in beyond.configs(companions["config"])]
    main = load.load_results(configs[0], companions["results"])
    assert main.beside(configs[0]) is main
    resnet = main.beside(configs[1])
    assert (resnet.name, resnet.root) == (RESNET, companions["results"] / RESNET)
    first, own = resnet.frontier(), main.frontier()
    assert main.beside(configs[2]).frontier() is None  # the modern CNN's did not run
    monkeypatch.setattr(load, "load_frontier", lambda *a: pytest.fail("read again"))
    found = main.frontiers()
    assert len(found) == 2 and found[0] is own and found[1] is first
    run = compare.load_run(configs[0], companions["results"], configs[1:], main)
    assert run[0][1] is main
    assert run[1][1].frontier() is first and run[2][1].frontier() is None
