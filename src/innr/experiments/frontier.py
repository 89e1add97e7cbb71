"""The compression frontier: INNR against what a practitioner would store instead, in bytes.

    python -m innr.experiments.frontier --config experiments/full.toml [--executor local]

Every (method, budget, seed) is a point with its own results file; the sweep (innr.sweep) runs
them here, through submitit's local executor, or on a SLURM cluster, and resumes where it stopped
(a point's file is written whole, or not at all). Four stages, each waiting for the one before:
1. the config's CNNs (the claims' CNNs: trained once per seed, or loaded from the cache);
2. the ablation's selection (its best variant, chosen on the validation split), when an INNR
   variant is swept and the ablation has not chosen yet;
3. the choices, on the validation split (nothing here sees the test set): every method at every
   budget on the selection CNNs (ablation.selection_seeds, trained on the training images before
   the dataset's validation part), scored on that part, into
   RESULTS/<config>/frontier/selection/<method>/<budget>_seed<s>.json: `val_accuracy` (the
   method's validation accuracy at its chosen options), `val_accuracy_cnn`, `val_top1_agreement`,
   `chosen` (the options of the best mean validation accuracy over the selection seeds, the first
   listed on a tie), `candidates` (each option tried, with its `val_accuracy`) and the sizes below.
   A method's options are every combination of its own choices (Compression.choices: a
   quantiser's clipping) and, for a distilled compression, of frontier.distill_choices (its
   distillation steps and rate, as many candidates as the INNR's own distillation search had
   in the ablation). The report picks from these files each method's point per budget
   (the envelope), the headline INNR method and the strongest rival;
4. the points on the claims' CNNs, each at its method's chosen options (recorded as `choice`:
   the options, their mean validation accuracy and the candidates tried), on the test split, into
   RESULTS/<config>/frontier/<method>/<budget>_seed<s>.json. A budget is a share of the CNN's
   float32 bits (every tensor its inference reads, innr.params: weights and vectors). The
   methods are innr.methods' registry: the INNRs (fitted here, batched over seeds, a k-bit
   family's widths in one job; where the ablation
   fitted its best variant at a budget, its fits are reused), the data-free compressions at
   their largest setting that fits (some then distilled like the INNR's second stage), and the
   narrow CNN (trained here on the data). At each of headline.budgets, the INNR points keep
   their rebuilt weights in the cache (innr.experiments.workbench.kept_path; there an
   ablation's fit is reused only where they are kept), which innr.experiments.headline
   measures without a second fit; a point without them is made again.
Each point records accuracy, the gap to its CNN, agreement, its sizes and the decode time (the
median of rebuilding the weights from what is stored, value-independent, on this machine).
Sizes: `stored_bits` counts every stored bit raw (innr.size); `bytes_coded` is the length of the
file innr.coding.pack makes of what the method stores, checked to unpack to it exactly (None
where the method gives nothing to store). A data-free compression takes its largest setting
whose coded bytes fit the budget (its at_budget); an INNR is sized by raw bits: its width is
fixed before the fit, and coding can only make it smaller.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from innr import cli, compute
from innr.coding import coded_bytes, pack, unpack
from innr.config import Config, ConfigError, VariantConfig, load_config, variant_of
from innr.experiments.selection import run_selection
from innr.experiments.workbench import (
    SELECT,
    Arm,
    Clock,
    Workbench,
    best_option,
    evaluate,
    fit_flops,
    kept_path,
    mean_accuracies,
    path_of,
)
from innr.fit import get_cnn, innr_targets, new_siren
from innr.methods import METHODS, Compressed, Compression, Method, get
from innr.methods.innrs import Coded
from innr.methods.narrow_cnn import narrow_channels
from innr.metrics import accuracy, logits_of
from innr.params import inference_tensors, n_values
from innr.permutations import chain_of
from innr.runtime import (
    check_results_device,
    describe,
    git_state,
    keep_freed_memory,
    pick_device,
    set_deterministic,
)
from innr.size import BITS, budget_bits
from innr.store import Store, check_writable, read_json, save_checkpoint, write_json
from innr.sweep import EXECUTORS, run_sweep
from innr.target import Targets
from innr.variants import (
    Padded,
    Stack,
    SyntheticInputs,
    fit,
    new_predictor,
    predictor_bits,
    predictor_params,
    predictor_payload,
    rebuild,
    rebuild_members,
    rebuild_one,
    side_payload,
    synthetic_inputs,
    width_for_bits,
)

# --- the points ------------------------------------------------------------------------------

def options(method: Method, config: Config) -> list[dict]:
    """The options `method` chooses among on the validation split: every combination of the
    config's choices that apply to it ([{}] where none does)."""
    if not isinstance(method, Compression):
        return [{}]
    kinds = [[{field: v} for v in values] for field, values in method.choices().items()]
    if config.frontier.distill_choices and method.distil:
        kinds.append([{"distill": dict(d)} for d in config.frontier.distill_choices])
    return [{k: v for o in combo for k, v in o.items()} for combo in itertools.product(*kinds)]


