"""The HTTP inference server and the round-trip client of the real-link check (edgelab.serve)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import pytest

from edgelab import serve
from edgelab.shaper import REPO_ROOT, _wait_ready


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_server_runs_the_model_and_client_times_round_trips(tiny_model: dict) -> None:
    """The server answers POST /infer with the model's argmax; the client returns n timings."""
    port = free_port()
    cmd = [sys.executable, "-m", "edgelab.serve", "server", "--model", str(tiny_model["path"]),
           "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        _wait_ready(proc, "the inference server")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/infer", data=bytes(256), method="POST",
                                         headers={"X-Response-Bytes": "300"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
        assert len(body) == 300 and json.loads(body)["argmax"] in (0, 1, 2)
        times = serve.time_requests(f"http://127.0.0.1:{port}/infer", n=25, payload_bytes=5000, deadline_s=60)
        assert len(times) == 25 and all(0 < t < 1000 for t in times)
        fresh = serve.time_requests(f"http://127.0.0.1:{port}/infer", n=5, payload_bytes=10,
                                    new_connection=True, deadline_s=60)
        assert len(fresh) == 5
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_client_is_bounded_when_nothing_listens() -> None:
    """With no server, the client fails at once instead of hanging."""
    with pytest.raises(OSError):
        serve.time_requests(f"http://127.0.0.1:{free_port()}/infer", n=3, payload_bytes=10, timeout_s=2)
