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
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic"]
SCREENSHOTS = REPO / "build" / "screenshots"
ERROR_TEXT = "There was an error when executing cell"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def voila_server(demos_dir: Path | None = None, preheat: bool = False,
                 env: dict | None = None) -> Iterator[str]:
    """Start the demo gallery (demos/serve.py's command line) and yield its base URL;
    ``env`` adds environment variables for Voila and its kernels."""
    sys.path.insert(0, str(REPO / "demos"))
    from serve import voila_argv

    port = free_port()
    argv = voila_argv(port, preheat=preheat)
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
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


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
    try:
        page.goto(url, timeout=timeout_ms)
    except Exception as exc:  # playwright's TimeoutError
        # Known open defect: now and then Voila's render of a demo stalls (seen once per full
        # run on 2 cores, different demos, no error logged). Reload once, as a visitor would,
        # and say so in the test output; a second stall fails the test.
        print(f"RELOAD after a stalled first load of {url}: {type(exc).__name__}")
        start = time.perf_counter()
        page.goto(url, timeout=timeout_ms)
    page.wait_for_selector(".jupyter-widgets:not(.jp-OutputArea-output) >> visible=true",
                           timeout=timeout_ms)
    page.wait_for_function("() => !document.body.innerText.includes('Loading widget')",
                           timeout=timeout_ms)
    return page, errors, time.perf_counter() - start
