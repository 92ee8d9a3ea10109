"""A minimal HTTP inference server (a real ``.tflite`` model run by LiteRT) and a client that
times real round trips to it. Used by the latency lab's real-link check
(:mod:`edgelab.linkcheck`), where the server runs inside a network namespace.

Server: ``python -m edgelab.serve server --model M.tflite --host H --port P`` prints
``READY`` once it listens. ``POST /infer`` runs one inference (the body's bytes fill the input
tensor) and answers ``X-Response-Bytes`` (default 200) bytes of JSON-padded output.
Client: ``python -m edgelab.serve client --url http://H:P/infer --n N --payload B`` prints a
JSON object with every round trip in ms. Both halves send each message in one ``send`` with
``TCP_NODELAY`` so Nagle's algorithm and delayed ACKs do not add their own waits.

Limits (a server reachable by others must not be taken down by one of them):

* request bodies up to :data:`MAX_REQUEST_BYTES` (413 past it, 411 without Content-Length),
  answers up to :data:`MAX_RESPONSE_BYTES` (400 past it): a small request cannot ask for a
  large answer;
* each interpreter serves one request at a time (a pool of ``interpreters``, each with its
  own LiteRT interpreter: request threads never share one);
* a connection silent for ``idle_timeout_s`` is closed, and one whose request (line, headers,
  body) has not fully arrived ``request_deadline_s`` after it started is cut: a client
  trickling bytes (slow loris) holds a thread for at most that long;
* at most :data:`MAX_CONNECTIONS` connections in all and :data:`MAX_CONNECTIONS_PER_CLIENT`
  per client address; past them a new connection is closed at once.
"""

from __future__ import annotations

import argparse
import json
import queue
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Optional, Sequence
from urllib.parse import urlsplit

MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_CONNECTIONS = 128
MAX_CONNECTIONS_PER_CLIENT = 16
IDLE_TIMEOUT_S = 10.0
REQUEST_DEADLINE_S = 30.0
DEFAULT_INTERPRETERS = 2


class InterpreterPool:
    """``size`` interpreters of one model; :meth:`run` borrows one for one inference, so no two
    threads ever use the same interpreter (LiteRT interpreters are not thread-safe)."""

    def __init__(self, model_path: str, size: int = DEFAULT_INTERPRETERS) -> None:
        import numpy as np

        from edgelab.runtime import load_interpreter

        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 64:
            raise ValueError(f"interpreters must be an integer from 1 to 64; got {size!r}")
        self._free: queue.Queue = queue.Queue()
        for _ in range(size):
            self._free.put(load_interpreter(model_path, num_threads=1))
        loaded = self._free.queue[0]
        detail = loaded.input_details[0]
        self.shape = [max(1, int(d)) for d in detail["shape"]]
        self.dtype = np.dtype(detail["dtype"])
        self.size = int(np.prod(self.shape))

    def run(self, body: bytes) -> int:
        """The argmax of the model's first output for an input filled from ``body``'s bytes."""
        import numpy as np

        raw = np.frombuffer(body[: self.size].ljust(self.size, b"\0"), dtype=np.uint8)
        if np.issubdtype(self.dtype, np.integer):
            x = raw.view(np.int8) if self.dtype == np.int8 else raw.astype(self.dtype)
        else:
            x = (raw.astype(np.float32) / 255.0).astype(self.dtype)
        loaded = self._free.get()
        try:
            loaded.interpreter.set_tensor(loaded.input_details[0]["index"], x.reshape(self.shape))
            loaded.interpreter.invoke()
            y = loaded.interpreter.get_tensor(loaded.output_details[0]["index"])
            return int(np.argmax(y))
        finally:
            self._free.put(loaded)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def make_handler(pool: InterpreterPool, idle_timeout_s: float = IDLE_TIMEOUT_S,
                 request_deadline_s: float = REQUEST_DEADLINE_S) -> type:
    """A request handler class serving inferences from ``pool``."""

    class InferenceHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = idle_timeout_s  # on the connection's socket: a silent client is dropped

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
            return

        def _cut(self) -> None:
            """The request did not arrive in time: end the connection (the blocked read returns)."""
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def handle_one_request(self) -> None:
            self._deadline = threading.Timer(request_deadline_s, self._cut)
            self._deadline.daemon = True
            self._deadline.start()
            try:
                super().handle_one_request()
            finally:
                self._deadline.cancel()

        def _reply(self, status: int, body: bytes, close: bool = False) -> None:
            head = (f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    + ("Connection: close\r\n" if close else "") + "\r\n").encode()
            self.wfile.write(head + body)  # one send: no Nagle wait between head and body
            if close:
                self.close_connection = True

        def _read_request(self) -> tuple[bytes, int]:
            length_text = self.headers.get("Content-Length")
            if length_text is None:
                raise _Refused(411, "Content-Length is required")
            want_text = self.headers.get("X-Response-Bytes", "200")
            try:
                length, want = int(length_text), int(want_text)
            except ValueError:
                raise _Refused(400, "Content-Length and X-Response-Bytes must be integers") from None
            if not 0 <= length <= MAX_REQUEST_BYTES:
                raise _Refused(413, f"the body must be from 0 to {MAX_REQUEST_BYTES} bytes; got {length}")
            if not 0 <= want <= MAX_RESPONSE_BYTES:
                raise _Refused(400, f"X-Response-Bytes must be from 0 to {MAX_RESPONSE_BYTES}; got {want}")
            body = self.rfile.read(length)
            if len(body) != length:
                raise _Refused(400, "the body ended before Content-Length bytes")
            return body, want

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            try:
                body, want = self._read_request()
            except _Refused as exc:
                self._reply(exc.status, json.dumps({"error": str(exc)}).encode(), close=True)
                return
            self._deadline.cancel()  # the request is in: computing and answering are not cut
            text = json.dumps({"argmax": pool.run(body)}).encode()
            self._reply(200, text + b" " * max(0, want - len(text)))

    return InferenceHandler


class InferenceServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_connections`` of them and
    ``max_per_client`` from one client address; a connection past either is closed at once."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple, handler: type, max_connections: int = MAX_CONNECTIONS,
                 max_per_client: int = MAX_CONNECTIONS_PER_CLIENT) -> None:
        super().__init__(address, handler)
        self.max_connections, self.max_per_client = max_connections, max_per_client
        self._open: Counter = Counter()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        client = client_address[0]
        with self._open_lock:
            refused = (sum(self._open.values()) >= self.max_connections
                       or self._open[client] >= self.max_per_client)
            if not refused:
                self._open[client] += 1
        if refused:
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open[client_address[0]] -= 1
                if self._open[client_address[0]] <= 0:
                    del self._open[client_address[0]]


def serve(model_path: str, host: str = "127.0.0.1", port: int = 8080, max_seconds: float = 3600.0,
          interpreters: int = DEFAULT_INTERPRETERS, idle_timeout_s: float = IDLE_TIMEOUT_S,
          request_deadline_s: float = REQUEST_DEADLINE_S) -> None:
    """Serve ``model_path`` on ``host:port`` until killed, or for at most ``max_seconds``
    (so a server whose parent died does not live on), with the limits of this module."""
    for name, value in (("idle_timeout_s", idle_timeout_s), ("request_deadline_s", request_deadline_s)):
        if not (isinstance(value, (int, float)) and 0 < value <= 3600):
            raise ValueError(f"{name} must be from 0 to 3600 seconds; got {value!r}")
    pool = InterpreterPool(model_path, interpreters)
    server = InferenceServer((host, port), make_handler(pool, idle_timeout_s, request_deadline_s))
    watchdog = threading.Timer(max_seconds, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    print("READY", flush=True)
    try:
        server.serve_forever()
    finally:
        watchdog.cancel()
        server.server_close()


def _read_response(sock: socket.socket, buffer: bytearray) -> None:
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection mid-body")
        body += chunk
    buffer[:] = body[length:]


def time_requests(url: str, n: int, payload_bytes: int, response_bytes: int = 200, warmup: int = 3,
                  timeout_s: float = 10.0, new_connection: bool = False,
                  deadline_s: float = 600.0) -> List[float]:
    """Send ``warmup`` + ``n`` POSTs one after another and return the ``n`` round trips in ms
    (request sent to response fully read). Bounded: ``timeout_s`` per request and ``deadline_s``
    in all."""
    if not (isinstance(payload_bytes, int) and 0 <= payload_bytes <= MAX_REQUEST_BYTES):
        raise ValueError(f"payload_bytes must be an integer from 0 to {MAX_REQUEST_BYTES}; "
                         f"got {payload_bytes!r}")
    if not (isinstance(response_bytes, int) and 0 <= response_bytes <= MAX_RESPONSE_BYTES):
        raise ValueError(f"response_bytes must be an integer from 0 to {MAX_RESPONSE_BYTES}; "
                         f"got {response_bytes!r}")
    parts = urlsplit(url)
    host, port, path = parts.hostname, parts.port or 80, parts.path or "/"
    body = bytes(range(256)) * (payload_bytes // 256) + bytes(payload_bytes % 256)
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
               f"X-Response-Bytes: {response_bytes}\r\n\r\n").encode() + body
    end = time.monotonic() + deadline_s
    times: List[float] = []
    sock: Optional[socket.socket] = None
    buffer = bytearray()
    try:
        for i in range(warmup + n):
            if time.monotonic() > end:
                raise TimeoutError(f"gave up after {deadline_s} s with {len(times)} of {n} round trips")
            start = time.perf_counter()
            if sock is None or new_connection:
                if sock is not None:
                    sock.close()
                sock = socket.create_connection((host, port), timeout=timeout_s)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffer.clear()
                if not new_connection:
                    start = time.perf_counter()
            sock.sendall(request)
            _read_response(sock, buffer)
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1000.0)
    finally:
        if sock is not None:
            sock.close()
    return times


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgelab.serve")
    sub = parser.add_subparsers(dest="role", required=True)
    s = sub.add_parser("server")
    s.add_argument("--model", required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--max-seconds", type=float, default=3600.0)
    s.add_argument("--interpreters", type=int, default=DEFAULT_INTERPRETERS,
                   help="requests served at once, each by its own interpreter "
                        f"(default {DEFAULT_INTERPRETERS})")
    s.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_S,
                   help=f"close a connection silent this many seconds (default {IDLE_TIMEOUT_S:g})")
    s.add_argument("--request-deadline", type=float, default=REQUEST_DEADLINE_S,
                   help="cut a request not fully received after this many seconds "
                        f"(default {REQUEST_DEADLINE_S:g})")
    c = sub.add_parser("client")
    c.add_argument("--url", required=True)
    c.add_argument("--n", type=int, default=100)
    c.add_argument("--payload", type=int, default=1000)
    c.add_argument("--response", type=int, default=200)
    c.add_argument("--warmup", type=int, default=3)
    c.add_argument("--new-connection", action="store_true")
    c.add_argument("--deadline", type=float, default=600.0)
    args = parser.parse_args(argv)
    if args.role == "server":
        serve(args.model, args.host, args.port, args.max_seconds, interpreters=args.interpreters,
              idle_timeout_s=args.idle_timeout, request_deadline_s=args.request_deadline)
        return 0
    times = time_requests(args.url, args.n, args.payload, args.response, args.warmup,
                          new_connection=args.new_connection, deadline_s=args.deadline)
    print(json.dumps({"round_trips_ms": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
