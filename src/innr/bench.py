"""How close the INNR fit step runs to this machine's matrix-multiply limit, and what each
stage of a reproduction costs.

    python -m innr.bench [--quick-config experiments/quick.toml] [--skip-reproduction]
                              [--out benchmarks/results/bench.json] [--repeats 9]

One run measures, on the CPU (or the GPU that `device = "auto"` picks), each row as seconds,
GFLOP/s of its matmuls and a ratio to the float32 rate of a large square matmul: the faithful fit
step on the original's problem (MnistExampleNet(32), random weights, the original's SIREN) by
the autograd reference (innr.steps.AutogradStep) and by innr.perf's builds; the ceilings of that
design (its matmuls alone, one core alone, as many seeds at once as cores); the kernel-wise fit
step of innr.variants, batched, alone and with an 8-bit predictor; the evaluation passes of the
transfer stage; the CNN's time per epoch; and the wall time of every stage of the quick
reproduction, each a subprocess (skipped by --skip-reproduction). Each function below says what
its rows measure.
Timings on a shared machine are noisy: the matmul rate and every step are measured in
interleaved rounds, each row is the median over rounds, every ratio comes from this one run,
and the JSON keeps every sample and the load average before and after (other processes on the
cores slow the large matmul more than the chunked step, so a loaded machine flatters the ratio).
The report's appendix and the README read the JSON (benchmarks/results/, git-ignored).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from innr import cli
from innr.architectures.mnist_example_net import MnistExampleNet
from innr.config import CNNConfig, Config, INNRConfig
from innr.datasets import DATASETS, DataError, load
from innr.fit import Split, innr_targets, new_siren, prepare, train_cnn
from innr.paths import BENCH_RESULTS, QUICK_CONFIG, REPO_ROOT
from innr.perf.step import CHUNK, RowChunks, SirenStep, chunk_params, compile_chunk
from innr.runtime import describe, keep_freed_memory, pick_device
from innr.steps import AutogradStep
from innr.store import check_writable, write_json
from innr.target import Targets

MATMUL_N = 2048  # large enough for a BLAS's peak rate on a few cores, quick enough to repeat
CNN_BATCHES = 20  # batches timed per CNN epoch estimate; an epoch of 60,000 images has 118


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_seconds(a: torch.Tensor, b: torch.Tensor) -> float:
    """The fastest of three a @ b: a sample of the machine's matmul rate."""
    times = []
    for _ in range(3):
        sync(a.device)
        start = time.perf_counter()
        a @ b
        sync(a.device)
        times.append(time.perf_counter() - start)
    return min(times)


def minor_faults() -> int:
    """Page faults the process has taken so far (0 where the OS does not say)."""
    try:
        import resource
    except ImportError:
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def step_flops(siren: nn.Module, n: int) -> float:
    """Matmul FLOPs of one full-batch step: the forward, the weight gradients (as many), and
    the input gradients of every layer but the first."""
    linears = [m for m in siren.modules() if isinstance(m, nn.Linear)]
    macs = [lin.in_features * lin.out_features for lin in linears]
    return 2 * n * (2 * sum(macs) + sum(macs[1:]))


def chunk_matmuls(x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor, *params: torch.Tensor,
                  n: int, w0s: tuple[float, ...], sin_cos=None, hot: bool = False
                  ) -> tuple[torch.Tensor, ...]:
    """chunk_grads' matrix multiplications alone (same shapes, no elementwise work). hot: the
    weight gradients read the last activation instead of each layer's, which stays in cache."""
    weights = params[:len(w0s)]
    h, hs = x, []
    for w in weights:
        h = h @ w.t()
        hs.append(h)
    g, grads = h, []
    for i in reversed(range(len(weights))):
        grads.append(g.t() @ (h if hot else hs[i - 1] if i > 0 else x))
        if i > 0:
            g = g @ weights[i]
    return (*grads, g)


