"""The report: synthetic results files -> figures, .tex and (when LaTeX is installed) a PDF.

The results are written here with the experiments' schema and aggregated by the experiments'
own code (innr.experiments.common.aggregate, compression.finish), with distinctive numbers, a
failed seed whose numbers must not be averaged and values full of LaTeX special characters.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import numpy as np
import pytest

from innr.config import load_config
from innr.experiments import common, compression
from innr.report import __main__ as cli
from innr.report import formats, paper
from innr.report.formats import pct
from innr.runtime import REPO_ROOT
from innr.stats import summary
from innr.store import Store, write_json

SEEDS = (11, 22, 33)  # 33 fails in every experiment
CONTROLS = {11: 111, 22: 222, 33: 333}
FAILED = 33
SPECIAL = "under_score & 50% #1 {x} ~y^z $5 back\\slash"
ACC_ORIGINAL = {11: 0.9123, 22: 0.9323, 33: 0.0001}  # the failed seed's value must not count
ACC_REBUILT = {11: 0.8711, 22: 0.8911, 33: 0.0001}
AGREEMENT = {11: 0.9411, 22: 0.9611, 33: 0.0001}
ACC_PRUNED = {11: 0.8601, 22: 0.8712, 33: 0.0001}
YARDSTICK = {"control": 0.0123, "pruned": 0.0234, "noise": 0.0345}  # below the rebuilt's
PARAMS_CNN, PARAMS_INNR = 4321, 2345
EPS = (0.0, 0.15, 0.3)
NOTEBOOK = """
[notebook]
repository = "someone/notebook-repo"
path = "the_notebook.ipynb"
eval_every = 50
reported_index = -20
test_batch_size = 512
test_images = 10000
code = ["innr_last_accuracy = innr_test_losses[-20]"]
"""


def _provenance(seed: int) -> dict:
    return {"python": "3.11.7", "platform": "Linux-test", "processor": "x86_64", "cpu_count": 2,
            "torch_threads": 2, "versions": {"torch": "2.13.0", "innr": "0.1.0"},
            "device": "cpu", "device_name": SPECIAL, "deterministic_algorithms": True,
            "cudnn_benchmark": False, "tf32": None,
            "git_commit": "a" * 40 if seed == 11 else "b" * 40, "git_dirty": seed == 22}


def _fidelity(seed: int, rng: np.random.Generator) -> dict:
    true = rng.normal(0, 0.1, 300)
    kernels = rng.normal(0, 0.1, (4, 5, 5))
    return {
        "metrics": {"weight_mse": 0.001 * seed, "weight_rel_l2": 0.01 * seed,
                    "weight_snr_db": 20.0 + seed, "weight_cosine": 0.99,
                    "top1_agreement": AGREEMENT[seed], "mean_kl": 0.01,
                    "accuracy_original": ACC_ORIGINAL[seed],
                    "accuracy_rebuilt": ACC_REBUILT[seed], "final_fit_loss": 0.05,
                    **{f"{n}_top1_agreement": AGREEMENT[seed] - d for n, d in YARDSTICK.items()},
                    **{f"{n}_mean_kl": 0.01 + d for n, d in YARDSTICK.items()},
                    **{f"accuracy_{n}": ACC_REBUILT[seed] - d for n, d in YARDSTICK.items()}},
        "details": {
            "per_layer": [{"layer": name, "n": 100, "mse": 0.001, "rel_l2": 0.1 + 0.01 * seed,
                           "snr_db": 20.0, "cosine": 0.99}
                          for name in ("conv1.weight", "conv2.weight", "fc.weight")],
            "cnn_history": {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.3],
                            "test_accuracy": [0.8, 0.9, ACC_ORIGINAL[seed]],
                            "seconds": [1.5, 1.5, 1.5]},
            "innr_history": {"loss": list(np.geomspace(1.0, 0.05, 120)),
                             "eval_step": [40, 80, 120],
                             "eval_accuracy": [0.3, 0.8, ACC_REBUILT[seed]], "seconds": 7.5},
            "scatter": {"true": true.tolist(),
                        "rebuilt": (true + rng.normal(0, 0.01, 300)).tolist()},
            "kernels": {"layer": "conv1.weight", "true": kernels.tolist(),
                        "rebuilt": (kernels * 0.9).tolist()}}}


def _compression(seed: int) -> dict:
    return {"metrics": {"params_cnn": PARAMS_CNN, "params_innr": PARAMS_INNR,
                        "param_ratio": PARAMS_INNR / PARAMS_CNN,
                        "param_reduction": 1 - PARAMS_INNR / PARAMS_CNN,
                        "accuracy_original": ACC_ORIGINAL[seed],
                        "accuracy_rebuilt": ACC_REBUILT[seed],
                        "accuracy_gap": ACC_ORIGINAL[seed] - ACC_REBUILT[seed],
                        "accuracy_pruned": ACC_PRUNED[seed],
                        "pruned_gap": ACC_ORIGINAL[seed] - ACC_PRUNED[seed]},
            "details": {}}


def _transfer(seed: int, rng: np.random.Generator) -> dict:
    records, examples, metrics = [], [], {}
    directions = {"forward": ("original", ["original", "rebuilt", "control"]),
                  "reverse": ("rebuilt", ["rebuilt", "original"])}
    for direction, (source, targets) in directions.items():
        for protocol in ("original", "pixel"):
            for eps in EPS:
                for t in targets:
                    acc = max(0.0, 0.9 - eps * (2 if t == source else 1.5))
                    rate = None if t == source else 0.4 + eps + 0.01 * seed + 0.05 * (
                        t == "rebuilt")
                    records.append({"direction": direction, "protocol": protocol, "eps": eps,
                                    "source": source, "target": t, "accuracy": acc,
                                    "transfer_rate": rate, "transfer_rate_clean": rate})
                    key = f"{direction}_{protocol}_eps{eps:g}"
                    metrics[f"{key}_acc_{t}"] = acc
                    if rate is not None:
                        metrics[f"{key}_transfer_{t}"] = rate
                        metrics[f"{key}_transfer_clean_{t}"] = rate - 0.01
                    if direction == "forward" and eps > 0:
                        metrics[f"noise_{protocol}_eps{eps:g}_acc_{t}"] = 0.85 - 0.001 * seed
                if direction == "forward":
                    examples.append({"protocol": protocol, "eps": eps,
                                     "pixels": rng.uniform(0, 1, (3, 28, 28)).tolist(),
                                     "label": [1, 2, 3], "pred_original": [1, 2, 3],
                                     "pred_rebuilt": [1, 2, 5], "pred_control": [1, 7, 3]})
    return {"metrics": metrics, "details": {"records": records, "examples": examples,
                                            "control_seed": CONTROLS[seed]}}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict:
    """A config file, its results (written like the experiments write them) and output dirs."""
    tmp = tmp_path_factory.mktemp("report")
    config_path = tmp / "synth.toml"
    config_path.write_text(f"name = \"synth\"\nseeds = {list(SEEDS)}\n"
                           f"control_seeds = {list(CONTROLS.values())}\n[data]\n"
                           "test_limit = 500\n"
                           "[innr]\nsteps = 120\neval_every = 40\n"
                           f"[attack]\neps = {list(EPS)}\n")
    config = load_config(config_path)
    store = Store(config.name, tmp / "results")
    rng = np.random.default_rng(0)
    for name, make in (("fidelity", lambda s: _fidelity(s, rng)), ("compression", _compression),
                       ("transfer", lambda s: _transfer(s, rng))):
        results = []
        for seed in SEEDS:
            out = ({"status": "failed", "error": f"seed {seed}: loss is NaN; {SPECIAL}",
                    **make(seed)} if seed == FAILED else {"status": "ok", **make(seed)})
            result = {"experiment": name, "seed": seed, **out, "config": config.to_dict(),
                      "config_hash": config.hash(), "provenance": _provenance(seed),
                      "started": "2026-01-01T00:00:00+00:00",
                      "finished": "2026-01-01T00:01:00+00:00", "wall_seconds": 12.5,
                      "complete": True}
            write_json(store.result(name, seed), result)
            results.append(result)
        common.aggregate(name, results, store)
        if name == "compression":
            compression.finish(results, store)
    original = tmp / "original_study.toml"
    real = (REPO_ROOT / "experiments" / "original_study.toml").read_text()
    original.write_text(real.split("\n[notebook]")[0] + NOTEBOOK)  # a notebook table of our own
    bench = tmp / "bench.json"
    bench.write_text(json.dumps({"rows": [{"name": "fit_step", "seconds": 0.0123}]}))
    dirs = {"figures_dir": tmp / "figures", "build_dir": tmp / "build", "pdf_dir": tmp / "pdf",
            "original": original, "bench": bench}
    tex = cli.build(config_path, tmp / "results", pdf=False, **dirs)
    return {"config": config_path, "results": tmp / "results", "tex": tex, "dirs": dirs,
            "text": tex.read_text(), "tmp": tmp}


def _expected(values: dict[int, float]) -> tuple[str, str]:
    """Mean and CI of the ok seeds, escaped as the .tex prints them."""
    s = summary([v for seed, v in values.items() if seed != FAILED])
    return (paper.escape(pct(s["mean"])), paper.escape(formats.interval(s)))


def test_numbers_of_the_ok_seeds_appear_formatted(synthetic):
    text = synthetic["text"]
    for values in (ACC_ORIGINAL, ACC_REBUILT, AGREEMENT):
        mean, ci = _expected(values)
        assert mean in text and ci in text
    assert f"{PARAMS_CNN:,}" in text and f"{PARAMS_INNR:,}" in text
    assert paper.escape(pct(PARAMS_INNR / PARAMS_CNN)) in text


def test_each_verdict_is_printed_from_the_ok_seeds(synthetic):
    from innr.report import verdicts

    text = " ".join(synthetic["text"].split())
    ok = [s for s in SEEDS if s != FAILED]
    from innr.paths import CRITERIA
    from innr.report.load import load_criteria

    criteria = load_criteria(CRITERIA)
    rng = np.random.default_rng(0)
    expected = {
        "fidelity": verdicts.claim_fidelity([_fidelity(s, rng)["metrics"] for s in ok],
                                            criteria),
        "compression": verdicts.claim_compression(PARAMS_CNN, PARAMS_INNR,
                                                  [ACC_ORIGINAL[s] for s in ok],
                                                  [ACC_REBUILT[s] for s in ok],
                                                  [ACC_PRUNED[s] for s in ok], criteria),
        "transfer": verdicts.claim_transfer([_transfer(s, rng)["metrics"] for s in ok], EPS,
                                            ("original", "pixel"), "original",
                                            "FGSM examples crafted on the CNN also fool the "
                                            "rebuilt network", criteria)}
    for v in expected.values():
        assert f"{v.title.lower()}: {v.outcome}." in text
        assert " ".join(paper.escape(v.sentence).split()) in text
        assert " ".join(paper.escape(v.criterion).split()) in text
        for secondary in v.secondary:
            if isinstance(secondary, verdicts.Verdict):
                assert " ".join(paper.escape(secondary.sentence).split()) in text
    # the criteria section prints each rationale, declared before the run
    for rationale in criteria.rationale.values():
        assert " ".join(paper.escape(rationale).split()) in text


def test_abstract_counts_only_the_seeds_with_results(synthetic):
    text = " ".join(synthetic["text"].split())
    assert "on 2 of the configuration's 3 seeds" in text  # seed 33 failed


def test_failed_seed_is_listed_and_not_averaged(synthetic):
    text = synthetic["text"]
    assert "Failed seeds" in text and str(FAILED) in text
    with_failed = summary(list(ACC_REBUILT.values()))
    assert paper.escape(pct(with_failed["mean"])) not in text
    assert not re.search(r"(?<![\d.])0\.0\\%", text)  # the failed seed's accuracies: nowhere


def test_special_characters_are_escaped(synthetic):
    text = synthetic["text"]
    assert paper.escape(SPECIAL) in text
    assert r"under\_score \& 50\% \#1 \{x\} \textasciitilde{}y\textasciicircum{}z \$5" in text
    assert SPECIAL not in text


def test_provenance_warnings_and_setup(synthetic):
    text = synthetic["text"]
    assert r"\warning{results come from 2 different git commits" in text
    assert "uncommitted changes" in text
    assert "fit\\_step" in text and "12 ms" in text  # the benchmark appendix


def test_slip_is_computed_from_the_notebook_table(synthetic):
    text = " ".join(synthetic["text"].split())
    # 2000 steps / 50 = 40 evaluations; index -20 -> entry 21, after 1,001 steps; 10000 = 19 x
    # 512 + 272, so an image of the last batch weighs 512 / 272 = 1.9 times as much
    for fragment in ("picks entry 21 of 40", "after 1,001 of the 2,000 steps", "1,951 steps",
                     "94.411\\%", "95.007\\%", "only 272", "1.9 times",
                     "innr\\_last\\_accuracy"):
        assert fragment in text, fragment


def test_figures_are_written(synthetic):
    out = synthetic["dirs"]["figures_dir"]
    names = ("cnn-training", "innr-fit", "compression", "weight-error", "kernels", "transfer",
             "examples")
    for name in names:
        for suffix in (".pdf", ".png"):
            assert (out / f"{name}{suffix}").stat().st_size > 1000, name + suffix


def test_absent_benchmark_gives_a_sentence(synthetic, tmp_path):
    dirs = {**synthetic["dirs"], "bench": tmp_path / "missing.json", "build_dir": tmp_path}
    tex = cli.build(synthetic["config"], synthetic["results"], pdf=False, **dirs)
    assert "No benchmark results at" in tex.read_text()


def test_benchmark_names_the_machine_it_ran_on(synthetic, tmp_path):
    """innr.bench's ratios depend on the CPU: the appendix names it, escaped for LaTeX."""
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({
        "machine": {"cpu_model": "Xeon_9 & co", "torch_threads": 2, "cpu_capability": "AVX512",
                    "versions": {"torch": "9.9"}, "device": "cpu", "device_name": "x86_64"},
        "rows": [{"name": "float32 matmul 2048x2048", "seconds": 0.04, "gflops": 429.5,
                  "ratio_to_matmul": 1.0}], "stages": []}))
    dirs = {**synthetic["dirs"], "bench": bench, "build_dir": tmp_path}
    text = cli.build(synthetic["config"], synthetic["results"], pdf=False, **dirs).read_text()
    assert r"measured on Xeon\_9 \& co, 2 threads, AVX512, torch 9.9." in text
    assert "429.5" in text or "430" in text


