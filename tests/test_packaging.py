"""pyproject.toml, constraints.txt, environment.yml and binder/ describe one stack, installable
on the oldest Python the README names."""

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


def test_environment_yml_pins_the_course_extra() -> None:
    """environment.yml pins every package of the course extra at its pyproject version (the rest
    of its pins, what the extra pulls in, is tests/test_binder.py's)."""
    pins = conda_pip_pins(REPO / "environment.yml")
    assert {name: pins.get(name) for name in extra_pins("course")} == extra_pins("course")


def test_binder_is_identical_to_environment_yml() -> None:
    """repo2docker reads only binder/, so binder/environment.yml is the same file."""
    assert (REPO / "binder" / "environment.yml").read_text() == (REPO / "environment.yml").read_text()


def locked_pins() -> dict[str, str]:
    """constraints.txt as {normalized name: version}."""
    locked = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            locked[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return locked


def readme_minimum_python() -> str:
    """The oldest Python the README's "Two commands" section names (`Python ≥ X.Y`)."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"Python ≥ (\d+\.\d+(?:\.\d+)?)", section)
    assert match, "the README's Two commands section names no minimum Python"
    return match.group(1)


def test_constraints_agree_with_pins() -> None:
    """Every pin in the course, dev and shaper extras is the version constraints.txt locks."""
    locked = locked_pins()
    for extra in ("course", "dev", "shaper"):
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


def test_every_locked_pin_supports_the_readme_minimum_python() -> None:
    """Each package constraints.txt pins is installed at that version and its Requires-Python
    admits the oldest Python the README names (offline, from installed metadata)."""
    from importlib import metadata

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    minimum = readme_minimum_python()
    problems = []
    for name, version in locked_pins().items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}=={version} is locked but not installed (run make setup)")
            continue
        if Version(dist.version) != Version(version):
            problems.append(f"{name}: locked {version}, installed {dist.version} (run make setup)")
        requires = dist.metadata.get("Requires-Python")
        if requires and not SpecifierSet(requires).contains(minimum, prereleases=True):
            problems.append(f"{name}=={version} needs Python {requires}, the README promises {minimum}")
    assert not problems, "\n".join(problems)


def test_makefile_checks_the_readme_minimum_python() -> None:
    """The Makefile refuses a Python older than the README's minimum, and no newer one."""
    match = re.search(r"sys\.version_info >= \((\d+), (\d+)\)", (REPO / "Makefile").read_text())
    assert match, "the Makefile does not check the Python version"
    assert f"{match.group(1)}.{match.group(2)}" == readme_minimum_python()


def test_student_extra_needs_no_compiler() -> None:
    """What `make course` installs (the `course` extra) leaves out the one package without a
    wheel, and the Makefile installs it with pip refusing to build anything."""
    assert "netfilterqueue" not in extra_pins("course")
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("$(COURSE_STAMP):", 1)[1].split("\n\n", 1)[0]
    assert '$(WHEELS_ONLY) -c constraints.txt -e ".[course]"' in recipe
    assert "WHEELS_ONLY := --only-binary=:all:\n" in makefile
