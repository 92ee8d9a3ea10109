"""``edgelab doctor``: is this machine ready for the course?

It prints Python, platform and architecture, the version of every stack package,
which interpreter backend would be used, and whether JupyterLab's nbgrader and
widget extensions are enabled. Every problem gets one line saying what to do, and
the exit status is non-zero when there is any.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from edgelab.runtime import backend_status, distribution_version

# Distribution names of the course stack, and whether the course needs them.
STACK = (
    ("numpy", True),
    ("ai-edge-litert", True),
    ("tensorflow", True),
    ("keras", True),
    ("jupyterlab", True),
    ("nbgrader", True),
    ("ipywidgets", True),
    ("voila", True),
    ("matplotlib", True),
    ("scikit-learn", True),
    ("tqdm", True),
    ("paramiko", True),
    ("tflite-runtime", False),
)

LAB_EXTENSIONS = ("@jupyter/nbgrader", "@jupyter-widgets/jupyterlab-manager")
SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.validate_assignment",
)


@dataclass(frozen=True)
class Check:
    """One line of the report; ``problem`` is empty when all is well."""

    name: str
    value: str
    problem: str = ""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _server_extensions_enabled() -> dict[str, bool]:
    """Merge ``ServerApp.jpserver_extensions`` from every Jupyter config directory,
    later (more specific) directories winning, as jupyter_server does."""
    from jupyter_core.paths import jupyter_config_path

    enabled: dict[str, bool] = {}
    for directory in reversed(jupyter_config_path()):
        base = Path(directory)
        files = sorted((base / "jupyter_server_config.d").glob("*.json"))
        files.append(base / "jupyter_server_config.json")
        for file in files:
            section = _read_json(file).get("ServerApp", {}).get("jpserver_extensions", {})
            enabled.update({k: bool(v) for k, v in section.items()})
    return enabled


def _lab_extension_state(name: str) -> str:
    """'enabled', 'disabled' or 'missing' for a prebuilt JupyterLab extension."""
    from jupyter_core.paths import jupyter_config_path, jupyter_path

    installed = any((Path(d) / name / "package.json").exists() for d in jupyter_path("labextensions"))
    if not installed:
        return "missing"
    for directory in jupyter_config_path():
        disabled = _read_json(Path(directory) / "labconfig" / "page_config.json").get(
            "disabledExtensions", {})
        if (isinstance(disabled, dict) and disabled.get(name)) or (
                isinstance(disabled, list) and name in disabled):
            return "disabled"
    return "enabled"


def run_checks() -> list[Check]:
    """Collect every check; nothing is printed."""
    checks = [
        Check("python", sys.version.split()[0],
              "" if sys.version_info >= (3, 9) else "Python >= 3.9 is needed (3.11 is tested)"),
        Check("platform", f"{platform.system()} {platform.release()}"),
        Check("architecture", platform.machine()),
    ]
    for dist, needed in STACK:
        version = distribution_version(dist)
        problem = ""
        if version is None and needed:
            problem = f"{dist} is missing: run `make course` (or pip install -e '.[course]')"
        checks.append(Check(dist, version or "not installed", problem))

    statuses = backend_status(include_tensorflow=False)
    usable = [s for s in statuses if s.usable and s.name != "tensorflow"]
    if usable:
        checks.append(Check("interpreter backend", f"{usable[0].name} {usable[0].version}"))
    else:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in statuses if s.reason)
        checks.append(Check("interpreter backend", "none",
                            f"LiteRT is missing or broken ({reasons}): "
                            "run `pip install ai-edge-litert` or `make course`"))
    for s in statuses:
        if s.name == "tflite-runtime" and s.version and not s.usable:
            checks.append(Check("tflite-runtime (legacy)", f"not used: {s.reason}"))

    if distribution_version("jupyterlab") is not None:
        server = _server_extensions_enabled()
        for name in SERVER_EXTENSIONS:
            ok = server.get(name, False)
            checks.append(Check(f"server extension {name}", "enabled" if ok else "disabled",
                                "" if ok else f"enable it: jupyter server extension enable {name}"))
        for name in LAB_EXTENSIONS:
            state = _lab_extension_state(name)
            checks.append(Check(f"lab extension {name}", state,
                                "" if state == "enabled" else
                                f"{name} is {state}: run `jupyter labextension enable {name}` "
                                "(or `make course`)"))
    return checks


def main() -> int:
    """Print the report; return 0 when there is no problem, 1 otherwise."""
    checks = run_checks()
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{c.name:<{width}}  {c.value}")
    problems = [c for c in checks if c.problem]
    print()
    if problems:
        for c in problems:
            print(f"PROBLEM: {c.problem}")
        return 1
    print("All checks passed: the course is ready.")
    return 0