def point_keys(config: Config, method: Method) -> dict:
    """What a point of `method` records beside (method, budget, seed): its method's settings
    (Method.point) and, where it chooses, the options it chooses among; a change to either
    makes a finished point stale."""
    tried = options(method, config)
    return {**method.point(config), **({"options": tried} if len(tried) > 1 else {})}


def frontier_points(config: Config, stage: str = "report") -> list[dict]:
    """Every (method, budget, seed) of the config's frontier: on the claims' CNNs ("report"),
    or on the selection CNNs (SELECT: every selection seed)."""
    f = config.frontier
    out = []
    for method in f.methods:
        seeds = (config.ablation.selection_seeds if stage == SELECT else
                 config.seeds[:f.method_seeds.get(method, len(config.seeds))])
        on = {"stage": SELECT} if stage == SELECT else {}
        for budget in f.method_budgets.get(method, f.budgets):
            point = {"dataset": config.name, "method": method, "budget": budget, **on,
                     **point_keys(config, get(method))}
            out += [{**point, "seed": s} for s in seeds]
    return out


def keeps(config: Config, point: dict) -> bool:
    """Whether the frontier keeps the point's rebuilt weights: an INNR's on the claims' CNNs
    at one of headline.budgets (the headline experiment measures them)."""
    return (point.get("stage") != SELECT and point["method"] in METHODS
            and get(point["method"]).innr and point["budget"] in config.headline.budgets)


def kept(config: Config, store: Store, point: dict) -> bool:
    """The point's rebuilt weights are in the cache, or the frontier does not keep them."""
    return not keeps(config, point) or kept_path(store, point, config.ablation_hash()).is_file()


def batch_of(point: dict) -> tuple:
    """The job a point runs in, per stage, as its method splits them (Method.batch; a family's
    methods share their jobs, Method.family): an INNR budget's seeds run together (one batched
    fit; a k-bit family's widths too); a baseline's points share one job (each is cheap: a job
    per point would be mostly start-up); a narrow CNN trains alone."""
    method = get(point["method"])
    return (point.get("stage", "report"), method.family or method.name,
            *(point[k] for k in method.batch))


def coded_width(method: Coded, variant: VariantConfig, targets: Targets, allowed: int) -> int:
    """The widest predictor of `method` whose bits, with the side bits and any residual's codes,
    fit `allowed`; 0 where none does, or a residual's codes leave less than its `room`."""
    codes = method.codes_bits(targets.stored[0])
    left = allowed - targets.side_bits() - codes
    if codes and left < method.room * allowed:
        return 0
    try:
        return width_for_bits(variant, targets, left, method.bits)
    except ValueError:  # not even the narrowest predictor
        return 0


# --- sizes and decode time -------------------------------------------------------------------

