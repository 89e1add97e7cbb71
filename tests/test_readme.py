"""The README opens with the two commands and its numbers are generated from results files."""

from __future__ import annotations

import pandas as pd

from innr.report import readme

from .conftest import QUICK, REPO


def test_readme_opens_with_the_two_commands():
    text = (REPO / "README.md").read_text()
    first_block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split()[0] for line in first_block.strip().splitlines()] == [
        "./run_all.sh", "./run_tests.sh"]
    assert readme.BLOCK.search(text), "the generated block's markers are missing"


def test_generated_block_carries_the_results_numbers(quick_results, tmp_path):
    target = tmp_path / "README.md"
    target.write_text("intro\n<!-- generated:begin -->\nold\n<!-- generated:end -->\nrest\n")
    assert readme.main(["--config", str(QUICK), "--results", str(quick_results.parent),
                        "--readme", str(target)]) == 0
    text = target.read_text()
    assert "old" not in text and text.startswith("intro") and text.endswith("rest\n")
    mean = pd.read_csv(quick_results / "compression" / "aggregate.csv").set_index("seed")
    assert f"{100 * float(mean.loc['mean', 'accuracy_rebuilt']):.1f}%" in text
    study = readme.load.load_original(REPO / "experiments" / "original_study.toml")
    assert f"{100 * study.cnn['test_accuracy']:.3f}%" in text  # the original's, beside ours
    for title in ("Claim 1 (fidelity)", "Claim 2 (compression)", "Claim 3 (transfer)"):
        assert f"- **{title}: " in text  # each verdict, as the report states it


def test_the_api_example_runs(tmp_path, monkeypatch):
    """The README's example on a network that is not the study's CNN runs as written."""
    text = (REPO / "README.md").read_text()
    code = next(block.split("```", 1)[0] for block in text.split("```python\n")[1:]
                if "innr.compress" in block)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "model.innr").is_file()
