"""The compression frontier: INNR against what a practitioner would store instead, in bytes.

    python -m innr.experiments.frontier --config experiments/full.toml [--executor local]

Every (method, budget, seed) is a point with its own results file under
RESULTS/<config>/frontier/<method>/; the sweep (innr.sweep) runs them here, through submitit's
local executor, or on a SLURM cluster, and resumes where it stopped. Three stages, each waiting
for the one before:
1. the config's CNNs (the claims' CNNs: trained once per seed, or loaded from the cache);
2. the ablation's selection (its best variant, chosen on the validation split), when an INNR
   variant is swept and the ablation has not chosen yet;
3. the points. A budget is a share of the CNN's float32 bytes; each method stores at most that,
   everything counted (innr.size). The methods are innr.methods' registry: the INNRs (fitted
   here, over all seeds at once; where the ablation fitted its best variant at a budget, its
   fits are reused), the data-free compressions at their largest setting that fits (some then
   distilled like the INNR's second stage), and the narrow CNN (trained here on the data).
Each point records accuracy, the gap to its CNN, agreement, stored bits and the decode time (the
median of rebuilding the weights from what is stored, value-independent, on this machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from innr import cli, compute
from innr.coding import coded_bytes
from innr.config import Config, ConfigError, VariantConfig, load_config, variant_of
from innr.experiments.selection import run_selection
from innr.experiments.workbench import (
    Arm,
    Clock,
    Workbench,
    budget_label,
    evaluate,
    fit_flops,
)
from innr.fit import get_cnn, innr_targets, new_siren
from innr.methods import METHODS, Compressed, Compression, get
from innr.methods.innrs import Coded
from innr.methods.narrow_cnn import narrow_channels
from innr.metrics import accuracy, logits_of
from innr.permutations import chain_of
from innr.runtime import (
    check_results_device,
    describe,
    git_state,
    keep_freed_memory,
    pick_device,
    set_deterministic,
)
from innr.size import BITS, budget_bits, count_params
from innr.store import Store, check_writable, read_json, write_json
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

def frontier_points(config: Config) -> list[dict]:
    """Every (method, budget, seed) of the config's frontier."""
    f = config.frontier
    out = []
    for method in f.methods:
        seeds = config.seeds[:f.method_seeds.get(method, len(config.seeds))]
        for budget in f.method_budgets.get(method, f.budgets):
            point = {"dataset": config.name, "method": method, "budget": budget,
                     **get(method).point(config)}
            out += [{**point, "seed": s} for s in seeds]
    return out


def path_of(store: Store, point: dict) -> Path:
    folder = store.root / "frontier" / point["method"]
    if point["method"] in ("cnn", "selection"):
        return folder / (f"seed_{point['seed']}.json" if "seed" in point else "selection.json")
    return folder / f"{budget_label(point['budget'])}_seed{point['seed']}.json"


def batch_of(point: dict) -> tuple:
    """The job a point runs in, as its method splits them (Method.batch): INNR fits of one
    budget run together (batched over seeds); a baseline's points share one job (each is cheap:
    a job per point would be mostly start-up); a narrow CNN trains alone."""
    method = get(point["method"])
    return (method.family or method.name, *(point[k] for k in method.batch))


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


# --- decode time ---------------------------------------------------------------------------

