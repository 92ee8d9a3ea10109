"""A minimal HTTP inference server (a real ``.tflite`` model run by LiteRT) and a client that
times real round trips to it. Used by the latency lab's real-link check
(:mod:`edgelab.shaper`), where the server runs inside a network namespace.

Server: ``python -m edgelab.serve server --model M.tflite --host H --port P`` prints
``READY`` once it listens. ``POST /infer`` with any body runs one inference (the body's bytes
fill the input tensor) and answers ``response_bytes`` of JSON-padded output.
Client: ``python -m edgelab.serve client --url http://H:P/infer --n N --payload B`` prints a
JSON object with every round trip in ms. Both halves send each message in one ``send`` with
``TCP_NODELAY`` so Nagle's algorithm and delayed ACKs do not add their own waits.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List, Optional, Sequence
from urllib.parse import urlsplit

MAX_BODY = 64 * 1024 * 1024


def make_handler(model_path: str):
    """A request handler class bound to one loaded model."""
    import numpy as np

    from edgelab.runtime import load_interpreter

    loaded = load_interpreter(model_path, num_threads=1)
    interp = loaded.interpreter
    detail = loaded.input_details[0]
    shape = [max(1, int(d)) for d in detail["shape"]]
    dtype = np.dtype(detail["dtype"])
    size = int(np.prod(shape))
    out_index = loaded.output_details[0]["index"]

    class InferenceHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args) -> None:  # quiet: one line per request is noise
            return

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", "0"))
            if not 0 <= length <= MAX_BODY:
                self.send_error(413)
                return
            body = self.rfile.read(length)
            raw = np.frombuffer(body[:size].ljust(size, b"\0"), dtype=np.uint8)
            if np.issubdtype(dtype, np.integer):
                x = raw.view(np.int8) if dtype == np.int8 else raw.astype(dtype)
            else:
                x = (raw.astype(np.float32) / 255.0).astype(dtype)
            x = x.reshape(shape)
            interp.set_tensor(detail["index"], x)
            interp.invoke()
            y = interp.get_tensor(out_index)
            want = int(self.headers.get("X-Response-Bytes", "200"))
            text = json.dumps({"argmax": int(np.argmax(y))}).encode()
            text = text + b" " * max(0, min(want, MAX_BODY) - len(text))
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(text)}\r\n\r\n").encode()
            self.wfile.write(head + text)  # one send: no Nagle wait between head and body

    return InferenceHandler


def serve(model_path: str, host: str, port: int, max_seconds: float = 3600.0) -> None:
    """Serve ``model_path`` on ``host:port`` until killed, or for at most ``max_seconds``
    (so a server whose parent died does not live on)."""
    import threading

    server = ThreadingHTTPServer((host, port), make_handler(model_path))
    server.daemon_threads = True
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
        serve(args.model, args.host, args.port, args.max_seconds)
        return 0
    times = time_requests(args.url, args.n, args.payload, args.response, args.warmup,
                          new_connection=args.new_connection, deadline_s=args.deadline)
    print(json.dumps({"round_trips_ms": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
