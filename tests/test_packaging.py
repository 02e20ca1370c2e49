"""environment.yml must ask for what pyproject.toml asks for, with the same version bounds."""
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAME = {"torch": "pytorch"}   # PyPI name -> conda-forge name where they differ


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _pyproject():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _conda_deps():
    yaml = pytest.importorskip("yaml")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    plain = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return dict(_split(d) for d in plain), pip


def test_environment_yml_matches_pyproject():
    project = _pyproject()
    conda, pip = _conda_deps()
    extras = project["optional-dependencies"]
    # what `make env` installs: the package with its lab, test and slides extras; a package named twice (ipywidgets:
    # a lower bound, and the slides' upper bound) is one conda line with both bounds
    wanted = project["dependencies"] + extras["lab"] + extras["test"] + extras["slides"]
    merged: dict[str, str] = {}
    for req in wanted:
        name, spec = _split(req)
        merged[name] = f"{merged[name]},{spec}" if merged.get(name, spec) != spec else spec
    for name, spec in merged.items():
        conda_name = CONDA_NAME.get(name, name)
        assert conda_name in conda, f"{name} is in pyproject.toml but not in environment.yml"
        assert conda[conda_name] == spec, f"{name}: pyproject says {spec!r}, environment.yml says {conda[conda_name]!r}"
    extra = set(conda) - {CONDA_NAME.get(_split(r)[0], _split(r)[0]) for r in wanted} - {"python", "pip"}
    assert not extra, f"environment.yml lists packages pyproject.toml does not: {sorted(extra)}"
    assert conda["python"] == ">=" + project["requires-python"].lstrip(">=")
    assert "-e ." in pip


def test_torch_range_admits_the_gpu_machines_and_the_cpu_pin():
    from packaging.specifiers import SpecifierSet
    spec = SpecifierSet(_split(next(d for d in _pyproject()["dependencies"] if d.startswith("torch")))[1])
    for version in ("2.4.0", "2.11.0", "2.13.0", "2.15.1"):
        assert version in spec
    assert "2.16.0" not in spec, "an open upper bound lets pip pull a newer CUDA build over the pinned CPU wheel"
    makefile = (ROOT / "Makefile").read_text()
    assert "TORCH ?= torch==2.13.0" in makefile


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.splitlines() if line.strip()]
    assert len(commands) == 2, f"the README must open with two commands, found {commands}"
    assert commands[1] in ci, f".ci/run must call the README's test command {commands[1]!r}"
