"""Far-edge store-and-forward: a SQLite outbox on the device and the collector it forwards to.

This module imports only the standard library (numpy only inside
:func:`synthetic_reading`) and never imports ``edgelab``: it is shipped to the device next to
the agent. The guarantees, across link outages, agent kills and restarts:

* every prediction is committed to the outbox (SQLite in WAL mode, ``synchronous=FULL``) in
  the same transaction that advances the reading counter, so a reading is stored once or,
  if the agent dies before the commit, taken again under the same id;
* each reading has an idempotent id ``<device>:<seq>``; the collector stores it at most once
  (primary key) and acknowledges the ids it holds with the same content, new or already stored;
* the device deletes only the ids the collector acknowledged, so an outage or a lost
  acknowledgement means a resend, never a loss, and a resend is never a duplicate.

And against other people on the network (on a course hub, every classmate shares 127.0.0.1):

* each device has its own key, made by :meth:`Collector.enroll` and written to the device
  (mode 0600) when collecting is set up, never put in a URL or on a command line. A request
  carries the device name and the HMAC-SHA256 of its body under that key; the collector
  refuses (401) a request it cannot verify, and (400/403) any reading whose ``device``,
  ``seq`` and ``id`` do not belong to the signing device, before storing anything;
* the collector signs its answer with the same key (over the request's signature and its
  own body): the device deletes nothing on the word of a server that does not hold its key;
* an id already held with *different* content is not acknowledged (a ``conflict``): the
  genuine reading stays on the device instead of being dropped as a duplicate;
* request bodies are bounded (:data:`MAX_BODY_BYTES`, :data:`MAX_READINGS`), sockets time out,
  and every transaction is closed (committed or rolled back) whatever a request holds.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Sequence, Tuple

SCHEMA = "edgelab.collect/1"
DEVICE_HEADER = "X-Edgelab-Device"
SIGNATURE_HEADER = "X-Edgelab-Signature"
MAX_BODY_BYTES = 4 * 1024 * 1024  # one POST /readings
MAX_READINGS = 1000  # readings in one POST
MAX_SEQ = 2**53 - 1  # JSON-safe integers
SOCKET_TIMEOUT_S = 10.0  # a connection silent this long is closed
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY = re.compile(r"^[0-9a-f]{64}$")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def reading_id(device: str, seq: int) -> str:
    """The idempotent id of reading number ``seq`` of ``device``."""
    return f"{device}:{seq}"


def check_device_id(device: Any) -> str:
    """``device`` if it is a valid device name (1-64 letters, digits, ``.``, ``_``, ``-``;
    starting with a letter or digit), else ValueError."""
    if not isinstance(device, str) or not _DEVICE_ID.match(device):
        raise ValueError("device_id must be 1 to 64 letters, digits, '.', '_' or '-' (starting with a "
                         f"letter or digit); got {device!r}")
    return device


def new_key() -> str:
    """A fresh random device key (64 hex digits)."""
    return secrets.token_hex(32)


def check_key(key: Any) -> str:
    """``key`` if it is a device key (64 lowercase hex digits, from :func:`new_key`), else ValueError."""
    if not isinstance(key, str) or not _KEY.match(key):
        got = f"a string of {len(key)} characters" if isinstance(key, str) else type(key).__name__
        raise ValueError(f"key must be 64 lowercase hex digits (a key from Collector.enroll or new_key); "
                         f"got {got}")
    return key


def sign(key: str, data: bytes) -> str:
    """HMAC-SHA256 of ``data`` under the device key ``key``, as hex."""
    return hmac.new(bytes.fromhex(key), data, hashlib.sha256).hexdigest()


def check_reading(record: Any, device: Optional[str] = None) -> Dict[str, Any]:
    """``record`` if it is a reading of ``device`` (any valid device if None): a JSON object whose
    ``device`` is a valid name, ``seq`` an integer from 0 to MAX_SEQ and ``id`` equal to
    ``reading_id(device, seq)``; else ValueError saying which field is wrong."""
    if not isinstance(record, dict):
        raise ValueError(f"a reading must be a JSON object; got {type(record).__name__}")
    owner = record.get("device")
    if device is not None and owner != device:
        raise PermissionError(f"reading {str(record.get('id'))[:80]!r} belongs to device "
                              f"{str(owner)[:80]!r}, not to the signing device {device!r}")
    check_device_id(owner)
    seq = record.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"seq must be an integer from 0 to {MAX_SEQ}; got {str(seq)[:40]!r}")
    if record.get("id") != reading_id(owner, seq):
        raise ValueError(f"id must be {reading_id(owner, seq)!r} (device:seq); "
                         f"got {str(record.get('id'))[:80]!r}")
    return record


def _digest(record: Dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


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

    def pending(self, limit: int = 100, device: Optional[str] = None) -> List[Dict[str, Any]]:
        """The oldest ``limit`` unacknowledged readings (of ``device`` only, if given)."""
        if device is None:
            rows = self.db.execute("SELECT payload FROM outbox ORDER BY seq LIMIT ?", (int(limit),))
        else:
            prefix = reading_id(device, "")
            rows = self.db.execute("SELECT payload FROM outbox WHERE substr(id, 1, ?) = ? ORDER BY seq "
                                   "LIMIT ?", (len(prefix), prefix, int(limit)))
        return [json.loads(r[0]) for r in rows]

    def count(self, device: Optional[str] = None) -> int:
        """Unacknowledged readings (of ``device`` only, if given)."""
        if device is None:
            return int(self.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        prefix = reading_id(device, "")
        return int(self.db.execute("SELECT COUNT(*) FROM outbox WHERE substr(id, 1, ?) = ?",
                                   (len(prefix), prefix)).fetchone()[0])

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


def _request_body(records: List[Dict[str, Any]]) -> bytes:
    return json.dumps({"schema": SCHEMA, "readings": records}).encode()


def forward(outbox: Outbox, url: str, key: str, device: str, batch: int = 100,
            timeout: float = 5.0) -> Tuple[int, Optional[str]]:
    """Send the oldest ``batch`` readings of ``device`` to the collector at ``url``, signed with
    the device's ``key``, and delete the ones it acknowledged in an answer signed with that key.
    Returns (number acknowledged, error or None); never raises on link errors."""
    records = outbox.pending(min(batch, MAX_READINGS), device=device)
    if not records:
        return 0, None
    body = _request_body(records)
    while len(body) > MAX_BODY_BYTES and len(records) > 1:  # a batch too big: send fewer
        records = records[: len(records) // 2]
        body = _request_body(records)
    if len(body) > MAX_BODY_BYTES:
        return 0, f"reading {records[0]['id']} is larger than the collector accepts ({MAX_BODY_BYTES} bytes)"
    signature = sign(key, body)
    request = urllib.request.Request(url.rstrip("/") + "/readings", data=body, method="POST",
                                     headers={"Content-Type": "application/json", DEVICE_HEADER: device,
                                              SIGNATURE_HEADER: signature})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(MAX_BODY_BYTES + 1)
            answer_signature = response.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(sign(key, signature.encode() + b"\n" + raw), answer_signature):
            return 0, "the answer is not signed with this device's key: is this the right collector?"
        answer = json.loads(raw.decode())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    sent = {r["id"] for r in records}
    acked = [i for i in answer.get("acked", []) if i in sent]  # never delete what was not sent
    outbox.delete(acked)
    conflicts = [i for i in answer.get("conflicts", []) if i in sent]
    if conflicts:  # kept: the collector holds other content under these ids
        return len(acked), (f"the collector holds different readings under {len(conflicts)} id(s), "
                            f"e.g. {conflicts[0]}")
    return len(acked), None


class _Refused(Exception):
    """A request the collector refuses: ``status`` is the HTTP code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Collector:
    """The receiving end: an HTTP server storing readings in SQLite, each id at most once.

    Devices are enrolled first (:meth:`enroll` gives each its key). ``POST /readings`` with
    ``{"readings": [{"id": ..., "device": ..., "seq": ...}, ...]}``, the device name in
    ``X-Edgelab-Device`` and the body's HMAC in ``X-Edgelab-Signature``, answers
    ``{"acked": [ids], "conflicts": [ids]}`` signed the same way. Limits: bodies up to
    :data:`MAX_BODY_BYTES` with at most :data:`MAX_READINGS` readings; sockets silent for
    :data:`SOCKET_TIMEOUT_S` seconds are closed. Binds 127.0.0.1 unless told otherwise.
    """

    def __init__(self, db_path: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.db_path = str(db_path)
        self.host, self.port = host, int(port)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS readings (id TEXT PRIMARY KEY, device TEXT,"
                         " seq INTEGER, received TEXT, payload TEXT, digest TEXT)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(readings)")}
        if "digest" not in columns:  # a store made by an older edgelab
            self._db.execute("ALTER TABLE readings ADD COLUMN digest TEXT")
        self._db.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER)")
        self._db.execute("CREATE TABLE IF NOT EXISTS devices (device TEXT PRIMARY KEY, key TEXT NOT NULL)")
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def enroll(self, device_id: str, key: Optional[str] = None) -> str:
        """Accept readings from ``device_id`` signed with ``key`` (default: a new random key);
        returns the key, to be written to the device (``Target.start_collect`` does it). A
        device enrolled again gets the new key; the old one stops working."""
        check_device_id(device_id)
        key = new_key() if key is None else check_key(key)
        with self._lock:
            self._db.execute("INSERT INTO devices VALUES (?, ?) ON CONFLICT(device) "
                             "DO UPDATE SET key = excluded.key", (device_id, key))
        return key

    def _key(self, device_id: str) -> Optional[str]:
        with self._lock:
            row = self._db.execute("SELECT key FROM devices WHERE device = ?", (device_id,)).fetchone()
        return None if row is None else str(row[0])

    def _count(self, name: str, n: int = 1) -> None:
        self._db.execute("INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) "
                         "DO UPDATE SET value = value + ?", (name, n, n))

    def store(self, readings: List[Dict[str, Any]],
              device: Optional[str] = None) -> Tuple[List[str], List[str]]:
        """Store new readings (of ``device`` only, if given), ignore ids already held with the same
        content; return (ids now held with this content, ids held with other content). Every
        reading is checked (:func:`check_reading`) before anything is stored: one bad reading
        refuses the whole batch (ValueError, or PermissionError for another device's reading)."""
        if not isinstance(readings, list) or len(readings) > MAX_READINGS:
            raise ValueError(f"readings must be a list of at most {MAX_READINGS} readings")
        checked = [check_reading(record, device) for record in readings]
        acked: List[str] = []
        conflicts: List[str] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                counts = {"received": 0, "duplicates": 0, "conflicts": 0}
                for record in checked:
                    rid, digest = record["id"], _digest(record)
                    cur = self._db.execute("INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?, ?, ?)",
                                           (rid, record["device"], record["seq"], _now(), json.dumps(record),
                                            digest))
                    if cur.rowcount == 1:
                        counts["received"] += 1
                        acked.append(rid)
                        continue
                    held = self._db.execute("SELECT digest FROM readings WHERE id = ?", (rid,)).fetchone()[0]
                    if held == digest:
                        counts["duplicates"] += 1
                        acked.append(rid)
                    else:
                        counts["conflicts"] += 1
                        conflicts.append(rid)
                for name, n in counts.items():
                    if n:
                        self._count(name, n)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return acked, conflicts

    def _refused(self) -> None:
        with self._lock:
            self._count("rejected")

    def rows(self) -> List[Dict[str, Any]]:
        """Every stored reading, by device and sequence number."""
        with self._lock:
            rows = self._db.execute("SELECT payload FROM readings ORDER BY device, seq").fetchall()
        return [json.loads(r[0]) for r in rows]

    def stats(self) -> Dict[str, int]:
        """Readings stored; received (new), duplicates (resent, same content), conflicts (an id
        held with other content, not acknowledged); requests rejected (auth, size, bad readings)."""
        with self._lock:
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
            stored = self._db.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        return {"stored": int(stored), **{name: int(counters.get(name, 0))
                                          for name in ("received", "duplicates", "conflicts", "rejected")}}

    def _post_readings(self, headers: Any, rfile: Any) -> Tuple[bytes, str, str]:
        """Check and store one ``POST /readings``; returns (answer body, the device's key, the
        request's signature) or raises _Refused. Nothing is stored unless every check passes."""
        length_text = headers.get("Content-Length")
        if length_text is None:
            raise _Refused(411, "Content-Length is required")
        try:
            length = int(length_text)
        except ValueError:
            raise _Refused(400, "Content-Length must be an integer") from None
        if not 0 <= length <= MAX_BODY_BYTES:
            raise _Refused(413, f"the body must be at most {MAX_BODY_BYTES} bytes; got {length}")
        device = headers.get(DEVICE_HEADER, "")
        key = self._key(device) if _DEVICE_ID.match(device) else None
        if key is None:
            raise _Refused(401, "unknown device: enroll it with Collector.enroll")
        body = rfile.read(length)
        signature = headers.get(SIGNATURE_HEADER, "")
        if len(body) != length or not hmac.compare_digest(sign(key, body), signature):
            raise _Refused(401, "the signature does not match the body under this device's key")
        try:
            readings = json.loads(body.decode())["readings"]
            acked, conflicts = self.store(readings, device=device)
        except PermissionError as exc:
            raise _Refused(403, str(exc)) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise _Refused(400, f"bad readings: {exc}") from None
        return json.dumps({"acked": acked, "conflicts": conflicts}).encode(), key, signature

    def start(self) -> Collector:
        """Serve in a background thread (the port is kept across stop/start)."""
        collector = self

        class Handler(BaseHTTPRequestHandler):
            timeout = SOCKET_TIMEOUT_S  # set on the connection's socket

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, code: int, data: bytes, signature: Optional[str] = None) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if signature is not None:
                    self.send_header(SIGNATURE_HEADER, signature)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                self._reply(404, b'{"error": "not found"}')

            def do_POST(self) -> None:  # noqa: N802
                if self.path != "/readings":
                    self._reply(404, b'{"error": "not found"}')
                    return
                try:
                    data, key, signature = collector._post_readings(self.headers, self.rfile)
                except _Refused as exc:
                    collector._refused()
                    self.close_connection = True  # an unread body must not be taken for a request
                    self._reply(exc.status, json.dumps({"error": str(exc)}).encode())
                    return
                self._reply(200, data, sign(key, signature.encode() + b"\n" + data))

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
