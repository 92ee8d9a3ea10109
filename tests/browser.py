"""Real-browser helpers: Debian's Chromium driven by Playwright, and a Voila server.

Shared by tests/test_demos.py and bench/bench_demos.py so both use one recipe.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Offline as the course is: any host but this machine fails at once, whatever the machine's DNS
# does (Voila's tree page links a stylesheet on a CDN).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
SCREENSHOTS = REPO / "build" / "screenshots"
ERROR_TEXT = "There was an error when executing cell"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class VoilaServer:
    """A running Voila: its base URL and process id."""

    url: str
    pid: int

    def kernels(self) -> list[int]:
        """Process ids of the kernels this Voila has running now."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
            if ppid == self.pid and b"ipykernel_launcher" in cmdline:
                found.append(int(stat.parent.name))
        return found


@contextmanager
def voila_server(demos_dir: Path | None = None, preheat: bool = False,
                 env: dict | None = None, cull_after_s: int | None = None) -> Iterator[VoilaServer]:
    """Start the demo gallery (demos/serve.py's command line) and yield it;
    ``env`` adds environment variables for Voila and its kernels."""
    sys.path.insert(0, str(REPO / "demos"))
    from serve import CULL_AFTER_S, voila_argv

    port = free_port()
    argv = voila_argv(port, preheat=preheat, cull_after_s=cull_after_s or CULL_AFTER_S)
    if demos_dir is not None:
        argv[3] = str(demos_dir)
    (REPO / "build").mkdir(exist_ok=True)
    log = open(REPO / "build" / f"voila-{port}.log", "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO), **(env or {})), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Voila did not start (exit {proc.poll()})") from None
                time.sleep(0.3)
        yield VoilaServer(url, proc.pid)
    finally:
        terminate(proc)


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium launched through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def watch_errors(page) -> list[str]:
    """Collect JavaScript exceptions, console errors and failed local requests of a page.

    The machine is offline: a request to another host (Voila's tree page asks a CDN for
    an icon font) fails by design and is not counted; anything failing on 127.0.0.1 is.
    """
    errors: list[str] = []
    external_failures: list[str] = []

    def on_failed(request) -> None:
        if request.url.startswith("http://127.0.0.1"):
            errors.append(f"request failed: {request.url}")
        else:
            external_failures.append(request.url)

    def on_console(msg) -> None:
        if msg.type != "error":
            return
        if msg.text.startswith("Failed to load resource: net::ERR_NAME_NOT_RESOLVED") and external_failures:
            return
        errors.append(f"console: {msg.text}")

    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("requestfailed", on_failed)
    page.on("console", on_console)
    return errors


def open_demo(browser, url: str, timeout_ms: float = 60_000):
    """Open a Voila page, wait until its widgets are rendered; return (page, errors, seconds)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = watch_errors(page)
    start = time.perf_counter()
    page.goto(url, timeout=timeout_ms)
    page.wait_for_selector(".jupyter-widgets:not(.jp-OutputArea-output) >> visible=true",
                           timeout=timeout_ms)
    page.wait_for_function("() => !document.body.innerText.includes('Loading widget')",
                           timeout=timeout_ms)
    return page, errors, time.perf_counter() - start


def close(page) -> None:
    """Leave a page as a visitor does: its unload handlers run (Voila's asks the server to
    shut the page's kernel down), then the tab closes. Playwright's ``page.close`` alone skips
    them, and its ``run_before_unload`` closes the tab before the request is sent."""
    page.goto("about:blank")
    page.close()


def copy_checkout(dest: Path, demo_models: Path | None = None) -> Path:
    """A copy of this checkout's edgelab package, demos, pyproject.toml and voila.json at ``dest`` (a
    checkout in an ordinary place, independent of this one's ``build/``); ``demo_models``
    (a folder edgelab.artifacts built) is copied to ``dest/build/demo``."""
    import shutil

    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for folder in ("edgelab", "demos"):
        shutil.copytree(REPO / folder, dest / folder, ignore=skip)
    for name in ("pyproject.toml", "voila.json"):  # voila.json: the Voila settings of a lab started here
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)
    if demo_models is not None:
        shutil.copytree(demo_models, dest / "build" / "demo")
    return dest


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: its base URL and token."""

    url: str
    token: str

    def voila_url(self, path: str) -> str:
        """The URL JupyterLab's Voila preview opens for the notebook at ``path`` (from the root)."""
        return f"{self.url}/voila/render/{path}?token={self.token}"


@contextmanager
def lab_server(root: Path, env: dict | None = None) -> Iterator[LabServer]:
    """JupyterLab as the Makefile starts it (`make instructor`): run in the checkout ``root``,
    serving it, on 127.0.0.1 with token auth; ``env`` is the environment of the server and
    its kernels."""
    import secrets

    token = secrets.token_hex(16)
    port = free_port()
    argv = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}", "--no-browser"]
    if os.geteuid() == 0:  # as the Makefile's ROOT_ARGS
        argv.append("--allow-root")
    (REPO / "build").mkdir(exist_ok=True)
    log = open(REPO / "build" / f"lab-{port}.log", "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=root,
                            env=env if env is not None else dict(os.environ), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start (exit {proc.poll()}); "
                                       f"log: {log.name}") from None
                time.sleep(0.3)
        yield LabServer(url, token)
    finally:
        terminate(proc)


def lab_context(browser, lab: LabServer):
    """A browser context (a 1280x900 window) that opened JupyterLab first, as a user of its Voila
    preview has: it holds the login and ``_xsrf`` cookies, which the preview's close request
    (shutting its kernel down) needs."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    page.close()
    return context


def open_in_lab(context, url: str, timeout_ms: float = 60_000):
    """Open a Voila page of JupyterLab's server in ``context`` (see :func:`lab_context`) and wait
    until its widgets are rendered; return (page, errors)."""
    page = context.new_page()
    errors = watch_errors(page)
    page.goto(url, timeout=timeout_ms)
    page.wait_for_selector(".jupyter-widgets:not(.jp-OutputArea-output) >> visible=true", timeout=timeout_ms)
    page.wait_for_function("() => !document.body.innerText.includes('Loading widget')", timeout=timeout_ms)
    return page, errors


def terminate(proc: subprocess.Popen) -> None:
    """Stop a server started by a fixture: SIGTERM, then SIGKILL after 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
