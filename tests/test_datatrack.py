"""The data track (innr.experiments.datatrack): each method at one budget on a tiny network,
NeRN's losses, the choices on the validation split, resuming, and its declared criteria."""

from __future__ import annotations

import copy
import dataclasses
import json
import tomllib

import pytest
import torch

from innr import compute
from innr.coding import coded_bytes
from innr.config import ConfigError, experiments_of, load_config
from innr.experiments import datatrack
from innr.experiments.datatrack import REPORT, SELECT, TRACK, Counter, Job, Track
from innr.experiments.workbench import Workbench
from innr.metrics import accuracy, logits_of
from innr.params import inference_tensors, weights_of
from innr.paths import CRITERIA
from innr.prune import kept_mask
from innr.quantise import levels, straight_through
from innr.steps import DivergenceError
from innr.store import Store

from .conftest import QUICK

BUDGET = 0.35
TINY = ["data.train_limit=1000", "data.test_limit=300", "cnn.epochs=1",
        "ablation.selection_seeds=[3234]", "datatrack.budgets=[0.35]", "datatrack.steps=6",
        "datatrack.batch_size=16", "datatrack.images=128", "datatrack.lrs=[1e-3, 1e-2]"]


def track_of(root, overrides=()) -> Track:
    config = load_config(QUICK, [*TINY, *overrides])
    return Track(Workbench(config, Store(config.name, root), torch.device("cpu")))


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> Track:
    return track_of(tmp_path_factory.mktemp("results"))


def job(seed: int = 1234, stage: str = REPORT, lr: float = 1e-3) -> Job:
    return Job(stage, seed, BUDGET, lr)


@pytest.mark.parametrize("method", list(TRACK))
def test_each_method_fits_the_budget(track, method):
    trained = TRACK[method](track, job())
    allowed = track.allowed(job())
    assert trained is not None and 8 * coded_bytes(trained.stored) <= allowed
    assert trained.steps >= track.config.datatrack.steps
    result = datatrack.run_point(track, method, job())
    assert result["fits"] and 8 * result["bytes_coded"] <= result["budget_bits"] == allowed
    assert 0 <= result["accuracy"] <= 1 and result["images"] == 128


@pytest.mark.parametrize("method", ["nern", "pruned_finetuned", "qat"])
def test_each_methods_training_counts_its_work(track, method):
    cnn = track.cnn(job())
    shape = tuple(track.images(REPORT).inputs.shape[1:])
    d = track.config.datatrack
    # at least each step's training pass of the CNN's architecture on the batch
    floor = d.steps * d.batch_size * compute.training_flops(cnn, shape)
    before = compute.METER.flops
    TRACK[method](track, job())
    counted = compute.METER.flops - before
    assert counted >= floor
    if method != "nern":  # the rivals train the CNN's architecture and nothing else
        assert counted == floor


def test_pruned_finetuned_keeps_its_mask(track):
    trained = datatrack.pruned_finetuned(track, job())
    cnn = weights_of(inference_tensors(track.cnn(job())))
    mask = kept_mask(cnn, trained.setting["keep"])
    after = torch.cat([w.reshape(-1) for w in weights_of(trained.params).values()])
    before = torch.cat([w.reshape(-1) for w in cnn.values()])
    assert torch.equal(after != 0, mask)  # the pruned stay zero, the kept ones are kept
    assert not torch.equal(after[mask], before[mask])  # and fine-tuning moved them


def fake_quantised(w: torch.Tensor, bits: int) -> torch.Tensor:
    """torch's per-channel symmetric fake quantiser (scale max|w| / top, zero point 0)."""
    top = levels(bits)
    scale = w.detach().reshape(len(w), -1).abs().amax(1) / top
    return torch.fake_quantize_per_channel_affine(w, scale, torch.zeros(len(w), dtype=torch.int32),
                                                  0, -top, top)


@pytest.mark.parametrize("bits", datatrack.QAT_BITS)
def test_the_straight_through_quantiser_is_torchs(bits):
    w = torch.randn(6, 3, 5, 5, generator=torch.Generator().manual_seed(bits))
    torch.testing.assert_close(straight_through(w, bits), fake_quantised(w, bits),
                               rtol=0, atol=1e-6)


def test_qat_weights_lie_on_the_k_bit_grid(track):
    trained = datatrack.qat(track, job())
    bits = trained.setting["bits"]
    for w in weights_of(trained.params).values():
        torch.testing.assert_close(w, fake_quantised(w, bits), rtol=0, atol=1e-6)
        top = levels(bits)
        codes = w.reshape(len(w), -1) / (w.reshape(len(w), -1).abs().amax(1, keepdim=True) / top)
        assert torch.allclose(codes, codes.round(), atol=1e-4) and codes.abs().max() <= top + 1e-4


def test_each_nern_loss_is_nonzero_and_moves_the_predictor(track):
    model = datatrack.nern_model(track, job())
    images = track.images(REPORT).inputs[:16]
    terms = model.terms(images, model.targets.row_magnitude().cpu())
    params = list(model.stack.params.values())
    for name, term in terms.items():
        assert term.item() > 0, name
        grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
        assert sum(g.abs().sum() for g in grads if g is not None) > 0, name


@pytest.mark.parametrize("term", ["reconstruction", "distillation", "feature_maps"])
def test_each_nern_loss_changes_the_fit(track, term):
    both = datatrack.nern(track, job()).params
    off = dataclasses.replace(track.config, datatrack=dataclasses.replace(
        track.config.datatrack, **{term: 0.0}))
    other = copy.copy(track)
    other.config = off
    without = datatrack.nern(other, job()).params
    assert any(not torch.equal(both[k], without[k]) for k in weights_of(both))


def test_the_feature_maps_are_the_blocks_outputs(track):
    cnn = track.cnn(job())
    logits, maps = datatrack.feature_maps(cnn, inference_tensors(cnn),
                                          track.images(REPORT).inputs[:4])
    assert logits.shape == (4, 10) and len(maps) == 2  # conv1 and conv2 of MnistExampleNet
    assert all(m.dim() == 4 for m in maps)


def test_choices_are_made_on_the_validation_split(track, monkeypatch, tmp_path):
    mine = track_of(tmp_path)
    seen = []

    def spy(t, method, j):
        seen.append(j.stage)
        return {"fits": True, "accuracy": 0.5 + j.lr, "accuracy_cnn": 0.9, "accuracy_gap": 0.0,
                "top1_agreement": 0.5, "stored_bits": 1, "bytes_coded": 1}
    monkeypatch.setattr(datatrack, "run_point", spy)
    files = datatrack.select(mine, "qat", BUDGET, Counter(2))
    assert seen == [SELECT, SELECT]  # every candidate on a selection CNN
    assert files[0]["chosen"] == {"lr": 1e-2} and files[0]["val_accuracy"] == 0.51
    # a selection point is scored on the validation part, its CNN trained before it
    monkeypatch.undo()
    r = datatrack.run_point(track, "qat", job(3234, SELECT))
    cnn, (train, valid) = track.cnn(job(3234, SELECT)), track.bench.splits(SELECT)
    assert r["accuracy_cnn"] == accuracy(logits_of(cnn, valid.inputs), valid.labels)
    start = valid.dataset.validation.start
    assert len(train.labels) <= start and len(track.images(SELECT).labels) <= start


def test_resume_skips_finished_points(tmp_path, monkeypatch):
    mine = track_of(tmp_path, ["datatrack.methods=['qat']", "datatrack.lrs=[1e-3]"])
    first = datatrack.run_track(mine)
    assert [r["method"] for r in first] == ["qat", "qat"] and all(r["fits"] for r in first)
    assert first[0]["choice"]["option"] == {"lr": 1e-3}

    def fail(t, j):
        raise AssertionError("a finished point ran again")
    monkeypatch.setitem(TRACK, "qat", fail)
    again = datatrack.run_track(mine)
    assert [(r["started"], r["accuracy"]) for r in again] == [
        (r["started"], r["accuracy"]) for r in first]
    # a stale point (another config's) runs again, and only it
    path = datatrack.path_of(mine, "qat", BUDGET, 1235)
    stale = json.loads(path.read_text())
    path.write_text(json.dumps({**stale, "config_hash": "other"}))
    ran = []
    monkeypatch.setattr(datatrack, "run_point", lambda t, m, j: ran.append(j) or {"fits": False})
    datatrack.run_track(mine)
    assert ran == [Job(REPORT, 1235, BUDGET, 1e-3)]


def test_a_config_with_budgets_runs_the_track():
    assert experiments_of(load_config(QUICK), main=True)[-1] == "datatrack"
    assert "datatrack" not in experiments_of(load_config(QUICK, ["datatrack.budgets=[]"]), True)


def test_bad_datatrack_settings_stop():
    with pytest.raises(ConfigError, match="datatrack.variant"):
        load_config(QUICK, ["datatrack.variant='other'"])
    with pytest.raises(ConfigError, match="magnitude_share"):
        load_config(QUICK, ["datatrack.kernels=0", "datatrack.magnitude_share=0.5"])


def test_the_criteria_name_the_tracks_methods():
    declared = tomllib.loads(CRITERIA.read_text())["data_track"]
    assert declared["declared"].startswith("2026-12-03")
    assert [declared["innr"], *declared["rivals"]] == list(TRACK)
    assert declared["seeds"] >= 5 and declared["sizes"] == "coded"


def test_a_diverging_rate_is_never_chosen_and_a_diverging_point_fails(track, monkeypatch,
                                                                      tmp_path):
    real = TRACK["qat"]

    def diverges_at_the_high_rate(t, j):
        if j.lr > 1e-3:
            raise DivergenceError("seed 1: loss became non-finite")
        return real(t, j)
    monkeypatch.setitem(TRACK, "qat", diverges_at_the_high_rate)
    failed = datatrack.run_point(track, "qat", job(lr=1e-2))
    assert failed["status"] == "failed" and not failed["fits"] and "non-finite" in failed["error"]
    files = datatrack.select(track_of(tmp_path), "qat", BUDGET, Counter(2))
    assert files[0]["chosen"] == {"lr": 1e-3} and files[0]["val_accuracy"] is not None


def test_the_points_key_is_the_configs_datatrack_hash(track):
    assert track.key == track.config.datatrack_hash()
    other = load_config(QUICK, [*TINY, "datatrack.steps=7"])
    assert other.datatrack_hash() != track.key and other.hash() == track.config.hash()


def test_scratch_chooses_among_its_recipes_rates(track):
    assert track.lrs("qat") == (1e-3, 1e-2)
    assert track.lrs("scratch") == (track.config.cnn.lr,)  # its recipe's own
    other = copy.copy(track)
    other.config = load_config(QUICK, [*TINY, "datatrack.scratch_lrs=[0.1, 0.05]"])
    assert other.lrs("scratch") == (0.1, 0.05) and other.lrs("nern") == (1e-3, 1e-2)
