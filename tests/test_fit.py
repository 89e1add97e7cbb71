"""Training and fitting: they learn, are deterministic under a seed, resume exactly, and stop
with a clear message when a loss diverges."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from innr import augment
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import CNNConfig, Config, INNRConfig
from innr.datasets import load
from innr.fit import (
    Split,
    cnn_optimizer,
    cnn_schedule,
    fit_innr,
    innr_targets,
    prepare,
    train_cnn,
)
from innr.runtime import seed_everything
from innr.steps import DivergenceError, run_steps
from innr.target import Targets

SMALL = INNRConfig(hidden=16, layers=3, steps=60, eval_every=20, checkpoint_every=20, lr=3e-3,
                   step="eager")


@pytest.fixture(scope="module")
def problem() -> Targets:
    torch.manual_seed(0)
    return innr_targets(SMALL, MnistExampleNet(2))


@pytest.fixture(scope="module")
def splits():
    cfg = Config(name="t")
    return (prepare(load("", "train").head(1024), cfg, torch.device("cpu")),
            prepare(load("", "test").head(256), cfg, torch.device("cpu")))


@pytest.mark.parametrize("step", ["autograd", "eager"])
def test_fit_reduces_the_loss_and_says_which_step_ran(problem, step):
    _, history = fit_innr(dataclasses.replace(SMALL, step=step), 0, problem)
    assert len(history["loss"]) == SMALL.steps
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["step"] == step


@pytest.mark.parametrize("step", ["autograd", "eager"])
def test_fit_is_deterministic_under_a_seed(problem, step):
    cfg = dataclasses.replace(SMALL, step=step)
    a, ha = fit_innr(cfg, 3, problem)
    b, hb = fit_innr(cfg, 3, problem)
    _, hc = fit_innr(cfg, 4, problem)
    assert ha["loss"] == hb["loss"] and ha["loss"] != hc["loss"]
    for x, y in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(x, y)


def test_fit_evaluates_on_schedule_with_rebuilt_weights(problem):
    seen = []

    def evaluate(params):
        assert list(params) == list(problem.stored[0])
        seen.append(params)
        return 0.5

    _, history = fit_innr(SMALL, 0, problem, evaluate)
    assert history["eval_step"] == [20, 40, 60] and history["eval_accuracy"] == [0.5] * 3


def test_interrupted_fit_resumes_to_the_same_result(problem):
    full, h_full = fit_innr(SMALL, 1, problem)
    saved = []

    def stop_after_first(state):
        saved.append(state)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_innr(SMALL, 1, problem, checkpoint=stop_after_first)
    resumed, h_resumed = fit_innr(SMALL, 1, problem, state=saved[0])
    assert h_resumed["loss"] == h_full["loss"]
    for x, y in zip(full.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(x, y)


def test_diverging_fit_names_seed_and_step(problem):
    with pytest.raises(DivergenceError, match=r"seed 7: INNR loss became non-finite at step \d+"):
        fit_innr(dataclasses.replace(SMALL, lr=1e30), 7, problem)


def test_the_fit_loop_reads_back_per_block_and_stops_at_the_first_bad_step():
    losses = iter([torch.tensor([1.0, 2.0])] * 6 + [torch.tensor([1.0, math.nan])] * 3)
    seen = []
    with pytest.raises(DivergenceError, match=r"^seeds \[5\]: toy loss became non-finite at "
                                              r"step 7; lower it$"):
        run_steps(lambda: next(losses), 9, (4, 6), lambda s, b: seen.append((s, b.shape)),
                  seeds=[4, 5], stage="toy", hint="lower it")
    assert seen == [(4, (4, 2)), (6, (2, 2))]  # at each multiple of either period
    seen.clear()
    run_steps(lambda: torch.tensor(0.5), 9, (4,), lambda s, b: seen.append((s, b.tolist())),
              seeds=[1], stage="toy", hint="", done=5)  # resumed after step 5
    assert seen == [(8, [0.5] * 3), (9, [0.5])]


def first_checkpoint(cfg: CNNConfig, train, test) -> dict:
    """The state train_cnn checkpoints after its first epoch, the run stopped there."""
    saved = []

    def stop_after_first(state):
        saved.append(state)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_cnn(cfg, 5, train, test, checkpoint=stop_after_first)
    return saved[0]


def test_cnn_learns_and_resumes_exactly(splits):
    train, test = splits
    cfg = CNNConfig(channels=4, epochs=2, batch_size=32, lr=1e-2)
    model, history = train_cnn(cfg, 5, train, test)
    assert history["train_loss"][1] < history["train_loss"][0]
    assert history["test_accuracy"][-1] > 0.3  # chance is 0.1
    saved = [first_checkpoint(cfg, train, test)]
    resumed, h2 = train_cnn(cfg, 5, train, test, state=saved[0])
    assert h2["train_loss"] == history["train_loss"]
    for x, y in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(x, y)


def test_the_default_recipe_is_the_originals_training_bit_for_bit(splits):
    """The original's loop (Adam, a permutation per (seed, epoch), cross-entropy), written out:
    the recipe fields at their defaults change no operation and no draw."""
    train, test = splits
    cfg = CNNConfig(channels=4, epochs=2, batch_size=100, lr=1e-2)
    model, _ = train_cnn(cfg, 5, train, test)
    seed_everything(5)
    original = MnistExampleNet(4).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(original.parameters(), lr=cfg.lr)
    n = len(train.labels)
    for epoch in range(cfg.epochs):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(5 * 1000 + epoch))
        original.train()
        for i in range(0, n, cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            x = train.inputs[idx].contiguous(memory_format=torch.channels_last)
            loss = torch.nn.functional.cross_entropy(original(x), train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    for x, y in zip(model.parameters(), original.parameters(), strict=True):
        assert torch.equal(x, y)


def few(splits: tuple[Split, Split], n: int) -> tuple[Split, ...]:
    """The first n examples of each split."""
    return tuple(Split(s.inputs[:n], s.pixels[:n], s.labels[:n], s.dataset, s.blank)
                 for s in splits)


RECIPE = CNNConfig(channels=4, epochs=2, batch_size=64, lr=0.05, optimizer="sgd",
                   weight_decay=5e-4, schedule="onecycle", augment="crop_flip",
                   label_smoothing=0.1)


@pytest.mark.parametrize("architecture", ["bn_cnn", "resnet"])
def test_a_recipe_trains_resumes_exactly_and_ends_in_eval_mode(splits, architecture):
    train, test = few(splits, 320)
    cfg = dataclasses.replace(RECIPE, architecture=architecture, depth=8 * (architecture ==
                                                                            "resnet"))
    model, history = train_cnn(cfg, 5, train, test)
    assert history["train_loss"][1] < history["train_loss"][0] and not model.training
    saved = [first_checkpoint(cfg, train, test)]
    assert "schedule" in saved[0]  # the rate's place in its cycle, beside the optimiser's state
    resumed, h2 = train_cnn(cfg, 5, train, test, state=saved[0])
    assert h2["train_loss"] == history["train_loss"]
    for x, y in zip(model.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(x, y)


@pytest.mark.parametrize("change", [{"optimizer": "adam"}, {"schedule": "cosine"},
                                    {"schedule": "constant"}, {"augment": "crop"},
                                    {"augment": "none"}, {"label_smoothing": 0.0},
                                    {"weight_decay": 0.0}, {"momentum": 0.5}])
def test_each_recipe_setting_changes_the_training(splits, change):
    train, test = few(splits, 128)
    cfg = dataclasses.replace(RECIPE, epochs=1)
    model, _ = train_cnn(cfg, 5, train, test)
    other, _ = train_cnn(dataclasses.replace(cfg, **change), 5, train, test)
    assert not torch.equal(model.fc.weight, other.fc.weight)


def test_the_schedules_reach_the_peak_rate_and_end_near_zero():
    net = torch.nn.Linear(2, 2)
    for schedule, peak_at in [("onecycle", 29), ("cosine", 0)]:  # onecycle: 30% up
        opt = cnn_optimizer(dataclasses.replace(RECIPE, schedule=schedule), net)
        rates = []
        scheduler = cnn_schedule(dataclasses.replace(RECIPE, schedule=schedule), opt, 100)
        for _ in range(100):
            rates.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        assert max(range(100), key=rates.__getitem__) == peak_at
        assert math.isclose(max(rates), RECIPE.lr) and rates[-1] < 0.01 * RECIPE.lr
    assert cnn_schedule(CNNConfig(), cnn_optimizer(CNNConfig(), net), 100) is None


def test_augmentation_crops_with_black_padding_and_flips():
    x = torch.arange(2 * 16.0).reshape(2, 1, 4, 4)
    centre = augment.Draws(torch.full((2, 2), augment.PAD), torch.zeros(2, dtype=torch.bool))
    assert torch.equal(augment.apply(x, centre, -1.0), x)
    flipped = augment.Draws(centre.shifts, torch.tensor([False, True]))
    assert torch.equal(augment.apply(x, flipped, -1.0)[1], x[1].flip(-1))
    moved = augment.apply(x, augment.Draws(torch.tensor([[0, 4], [4, 0]]), centre.flips), -1.0)
    assert torch.equal(moved[0, 0, 2:, :2], x[0, 0, :2, 2:])  # shifted down 2 and left 2
    assert (moved[0, 0, :2] == -1).all() and (moved[0, 0, :, 2:] == -1).all()
    assert torch.equal(moved[1, 0, :2, 2:], x[1, 0, 2:, :2])
    # drawn from the generator given: a seeded epoch draws the same, whatever ran before
    a = augment.draw("crop_flip", 50, torch.Generator().manual_seed(3))
    b = augment.draw("crop_flip", 50, torch.Generator().manual_seed(3))
    assert torch.equal(a.shifts, b.shifts) and torch.equal(a.flips, b.flips) and a.flips.any()
    assert not augment.draw("crop", 50, torch.Generator()).flips.any()
    assert augment.draw("none", 50, torch.Generator()) is None


def test_a_split_knows_its_black_pixels_input():
    cfg = Config(name="t")
    split = prepare(load("", "test").head(4), cfg, torch.device("cpu"))
    assert split.blank == pytest.approx(-cfg.data.mean / cfg.data.std)
    assert split.inputs.min() == pytest.approx(split.blank)
