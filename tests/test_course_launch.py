"""`make course` opens the student workspace, `make instructor` the sources and the formgrader:
both on 127.0.0.1 with token auth."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tools.bare_machine import stop

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    """Status code and body of a GET (or a POST of ``data``), without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, data=data, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def get(url: str) -> int:
    """Status code of a GET, without following redirects."""
    return request(url)[0]


@contextmanager
def make_lab(target: str, tmp_path: Path, *args: str) -> Iterator[str]:
    """Run `make TARGET` (JupyterLab, --no-browser) and yield the URL it prints; stop it after."""
    port = free_port()
    log = open(tmp_path / f"{target}.log", "w+")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    proc = subprocess.Popen(["make", "-C", str(REPO), target, f"PORT={port}", "LAB_ARGS=--no-browser", *args],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 180
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            log.seek(0)
            match = re.search(rf"(http://127\.0\.0\.1:{port}/lab[^\s]*\?token=\w+)", log.read())
            url = match.group(1) if match else None
        log.seek(0)
        assert url, f"no URL printed:\n{log.read()[-3000:]}"
        listening(port, proc, log)
        try:
            yield url
        except Exception as exc:  # the server's own account of what went wrong
            log.seek(0)
            raise AssertionError(f"{exc}\n--- make {target} printed ---\n{log.read()[-3000:]}") from exc
    finally:
        stop(proc)


def listening(port: int, proc: subprocess.Popen, log) -> None:
    """Wait (up to 60 s) until the server accepts connections on ``port``; fail with its log if
    it exits first."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.5)
    log.seek(0)
    raise AssertionError(f"nothing listens on port {port} (exit {proc.poll()}):\n{log.read()[-3000:]}")


def split(url: str) -> tuple[str, str]:
    """(base URL, token) of a printed URL."""
    return url.split("/lab", 1)[0], url.split("token=", 1)[1]


@pytest.mark.slow
def test_make_course_serves_the_student_workspace(tmp_path: Path) -> None:
    """The printed URL answers 200 and opens lesson 00's student version in the workspace;
    the sources, the formgrader and the assignment list (no exchange for a student alone) are not
    served, Validate is,
    JupyterLab hides the instructor tools, and without the token the server refuses."""
    ws = tmp_path / "ws"
    with make_lab("course", tmp_path, f"WORKSPACE={ws}") as url:
        base, token = split(url)
        assert get(url) == 200
        assert "/lab/tree/00-welcome/welcome.ipynb" in url or get(f"{base}/lab?token={token}") == 200
        status, body = request(f"{base}/api/contents/00-welcome/welcome.ipynb?token={token}")
        assert status == 200
        text = json.dumps(json.loads(body)["content"])
        assert "YOUR CODE HERE" in text and "BEGIN SOLUTION" not in text
        assert (ws / "00-welcome" / "welcome.ipynb").exists()
        assert get(f"{base}/api/contents/lessons?token={token}") == 404
        assert get(f"{base}/formgrader/manage_assignments?token={token}") == 404
        status, body = request(f"{base}/nbgrader_version?version=0.9.6&token={token}")  # validate's
        assert status == 200 and json.loads(body)["success"] is True
        assert get(f"{base}/assignments?course_id=edge-ai&token={token}") == 404  # assignment list
        status, page = request(f"{base}/lab/tree/00-welcome/welcome.ipynb?token={token}")
        found = re.search(rb'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page, re.S)
        assert status == 200 and found, "no JupyterLab page config"
        config = json.loads(found.group(1))
        disabled = config["disabledExtensions"]  # the plugins JupyterLab will not load
        assert "@jupyter/nbgrader:formgrader" in disabled and "@jupyter/nbgrader:assignment-list" in disabled
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
        assert get(f"{base}/api/contents/00-welcome") in (401, 403)  # token auth is on


@pytest.mark.slow
def test_make_instructor_serves_sources_and_formgrader(tmp_path: Path) -> None:
    """The instructor view opens the source notebooks (solutions included) and the formgrader."""
    with make_lab("instructor", tmp_path) as url:
        base, token = split(url)
        assert get(url) == 200
        assert get(f"{base}/lab/tree/lessons/00-welcome/welcome.ipynb?token={token}") == 200
        status, body = request(f"{base}/api/contents/lessons/00-welcome/welcome.ipynb?token={token}")
        assert status == 200 and "BEGIN SOLUTION" in json.dumps(json.loads(body)["content"])
        assert get(f"{base}/formgrader/manage_assignments?token={token}") == 200
        assert get(f"{base}/api/contents/lessons") in (401, 403)  # token auth is on