class MatmulsOnly:
    """Inductor's build of the step with its matrix multiplications (MKL's) alone: the same
    chunks and threads as SirenStep's, no elementwise work, no optimizer. The ceiling of that
    build on this machine. hot: on inputs that stay in cache (the gap is memory traffic)."""

    def __init__(self, siren: nn.Module, coords: torch.Tensor, targets: torch.Tensor,
                 hot: bool = False):
        cpu = coords.device.type == "cpu"
        self.chunks = RowChunks(coords, targets, CHUNK if cpu else len(coords),
                                torch.get_num_threads() if cpu else 1)
        self.params = [p.detach() for p in chunk_params(siren)]
        w0s = tuple(float(m.w0) for m in siren.net)
        fn = functools.partial(chunk_matmuls, n=len(coords), w0s=w0s, hot=hot)
        self.fn = compile_chunk(fn, [*self.chunks.rows(0), *self.params],
                                1 if self.chunks.pool else torch.get_num_threads())

    def __call__(self) -> None:
        self.chunks.map(self.fn, *self.params)


def fit_steps(targets: Targets, cfg: INNRConfig, device: torch.device
              ) -> dict[str, tuple[Callable[[], torch.Tensor], float]]:
    """name -> (step, warm-up seconds: construction, compilation and the first step)."""
    data = (targets.layout.coords, targets.values[0])
    makers = {
        "INNR step, autograd (original loop)": lambda s, o: AutogradStep(s, o, *data),
        "INNR step, fast eager": lambda s, o: SirenStep(s, o, *data, build="eager"),
        "INNR step, fast compiled": lambda s, o: SirenStep(s, o, *data, build="compiled"),
        "INNR step, fast compiled by inductor": lambda s, o: SirenStep(
            s, o, *data, build="inductor"),
        "INNR step, fast compiled by inductor, no thread pool": lambda s, o: SirenStep(
            s, o, *data, build="inductor", workers=1),
        "INNR step, inductor's MKL matmuls alone": lambda s, o: MatmulsOnly(s, *data),
        "INNR step, inductor's MKL matmuls, cache-hot": lambda s, o: MatmulsOnly(s, *data,
                                                                               hot=True),
    }
    steps = {}
    for name, make in makers.items():
        torch.manual_seed(0)
        siren = new_siren(cfg).to(device)
        opt = torch.optim.Adam(siren.parameters(), lr=cfg.lr)
        start = time.perf_counter()
        step = make(siren, opt)
        step()
        sync(device)
        steps[name] = (step, time.perf_counter() - start)
    return steps


def compiled_step(targets: Targets, cfg: INNRConfig) -> SirenStep:
    """The compiled step of a new SIREN (drawn from the global RNG) fitted to `targets`."""
    siren = new_siren(cfg)
    return SirenStep(siren, torch.optim.Adam(siren.parameters(), lr=cfg.lr),
                     targets.layout.coords, targets.values[0], build="compiled")


def _seed_worker(seed: int, conn) -> None:
    """One seed's fit in its own process on one core: one step per message, until None."""
    torch.set_num_threads(1)
    keep_freed_memory()
    torch.manual_seed(seed)
    step = compiled_step(innr_targets(INNRConfig(), MnistExampleNet(32)), INNRConfig())
    step()
    conn.send("ready")
    while conn.recv() is not None:
        step()
        conn.send("done")


class SeedsAtOnce:
    """`processes` seeds fitted at once, one process and one core each: the alternative to one
    seed at a time on every core. A call is one step of every seed, all started together."""

    def __init__(self, processes: int):
        ctx = multiprocessing.get_context("spawn")  # a fresh torch per process, no forked threads
        self.conns, self.workers = [], []
        for seed in range(processes):
            here, there = ctx.Pipe()
            self.workers.append(ctx.Process(target=_seed_worker, args=(seed, there), daemon=True))
            self.workers[-1].start()
            self.conns.append(here)
        for conn in self.conns:
            if not conn.poll(600) or conn.recv() != "ready":
                raise RuntimeError("a benchmark worker did not start")

    def __call__(self) -> None:
        for conn in self.conns:
            conn.send(1)
        for conn in self.conns:
            conn.recv()

    def close(self) -> None:
        for conn, worker in zip(self.conns, self.workers, strict=True):
            conn.send(None)
            worker.join()


