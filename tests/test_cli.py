"""The command line: every script's parser, help, one-line errors, Ctrl-C, an unwritable results
folder, and the files a user or the report reads (written atomically, with one mode)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from innr import bench, cli
from innr.config import ConfigError
from innr.experiments import ablation, common, fidelity, frontier
from innr.report import __main__ as report
from innr.report import compare, drawnoise, pilot, readme, release
from innr.store import Store, atomic_write_text, check_writable, write_json

REPO = Path(__file__).resolve().parents[1]
QUICK = REPO / "experiments" / "quick.toml"

ENTRY_POINTS = {
    "experiments": lambda argv: common.main("fidelity", fidelity.run, argv),
    "ablation": ablation.main, "frontier": frontier.main, "report": report.main,
    "compare": compare.main, "release": release.main, "readme": readme.main,
    "pilot": pilot.main, "bench": bench.main, "drawnoise": drawnoise.main,
}


def parser_of(name: str, monkeypatch) -> cli.argparse.ArgumentParser:
    """The parser an entry point hands to cli.run (which is not run)."""
    seen = []
    monkeypatch.setattr(cli, "run", lambda p, body, argv=None: seen.append(p) or 0)
    assert ENTRY_POINTS[name]([]) == 0
    assert len(seen) == 1, f"{name} does not go through innr.cli.run"
    return seen[0]


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_every_entry_point_has_complete_help(name, monkeypatch):
    p = parser_of(name, monkeypatch)
    assert p.description.endswith("."), p.description  # whole sentences, not a cut-off line
    undocumented = [a.option_strings or a.dest for a in p._actions if not a.help]
    assert not undocumented
    assert p.format_help()


def test_help_offers_only_what_a_script_accepts(monkeypatch):
    assert "--seeds" in parser_of("experiments", monkeypatch).format_help()
    assert "--seeds" not in parser_of("ablation", monkeypatch).format_help()  # it runs them all


def test_a_user_error_is_one_line_and_exit_code_2(capsys):
    p = cli.parser("innr.x", "Do x.", config=False)

    def bad_config(args):
        raise ConfigError("cnn.epochs must be positive,\ngot 0")

    def missing_file(args):
        raise FileNotFoundError(2, "No such file or directory", "/nowhere/x.json")

    assert cli.run(p, bad_config, []) == 2
    assert capsys.readouterr().err == "error: cnn.epochs must be positive, got 0\n"
    assert cli.run(p, missing_file, []) == 2
    assert capsys.readouterr().err == "error: /nowhere/x.json: No such file or directory\n"


def test_ctrl_c_stops_an_experiment_with_one_line_and_exit_code_130(tmp_path):
    # the experiment's data loading is made to wait, from outside, until the signal comes
    script = textwrap.dedent(f"""
        import sys, time
        from innr.experiments import common, fidelity, workbench

        def wait(*args):
            print("ready", flush=True)
            time.sleep(60)

        workbench.load_splits = wait
        sys.exit(common.main("fidelity", fidelity.run,
                             ["--config", {str(QUICK)!r}, "--results", {str(tmp_path)!r}]))
    """)
    # as from a shell: Python turns SIGINT into KeyboardInterrupt only when it does not start
    # with SIGINT ignored, which an earlier test in this process may have left behind
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "interrupted; run the same command again to resume\n"


@pytest.mark.parametrize("name", ["experiments", "ablation", "frontier"])
def test_an_unwritable_results_folder_stops_before_any_work(name, tmp_path, monkeypatch, capsys):
    def work(*args):
        raise AssertionError("work started")

    for module in (common, ablation, frontier):
        monkeypatch.setattr(module, "git_state", work, raising=False)
    blocker = tmp_path / "a file"  # a folder under a regular file: unwritable, even for root
    blocker.write_text("")
    assert ENTRY_POINTS[name](["--config", str(QUICK), "--results", str(blocker)]) == 2
    assert capsys.readouterr().err == f"error: cannot write to {blocker}/quick: Not a directory\n"


def test_the_writable_check_makes_no_folder(tmp_path):
    # a run that stops later on bad data must leave nothing behind (tests/test_faults.py)
    check_writable(tmp_path / "results" / "quick")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError, match="Not a directory"):
        (tmp_path / "a file").write_text("")
        check_writable(tmp_path / "a file" / "below")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_results_and_aggregates_have_one_mode_and_are_written_atomically(tmp_path, monkeypatch):
    umask = os.umask(0)
    os.umask(umask)
    store = Store("quick", tmp_path)
    result = {"experiment": "fidelity", "seed": 1, "status": "ok", "metrics": {"a": 0.5},
              "complete": True}
    write_json(store.result("fidelity", 1), result)
    common.aggregate("fidelity", [result], store)
    before = store.aggregate("fidelity").read_text()
    assert _mode(store.result("fidelity", 1)) == _mode(store.aggregate("fidelity")) \
        == 0o666 & ~umask

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        common.aggregate("fidelity", [result, {**result, "seed": 2}], store)
    assert store.aggregate("fidelity").read_text() == before  # the old file, whole
    assert sorted(p.name for p in (tmp_path / "quick" / "fidelity").iterdir()) == \
        ["aggregate.csv", "seed_1.json"]  # and no temporary file left


def test_the_readme_block_is_written_atomically(tmp_path, monkeypatch, capsys):
    target = tmp_path / "README.md"
    atomic_write_text(target, "intro\n<!-- generated:begin -->\nold\n<!-- generated:end -->\n")
    monkeypatch.setattr(readme, "block", lambda *args: "new")
    assert readme.main(["--readme", str(target)]) == 0
    assert target.read_text() == "intro\n<!-- generated:begin -->\nnew\n<!-- generated:end -->\n"
    monkeypatch.setattr(readme, "block", lambda *args: "newer")
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space")))
    assert readme.main(["--readme", str(target)]) == 2
    assert "new\n" in target.read_text() and [p.name for p in tmp_path.iterdir()] == ["README.md"]