def coded(result: dict) -> dict:
    """`result` with what its method stores (`stored`: named tensors) replaced by `bytes_coded`,
    the length of innr.coding.pack's file, checked to unpack to exactly those tensors (a
    result without `stored` keeps the bytes_coded it has, or None)."""
    stored = result.pop("stored", None)
    if stored is None:
        return {"bytes_coded": None, **result}
    stored = {k: v.detach().cpu() for k, v in stored.items()}
    blob = pack(stored)
    back = unpack(blob)
    if list(back) != list(stored) or not all(
            back[k].dtype == v.dtype and back[k].shape == v.shape and torch.equal(back[k], v)
            for k, v in stored.items()):
        raise RuntimeError("innr.coding: the stored tensors did not unpack exactly")
    return {**result, "bytes_coded": len(blob)}


def median_seconds(decode: Callable[[], object], repeats: int) -> float:
    decode()  # warm-up: allocations, first-call dispatch
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        decode()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --- choices on the validation split -----------------------------------------------------------

VALIDATION = {"accuracy_rebuilt": "val_accuracy", "accuracy_original": "val_accuracy_cnn",
              "top1_agreement": "val_top1_agreement"}


def on_validation(result: dict) -> dict:
    """A result scored on the validation split, its accuracies named as such (val_*)."""
    out = {VALIDATION.get(k, k): v for k, v in result.items() if k != "accuracy_gap"}
    return {**out, "val_accuracy": out.get("val_accuracy")}


def key(option: dict) -> str:
    return json.dumps(option, sort_keys=True)


# --- the job ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Candidate:
    """The job as a distilled compression sees it (Compression.tune) while one candidate runs:
    the distillation at the candidate's settings."""

    job: Frontier
    distill: dict

    def distillation(self) -> tuple[VariantConfig, SyntheticInputs]:
        return self.job.distillation(self.distill)