def test_partial_results_render(synthetic, tmp_path):
    """Only compression results, and every seed of them failed but one: no broken references."""
    results = tmp_path / "results"
    shutil.copytree(synthetic["results"] / "synth" / "compression",
                    results / "synth" / "compression")
    dirs = {**synthetic["dirs"], "build_dir": tmp_path / "build",
            "figures_dir": tmp_path / "figures"}
    text = cli.build(synthetic["config"], results, pdf=False, **dirs).read_text()
    assert "No successful fidelity results" in text and "No successful transfer results" in text
    assert "no fidelity results were found in" in text  # the setup warning
    assert "fig:innr" not in text.replace(r"\label{fig:innr}", "")


def test_missing_latex_exits_nonzero_after_writing_the_tex(synthetic, tmp_path, monkeypatch):
    monkeypatch.setattr(paper.shutil, "which", lambda tool: None)
    with pytest.raises(paper.LatexMissing, match="texlive-latex-extra latexmk"):
        paper.compile_pdf(synthetic["tex"])
    monkeypatch.setattr(cli, "build", lambda *a, **k: (_ for _ in ()).throw(
        paper.LatexMissing("install LaTeX")))
    assert cli.main(["--config", str(synthetic["config"])]) == 3


def test_partial_results_are_said_on_the_console(synthetic, tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(synthetic["results"], results)
    (results / "synth" / "fidelity" / "seed_22.json").unlink()
    capsys.readouterr()
    cli.build(synthetic["config"], results, pdf=False,
              **{**synthetic["dirs"], "figures_dir": tmp_path / "f", "build_dir": tmp_path / "b"})
    assert "warning: fidelity: seeds 22 of the config have no results file.\n" in \
        capsys.readouterr().err


def test_no_results_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["--config", str(REPO_ROOT / "experiments" / "quick.toml"),
                     "--results", str(tmp_path), "--no-pdf"]) == 2
    assert "no results" in capsys.readouterr().err


