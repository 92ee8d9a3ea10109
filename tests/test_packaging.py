"""pyproject.toml, constraints.txt, environment.yml and binder/ describe one stack."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import edgelab

REPO = Path(__file__).resolve().parent.parent

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib  # type: ignore[no-redef]


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def conda_pip_pins(path: Path) -> dict[str, str]:
    """The `name==version` lines of an environment.yml's pip section."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)==([^\s#]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def extra_pins(extra: str) -> dict[str, str]:
    pins = {}
    for spec in pyproject()["project"]["optional-dependencies"][extra]:
        name, _, version = spec.partition("==")
        assert version, f"{spec} in [{extra}] is not pinned with =="
        pins[name.lower()] = version
    return pins


def test_environment_yml_matches_course_extra() -> None:
    """environment.yml pins exactly the course extra's packages and versions."""
    assert conda_pip_pins(REPO / "environment.yml") == extra_pins("course")


def test_binder_is_identical_to_environment_yml() -> None:
    """repo2docker reads only binder/, so binder/environment.yml is the same file."""
    assert (REPO / "binder" / "environment.yml").read_text() == (REPO / "environment.yml").read_text()


def test_constraints_agree_with_pins() -> None:
    """Every pin in the course and dev extras is the version constraints.txt locks."""
    locked = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            locked[name.lower().replace("_", "-")] = version.strip()
    for extra in ("course", "dev"):
        for name, version in extra_pins(extra).items():
            assert locked.get(name) == version, f"{name}: pyproject {version}, lock {locked.get(name)}"


def test_device_install_has_no_tensorflow() -> None:
    """The Raspberry Pi install is numpy + LiteRT only."""
    device = pyproject()["project"]["optional-dependencies"]["device"]
    names = {re.split(r"[<>=!~ ]", spec)[0].lower() for spec in device}
    assert names == {"numpy", "ai-edge-litert"}


def test_import_edgelab_does_not_import_heavy_packages() -> None:
    """`import edgelab` never imports TensorFlow, Keras or matplotlib."""
    code = textwrap.dedent("""
        import sys, edgelab
        heavy = [m for m in ("tensorflow", "keras", "matplotlib", "jupyterlab") if m in sys.modules]
        print(",".join(heavy))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_public_api_is_exactly_the_curated_list() -> None:
    """edgelab.__all__ is the intended public API and every name in it exists."""
    assert sorted(edgelab.__all__) == sorted([
        "EdgelabError", "LoadedModel", "ModelError", "RuntimeMissingError", "__version__",
        "find_backend", "load_interpreter",
    ])
    for name in edgelab.__all__:
        assert hasattr(edgelab, name), name
    assert edgelab.__version__ == pyproject()["project"]["version"]
