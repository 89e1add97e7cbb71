"""Training and fitting: they learn, are deterministic under a seed, resume exactly, and stop
with a clear message when a loss diverges."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import CNNConfig, Config, INNRConfig
from innr.datasets import load
from innr.fit import fit_innr, innr_targets, prepare, train_cnn
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


def test_cnn_learns_and_resumes_exactly(splits):
    train, test = splits
    cfg = CNNConfig(channels=4, epochs=2, batch_size=32, lr=1e-2)
    model, history = train_cnn(cfg, 5, train, test)
    assert history["train_loss"][1] < history["train_loss"][0]
    assert history["test_accuracy"][-1] > 0.3  # chance is 0.1
    saved = []

    def stop_after_first(state):
        saved.append(state)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_cnn(cfg, 5, train, test, checkpoint=stop_after_first)
    resumed, h2 = train_cnn(cfg, 5, train, test, state=saved[0])
    assert h2["train_loss"] == history["train_loss"]
    for x, y in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(x, y)