latex = pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdflatex") is None,
                           reason="latexmk/pdflatex not installed")


@latex
def test_pdf_compiles_with_the_headline_number(synthetic):
    pdf = paper.compile_pdf(synthetic["tex"])
    assert pdf.stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert pct(summary([ACC_REBUILT[11], ACC_REBUILT[22]])["mean"]) in text
        assert "??" not in text  # every reference resolved


@latex
def test_latex_error_shows_the_log_lines(tmp_path):
    tex = tmp_path / "broken.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    with pytest.raises(paper.LatexFailed, match="Undefined control sequence"):
        paper.compile_pdf(tex)


# --- the template types no numbers ------------------------------------------------------------

LENGTH = r"(?:pt|em|ex|cm|mm|in|bp|pc|\\[a-zA-Z]+)"  # 0.7\linewidth, 2.5cm: layout, not results


def hand_typed_numbers(template: str) -> list[str]:
    """Numbers typed into a template outside \\BLOCK{}, \\VAR{} and comments: percentages,
    decimals, thousands, and (outside math) any integer; lengths, xcolor mixes (red!6) and the
    years of \\bibitem lines are allowed."""
    text = re.sub(r"\\(BLOCK|VAR|#)\{[^}]*\}", " ", template)
    text = re.sub(r"(?<!\\)%.*", "", text)
    text = re.sub(r"^\\bibitem.*$", lambda m: re.sub(r"\b(19|20)\d\d\b", "", m.group()), text,
                  flags=re.M)
    found = re.findall(r"\d+(?:\.\d+)?\s*\\%", text)
    found += re.findall(rf"\d*\.\d+(?!\d|{LENGTH})", text)
    found += re.findall(r"\d{1,3}(?:,\d{3})+", text)
    prose = re.sub(r"\$[^$]*\$", " ", text)
    # [1]: a macro's arity, #1: its parameter
    found += re.findall(rf"(?<![\w!.[#])\d+(?![\d.]|{LENGTH})", prose)
    return found