class OneCore:
    """`call()` `times` times back to back on one intra-op thread, the other cores idle: what
    one core does alone."""

    def __init__(self, call: Callable[[], object], times: int):
        self.call, self.times = call, times

    def __call__(self) -> None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for _ in range(self.times):
                self.call()
        finally:
            torch.set_num_threads(threads)


def one_core_chunk(targets: Targets, cfg: INNRConfig) -> tuple[OneCore, int]:
    """The compiled step's chunk (its first, as many times as the step has chunks) on one
    core, with no pool, no optimizer and nothing else running: a core of the full step, which
    shares the machine and does more, does no better. Returns the call and its rows."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # compiled for one thread, like the pool's workers
    try:
        torch.manual_seed(0)
        step = compiled_step(targets, cfg)
    finally:
        torch.set_num_threads(threads)
    args = step.chunk_args()
    return (OneCore(lambda: step.chunks.run(step.fn, 0, *args), times=step.chunks.count),
            step.chunks.size)


def time_fit(targets: Targets, cfg: INNRConfig, device: torch.device, repeats: int
             ) -> tuple[list[dict], dict]:
    """Rows for the matmul rate and each step, medians over interleaved rounds; the samples."""
    a, b = (torch.randn(MATMUL_N, MATMUL_N, device=device) for _ in range(2))
    steps = fit_steps(targets, cfg, device)
    seeds = {name: 1 for name in steps}  # seeds stepped per call
    parallel, alone, cores = None, {}, torch.get_num_threads()
    if device.type == "cpu" and cores > 1:
        start = time.perf_counter()
        parallel = SeedsAtOnce(cores)
        name = f"INNR step, {cores} seeds at once ({cores} processes x 1 core)"
        steps[name], seeds[name] = (parallel, time.perf_counter() - start), cores
        chunk, chunk_rows = one_core_chunk(targets, cfg)
        alone = {"matmul": OneCore(lambda: a @ b, times=3), "chunk": chunk}
    samples = {"matmul": [], **{name: [] for name in steps},
               **{f"one core: {name}": [] for name in alone}}
    faults = {name: 0 for name in steps}
    try:
        for _ in range(repeats):
            samples["matmul"].append(matmul_seconds(a, b))
            for name, (step, _) in steps.items():
                sync(device)
                before = minor_faults()
                start = time.perf_counter()
                step()
                sync(device)
                samples[name].append((time.perf_counter() - start) / seeds[name])
                faults[name] += minor_faults() - before
            for name, call in alone.items():
                start = time.perf_counter()
                call()
                samples[f"one core: {name}"].append((time.perf_counter() - start) / call.times)
    finally:
        if parallel is not None:
            parallel.close()
    matmul = statistics.median(samples["matmul"])
    rate = 2 * MATMUL_N**3 / matmul / 1e9
    flops = step_flops(new_siren(cfg), len(targets.layout.coords))
    reference = statistics.median(samples["INNR step, autograd (original loop)"])
    rows = [{"name": f"float32 matmul {MATMUL_N}x{MATMUL_N}", "seconds": matmul,
             "gflops": rate, "ratio_to_matmul": 1.0}]
    for name, (_, warmup) in steps.items():
        seconds = statistics.median(samples[name])  # per seed-step
        rows.append(row(name, seconds, flops, rate, speedup=reference / seconds,
                        warmup_seconds=warmup,
                        # the workers' faults are their own: counted here for one process only
                        page_faults_per_step=faults[name] / repeats if seeds[name] == 1
                        else None))
    if alone:
        rows += bound_rows(statistics.median(samples["one core: matmul"]),
                           statistics.median(samples["one core: chunk"]), chunk_rows,
                           len(targets.layout.coords), flops, matmul, cores)
    return rows, {"step_gflop": flops / 1e9, "n_coordinates": len(targets.layout.coords),
                  "samples_seconds": samples}


def row(name: str, seconds: float, flops: float, rate: float, **more) -> dict:
    """A table row: `flops` of work in `seconds`, as GFLOP/s and as a ratio to `rate`."""
    return {"name": name, "seconds": seconds, "gflops": flops / seconds / 1e9,
            "ratio_to_matmul": flops / seconds / 1e9 / rate, **more}


def bound_rows(matmul_1: float, chunk_1: float, chunk_rows: int, n: int, flops: float,
               matmul: float, cores: int) -> list[dict]:
    """The large matmul and one chunk of the fast step, each on one core alone (seconds
    matmul_1, chunk_1), and the step they bound: `cores` cores running such chunks back to
    back with nothing else (no contention, pool, summation or optimizer). Ratios are to the
    all-core matmul (`matmul` seconds), like every other row's."""
    rate = 2 * MATMUL_N**3 / matmul / 1e9
    bound = chunk_1 * n / chunk_rows / cores
    return [
        {"name": f"one core alone: float32 matmul {MATMUL_N}x{MATMUL_N}", "seconds": matmul_1,
         "gflops": 2 * MATMUL_N**3 / matmul_1 / 1e9, "ratio_to_matmul": matmul / matmul_1},
        row(f"one core alone: INNR chunk of {chunk_rows} rows, compiled", chunk_1,
            flops * chunk_rows / n, rate),
        row(f"INNR step bound: such chunks on {cores} cores, no overhead", bound, flops, rate)]


