"""A dataset and an architecture registered from here (a toy RGB dataset made in the test, a
one-convolution CNN) run through the claims' fidelity experiment and the quick frontier: the
input shape travels from the dataset to the CNN and the fit, and nothing else lists names."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from innr import datasets
from innr.architectures import ARCHITECTURES, Architecture, build_cnn
from innr.config import VariantConfig, load_config, variant_of
from innr.datasets import DATASETS, Dataset, dataset_of
from innr.experiments import fidelity, frontier
from innr.experiments.common import main
from innr.paths import QUICK_CONFIG
from innr.permutations import Link
from innr.predictors import PREDICTORS, build_predictor, predictor_size
from innr.registry import Registry
from innr.size import count_params as module_params
from innr.store import Store, read_json

from .conftest import QUICK, REPO


def toy_dataset(root: str) -> Dataset:
    """Random 3 x 8 x 8 images whose label is their brightest channel (learnable, 3 classes)."""
    g = torch.Generator().manual_seed(0)
    sizes = {"train": 96, "test": 32}
    splits = {}
    for split, n in sizes.items():
        images = torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=g)
        splits[split] = (images, images.float().mean((2, 3)).argmax(1))
    return Dataset(name="toy_rgb", label="toy RGB", shape=(3, 8, 8), classes=3, mean=0.5,
                   std=0.29, sizes=sizes, validation=slice(64, 96), root=root,
                   read=lambda root, split: splits[split])


class ToyNet(nn.Module):
    """conv C->c 3x3, max-pool 2, sigmoid, linear -> classes."""

    def __init__(self, c: int, shape: tuple[int, int, int], classes: int):
        super().__init__()
        channels, height, width = shape
        self.group = ((height - 2) // 2) * ((width - 2) // 2)
        self.conv = nn.Conv2d(channels, c, 3, bias=False)
        self.fc = nn.Linear(c * self.group, classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.sigmoid(F.max_pool2d(self.conv(x), 2)).flatten(1))

    def permutable_chain(self) -> tuple[Link, ...]:
        return (Link("conv", "fc", group=self.group),)


@pytest.fixture
def toy(tmp_path, monkeypatch) -> list[str]:
    """The toy dataset and architecture registered; the quick config's overrides that use them
    (one seed, a few steps)."""
    root = str(tmp_path / "toy")  # a registered dataset's root names it; nothing is read there
    monkeypatch.setitem(DATASETS, "toy_rgb", toy_dataset(root))
    monkeypatch.setitem(ARCHITECTURES, "toy_net", Architecture(
        "toy_net", lambda d, c: ToyNet(c, d.shape, d.classes), permutable=True))
    monkeypatch.setattr(datasets, "_CACHE", {})
    overrides = [f"data.root='{root}'", "cnn.architecture='toy_net'", "cnn.channels=8",
                 "cnn.batch_size=32", "seeds=[1]", "control_seeds=[2]", "innr.hidden=8",
                 "innr.steps=20", "innr.eval_every=10", "innr.checkpoint_every=10",
                 "innr.step='autograd'"]
    return [arg for o in overrides for arg in ("--set", o)]


def test_a_registered_dataset_and_architecture_run_the_fidelity_experiment(toy, tmp_path):
    assert main("fidelity", fidelity.run, ["--config", str(QUICK), "--results",
                                           str(tmp_path / "r"), *toy]) == 0
    r = json.loads((tmp_path / "r" / "quick" / "fidelity" / "seed_1.json").read_text())
    assert r["status"] == "ok"
    assert [p["layer"] for p in r["details"]["per_layer"]] == ["conv.weight", "fc.weight"]
    assert 0 <= r["metrics"]["accuracy_original"] <= 1


def test_a_registered_dataset_and_architecture_run_the_frontier(toy, tmp_path):
    overrides = ["frontier.budgets=[0.5]", "headline.budgets=[]", "ablation.w0_sweep=[30.0]",
                 'frontier.methods=["innr_best", "pruned", "narrow_cnn"]',
                 "frontier.method_budgets={}", "frontier.method_seeds={}",
                 "frontier.decode_repeats=1", "ablation.base.steps=20",
                 "ablation.ideas={permute = [{permute = true}]}"]
    sets = [arg for o in overrides for arg in ("--set", o)]
    assert frontier.main(["--config", str(QUICK_CONFIG), "--results", str(tmp_path), *toy,
                          *sets]) == 0
    config = load_config(QUICK_CONFIG, [a for a in toy + sets if a != "--set"])
    results = [read_json(frontier.path_of(Store("quick", tmp_path), p))
               for p in frontier.frontier_points(config)]
    assert {r["point"]["method"] for r in results} == {"innr_best", "pruned", "narrow_cnn"}
    assert all(r["status"] == "ok" and r["stored_bits"] <= r["budget_bits"] for r in results)


def test_the_readmes_examples_register_what_they_say():
    text = (REPO / "README.md").read_text()
    blocks = [block.split("```", 1)[0] for block in text.split("```python\n")[1:]
              if ".register(" in block]
    registries = (DATASETS, ARCHITECTURES, PREDICTORS)
    before = [dict(r) for r in registries]
    try:
        for block in blocks:
            exec(compile(block, "README.md", "exec"), {})
        letters = dataset_of("/data/letters")
        assert letters.name == "letters"
        cnn = build_cnn("one_conv_net", letters, 4)
        assert cnn(torch.zeros(2, *letters.shape)).shape == (2, letters.classes)
        shape = {"dim_in": 3, "width": 5, "depth": 2, "dim_out": 9}
        assert predictor_size("gelu_mlp", **shape) == module_params(
            build_predictor("gelu_mlp", **shape))
        assert variant_of(VariantConfig(), {"predictor": "gelu_mlp"}).predictor == "gelu_mlp"
    finally:
        for registry, entries in zip(registries, before, strict=True):
            registry.clear()
            registry.update(entries)


def test_a_registry_takes_a_name_once_and_names_the_known_ones():
    things = Registry("thing")
    things.register(SimpleNamespace(name="a"))
    with pytest.raises(ValueError, match="thing 'a' is registered twice"):
        things.register(SimpleNamespace(name="a"))
    with pytest.raises(KeyError, match=r"unknown thing 'b'; known: \['a'\]"):
        things["b"]
    assert "b" not in things and things.get("b") is None
