"""`make course` opens JupyterLab on 127.0.0.1 with token auth, the course and nbgrader."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    """Status code of a GET, without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_make_course_serves_lab_with_token(tmp_path: Path) -> None:
    """The printed URL answers 200 on /lab; without the token the server refuses."""
    port = free_port()
    log = open(tmp_path / "lab.log", "w+")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    proc = subprocess.Popen(["make", "-C", str(REPO), "course", f"PORT={port}",
                             "LAB_ARGS=--no-browser"], stdout=log, stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            log.seek(0)
            match = re.search(rf"(http://127\.0\.0\.1:{port}/lab[^\s]*\?token=\w+)", log.read())
            url = match.group(1) if match else None
        log.seek(0)
        assert url, f"no URL printed:\n{log.read()[-3000:]}"
        token = url.split("token=")[1]
        base = f"http://127.0.0.1:{port}"
        assert get(url) == 200
        assert get(f"{base}/lab/tree/lessons/00-welcome/welcome.ipynb?token={token}") == 200
        assert get(f"{base}/formgrader/manage_assignments?token={token}") == 200
        assert get(f"{base}/api/contents/lessons/00-welcome?token={token}") == 200
        assert get(f"{base}/api/contents/lessons") in (401, 403)  # token auth is on
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    """Stop make and the JupyterLab it started."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue
