"""Binder (binder/): its environment resolves to the tested versions (constraints.txt), and
binder/postBuild builds the student workspace and the demo models the Binder link opens.

repo2docker itself needs a Docker engine, which test machines do not have: the postBuild test
installs Binder's pip pins into a fresh venv and runs binder/postBuild in a clone of HEAD.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib import metadata

import pytest
import yaml
from browser import free_port
from conftest import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

BINDER_ENV = REPO / "binder" / "environment.yml"
# What the Binder link opens (README's badge): lesson 00's student version, which postBuild writes.
URLPATH = "lab/tree/workspace/00-welcome/welcome.ipynb"
# Come with conda's Python; `pip freeze` (hence constraints.txt) leaves them out.
INSTALLER_TOOLS = {"pip", "setuptools", "wheel"}
# Imports of the course that no pinned distribution provides, and why.
NOT_FROM_PYPI = {
    "edgelab": "this course's library (binder/postBuild installs it from the checkout)",
    "grader": "this course's grading tools, run from the checkout",
    "bench": "edgelab/bench.py, copied next to edgelab/deploy/agent.py on a device",
    "collect": "edgelab/deploy/collect.py, copied next to the agent on a device",
    "admission": "demos/.voila/admission.py, the demo server's admission control, next to voila.py",
}
NOT_ON_BINDER = {
    "netfilterqueue": "the `shaper` extra: the latency lab's NFQUEUE shaper needs root and a compiler",
}


def binder_environment() -> tuple[list[str], list[str]]:
    """The conda dependencies and the pip lines of binder/environment.yml."""
    conda, pip = [], []
    for dep in yaml.safe_load(BINDER_ENV.read_text())["dependencies"]:
        if isinstance(dep, dict):
            pip += dep["pip"]
        else:
            conda.append(dep)
    return conda, pip


def pip_pins() -> dict[str, str]:
    """Binder's pip pins, by canonical name; every pip line must be an exact ``name==version``."""
    pins = {}
    for line in binder_environment()[1]:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+!\-]+)", line)
        assert match, f"binder/environment.yml: {line!r} is not an exact `name==version` pin"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def locked() -> dict[str, str]:
    """constraints.txt, by canonical name."""
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def dependencies(name: str, extras: frozenset = frozenset()) -> set[tuple[str, frozenset]]:
    """The requirements of the installed distribution ``name`` (with ``extras``) on this platform."""
    found = set()
    for spec in metadata.distribution(name).requires or []:
        req = Requirement(spec)
        environments = [{"extra": e} for e in extras] or [{"extra": ""}]
        if req.marker is None or any(req.marker.evaluate(env) for env in environments):
            found.add((canonicalize_name(req.name), frozenset(req.extras)))
    return found