KERNEL_NETWORKS = 10  # the ablation fits a config's 10 seeds at once


def kernel_fit_rows(device: torch.device, repeats: int, rate: float) -> list[dict]:
    """Per network-step: the kernel-wise fit step with KERNEL_NETWORKS networks batched, and
    with one network; GFLOP/s of the predictor's matmuls (forward and backward)."""
    from innr.config import VariantConfig
    from innr.size import predictor_budget
    from innr.target import Targets
    from innr.variants import Stack, reconstruction_step, width_for

    torch.manual_seed(0)
    nets = [MnistExampleNet(32).state_dict() for _ in range(KERNEL_NETWORKS)]
    variant = VariantConfig(w0_initial=100.0, lr=3e-3)
    steps, flops = {}, 0.0
    # the frontier's 8-bit predictor (fitted through the rounding) at the same width: what the
    # straight-through rounding of every parameter tensor costs a step
    for m, bits in ((KERNEL_NETWORKS, 0), (1, 0), (KERNEL_NETWORKS, 8)):
        targets = Targets.of(nets[:m], variant).to(device)
        width = width_for(variant, targets, predictor_budget(0.5, targets.outlier.shape[1]))
        stack = Stack.init(variant, targets, width, list(range(m)), device, bits)
        opt = torch.optim.Adam(list(stack.params.values()), lr=variant.lr)
        step = reconstruction_step(variant, targets, stack, opt, [])
        dims = [targets.layout.coords.shape[1]] + [width] * variant.depth + [targets.layout.head]
        flops = 6 * targets.layout.rows * sum(a * b for a, b in itertools.pairwise(dims))
        name = (f"kernel-wise fit step, {m} networks batched (vmap)" if m > 1 else
                "kernel-wise fit step, one network at a time")
        if bits:
            name += f", {bits}-bit predictor (straight-through)"
        step()  # warm-up
        steps[name] = (step, m)
    samples = {name: [] for name in steps}
    for _ in range(repeats):
        for name, (step, m) in steps.items():
            sync(device)
            start = time.perf_counter()
            for _ in range(5):
                step()
            sync(device)
            samples[name].append((time.perf_counter() - start) / 5 / m)
    alone = statistics.median(samples["kernel-wise fit step, one network at a time"])
    return [row(name, statistics.median(t), flops, rate, speedup=alone / statistics.median(t))
            for name, t in samples.items()]


