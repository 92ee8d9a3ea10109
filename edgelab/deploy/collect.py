"""Far-edge store-and-forward: a SQLite outbox on the device and the collector it forwards to.

This module imports only the standard library (numpy only inside
:func:`synthetic_reading`) and never imports ``edgelab``: it is shipped to the device next to
the agent. The guarantees, across link outages, agent kills and restarts:

* every prediction is committed to the outbox (SQLite in WAL mode, ``synchronous=FULL``) in
  the same transaction that advances the reading counter, so a reading is stored once or,
  if the agent dies before the commit, taken again under the same id;
* each reading has an idempotent id ``<device>:<seq>``; the collector stores it at most once
  (primary key) and acknowledges the ids it holds, new or already stored;
* the device deletes only the ids the collector acknowledged, so an outage or a lost
  acknowledgement means a resend, never a loss, and a resend is never a duplicate.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Sequence, Tuple

SCHEMA = "edgelab.collect/1"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def reading_id(device: str, seq: int) -> str:
    """The idempotent id of reading number ``seq`` of ``device``."""
    return f"{device}:{seq}"


def synthetic_reading(shape: Sequence[int], dtype: Any, seed: int, seq: int) -> Any:
    """Sensor reading number ``seq``: deterministic data of the model's input shape and dtype
    (a stand-in sensor whose readings can be recomputed to check what was collected)."""
    import numpy as np

    rng = np.random.default_rng([int(seed), int(seq)])
    dims = [int(d) if int(d) > 0 else 1 for d in shape]
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return rng.standard_normal(dims).astype(kind)
    return rng.integers(-128 if kind.kind == "i" else 0, 128, size=dims).astype(kind)


class Outbox:
    """The device's durable queue of predictions not yet acknowledged by the collector."""

    def __init__(self, path: str) -> None:
        self.path = str(path)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"SQLite refused WAL mode for {self.path} (got {mode})")
        self.db.execute("PRAGMA synchronous=FULL")  # a power cut loses no committed reading
        self.db.execute("CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
                        " created TEXT NOT NULL, payload TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def close(self) -> None:
        self.db.close()

    def next_seq(self) -> int:
        """Number of the next reading to take (readings 0 .. next_seq-1 are stored)."""
        row = self.db.execute("SELECT value FROM state WHERE key = 'next_seq'").fetchone()
        return 0 if row is None else int(row[0])

    def add(self, device: str, seq: int, payload: Dict[str, Any]) -> str:
        """Store reading ``seq`` and advance the counter, in one transaction."""
        rid = reading_id(device, seq)
        record = dict(payload, id=rid, device=device, seq=seq)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR IGNORE INTO outbox (id, seq, created, payload) VALUES (?, ?, ?, ?)",
                            (rid, seq, _now(), json.dumps(record)))
            self.db.execute("INSERT INTO state (key, value) VALUES ('next_seq', ?) ON CONFLICT(key) "
                            "DO UPDATE SET value = MAX(value, excluded.value)", (seq + 1,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return rid

    def pending(self, limit: int = 100) -> List[Dict[str, Any]]:
        """The oldest ``limit`` unacknowledged readings."""
        rows = self.db.execute("SELECT payload FROM outbox ORDER BY seq LIMIT ?", (int(limit),))
        return [json.loads(r[0]) for r in rows]

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def delete(self, ids: Sequence[str]) -> int:
        """Delete acknowledged readings; returns how many were deleted."""
        if not ids:
            return 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return cur.rowcount

    def status(self) -> Dict[str, int]:
        return {"pending": self.count(), "next_seq": self.next_seq()}


def forward(outbox: Outbox, url: str, batch: int = 100, timeout: float = 5.0) -> Tuple[int, Optional[str]]:
    """Send the oldest ``batch`` readings to the collector at ``url`` and delete the ones it
    acknowledged. Returns (number acknowledged, error or None); never raises on link errors."""
    records = outbox.pending(batch)
    if not records:
        return 0, None
    body = json.dumps({"schema": SCHEMA, "readings": records}).encode()
    request = urllib.request.Request(url.rstrip("/") + "/readings", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read().decode())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    sent = {r["id"] for r in records}
    acked = [i for i in answer.get("acked", []) if i in sent]  # never delete what was not sent
    outbox.delete(acked)
    return len(acked), None


class Collector:
    """The receiving end: an HTTP server storing readings in SQLite, each id at most once.

    ``POST /readings`` with ``{"readings": [{"id": ...}, ...]}`` answers ``{"acked": [ids]}``;
    ``GET /stats`` answers the stored, received and duplicate counts.
    """

    def __init__(self, db_path: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.db_path = str(db_path)
        self.host, self.port = host, int(port)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS readings (id TEXT PRIMARY KEY, device TEXT,"
                         " seq INTEGER, received TEXT, payload TEXT)")
        self._db.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER)")
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def store(self, readings: List[Dict[str, Any]]) -> List[str]:
        """Store new readings, ignore ids already held; return every id now held."""
        acked = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for record in readings:
                cur = self._db.execute("INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?, ?)",
                                       (str(record["id"]), str(record.get("device")),
                                        int(record.get("seq", -1)), _now(), json.dumps(record)))
                counter = "received" if cur.rowcount == 1 else "duplicates"
                self._db.execute("INSERT INTO counters VALUES (?, 1) ON CONFLICT(name) "
                                 "DO UPDATE SET value = value + 1", (counter,))
                acked.append(str(record["id"]))
            self._db.execute("COMMIT")
        return acked

    def rows(self) -> List[Dict[str, Any]]:
        """Every stored reading, by device and sequence number."""
        with self._lock:
            rows = self._db.execute("SELECT payload FROM readings ORDER BY device, seq").fetchall()
        return [json.loads(r[0]) for r in rows]

    def stats(self) -> Dict[str, int]:
        with self._lock:
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            stored = self._db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        return {"stored": int(stored), "received": int(counters.get("received", 0)),
                "duplicates": int(counters.get("duplicates", 0))}

    def start(self) -> Collector:
        """Serve in a background thread (the port is kept across stop/start)."""
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, code: int, body: Dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/stats":
                    self._reply(200, collector.stats())
                else:
                    self._reply(404, {"error": "not found"})

            def do_POST(self) -> None:
                if self.path != "/readings":
                    self._reply(404, {"error": "not found"})
                    return
                try:
                    length = int(self.headers.get("Content-Length", "0"))
                    body = json.loads(self.rfile.read(length).decode())
                    readings = body["readings"]
                    if not isinstance(readings, list) or not all(isinstance(r, dict) and "id" in r
                                                                 for r in readings):
                        raise ValueError("readings must be a list of objects with an id")
                except (ValueError, KeyError, TypeError) as exc:
                    self._reply(400, {"error": f"bad request: {exc}"})
                    return
                self._reply(200, {"acked": collector.store(readings)})

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (the link goes down); the stored readings stay."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self.stop()
        self._db.close()