def course_imports() -> dict[str, set[str]]:
    """Top-level modules imported by the course (edgelab, grader, the demos and the lessons'
    code cells), with the files importing each; the standard library left out."""
    sources = [(p, p.read_text()) for folder in ("edgelab", "grader", "demos")
               for p in sorted((REPO / folder).rglob("*.py"))]
    for path in sorted(REPO.glob("lessons/*/*.ipynb")) + sorted(REPO.glob("demos/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        lines = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code").splitlines()
        sources.append((path, "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))))
    found: dict[str, set[str]] = {}
    for path, code in sources:
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_conda_brings_only_python_and_pip() -> None:
    """The conda section is the tested Python's minor version and pip: every other package comes
    from the pip section, pinned to constraints.txt."""
    conda, _ = binder_environment()
    assert conda == [f"python={sys.version_info.major}.{sys.version_info.minor}", "pip"]


def test_every_pip_pin_is_the_locked_version() -> None:
    """Every package the Binder environment pins is at the version constraints.txt locks."""
    lock = locked()
    wrong = {name: (version, lock.get(name)) for name, version in pip_pins().items()
             if lock.get(name) != version}
    assert wrong == {}, f"binder/environment.yml vs constraints.txt (pinned, locked): {wrong}"


def test_pins_leave_pip_nothing_to_choose() -> None:
    """Every dependency of every pinned package is pinned too (read from the tested environment,
    installed from constraints.txt), so pip resolves Binder to exactly the tested versions; and
    the pins are the course extra and what it pulls in, nothing else."""
    pins, lock = pip_pins(), locked()
    drifted = {n: (metadata.version(n), v) for n, v in lock.items() if metadata.version(n) != v}
    assert drifted == {}, f"this environment is not the locked one (installed, locked): {drifted}"
    course = {canonicalize_name(Requirement(spec).name)
              for spec in metadata.distribution("edgelab").requires or []
              if Requirement(spec).marker and Requirement(spec).marker.evaluate({"extra": "course"})}
    seen: set[tuple[str, frozenset]] = set()
    todo = {(name, frozenset()) for name in course}
    while todo:
        item = todo.pop()
        seen.add(item)
        todo |= dependencies(*item) - seen
    needed = {name for name, _ in seen} - INSTALLER_TOOLS
    expected = "".join(f"      - {metadata.distribution(n).metadata['Name']}=={lock[n]}\n"
                       for n in sorted(needed))
    assert set(pins) == needed, (f"unpinned: {sorted(needed - set(pins))}, not needed: "
                                 f"{sorted(set(pins) - needed)}; the pip section should be:\n{expected}")


def test_everything_the_course_imports_is_pinned() -> None:
    """Each module the course imports comes from a distribution Binder pins (or is listed above
    with the reason it is not from PyPI or not on Binder)."""
    pins, providers = pip_pins(), metadata.packages_distributions()
    imports = course_imports()
    unpinned = {}
    for module, files in sorted(imports.items()):
        if module in NOT_FROM_PYPI or module in NOT_ON_BINDER:
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & set(pins):
            unpinned[module] = (sorted(dists) or "no installed distribution", sorted(files)[:3])
    assert unpinned == {}, unpinned
    stale = (set(NOT_FROM_PYPI) | set(NOT_ON_BINDER)) - set(imports)
    assert stale == set(), f"listed but no longer imported: {stale}"


def test_binder_start_adds_the_student_view_settings() -> None:
    """binder/start puts the workspace's student-view Jupyter settings (written by
    `grader.workspace sync`) on JUPYTER_CONFIG_PATH, keeps what was there, then runs the server."""
    from grader.workspace import VIEW_CONFIG

    env = dict(os.environ, JUPYTER_CONFIG_PATH="/somewhere/else")
    proc = subprocess.run([str(REPO / "binder" / "start"), sys.executable, "-c",
                           "import os; print(os.environ['JUPYTER_CONFIG_PATH'])"],
                          env=env, capture_output=True, text=True, timeout=30, check=True)
    assert proc.stdout.strip() == f"{REPO / 'workspace' / VIEW_CONFIG}{os.pathsep}/somewhere/else"


def test_readme_badge_opens_the_student_lesson_00() -> None:
    """README's Binder badge launches this repository on mybinder.org at lesson 00's student
    version (the path binder/postBuild writes)."""
    readme = (REPO / "README.md").read_text()
    badges = re.findall(r"\[!\[[^\]]*\]\(https://mybinder\.org/badge[^)]*\)\]\((https://mybinder\.org/v2/gh/[^)\s]+)\)",
                        readme)
    assert badges, "README.md has no mybinder.org badge"
    assert all(link.endswith(f"?urlpath={URLPATH}") for link in badges), badges


# --- binder/postBuild, run for real in a throwaway environment --------------------------------


def run(argv: list, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=True, **kwargs)


@pytest.fixture(scope="module")
def binder_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What repo2docker would build, without Docker: a venv with exactly Binder's pip pins, a
    clone of this repository's HEAD, and binder/postBuild run in it (timed)."""
    root = tmp_path_factory.mktemp("binder")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGELAB_", "JUPYTER_", "VIRTUAL_ENV"))}
    env.update(HOME=str(root / "home"), XDG_CACHE_HOME=str(root / "home" / ".cache"))
    (root / "home").mkdir()
    start = time.perf_counter()
    run([sys.executable, "-m", "venv", str(root / "env")], timeout=300)
    python = root / "env" / "bin" / "python"
    pins = root / "binder-pins.txt"
    pins.write_text("\n".join(binder_environment()[1]) + "\n")
    run([str(python), "-m", "pip", "install", "--quiet", "-r", str(pins)], timeout=1800, env=env)
    installed = time.perf_counter()
    repo = root / "repo"
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(repo)], timeout=300)
    env["PATH"] = f"{root / 'env' / 'bin'}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {"repo": repo, "python": python, "env": env, "postbuild_output": proc.stdout + proc.stderr,
            "install_s": installed - start, "postbuild_s": time.perf_counter() - installed}