EVAL_IMAGES = 10000  # a test set


def evaluation_rows(device: torch.device, repeats: int, rate: float) -> list[dict]:
    """Per network: a test-set pass (10,000 images in batches of 2,000, the transfer stage's
    unit of work) of a seed's three networks one at a time, as the claims run it; stacked
    (torch.func.vmap over their parameters, equal to the bit on the CPU here); in channels-last
    memory (not equal to the bit: the claims keep the first). GFLOP/s counted by innr.compute."""
    from torch.func import functional_call, stack_module_state, vmap

    from innr import compute
    from innr.metrics import logits_of

    torch.manual_seed(0)
    nets = [MnistExampleNet(32).to(device).eval() for _ in range(3)]
    x = torch.randn(EVAL_IMAGES, 1, 28, 28, device=device)
    stacked, _ = stack_module_state(nets)
    flops = len(x) * compute.forward_flops(nets[0], (1, 28, 28))

    def one(params: dict, inputs: torch.Tensor) -> torch.Tensor:
        return functional_call(nets[0], params, (inputs,))

    last = [n.to(memory_format=torch.channels_last) for n in
            (MnistExampleNet(32).to(device).eval() for _ in range(3))]
    passes = {"evaluation pass, 3 networks one at a time": lambda: [logits_of(n, x) for n in nets],
              "evaluation pass, 3 networks stacked (vmap)": lambda: logits_of(
                  lambda b: vmap(one, in_dims=(0, None))(stacked, b), x),
              "evaluation pass, 3 networks, channels-last": lambda: [
                  logits_of(n, x.contiguous(memory_format=torch.channels_last)) for n in last]}
    samples = {name: [] for name in passes}
    for run in passes.values():
        run()  # warm-up
    for _ in range(repeats):
        for name, run in passes.items():
            sync(device)
            start = time.perf_counter()
            run()
            sync(device)
            samples[name].append((time.perf_counter() - start) / len(nets))
    alone = statistics.median(samples["evaluation pass, 3 networks one at a time"])
    return [{"name": name, "seconds": statistics.median(t),
             "gflops": flops / statistics.median(t) / 1e9,
             "ratio_to_matmul": flops / statistics.median(t) / 1e9 / rate,
             "speedup": alone / statistics.median(t)} for name, t in samples.items()]


def cnn_epoch_seconds(device: torch.device) -> dict:
    """One CNN epoch (60,000 images, batch 512, Adam) extrapolated from CNN_BATCHES batches of
    innr.fit.train_cnn; the first of two epochs is the warm-up."""
    cfg = Config(name="bench")
    n = CNN_BATCHES * cfg.cnn.batch_size
    try:
        train = prepare(load("", "train").head(n), cfg, device)
        test = prepare(load("", "test").head(256), cfg, device)
        source = "MNIST"
    except DataError:
        mnist = DATASETS["mnist"]
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (n + 256, *mnist.shape), dtype=torch.uint8, generator=g)
        pixels = images.float().div(255).to(device)
        labels = torch.randint(0, 10, (n + 256,), generator=g).to(device)
        split = Split((pixels - cfg.data.mean) / cfg.data.std, pixels, labels, mnist)
        train = Split(split.inputs[:n], split.pixels[:n], split.labels[:n], mnist)
        test = Split(split.inputs[n:], split.pixels[n:], split.labels[n:], mnist)
        source = "random inputs (MNIST not installed)"
    _, history = train_cnn(CNNConfig(channels=32, epochs=2), 0, train, test)
    per_image = history["seconds"][-1] / n  # includes a 256-image test pass: negligible
    return {"name": "CNN epoch, MnistExampleNet(32), batch 512, Adam",
            "seconds": per_image * 60000,
            "note": f"{CNN_BATCHES} batches of {source}, extrapolated to 60,000 images"}


