"""The HTTP inference server and the round-trip client of the real-link check (edgelab.serve)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

import numpy as np
import pytest

from edgelab import serve
from edgelab.linkcheck.testbed import REPO_ROOT
from edgelab.linkcheck.testbed import wait_ready as _wait_ready


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def inference_server(model_path, *options: str):
    """`python -m edgelab.serve server` on a free loopback port with ``options``; yields its URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "edgelab.serve", "server", "--model", str(model_path),
           "--host", "127.0.0.1", "--port", str(port), "--max-seconds", "300", *options]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        _wait_ready(proc, "the inference server")
        yield f"http://127.0.0.1:{port}/infer"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def infer(url: str, body: bytes, response_bytes: int = 200, timeout: float = 10) -> tuple[int, bytes]:
    """One POST; returns (status, body)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"X-Response-Bytes": str(response_bytes)})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


@pytest.mark.slow
def test_server_runs_the_model_and_client_times_round_trips(tiny_model: dict) -> None:
    """The server answers POST /infer with the model's argmax; the client returns n timings."""
    with inference_server(tiny_model["path"]) as url:
        status, body = infer(url, bytes(256), response_bytes=300)
        assert status == 200 and len(body) == 300 and json.loads(body)["argmax"] in (0, 1, 2)
        times = serve.time_requests(url, n=25, payload_bytes=5000, deadline_s=60)
        assert len(times) == 25 and all(0 < t < 1000 for t in times)
        fresh = serve.time_requests(url, n=5, payload_bytes=10, new_connection=True, deadline_s=60)
        assert len(fresh) == 5


def expected_argmax(model_path, bodies: list[bytes]) -> list[int]:
    """What the server must answer for each body: the model run here on the same input."""
    from edgelab import load_interpreter

    loaded = load_interpreter(model_path)
    detail = loaded.input_details[0]
    size = int(np.prod(detail["shape"]))
    answers = []
    for body in bodies:
        x = (np.frombuffer(body[:size], dtype=np.uint8).astype(np.float32) / 255.0).reshape(detail["shape"])
        loaded.interpreter.set_tensor(detail["index"], x)
        loaded.interpreter.invoke()
        answers.append(int(np.argmax(loaded.interpreter.get_tensor(loaded.output_details[0]["index"]))))
    return answers


def read_json_answer(sock: socket.socket) -> tuple[int, dict]:
    """Read one HTTP answer from ``sock``; return its status and JSON body."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        head += chunk
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return int(lines[0].split()[1]), json.loads(body)


def post_raw(sock: socket.socket, body: bytes) -> None:
    sock.sendall(b"POST /infer HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


@pytest.mark.slow
def test_concurrent_requests_each_get_their_own_answer(tiny_model: dict) -> None:
    """8 clients at once, 1600 requests with inputs of different classes: every answer is the
    model's answer for that request's own input (no interpreter shared between threads)."""
    rng = np.random.default_rng(0)
    bodies = [rng.integers(0, 256, 64, dtype=np.uint8).tobytes() for _ in range(64)]
    expected = expected_argmax(tiny_model["path"], bodies)
    assert len(set(expected)) > 1  # mix-ups would show
    answers: dict = {}

    def client(k: int, port: int) -> None:
        got = []
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for i in range(200):
                j = (k * 7 + i) % len(bodies)
                post_raw(sock, bodies[j])
                got.append((j, read_json_answer(sock)[1]["argmax"]))
        answers[k] = got

    with inference_server(tiny_model["path"], "--interpreters", "2") as url:
        threads = [threading.Thread(target=client, args=(k, port_of(url))) for k in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert sum(len(got) for got in answers.values()) == 1600
    assert [(j, argmax) for got in answers.values() for j, argmax in got if argmax != expected[j]] == []


@pytest.mark.slow
def test_request_and_answer_sizes_are_bounded(tiny_model: dict) -> None:
    """A body announced above MAX_REQUEST_BYTES gets a 413 before any of it is read, an answer
    asked above MAX_RESPONSE_BYTES a 400 naming the header and the range, a POST without
    Content-Length a 411; the server keeps answering."""
    with inference_server(tiny_model["path"]) as url:
        with socket.create_connection(("127.0.0.1", port_of(url)), timeout=10) as sock:
            sock.sendall(b"POST /infer HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                         % (serve.MAX_REQUEST_BYTES + 1))
            assert read_json_answer(sock)[0] == 413
        status, body = infer(url, bytes(10), response_bytes=serve.MAX_RESPONSE_BYTES + 1)
        assert status == 400
        assert f"X-Response-Bytes must be from 0 to {serve.MAX_RESPONSE_BYTES}" in body.decode()
        with socket.create_connection(("127.0.0.1", port_of(url)), timeout=10) as sock:
            sock.sendall(b"POST /infer HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_json_answer(sock)[0] == 411
        status, body = infer(url, bytes(10), response_bytes=serve.MAX_RESPONSE_BYTES)
        assert status == 200 and len(body) == serve.MAX_RESPONSE_BYTES


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (a read returns at once with nothing or a reset)."""
    sock.settimeout(0.05)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


@pytest.mark.slow
def test_a_slow_loris_client_does_not_block_others(tiny_model: dict) -> None:
    """A client on 127.0.0.2 opens 40 connections and trickles its headers a byte at a time: at most
    MAX_CONNECTIONS_PER_CLIENT are kept, a client on 127.0.0.1 is answered meanwhile, and every
    slow connection is cut once the request deadline (2 s here) has passed."""
    with inference_server(tiny_model["path"], "--request-deadline", "2", "--idle-timeout", "5") as url:
        port = port_of(url)
        slow = []
        for _ in range(40):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=("127.0.0.2", 0))
            sock.sendall(b"POST /infer HTTP/1.1\r\nHost: x\r\n")
            slow.append(sock)
        time.sleep(0.3)
        kept = [sock for sock in slow if not closed_by_server(sock)]
        assert len(kept) == serve.MAX_CONNECTIONS_PER_CLIENT
        started = time.monotonic()
        for _ in range(20):
            for sock in kept:
                try:
                    sock.sendall(b"X")
                except OSError:
                    pass
            begin = time.monotonic()
            assert infer(url, bytes(64), timeout=5)[0] == 200
            assert time.monotonic() - begin < 1.0
            time.sleep(0.1)
        while time.monotonic() - started < 4:
            time.sleep(0.2)
        assert all(closed_by_server(sock) for sock in kept)
        for sock in slow:
            sock.close()
        assert infer(url, bytes(64))[0] == 200


def test_client_checks_sizes_and_is_bounded_when_nothing_listens() -> None:
    """The client refuses sizes the server would refuse, naming them; with no server it fails at
    once instead of hanging."""
    url = f"http://127.0.0.1:{free_port()}/infer"
    with pytest.raises(ValueError, match="response_bytes must be an integer from 0 to"):
        serve.time_requests(url, n=1, payload_bytes=10, response_bytes=serve.MAX_RESPONSE_BYTES + 1)
    with pytest.raises(ValueError, match="payload_bytes must be an integer from 0 to"):
        serve.time_requests(url, n=1, payload_bytes=-1)
    with pytest.raises(OSError):
        serve.time_requests(url, n=3, payload_bytes=10, timeout_s=2)