@pytest.mark.slow
def test_binder_environment_installs_exactly_the_pins(binder_build: dict) -> None:
    """pip installs Binder's pins and nothing else (no unpinned dependency slips in), and they
    are consistent (pip check)."""
    python = str(binder_build["python"])
    frozen = run([python, "-m", "pip", "freeze", "--exclude-editable"], timeout=120).stdout.splitlines()
    got = {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in frozen if "==" in line}
    assert got == pip_pins()
    run([python, "-m", "pip", "check"], timeout=120)
    print(f"\nBinder pins installed in {binder_build['install_s']:.0f} s; "
          f"postBuild ran in {binder_build['postbuild_s']:.0f} s")


@pytest.mark.slow
def test_postbuild_writes_the_student_workspace(binder_build: dict) -> None:
    """The Binder link's notebook exists and is lesson 00's student version: exercises to fill,
    no solutions."""
    notebook = binder_build["repo"] / URLPATH.removeprefix("lab/tree/")
    text = notebook.read_text()
    assert "YOUR CODE HERE" in text and "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    lessons = sorted(p.name for p in (binder_build["repo"] / "lessons").iterdir() if p.is_dir())
    assert sorted(p.name for p in (binder_build["repo"] / "workspace").iterdir() if p.is_dir()
                  and not p.name.startswith(".")) == lessons


@pytest.mark.slow
def test_postbuild_builds_the_demo_models_where_the_demos_look(binder_build: dict) -> None:
    """The quantization demo, run from demos/ without EDGELAB_DEMO_ARTIFACTS, finds the models
    postBuild built in the clone's build/demo."""
    repo = binder_build["repo"]
    proc = run([str(binder_build["python"]), "-m", "edgelab.artifacts", "--where"], cwd=repo / "demos",
               env=binder_build["env"], timeout=60)
    assert proc.stdout.strip() == str(repo / "build" / "demo")
    manifest = json.loads((repo / "build" / "demo" / "manifest.json").read_text())
    assert sorted(manifest["models"]) == ["digits", "vibration"]


@pytest.mark.slow
def test_binder_session_serves_the_student_view(binder_build: dict) -> None:
    """A Jupyter server started through binder/start in the clone, as Binder starts one: the
    Binder link's notebook is served (the student version), Validate answers, the formgrader and
    the assignment list do not and JupyterLab hides them, every demo renders with Voila, and
    the demo notebooks are trusted (the preview button opens them without a dialog)."""
    repo, env, python = binder_build["repo"], binder_build["env"], str(binder_build["python"])
    port, token = free_port(), "binder-test-token"
    argv = [str(repo / "binder" / "start"), python, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    log = open(repo / "lab.log", "w")
    proc = subprocess.Popen(argv, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)

    def request(path: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{port}/{path}{'&' if '?' in path else '?'}token={token}"
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if request("api/status")[0] == 200:
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, \
                    (repo / "lab.log").read_text()[-3000:]
                time.sleep(0.5)
        status, page = request(URLPATH)
        found = re.search(rb'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page, re.S)
        assert status == 200 and found, "no JupyterLab page at the Binder link"
        disabled = json.loads(found.group(1))["disabledExtensions"]
        assert "@jupyter/nbgrader:formgrader" in disabled
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
        status, body = request("api/contents/" + URLPATH.removeprefix("lab/tree/"))
        text = json.dumps(json.loads(body)["content"])
        assert status == 200 and "YOUR CODE HERE" in text and "BEGIN SOLUTION" not in text
        status, body = request("nbgrader_version?version=" + metadata.version("nbgrader"))  # Validate's
        assert status == 200 and json.loads(body)["success"] is True
        assert request("formgrader/manage_assignments")[0] == 404
        assert request("assignments?course_id=edge-ai")[0] == 404
        for demo in sorted((repo / "demos").glob("*.ipynb")):
            assert request(f"voila/render/demos/{demo.name}")[0] == 200, demo.name
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    demos = sorted(str(p) for p in (repo / "demos").glob("*.ipynb"))
    trust = run([python, "-m", "jupyter", "trust", *demos], cwd=repo, env=env, timeout=60)
    assert trust.stdout.count("already signed") == len(demos), trust.stdout