class Frontier:
    """The job every point runs: picklable (a config and a results root), it loads what it
    needs once per process (data, CNNs, the selection)."""

    def __init__(self, config: Config, results: Path | None):
        self.config, self.results = config, results
        self._bench: Workbench | None = None

    def __getstate__(self) -> dict:  # a submitted job carries the config, not loaded data
        return {"config": self.config, "results": self.results, "_bench": None}

    @property
    def bench(self) -> Workbench:
        if self._bench is None:
            set_deterministic()
            keep_freed_memory()
            device = pick_device(self.config.device, self.config.allow_tf32)
            self._bench = Workbench(self.config, Store(self.config.name, self.results), device)
        return self._bench

    def cnn(self, seed: int, stage: str = "report") -> nn.Module:
        return self.bench.cnn(seed, stage)[0]

    def __call__(self, batch: list[dict]) -> list[dict]:
        clock = Clock()
        method = batch[0]["method"]
        if method == "cnn":
            self.bench.cnns("report")  # trains what is missing, once per seed
            test = self.bench.splits("report")[1]
            out = [{"accuracy": accuracy(logits_of(self.cnn(p["seed"]), test.inputs),
                                         test.labels)} for p in batch]
        elif method == "selection":
            out = [{"selection": run_selection(self.bench)}]
        elif batch[0].get("stage") == SELECT:
            out = self.chosen(batch, get(method).run(self, batch))
        else:
            out = [{**coded(r), "choice": self.choice(p)}
                   for p, r in zip(batch, get(method).run(self, batch), strict=True)]
        stamp = {"config_hash": self.config.ablation_hash(), **clock.times("job_seconds"),
                 "provenance": describe(self.bench.device)}
        uses_data = method not in ("cnn", "selection") and get(method).uses_data
        return [{**r, **stamp, "uses_data": uses_data} for r in out]

    # the choices: each selection point's candidates, the best over the selection seeds
    def chosen(self, batch: list[dict], results: list[dict]) -> list[dict]:
        """Each selection point's result at the options of the best mean validation accuracy
        over the selection seeds of its (method, budget): the candidates of a seed computed
        in an earlier job (a stopped run) are read from its file."""
        fresh = {}
        for p, r in zip(batch, results, strict=True):
            tried = r.get("candidates") or [{"option": {}, **r}]  # one: the method's own
            fresh[p["method"], p["budget"], p["seed"]] = [
                on_validation(coded(c)) for c in tried]
        out = []
        for p in batch:
            seeds = self.config.ablation.selection_seeds
            mine = fresh[p["method"], p["budget"], p["seed"]]
            # one candidate is no choice: a job of one seed (the narrow CNN's) must not wait
            # for the other seeds' files, which their own jobs write later
            best = 0 if len(mine) == 1 else best_option(
                [fresh.get((p["method"], p["budget"], s)) or
                 self.selection_file(p, s)["candidates"] for s in seeds])
            out.append({**{k: v for k, v in mine[best].items() if k != "option"},
                        "chosen": mine[best]["option"],
                        "candidates": [{"option": c["option"], "fits": c["fits"],
                                        "val_accuracy": c["val_accuracy"],
                                        "stored_bits": c.get("stored_bits"),
                                        "bytes_coded": c["bytes_coded"]} for c in mine]})
        return out

    def keep(self, points: Sequence[dict], rebuilt: dict[int, dict]) -> None:
        """The rebuilt weights (`rebuilt`: seed -> weights) of the points the frontier keeps
        (`keeps`), into the cache, before their results files are written."""
        for p in points:
            if keeps(self.config, p) and p["seed"] in rebuilt:
                save_checkpoint(kept_path(self.bench.store, p, self.config.ablation_hash()),
                                {k: v.detach().cpu() for k, v in rebuilt[p["seed"]].items()})

    def selection_file(self, point: dict, seed: int) -> dict:
        """The finished selection point of (point's method, budget) on selection seed `seed`."""
        done = read_json(path_of(self.bench.store, {**point, "stage": SELECT, "seed": seed}))
        if done is None or done.get("status") != "ok" or not is_current(self.config, done):
            raise ConfigError(f"{point['method']} at {point['budget']:.1%}: its choice needs "
                              f"its selection points on the validation split (stage 3; the "
                              f"point of selection seed {seed} is missing or failed)")
        return done

    def choice(self, point: dict) -> dict:
        """What a point on the claims' CNNs runs with: the options chosen on the validation
        split, their mean validation accuracy over the selection seeds and the candidates'."""
        seeds = self.config.ablation.selection_seeds
        files = [self.selection_file({**point, "stage": SELECT}, s) for s in seeds]
        chosen = {key(f["chosen"]) for f in files}
        if len(chosen) != 1:
            raise ConfigError(f"{point['method']} at {point['budget']:.1%}: the selection "
                              f"seeds' files disagree on the chosen options {sorted(chosen)}")
        tried = [f["candidates"] for f in files]
        return {"option": files[0]["chosen"], "seeds": list(seeds),
                "val_accuracy": mean_accuracies([[f] for f in files])[0],
                "candidates": [{"option": c["option"], "val_accuracy": m} for c, m in
                               zip(tried[0], mean_accuracies(tried), strict=True)]}

    # INNR: one batched fit per (method, budget), or the ablation's fits where it made them
    def innr(self, batch: list[dict]) -> list[dict]:
        """The INNR points of one job (one budget and stage, one or several methods)."""
        out: dict[int, dict] = {}
        for method in dict.fromkeys(p["method"] for p in batch):
            mine = [i for i, p in enumerate(batch) if p["method"] == method]
            out.update(zip(mine, self.innr_fit([batch[i] for i in mine]), strict=True))
        return [out[i] for i in range(len(batch))]

    def innr_fit(self, batch: list[dict]) -> list[dict]:
        """One method's points of one budget and stage: one fit, batched over their seeds."""
        method, budget = batch[0]["method"], batch[0]["budget"]
        stage = batch[0].get("stage", "report")
        seeds = [p["seed"] for p in batch]
        selection = read_json(self.bench.store.root / "ablation" / "selection.json")
        if (allowed := self.too_small(method, budget, seeds[0], stage, selection)) is not None:
            return [{"fits": False, "budget_bits": allowed} for _ in batch]
        rebuilt: dict[int, dict] = {}
        if method == "innr_faithful":
            body = self.bench.faithful_fit(Arm(stage, "faithful", budget), seeds, rebuilt)
            decoder = lambda: self.faithful_decoder(body["width"])  # noqa: E731
            innr = dataclasses.replace(self.config.innr, hidden=body["width"])
            stored = [{**predictor_payload(dict(new_siren(innr).named_parameters())),
                       **side_payload(innr_targets(innr, self.cnn(s, stage)), 0)} for s in seeds]
        else:
            variant = variant_of(VariantConfig(), selection["best"])
            bits = batch[0].get("bits", 0)
            # the ablation's fit keeps no weights: reused only where the frontier kept them
            body = (self.reused(stage, budget, seeds) if not bits and all(
                kept(self.config, self.bench.store, p) for p in batch) else None)
            fitted: list[tuple[Stack, Targets]] = []
            if body is None:
                body = self.bench.variant_fit(Arm(stage, f"{method}", budget, variant), seeds,
                                              bits, fitted, rebuilt)
            decoder = lambda: self.variant_decoder(variant, body["width"], bits)  # noqa: E731
            stored = self.variant_stored(variant, body["width"], seeds, fitted, stage)
        self.keep(batch, rebuilt)
        timed = {} if stage == SELECT else {
            "decode_seconds": median_seconds(decoder(), self.config.frontier.decode_repeats)}
        shared = {k: body[k] for k in ("width", "predictor_params", "stored_bits", "budget_bits")}
        return [{**body["per_seed"][str(s)], **shared, "fits": True, **timed,
                 "setting": {"width": body["width"]}, "bytes_coded": coded_bytes(stored[m])}
                for m, s in enumerate(seeds)]

    def too_small(self, method: str, budget: float, seed: int, stage: str, selection: dict
                  ) -> int | None:
        """The bits `budget` allows where not even the narrowest predictor of `method` fits
        them beside what it stores as it is (its vectors, its side values): no point, as for a
        data-free method that does not fit; None where one fits."""
        cnn = self.cnn(seed, stage)
        variant = variant_of(VariantConfig(), selection["best"])
        targets = Targets.of([inference_tensors(cnn)], variant,
                             chain_of(cnn) if variant.permute else ())
        allowed = budget_bits(budget, targets.n_values)
        try:
            if method == "innr_faithful":
                self.bench.faithful_width(stage, budget)
            else:
                width_for_bits(variant, targets, allowed - targets.side_bits())
        except ValueError:
            return allowed
        return None

    def variant_stored(self, variant: VariantConfig, width: int, seeds: Sequence[int],
                       fitted: list[tuple[Stack, Targets]], stage: str = "report"
                       ) -> list[dict[str, torch.Tensor]]:
        """What each seed's INNR of `variant` stores (innr.coding): its fitted predictor's
        payload where the fit was made here; else (a fit reused from the ablation, float32,
        which innr.coding stores raw, so that its size does not depend on the values) one of
        the same shapes; and the seed's side values."""
        if fitted:
            stack, targets = fitted[0]
            return [{**stack.payload(m), **side_payload(targets, m)} for m in range(len(seeds))]
        out = []
        for s in seeds:
            cnn = self.cnn(s, stage)
            targets = Targets.of([inference_tensors(cnn)], variant,
                                 chain_of(cnn) if variant.permute else ())
            predictor = new_predictor(variant, targets, width)
            out.append({**predictor_payload(dict(predictor.named_parameters())),
                        **side_payload(targets, 0)})
        return out

    def innr_family(self, batch: list[dict]) -> list[dict]:
        """The k-bit INNRs of one family at one budget (innr.methods.innrs.Coded), every seed
        and bit width fitted as one stack, each member padded to the family's widest at this
        budget (so that a point's numbers do not depend on which others run with it)."""
        stage = batch[0].get("stage", "report")
        selection = read_json(self.bench.store.root / "ablation" / "selection.json")
        variant = variant_of(VariantConfig(), selection["best"])
        chain = chain_of(self.cnn(batch[0]["seed"], stage)) if variant.permute else ()
        probe = Targets.of([inference_tensors(self.cnn(batch[0]["seed"], stage))], variant,
                           chain)
        allowed = budget_bits(batch[0]["budget"], probe.n_values)
        family = get(batch[0]["method"]).family
        widths = {m.name: coded_width(m, variant, probe, allowed) for m in METHODS.values()
                  if m.family == family}
        out = [{"fits": False, "budget_bits": allowed} for _ in batch]
        fits = [i for i, p in enumerate(batch) if widths[p["method"]]]
        if not fits:  # nothing of this family fits: no point (the report shows none)
            return out
        methods, seeds = [get(batch[i]["method"]) for i in fits], [batch[i]["seed"] for i in fits]
        cnns = [self.cnn(s, stage) for s in seeds]
        targets = Targets.of([inference_tensors(c) for c in cnns], variant, chain,
                             base=[m.base for m in methods] if methods[0].residual else None
                             ).to(self.bench.device)
        stack = Padded.init(variant, targets, [widths[m.name] for m in methods], seeds,
                            self.bench.device, [m.bits for m in methods], max(widths.values()))
        test = self.bench.splits("report")[1]
        inputs = synthetic_inputs(variant.distill_inputs, tuple(test.inputs.shape[1:]),
                                  self.config.data.mean, self.config.data.std)
        stack, history = fit(variant, targets, seeds, 0, network=cnns[0], inputs=inputs,
                             label=f"{family} {batch[0]['budget']:.0%}", stack=stack)
        compute.add(fit_flops(variant, targets, max(widths.values()), cnns[0],
                              tuple(test.inputs.shape[1:])))  # the padded stack's work
        seconds: dict[str, float] = {}
        for j, params in enumerate(rebuild_members(stack, targets)):
            self.keep([batch[fits[j]]], {seeds[j]: params})
            m, width = methods[j], widths[methods[j].name]
            if m.name not in seconds and stage != SELECT:
                seconds[m.name] = median_seconds(
                    self.variant_decoder(variant, width, m.bits, m.base if m.residual else None),
                    self.config.frontier.decode_repeats)
            out[fits[j]] = {
                **self.bench.evaluate(stage, seeds[j], cnns[j], targets.stored[j], params),
                "fit_seconds": history["seconds"] / len(fits),
                "final_loss": history["loss"][-1][j], "width": width,
                "predictor_params": predictor_params(variant, targets, width),
                "stored_bits": predictor_bits(variant, targets, width, m.bits)
                + targets.side_bits() + m.codes_bits(targets.stored[j]), "budget_bits": allowed,
                "fits": True, "setting": {"width": width, "bits": m.bits},
                **({"decode_seconds": seconds[m.name]} if m.name in seconds else {}),
                "bytes_coded": coded_bytes(
                    {**stack.payload(j), **side_payload(targets, j),
                     **(m.codes(targets.stored[j]) if m.residual else {})})}
        return out

    def reused(self, stage: str, budget: float, seeds: Sequence[int]) -> dict | None:
        """The ablation's own fit of its best variant at `budget` on the stage's CNNs, if it
        made one for these seeds with this config (the same variant, seeds and code: the same
        numbers)."""
        arm = read_json(self.bench.store.root / "ablation" / Arm(stage, "best", budget).file)
        if (arm is None or arm.get("config_hash") != self.config.ablation_hash()
                or not all(str(s) in arm["per_seed"] for s in seeds)):
            return None
        return arm

    def variant_decoder(self, variant: VariantConfig, width: int, bits: int,
                        base: Callable[[dict], dict] | None = None):
        cnn = self.cnn(self.config.seeds[0])
        targets = Targets.of([inference_tensors(cnn)], variant,
                             chain_of(cnn) if variant.permute else (),
                             base=None if base is None else [base]).to(self.bench.device)
        stack = Stack.init(variant, targets, width, [0], self.bench.device, bits)
        return lambda: rebuild(stack, targets)

    def faithful_decoder(self, width: int):
        innr = dataclasses.replace(self.config.innr, hidden=width)
        targets = innr_targets(innr, self.cnn(self.config.seeds[0]))
        siren = new_siren(innr).to(self.bench.device)
        return lambda: rebuild_one(siren, targets)

    # the data-free baselines
    def baseline(self, method: Compression, point: dict) -> dict:
        """A point of a data-free compression: on the selection CNNs, every option it chooses
        among (`candidates`); on the claims' CNNs, at the option chosen."""
        if point.get("stage") == SELECT:
            return {"candidates": [{"option": o, **self.compressed(method, o, point)}
                                   for o in options(method, self.config)]}
        return self.compressed(method, self.choice(point)["option"], point)

    def compressed(self, method: Compression, option: dict, point: dict) -> dict:
        """`method` at `option` on the point's CNN, at its largest setting that fits."""
        stage, seed = point.get("stage", "report"), point["seed"]
        method = dataclasses.replace(method, **{k: v for k, v in option.items()
                                                if k != "distill"})
        cnn = self.cnn(seed, stage)
        like = inference_tensors(cnn)
        n = sum(v.numel() for v in like.values())
        allowed = budget_bits(point["budget"], n)
        c: Compressed | None = method.at_budget(like, allowed)
        if c is None:  # nothing of this method fits: no point (the report shows none)
            return {"fits": False, "budget_bits": allowed}
        t0 = time.perf_counter()
        c = method.tune(Candidate(self, option.get("distill", {})), cnn, c, seed)
        fit_seconds = time.perf_counter() - t0
        timed = {} if stage == SELECT else {"decode_seconds": median_seconds(
            method.decoder(c, like), self.config.frontier.decode_repeats)}
        return {**self.bench.evaluate(stage, seed, cnn, like, c.params), "fits": True,
                "stored_bits": c.bits, "budget_bits": allowed, "setting": c.setting,
                "params": method.kept(c), "fit_seconds": fit_seconds, **timed,
                "stored": c.stored}

    def distillation(self, override: dict | None = None) -> tuple[VariantConfig,
                                                                  SyntheticInputs]:
        """The INNR's distillation settings (with `override`'s, a candidate chosen on the
        validation split) and its synthetic inputs, for a distilled baseline."""
        variant = variant_of(self.best_variant(), override or {})
        test = self.bench.splits("report")[1]
        return variant, synthetic_inputs(variant.distill_inputs, tuple(test.inputs.shape[1:]),
                                         self.config.data.mean, self.config.data.std)

    def best_variant(self) -> VariantConfig:
        """The distillation the INNR gets: the best variant's, or (if the selection left it
        out) the ablation's distillation idea on top of it."""
        selection = read_json(self.bench.store.root / "ablation" / "selection.json")
        if selection is None:
            raise ConfigError("the distilled baselines use the best variant's distillation "
                              "settings; run the ablation's selection first (the frontier's "
                              "second stage does)")
        best = variant_of(VariantConfig(), selection["best"])
        if not best.distill_steps:
            best = variant_of(best, *self.config.ablation.ideas.get("distill", ())[:1])
        if not best.distill_steps:
            raise ConfigError("the distilled baselines need distillation settings: give the "
                              "ablation a 'distill' idea (ablation.ideas.distill)")
        return best

    # the reference that uses data
    def narrow(self, point: dict) -> dict:
        stage, seed = point.get("stage", "report"), point["seed"]
        c = narrow_channels(self.config, point["budget"])
        recipe = self.bench.stage_config(stage)
        narrow = dataclasses.replace(recipe, cnn=dataclasses.replace(recipe.cnn, channels=c))
        train, test = self.bench.splits(stage)
        t0 = time.perf_counter()
        model, _ = get_cnn(narrow, seed, self.bench.store, train, test)
        fit_seconds = time.perf_counter() - t0
        logits = logits_of(model, test.inputs)
        logits_cnn = self.bench.cnn_logits(stage, seed, self.cnn(seed, stage))
        n = n_values(model)
        return {**evaluate(logits_cnn, logits, test.labels), "fits": True, "stored_bits": n * BITS,
                "budget_bits": budget_bits(point["budget"], n_values(self.cnn(seed, stage))),
                "params": n, "setting": {"channels": c}, "fit_seconds": fit_seconds,
                "decode_seconds": 0.0, "stored": inference_tensors(model)}


