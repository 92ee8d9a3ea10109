"""Throughput of the inference server (edgelab.serve) with 1 and 4 clients at once, for a pool
of 1 and of 2 interpreters, side by side on this machine.

Each client keeps one connection and sends requests one after another for a fixed time. The
model is the course's vibration model (untrained, converted float32). Prints requests per
second and the ratio of 4 clients to 1; every answer must be a 200 with an argmax. Goal: with 4
clients at once the server keeps at least 0.8x the throughput of one client (requests wait
for a free interpreter; none is shared, none is lost). Exits 1 if a request failed or the
goal is missed. Timings are of a shared machine: compare the columns, not the absolute numbers.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECONDS = 5.0
GOAL = 0.8


def make_model(folder: Path) -> Path:
    """The vibration model, converted to float32 (TensorFlow runs in this bench process only)."""
    from edgelab import convert, models

    return Path(convert.convert(models.build_vibration_model(seed=1), "float32", name="vibration")
                .save(folder / "vibration.tflite"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(port: int, clients: int, seconds: float = SECONDS) -> tuple[float, int]:
    """Requests per second answered to ``clients`` clients at once, and how many failed."""
    from edgelab.serve import _read_response

    done, failed = [0] * clients, [0] * clients
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            request = b"POST /infer HTTP/1.1\r\nHost: x\r\nContent-Length: 256\r\n\r\n" + bytes(range(256))
            buffer = bytearray()
            while time.monotonic() < stop:
                try:
                    sock.sendall(request)
                    _read_response(sock, buffer)
                    done[k] += 1
                except OSError:
                    failed[k] += 1
                    return

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - start), sum(failed)


def main() -> int:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(Path(tmp))
        print(f"{'interpreters':>12} {'1 client req/s':>15} {'4 clients req/s':>16} {'ratio':>6}")
        for interpreters in (1, 2):
            port = free_port()
            cmd = [sys.executable, "-m", "edgelab.serve", "server", "--model", str(model),
                   "--port", str(port),
                   "--interpreters", str(interpreters), "--max-seconds", "120"]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
            try:
                assert proc.stdout.readline().strip() == "READY"
                one, failed_one = measure(port, 1)
                four, failed_four = measure(port, 4)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
            ratio = four / one
            good = failed_one == failed_four == 0 and ratio >= GOAL
            ok &= good
            print(f"{interpreters:>12} {one:>15.0f} {four:>16.0f} {ratio:>6.2f}"
                  f"  {'OK' if good else 'MISSED'} (goal: ratio >= {GOAL}, no failed request)")
        print(json.dumps({"seconds_per_measure": SECONDS}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