def median_seconds(decode: Callable[[], object], repeats: int) -> float:
    decode()  # warm-up: allocations, first-call dispatch
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        decode()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# --- the job ---------------------------------------------------------------------------------

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

    def cnn(self, seed: int) -> nn.Module:
        return self.bench.cnn(seed)[0]

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
        else:
            out = get(method).run(self, batch)
        stamp = {"config_hash": self.config.ablation_hash(), **clock.times("job_seconds"),
                 "provenance": describe(self.bench.device)}
        uses_data = method not in ("cnn", "selection") and get(method).uses_data
        return [{**r, **stamp, "uses_data": uses_data} for r in out]

    # INNR: one batched fit per (method, budget), or the ablation's fits where it made them
    def innr(self, batch: list[dict]) -> list[dict]:
        method, budget = batch[0]["method"], batch[0]["budget"]
        seeds = [p["seed"] for p in batch]
        selection = read_json(self.bench.store.root / "ablation" / "selection.json")
        if method == "innr_faithful":
            body = self.bench.faithful_fit(Arm("report", "faithful", budget), seeds)
            decode = self.faithful_decoder(body["width"])
            innr = dataclasses.replace(self.config.innr, hidden=body["width"])
            stored = [{**predictor_payload(dict(new_siren(innr).named_parameters())),
                       **side_payload(innr_targets(innr, self.cnn(s)), 0)} for s in seeds]
        else:
            variant = variant_of(VariantConfig(), selection["best"])
            bits = batch[0].get("bits", 0)
            body = self.reused(budget, seeds) if not bits else None
            fitted: list[tuple[Stack, Targets]] = []
            if body is None:
                body = self.bench.variant_fit(Arm("report", f"{method}", budget, variant), seeds,
                                              bits, fitted)
            decode = self.variant_decoder(variant, body["width"], bits)
            stored = self.variant_stored(variant, body["width"], seeds, fitted)
        seconds = median_seconds(decode, self.config.frontier.decode_repeats)
        shared = {k: body[k] for k in ("width", "predictor_params", "stored_bits", "budget_bits")}
        return [{**body["per_seed"][str(s)], **shared, "fits": True, "decode_seconds": seconds,
                 "setting": {"width": body["width"]}, "bytes_coded": coded_bytes(stored[m])}
                for m, s in enumerate(seeds)]

    def variant_stored(self, variant: VariantConfig, width: int, seeds: Sequence[int],
                       fitted: list[tuple[Stack, Targets]]) -> list[dict[str, torch.Tensor]]:
        """What each seed's INNR of `variant` stores (innr.coding): its fitted predictor's
        payload where the fit was made here; else (a fit reused from the ablation, float32,
        which innr.coding stores raw, so that its size does not depend on the values) one of
        the same shapes; and the seed's side values."""
        if fitted:
            stack, targets = fitted[0]
            return [{**stack.payload(m), **side_payload(targets, m)} for m in range(len(seeds))]
        out = []
        for s in seeds:
            cnn = self.cnn(s)
            targets = Targets.of([cnn.state_dict()], variant, chain_of(cnn) if variant.permute
                                 else ())
            predictor = new_predictor(variant, targets, width)
            out.append({**predictor_payload(dict(predictor.named_parameters())),
                        **side_payload(targets, 0)})
        return out

    def innr_family(self, batch: list[dict]) -> list[dict]:
        """The k-bit INNRs of one family at one budget (innr.methods.innrs.Coded), every seed
        and bit width fitted as one stack, each member padded to the family's widest at this
        budget (so that a point's numbers do not depend on which others run with it)."""
        selection = read_json(self.bench.store.root / "ablation" / "selection.json")
        variant = variant_of(VariantConfig(), selection["best"])
        chain = chain_of(self.cnn(batch[0]["seed"])) if variant.permute else ()
        probe = Targets.of([self.cnn(batch[0]["seed"]).state_dict()], variant, chain)
        allowed = budget_bits(batch[0]["budget"], probe.outlier.shape[1])
        family = get(batch[0]["method"]).family
        widths = {m.name: coded_width(m, variant, probe, allowed) for m in METHODS.values()
                  if m.family == family}
        out = [{"fits": False, "budget_bits": allowed} for _ in batch]
        fits = [i for i, p in enumerate(batch) if widths[p["method"]]]
        if not fits:  # nothing of this family fits: no point (the report shows none)
            return out
        methods, seeds = [get(batch[i]["method"]) for i in fits], [batch[i]["seed"] for i in fits]
        cnns = [self.cnn(s) for s in seeds]
        targets = Targets.of([c.state_dict() for c in cnns], variant, chain,
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
            m, width = methods[j], widths[methods[j].name]
            if m.name not in seconds:
                seconds[m.name] = median_seconds(
                    self.variant_decoder(variant, width, m.bits, m.base if m.residual else None),
                    self.config.frontier.decode_repeats)
            out[fits[j]] = {
                **self.bench.evaluate("report", seeds[j], cnns[j], targets.stored[j], params),
                "fit_seconds": history["seconds"] / len(fits),
                "final_loss": history["loss"][-1][j], "width": width,
                "predictor_params": predictor_params(variant, targets, width),
                "stored_bits": predictor_bits(variant, targets, width, m.bits)
                + targets.side_bits() + m.codes_bits(targets.stored[j]), "budget_bits": allowed,
                "fits": True, "setting": {"width": width, "bits": m.bits},
                "decode_seconds": seconds[m.name], "bytes_coded": coded_bytes(
                    {**stack.payload(j), **side_payload(targets, j),
                     **(m.codes(targets.stored[j]) if m.residual else {})})}
        return out

    def reused(self, budget: float, seeds: Sequence[int]) -> dict | None:
        """The ablation's own fit of its best variant at `budget`, if it made one for these
        seeds with this config (the same variant, seeds and code: the same numbers)."""
        arm = read_json(self.bench.store.root / "ablation" / Arm("report", "best", budget).file)
        if (arm is None or arm.get("config_hash") != self.config.ablation_hash()
                or not all(str(s) in arm["per_seed"] for s in seeds)):
            return None
        return arm

    def variant_decoder(self, variant: VariantConfig, width: int, bits: int,
                        base: Callable[[dict], dict] | None = None):
        cnn = self.cnn(self.config.seeds[0])
        targets = Targets.of([cnn.state_dict()], variant, chain_of(cnn) if variant.permute
                             else (), base=None if base is None else [base]
                             ).to(self.bench.device)
        stack = Stack.init(variant, targets, width, [0], self.bench.device, bits)
        return lambda: rebuild(stack, targets)

    def faithful_decoder(self, width: int):
        innr = dataclasses.replace(self.config.innr, hidden=width)
        targets = innr_targets(innr, self.cnn(self.config.seeds[0]))
        siren = new_siren(innr).to(self.bench.device)
        return lambda: rebuild_one(siren, targets)

    # the data-free baselines
    def baseline(self, method: Compression, point: dict) -> dict:
        seed = point["seed"]
        cnn = self.cnn(seed)
        like = {k: v.detach() for k, v in cnn.state_dict().items()}
        n = sum(v.numel() for v in like.values())
        allowed = budget_bits(point["budget"], n)
        c: Compressed | None = method.at_budget(like, allowed)
        if c is None:  # nothing of this method fits: no point (the report shows none)
            return {"fits": False, "budget_bits": allowed}
        t0 = time.perf_counter()
        c = method.tune(self, cnn, c, seed)
        fit_seconds = time.perf_counter() - t0
        return {**self.bench.evaluate("report", seed, cnn, like, c.params), "fits": True,
                "stored_bits": c.bits, "budget_bits": allowed, "setting": c.setting,
                "params": method.kept(c), "fit_seconds": fit_seconds,
                "decode_seconds": median_seconds(method.decoder(c, like),
                                                 self.config.frontier.decode_repeats)}

    def distillation(self) -> tuple[VariantConfig, SyntheticInputs]:
        """The INNR's distillation settings and its synthetic inputs, for a distilled baseline."""
        variant = self.best_variant()
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
        seed, c = point["seed"], narrow_channels(self.config, point["budget"])
        narrow = dataclasses.replace(self.config, cnn=dataclasses.replace(self.config.cnn,
                                                                          channels=c))
        train, test = self.bench.splits("report")
        t0 = time.perf_counter()
        model, _ = get_cnn(narrow, seed, self.bench.store, train, test)
        fit_seconds = time.perf_counter() - t0
        logits = logits_of(model, test.inputs)
        logits_cnn = self.bench.cnn_logits("report", seed, self.cnn(seed))
        n = count_params(model)
        return {**evaluate(logits_cnn, logits, test.labels), "fits": True, "stored_bits": n * BITS,
                "budget_bits": budget_bits(point["budget"], count_params(self.cnn(seed))),
                "params": n, "setting": {"channels": c}, "fit_seconds": fit_seconds,
                "decode_seconds": 0.0}


# --- the sweep -------------------------------------------------------------------------------

def is_current(config: Config, result: dict) -> bool:
    """A finished point still counts: made with these claims' and ablation's settings (the
    frontier's own settings choose points, they do not change one) and with what its method
    records in a point (Method.point: the quantised predictor's bits)."""
    method = result["point"].get("method")
    recorded = {} if method in (None, "cnn", "selection") else get(method).point(config)
    return result.get("config_hash") == config.ablation_hash() and all(
        result["point"].get(k) == v for k, v in recorded.items())


def run_frontier(job: Frontier, executor: str, folder: Path, parameters: dict | None = None
                 ) -> dict:
    config, store = job.config, Store(job.config.name, job.results)
    h = config.ablation_hash()

    def valid(r: dict) -> bool:
        return is_current(config, r)

    def sweep(ps: list[dict], batch=None) -> list[dict]:
        return run_sweep(ps, job, lambda p: path_of(store, p), executor, folder, parameters,
                         batch_of=batch, valid=valid, parallel=config.frontier.parallel)

    t0 = time.perf_counter()
    every = frontier_points(config)
    print(f"frontier: {len(every)} points, {len({batch_of(p) for p in every})} jobs "
          f"({executor})", flush=True)
    sweep([{"dataset": config.name, "method": "cnn", "seed": s} for s in config.seeds],
          batch=lambda p: "cnn")
    if any(get(p["method"]).uses_selection for p in every):
        sweep([{"dataset": config.name, "method": "selection"}])
    done = sweep(every, batch_of)
    failed = [r["point"] for r in done if r["status"] != "ok"]
    index = {"points": [str(path_of(store, p).relative_to(store.root)) for p in every],
             "failed": failed, "config_hash": h, "frontier": dataclasses.asdict(config.frontier),
             "wall_seconds": time.perf_counter() - t0, "git": git_state(), "complete": True}
    write_json(store.root / "frontier" / "index.json", index)
    print(f"frontier: {len(every) - len(failed)} points done, {len(failed)} failed "
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