# --- the sweep -------------------------------------------------------------------------------

def is_current(config: Config, result: dict) -> bool:
    """A finished point still counts: made with these claims' and ablation's settings (the
    frontier's own settings choose points, they do not change one) and with what its method
    records in a point (point_keys: the quantised predictor's bits, the options chosen among)."""
    method = result["point"].get("method")
    recorded = {} if method in (None, "cnn", "selection") else point_keys(config, get(method))
    return result.get("config_hash") == config.ablation_hash() and all(
        result["point"].get(k) == v for k, v in recorded.items())


def run_frontier(job: Frontier, executor: str, folder: Path, parameters: dict | None = None
                 ) -> dict:
    config, store = job.config, Store(job.config.name, job.results)
    h = config.ablation_hash()

    def valid(r: dict) -> bool:
        # an ok point at a headline budget counts once its weights are kept (a budget added
        # to headline.budgets after the point was made: it is made again, keeping them)
        return is_current(config, r) and (r["status"] != "ok" or not r.get("fits")
                                          or kept(config, store, r["point"]))

    def sweep(ps: list[dict], batch=None) -> list[dict]:
        return run_sweep(ps, job, lambda p: path_of(store, p), executor, folder, parameters,
                         batch_of=batch, valid=valid, parallel=config.frontier.parallel)

    t0 = time.perf_counter()
    every, chooser = frontier_points(config), frontier_points(config, SELECT)
    print(f"frontier: {len(every)} points, {len({batch_of(p) for p in every})} jobs; "
          f"{len(chooser)} on the selection CNNs, {len({batch_of(p) for p in chooser})} jobs "
          f"({executor})", flush=True)
    sweep([{"dataset": config.name, "method": "cnn", "seed": s} for s in config.seeds],
          batch=lambda p: "cnn")
    if any(get(p["method"]).uses_selection for p in every):
        sweep([{"dataset": config.name, "method": "selection"}])
    done = sweep(chooser, batch_of) + sweep(every, batch_of)
    failed = [r["point"] for r in done if r["status"] != "ok"]
    index = {"points": [str(path_of(store, p).relative_to(store.root)) for p in every],
             "selection_points": [str(path_of(store, p).relative_to(store.root))
                                  for p in chooser],
             "failed": failed, "config_hash": h, "frontier": dataclasses.asdict(config.frontier),
             "wall_seconds": time.perf_counter() - t0, "git": git_state(), "complete": True}
    write_json(store.root / "frontier" / "index.json", index)
    print(f"frontier: {len(done) - len(failed)} points done, {len(failed)} failed "
          f"({index['wall_seconds'] / 60:.1f} min)", flush=True)
    return index


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.experiments.frontier", __doc__, overrides=True, results=True)
    p.add_argument("--executor", choices=EXECUTORS, default=None,
                   help="inline (default: frontier.executor), local (submitit's subprocesses) "
                        "or slurm (submitit's SLURM executor)")
    p.add_argument("--slurm-partition", default=None, help="with --executor slurm")

    def body(args: argparse.Namespace) -> None:
        config = load_config(args.config, args.overrides)
        executor = args.executor or config.frontier.executor
        store = Store(config.name, args.results)
        check_writable(store.root)
        git_state()
        job = Frontier(config, args.results)
        check_results_device(store.root, job.bench.device)
        job.bench.splits("report")  # bad data stops here; the inline jobs reuse what it loaded
        parameters = {"slurm_partition": args.slurm_partition} if args.slurm_partition else {}
        run_frontier(job, executor, store.root / "frontier" / "submitit", parameters)

    return cli.run(p, body, argv)

if __name__ == "__main__":
    sys.exit(main())