def test_templates_type_no_numbers():
    templates = sorted((REPO_ROOT / "paper").glob("*.j2"))
    assert templates
    for path in templates:
        assert hand_typed_numbers(path.read_text()) == [], path


def test_the_number_scan_catches_numbers():
    assert hand_typed_numbers(r"accuracy of 95.5\% and 0.93 over 62,240 weights and 5 seeds")
    assert not hand_typed_numbers(r"\includegraphics[width=0.7\linewidth]{\VAR{f}} $[-1, 1]$")
    assert not hand_typed_numbers(r"\newcommand{\fit}[1]{\resizebox{\width}{!}{#1}}")
    assert not hand_typed_numbers("\\bibitem{x} A. Author. Title. NeurIPS 2020.")


@latex
def test_the_pdf_built_again_from_the_same_tex_is_the_same_bytes(synthetic):
    """Dated by its results (SOURCE_DATE_EPOCH), the committed PDF changes in git only when
    its content does."""
    pdf = synthetic["tex"].with_suffix(".pdf")
    pdf.unlink(missing_ok=True)  # latexmk rebuilds only what is missing or out of date
    first = paper.compile_pdf(synthetic["tex"], epoch=1_700_000_000).read_bytes()
    pdf.unlink()
    time.sleep(1.1)  # a build dated by the clock would now differ
    assert paper.compile_pdf(synthetic["tex"], epoch=1_700_000_000).read_bytes() == first
