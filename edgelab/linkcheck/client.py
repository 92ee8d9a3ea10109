"""The timing client of the real-link check: real HTTP round trips to :mod:`edgelab.serve`.

``python -m edgelab.linkcheck.client --url http://H:P/infer --n N --payload B --response R
--connection new|reused [--idle-ms G]`` prints one JSON object: every round trip in ms and
the bytes each request and answer took (HTTP head and body).

* ``new``: each request opens its own TCP connection; the time includes the hand-shake.
* ``reused``: one kept-alive connection; before each request the client waits ``idle_ms``
  (longer than the retransmission time-out, cubic restarts slow start; see
  :func:`edgelab.network.restarts_slow_start`).

Each message goes out in one ``send`` with ``TCP_NODELAY``, so Nagle's algorithm does not add
its own wait.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence
from urllib.parse import urlsplit

CONNECTIONS = ("new", "reused")
MAX_BYTES = 8 * 1024 * 1024


@dataclass
class Timings:
    """Round trips in ms, and the bytes of each request and answer (head and body)."""

    round_trips_ms: List[float] = field(default_factory=list)
    request_bytes: int = 0
    response_bytes: int = 0


def _read_answer(sock: socket.socket) -> int:
    """Read one HTTP answer (head and Content-Length body); return its size in bytes."""
    data = bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    got = len(body)
    while got < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-answer")
        got += len(chunk)
    if got != length:
        raise ConnectionError(f"the answer had {got} body bytes, Content-Length said {length}")
    return len(head) + 4 + length


def _connect(host: str, port: int, timeout_s: float) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def time_round_trips(url: str, n: int, payload_bytes: int, response_bytes: int, *, connection: str = "reused",
                     idle_ms: float = 0.0, warmup: int = 2, timeout_s: float = 30.0,
                     deadline_s: float = 600.0) -> Timings:
    """``warmup`` + ``n`` POSTs one after another; the ``n`` round trips (ms) after the warm-up."""
    if connection not in CONNECTIONS:
        raise ValueError(f"connection must be one of {CONNECTIONS}; got {connection!r}")
    for name, value in (("payload_bytes", payload_bytes), ("response_bytes", response_bytes)):
        if not (isinstance(value, int) and 0 <= value <= MAX_BYTES):
            raise ValueError(f"{name} must be an integer from 0 to {MAX_BYTES}; got {value!r}")
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    if not 0 <= idle_ms <= 60_000:
        raise ValueError(f"idle_ms must be from 0 to 60000; got {idle_ms!r}")
    parts = urlsplit(url)
    host, port, path = parts.hostname, parts.port or 80, parts.path or "/"
    body = bytes(range(256)) * (payload_bytes // 256) + bytes(payload_bytes % 256)
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
               f"X-Response-Bytes: {response_bytes}\r\n\r\n").encode() + body
    out = Timings(request_bytes=len(request))
    end = time.monotonic() + deadline_s
    sock: Optional[socket.socket] = None
    try:
        for i in range(warmup + n):
            if time.monotonic() > end:
                raise TimeoutError(f"gave up after {deadline_s} s with {len(out.round_trips_ms)} of {n}")
            if connection == "reused" and sock is not None and idle_ms > 0:
                time.sleep(idle_ms / 1000.0)
            start = time.perf_counter()
            if connection == "new" or sock is None:
                if sock is not None:
                    sock.close()
                sock = _connect(host, port, timeout_s)
                if connection == "reused":
                    start = time.perf_counter()  # the hand-shake is not part of a reused round trip
            sock.sendall(request)
            out.response_bytes = _read_answer(sock)
            if i >= warmup:
                out.round_trips_ms.append((time.perf_counter() - start) * 1000.0)
    finally:
        if sock is not None:
            sock.close()
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgelab.linkcheck.client")
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--payload", type=int, default=1000)
    parser.add_argument("--response", type=int, default=200)
    parser.add_argument("--connection", choices=CONNECTIONS, default="reused")
    parser.add_argument("--idle-ms", type=float, default=0.0)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=600.0)
    args = parser.parse_args(argv)
    try:
        timings = time_round_trips(args.url, args.n, args.payload, args.response, connection=args.connection,
                                   idle_ms=args.idle_ms, warmup=args.warmup, deadline_s=args.deadline)
    except ValueError as exc:
        parser.error(str(exc))
    print(json.dumps({"round_trips_ms": timings.round_trips_ms, "request_bytes": timings.request_bytes,
                      "response_bytes": timings.response_bytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
