"""Far-edge store-and-forward: the SQLite outbox, the collector, and the agent's collect loop."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import time
import urllib.request

import numpy as np
import pytest
from conftest import PI_HOME

from edgelab import deploy, load_interpreter
from edgelab.deploy.collect import Collector, Outbox, forward, synthetic_reading


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


def test_forward_deletes_only_acknowledged(tmp_path) -> None:
    """Link down: nothing deleted. Link up: acked ids deleted; a resend is stored once."""
    outbox = Outbox(str(tmp_path / "outbox.sqlite"))
    for seq in range(5):
        outbox.add("dev", seq, {"prediction": [seq]})
    port = free_port()
    acked, error = forward(outbox, f"http://127.0.0.1:{port}", timeout=1)
    assert acked == 0 and "Connection refused" in error and outbox.count() == 5
    collector = Collector(str(tmp_path / "collector.sqlite"), port=port).start()
    try:
        collector.store(outbox.pending(2))  # as if an earlier ack was lost on the way back
        assert forward(outbox, collector.url, batch=3) == (3, None)
        assert forward(outbox, collector.url) == (2, None)
        assert outbox.count() == 0
        assert [r["seq"] for r in collector.rows()] == [0, 1, 2, 3, 4]
        assert collector.stats() == {"stored": 5, "received": 5, "duplicates": 2}
        bad = urllib.request.Request(collector.url + "/readings", data=b'{"readings": [1]}', method="POST")
        with pytest.raises(urllib.error.HTTPError, match="400"):
            urllib.request.urlopen(bad, timeout=5)
        with urllib.request.urlopen(collector.url + "/stats", timeout=5) as answer:
            assert json.loads(answer.read())["stored"] == 5
    finally:
        collector.close()


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
    options = dict(interval=0.05, count=count, device_id="field-7", link_timeout=1.0)

    pi.start_collect(url, **options)  # the collector is not there yet: readings pile up
    with pytest.raises(deploy.DeployError, match="already running"):
        pi.start_collect(url, **options)
    wait_for(lambda: pi.outbox()["pending"] >= 8, 30, "readings stored while the link is down")
    pi.stop_collect(kill=True)  # a power cut
    stranded = pi.outbox()
    assert not stranded["running"] and stranded["pending"] == stranded["next_seq"] >= 8

    collector = Collector(str(tmp_path / "collector.sqlite"), port=port).start()
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