def reproduction_stages(config: Path) -> list[dict]:
    """Wall time of each stage of a reproduction with `config`, into a temporary folder."""
    commands = [(e, ["-m", f"innr.experiments.{e}"]) for e in
                ("fidelity", "compression", "transfer", "fitnoise", "ablation", "frontier")]
    if importlib.util.find_spec("innr.report") is not None:
        commands.append(("report", ["-m", "innr.report", "--out", "{tmp}/report"]))
    stages = []
    with tempfile.TemporaryDirectory(prefix="innr-bench-") as tmp:
        for stage, args in commands:
            argv = [sys.executable, *(a.format(tmp=tmp) for a in args),
                    "--config", str(config), "--results", tmp]
            start = time.perf_counter()
            proc = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            stages.append({"stage": stage, "seconds": seconds, "returncode": proc.returncode})
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                print(f"warning: stage {stage} exited with {proc.returncode}: {' | '.join(tail)}",
                      file=sys.stderr)
    return stages


def load_average() -> tuple[float, float, float] | None:
    return os.getloadavg() if hasattr(os, "getloadavg") else None


def print_table(rows: list[dict], stages: list[dict]) -> None:
    print(f"{'':52s} {'seconds':>9s} {'GFLOP/s':>8s} {'/matmul':>8s} {'speed-up':>8s}"
          f" {'faults':>8s}")
    for r in rows:
        cols = [f"{r['seconds']:9.4f}"] + [
            f"{r[k]:8.2f}" if isinstance(r.get(k), float) else f"{'':8s}"
            for k in ("gflops", "ratio_to_matmul", "speedup")]
        if r.get("page_faults_per_step") is not None:
            cols.append(f"{r['page_faults_per_step']:8.0f}")
        print(f"{r['name']:52s} {' '.join(cols)}")
    for s in stages:
        print(f"{'quick reproduction: ' + s['stage']:52s} {s['seconds']:9.1f}"
              + ("" if s["returncode"] == 0 else f"  (exit {s['returncode']})"))


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = cli.parser("innr.bench", __doc__, config=False)
    cli.path_option(p, "--quick-config", QUICK_CONFIG, "the config of the timed quick reproduction")
    cli.path_option(p, "--out", BENCH_RESULTS, "the JSON file to write")
    p.add_argument("--skip-reproduction", action="store_true",
                   help="time the steps only, not the stages of the quick reproduction")
    p.add_argument("--repeats", type=int, default=9, help="interleaved rounds of timings")
    p.add_argument("--return-freed-memory", action="store_true",
                   help="leave glibc's malloc at its defaults (to measure what "
                        "runtime.keep_freed_memory saves)")
    return cli.run(p, _main, argv)


def _main(args: argparse.Namespace) -> int:
    check_writable(args.out.parent)
    kept = False if args.return_freed_memory else keep_freed_memory()
    device = pick_device("auto")
    info = {**describe(device), "load_average_at_start": load_average(),
            "keep_freed_memory": kept}
    torch.manual_seed(0)
    targets = innr_targets(INNRConfig(), MnistExampleNet(32).to(device))
    rows, fit = time_fit(targets, INNRConfig(), device, args.repeats)
    rows += kernel_fit_rows(device, args.repeats, rows[0]["gflops"])
    rows += evaluation_rows(device, args.repeats, rows[0]["gflops"])
    rows.append(cnn_epoch_seconds(device))
    stages = [] if args.skip_reproduction else reproduction_stages(args.quick_config)
    print_table(rows, stages)
    fast = next(r for r in rows if r["name"] == "INNR step, fast compiled")
    print(f"fast compiled step: {fast['speedup']:.2f}x the autograd loop, "
          f"{fast['ratio_to_matmul']:.2f} of the matmul rate")
    info["load_average_at_end"] = load_average()
    write_json(args.out, {"machine": info, "rows": rows, "stages": stages, "fit": fit,
                          "repeats": args.repeats, "complete": True})
    print(f"wrote {args.out}")
    return 0 if all(s["returncode"] == 0 for s in stages) else 1

if __name__ == "__main__":
    sys.exit(main())
