"""Far-edge store-and-forward: the SQLite outbox, the collector, and the agent's collect loop."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import PI_HOME

from edgelab import deploy, load_interpreter
from edgelab.deploy.collect import (
    DEVICE_HEADER,
    MAX_BODY_BYTES,
    MAX_READINGS,
    SCHEMA,
    SIGNATURE_HEADER,
    Collector,
    Outbox,
    forward,
    new_key,
    reading_id,
    sign,
    synthetic_reading,
)


def wait_for(condition, timeout: float, what: str):
    """Poll ``condition`` until it returns something truthy (returned), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_outbox_is_wal_and_counts_readings(tmp_path) -> None:
    """The outbox is in WAL mode; a reading stored twice is one row; the counter survives reopening."""
    outbox = Outbox(str(tmp_path / "outbox.sqlite"))
    assert outbox.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    outbox.add("dev", 0, {"prediction": [1.0]})
    outbox.add("dev", 0, {"prediction": [1.0]})
    outbox.add("dev", 1, {"prediction": [2.0]})
    outbox.close()
    again = Outbox(str(tmp_path / "outbox.sqlite"))
    assert again.status() == {"pending": 2, "next_seq": 2}
    assert [r["id"] for r in again.pending()] == ["dev:0", "dev:1"]


def post(url: str, body: bytes, device: str, key: str | None, headers: dict | None = None) -> tuple:
    """POST ``body`` to ``url``/readings as ``device`` (signed with ``key`` unless None);
    return (HTTP status, JSON answer)."""
    sent = {DEVICE_HEADER: device, "Content-Type": "application/json", **(headers or {})}
    if key is not None:
        sent[SIGNATURE_HEADER] = sign(key, body)
    request = urllib.request.Request(url + "/readings", data=body, method="POST", headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def reading(device: str, seq, value: float = 1.0, **fields) -> dict:
    """A reading of ``device`` as the agent stores it (``fields`` override any key)."""
    return {"id": reading_id(device, seq), "device": device, "seq": seq, "prediction": [[value]], **fields}


def body_of(*readings: dict) -> bytes:
    return json.dumps({"schema": SCHEMA, "readings": list(readings)}).encode()


@pytest.fixture
def collector(tmp_path):
    """A collector on 127.0.0.1 with device `pump-7` enrolled (its key in ``.test_key``)."""
    running = Collector(str(tmp_path / "collector.sqlite")).start()
    running.test_key = running.enroll("pump-7")
    yield running
    running.close()


def filled_outbox(path, device: str = "pump-7", n: int = 5) -> Outbox:
    outbox = Outbox(str(path))
    for seq in range(n):
        outbox.add(device, seq, {"prediction": [seq]})
    return outbox


def test_forward_deletes_only_acknowledged(tmp_path) -> None:
    """Link down: nothing deleted. Link up: acked ids deleted; a resend is stored once."""
    outbox = filled_outbox(tmp_path / "outbox.sqlite", "dev")
    port = free_port()
    key = new_key()
    acked, error = forward(outbox, f"http://127.0.0.1:{port}", key, "dev", timeout=1)
    assert acked == 0 and "Connection refused" in error and outbox.count() == 5
    collector = Collector(str(tmp_path / "collector.sqlite"), port=port).start()
    collector.enroll("dev", key)
    try:
        collector.store(outbox.pending(2))  # as if an earlier ack was lost on the way back
        assert forward(outbox, collector.url, key, "dev", batch=3) == (3, None)
        assert forward(outbox, collector.url, key, "dev") == (2, None)
        assert outbox.count() == 0
        assert [r["seq"] for r in collector.rows()] == [0, 1, 2, 3, 4]
        assert collector.stats() == {"stored": 5, "received": 5, "duplicates": 2, "conflicts": 0,
                                     "rejected": 0}
    finally:
        collector.close()


def test_unknown_device_and_bad_signature_are_refused(collector) -> None:
    """A request from a device that is not enrolled, unsigned, or signed with another key gets a
    401 and stores nothing."""
    body = body_of(reading("pump-7", 0))
    assert post(collector.url, body, "pump-8", new_key())[0] == 401  # not enrolled
    assert post(collector.url, body, "pump-7", None)[0] == 401  # no signature
    assert post(collector.url, body, "pump-7", new_key())[0] == 401  # someone else's key
    tampered = body.replace(b"1.0", b"9.0")
    request = urllib.request.Request(collector.url + "/readings", data=tampered, method="POST",
                                     headers={DEVICE_HEADER: "pump-7",
                                              SIGNATURE_HEADER: sign(collector.test_key, body)})
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(request, timeout=10)  # a signed body changed on the way
    assert collector.stats()["stored"] == 0 and collector.stats()["rejected"] == 4
    assert post(collector.url, body, "pump-7", collector.test_key) == (200, {"acked": ["pump-7:0"],
                                                                               "conflicts": []})


def test_a_device_cannot_send_another_devices_readings(collector) -> None:
    """A batch signed by `pump-7` holding a reading of `pump-9` is refused whole (403): a device
    cannot forge, or pre-empt, the readings of another one."""
    collector.enroll("pump-9")
    body = body_of(reading("pump-7", 0), reading("pump-9", 3))
    status, answer = post(collector.url, body, "pump-7", collector.test_key)
    assert status == 403 and "pump-9" in answer["error"]
    assert collector.rows() == []


@pytest.mark.parametrize("bad", [
    {"seq": "x"}, {"seq": -1}, {"seq": 2**60}, {"seq": True}, {"seq": 1.5},
    {"id": "pump-7:99"}, {"device": "pump 7"}, {"id": None},
])
def test_a_bad_reading_is_refused_and_the_store_keeps_working(collector, bad: dict) -> None:
    """A batch with one malformed reading (seq, id or device) gets a 400 naming the field and
    stores nothing; good readings posted right after are stored (no transaction left open)."""
    body = body_of(reading("pump-7", 0), {**reading("pump-7", 1), **bad})
    status, answer = post(collector.url, body, "pump-7", collector.test_key)
    assert status in (400, 403) and answer["error"]
    field = next(iter(bad))
    assert field in answer["error"] or status == 403
    assert collector.rows() == []
    good = body_of(reading("pump-7", 0), reading("pump-7", 1))
    assert post(collector.url, good, "pump-7", collector.test_key)[1]["acked"] == ["pump-7:0", "pump-7:1"]
    assert [r["seq"] for r in collector.rows()] == [0, 1]


def test_malformed_bodies_are_refused(collector) -> None:
    """Not JSON, no readings list, or too many readings: 400, nothing stored, the store still works."""
    key = collector.test_key
    for body in (b"not json", b'{"readings": 5}', b"[1, 2]", body_of(*[reading("pump-7", i) for i in
                                                                        range(MAX_READINGS + 1)])):
        assert post(collector.url, body, "pump-7", key)[0] == 400, body[:40]
    assert post(collector.url, body_of(reading("pump-7", 0)), "pump-7", key)[0] == 200


def raw_request(port: int, head: bytes, timeout: float = 10) -> bytes:
    """Send ``head`` (request line and headers, no body) on a fresh connection; return the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_oversized_or_unsized_bodies_are_refused_unread(collector) -> None:
    """A body announced above MAX_BODY_BYTES gets a 413 at once (nothing read), a POST without
    Content-Length a 411; the connection is closed and the store keeps working."""
    start = time.monotonic()
    big = raw_request(collector.port, (f"POST /readings HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                       f"{MAX_BODY_BYTES + 1}\r\n{DEVICE_HEADER}: pump-7\r\n\r\n").encode())
    assert big.startswith(b"HTTP/1.0 413") and time.monotonic() - start < 5
    unsized = raw_request(collector.port, b"POST /readings HTTP/1.1\r\nHost: x\r\n\r\n")
    assert unsized.startswith(b"HTTP/1.0 411")
    assert post(collector.url, body_of(reading("pump-7", 0)), "pump-7", collector.test_key)[0] == 200


def test_replayed_requests_are_harmless(collector) -> None:
    """The same signed request sent again is acknowledged again and stored once (a duplicate)."""
    body = body_of(reading("pump-7", 0), reading("pump-7", 1))
    for _ in range(3):
        assert post(collector.url, body, "pump-7", collector.test_key)[1]["acked"] == ["pump-7:0", "pump-7:1"]
    assert collector.stats()["stored"] == 2 and collector.stats()["duplicates"] == 4


def test_a_forged_future_id_cannot_drop_the_genuine_reading(collector, tmp_path) -> None:
    """A forged reading under a future id of `pump-7` is refused (unsigned, another key, or
    another device's batch); even one stored anyway (here: by hand) is not taken for the genuine
    reading: the collector reports a conflict and the device keeps it in its outbox."""
    forged = body_of(reading("pump-7", 3, value=666.0))
    assert post(collector.url, forged, "pump-7", new_key())[0] == 401
    collector.enroll("mallory")
    assert post(collector.url, forged, "mallory", collector.enroll("mallory"))[0] == 403
    outbox = filled_outbox(tmp_path / "outbox.sqlite")
    collector.store([reading("pump-7", 3, value=666.0)])  # got in some other way
    acked, error = forward(outbox, collector.url, collector.test_key, "pump-7")
    assert acked == 4 and "pump-7:3" in error
    assert [r["id"] for r in outbox.pending()] == ["pump-7:3"]  # the genuine reading is kept
    assert collector.stats()["conflicts"] == 1


class AckEverything(BaseHTTPRequestHandler):
    """A server that does not hold the device's key and acknowledges whatever it receives."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        data = json.dumps({"acked": [r["id"] for r in sent["readings"]], "conflicts": []}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header(SIGNATURE_HEADER, "0" * 64)
        self.end_headers()
        self.wfile.write(data)


def test_a_server_without_the_key_cannot_make_the_device_delete(tmp_path) -> None:
    """A classmate's server on the collector's port acknowledges everything: the device deletes
    nothing, because the answer is not signed with its key."""
    outbox = filled_outbox(tmp_path / "outbox.sqlite")
    impostor = ThreadingHTTPServer(("127.0.0.1", 0), AckEverything)
    thread = threading.Thread(target=impostor.serve_forever, daemon=True)
    thread.start()
    try:
        acked, error = forward(outbox, f"http://127.0.0.1:{impostor.server_address[1]}", new_key(), "pump-7")
    finally:
        impostor.shutdown()
        impostor.server_close()
    assert acked == 0 and "not signed" in error and outbox.count() == 5


def test_two_students_collectors_on_one_host_are_isolated(tmp_path) -> None:
    """Two students on one hub (one 127.0.0.1), each with a collector and a device `pump-7`:
    each device's readings reach only its own collector; sent to the other one, they are
    refused and stay on the device."""
    alice = Collector(str(tmp_path / "alice.sqlite")).start()
    bob = Collector(str(tmp_path / "bob.sqlite")).start()
    try:
        keys = {"alice": alice.enroll("pump-7"), "bob": bob.enroll("pump-7")}
        outboxes = {name: filled_outbox(tmp_path / f"{name}-outbox.sqlite") for name in keys}
        acked, error = forward(outboxes["bob"], alice.url, keys["bob"], "pump-7")
        assert acked == 0 and "401" in error and outboxes["bob"].count() == 5
        assert forward(outboxes["alice"], alice.url, keys["alice"], "pump-7") == (5, None)
        assert forward(outboxes["bob"], bob.url, keys["bob"], "pump-7") == (5, None)
        assert alice.stats()["stored"] == bob.stats()["stored"] == 5
        assert alice.stats()["rejected"] == 1 and bob.stats()["rejected"] == 0
    finally:
        alice.close()
        bob.close()


def test_enroll_and_start_collect_check_their_arguments(tmp_path) -> None:
    """Bad device names and keys are refused naming the parameter; a collector URL needs the key."""
    collector = Collector(str(tmp_path / "c.sqlite"))
    with pytest.raises(ValueError, match="device_id must be"):
        collector.enroll("pump 7")
    with pytest.raises(ValueError, match="key must be 64"):
        collector.enroll("pump-7", key="secret")
    sim = deploy.simulated_target("raspberry-pi-4", home=tmp_path / "sim")
    with pytest.raises(ValueError, match="key and device_id are required"):
        sim.start_collect("http://127.0.0.1:9", device_id="pump-7")
    collector.close()


@pytest.mark.slow
def test_start_collect_with_a_collector_provisions_the_key_on_the_device_only(tiny_model, tmp_path) -> None:
    """start_collect(collector) enrolls the device: its key is written to the device readable by
    its owner only, is the key the collector holds, is on no command line, and the readings arrive."""
    sim = deploy.simulated_target("raspberry-pi-4", home=tmp_path / "sim")
    sim.deploy(tiny_model["path"])
    collector = Collector(str(tmp_path / "collector.sqlite")).start()
    try:
        sim.start_collect(collector, interval=0.05, device_id="pump-7", link_timeout=1.0)
        root = tmp_path / "sim" / "edgelab"
        pid = (root / "collect.pid").read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        wait_for(lambda: collector.stats()["stored"] >= 3, 30, "readings signed with the provisioned key")
    finally:
        sim.stop_collect()
        collector.close()
    key_file = root / "collect.key"
    key = key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(tmp_path / "collector.sqlite") as db:
        assert db.execute("SELECT key FROM devices WHERE device = 'pump-7'").fetchone() == (key,)
    assert "collect" in cmdline and key not in cmdline


@pytest.fixture
def collect_root():
    name = "edgelab-test-collect"
    shutil.rmtree(PI_HOME / name, ignore_errors=True)
    yield f"~/{name}"
    shutil.rmtree(PI_HOME / name, ignore_errors=True)


@pytest.mark.slow
def test_collect_survives_outages_and_kills(sshd_servers, client_keys, pi_python, tiny_model, tmp_path,
                                            collect_root) -> None:
    """On the sshd device: collector down, agent SIGKILLed twice, link cut mid-way: every reading
    arrives exactly once, with the prediction the model gives for it."""
    count, port = 40, free_port()
    url = f"http://127.0.0.1:{port}"
    server = sshd_servers[1]
    pi = deploy.ssh_target(f"pi@127.0.0.1:{server.port}", key=str(client_keys["good"]),
                           known_hosts=str(server.known_hosts), python=str(pi_python), root=collect_root)
    release = pi.deploy(tiny_model["path"])
    key = new_key()  # provisioned now; the collector enrolls the device with it when it comes up
    options = dict(key=key, interval=0.05, count=count, device_id="field-7", link_timeout=1.0)

    pi.start_collect(url, **options)  # the collector is not there yet: readings pile up
    with pytest.raises(deploy.DeployError, match="already running"):
        pi.start_collect(url, **options)
    wait_for(lambda: pi.outbox()["pending"] >= 8, 30, "readings stored while the link is down")
    pi.stop_collect(kill=True)  # a power cut
    stranded = pi.outbox()
    assert not stranded["running"] and stranded["pending"] == stranded["next_seq"] >= 8

    collector = Collector(str(tmp_path / "collector.sqlite"), port=port)
    collector.enroll("field-7", key)
    collector.start()
    try:
        pi.start_collect(url, **options)
        wait_for(lambda: collector.stats()["stored"] >= stranded["next_seq"], 30, "the backlog to arrive")
        collector.stop()  # the link goes down again mid-way
        pi.stop_collect(kill=True)
        time.sleep(0.3)
        pi.start_collect(url, **options)
        wait_for(lambda: pi.outbox()["next_seq"] >= count - 10, 30, "more readings during the outage")
        collector.start()
        wait_for(lambda: (lambda s: s["next_seq"] == count and s["pending"] == 0 and not s["running"])(
            pi.outbox()), 60, "the agent to finish forwarding")
        rows, stats = collector.rows(), collector.stats()
    finally:
        collector.close()
        pi.stop_collect(kill=True)
    assert [r["seq"] for r in rows] == list(range(count))  # nothing lost
    assert stats["stored"] == count and len({r["id"] for r in rows}) == count  # nothing twice
    assert {r["model"] for r in rows} == {release.sha256}
    loaded = load_interpreter(tiny_model["path"])
    detail = loaded.input_details[0]
    for row in rows[:: count // 8]:
        x = synthetic_reading(detail["shape"], detail["dtype"], 0, row["seq"])
        loaded.interpreter.set_tensor(detail["index"], x)
        loaded.interpreter.invoke()
        expected = loaded.interpreter.get_tensor(loaded.output_details[0]["index"])
        np.testing.assert_allclose(np.array(row["prediction"][0]), expected, rtol=1e-5, atol=1e-6)
    with sqlite3.connect(PI_HOME / collect_root[2:] / "outbox.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
