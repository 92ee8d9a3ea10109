"""The real-link check: shaped veth links in network namespaces vs the simulation (edgelab.shaper)."""

from __future__ import annotations

import subprocess
import uuid

import numpy as np
import pytest
from conftest import require
from hypothesis import given, settings
from hypothesis import strategies as st

from edgelab import cli, network, shaper

# Profiles scaled so that 1000 real round trips each take about 15-25 s; the simulation uses
# exactly the scaled figures. 1000 requests keep the sampling error of a measured p95 near 4%.
PROFILES = [("fixed-broadband", 0.7), ("4g-lte", 0.2), ("geo-satellite", 0.02)]
REQUESTS = 1000


def namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def require_real_link() -> None:
    require(not shaper.missing(), "root, iproute2 (ip, tc) and iptables")
    require(shaper.netem_available() or shaper.nfqueue_available(),
            "a shaper: the netem qdisc or the netfilterqueue package (libnetfilter-queue-dev)")


def test_netem_table_reproduces_the_rtt_distribution() -> None:
    """netem's delay = mean + std * table/8192 draws the profile's shifted log-normal."""
    ln = network.link("4g-lte")
    mean, std, table = shaper.netem_table(ln)
    values = mean + std * np.asarray(table) / shaper.NETEM_DIST_SCALE
    assert max(abs(v) for v in table) <= 32767
    assert np.median(values) == pytest.approx(ln.rtt_median_ms, rel=0.01)
    assert np.percentile(values, 95) == pytest.approx(ln.rtt_p95_ms, rel=0.02)


@pytest.mark.parametrize("name", ["4g-lte", "ethernet-lan", "lorawan"])
def test_netem_arguments_are_accepted_by_tc(name: str, tmp_path) -> None:
    """tc parses the netem arguments and loads the distribution table; the kernel then either
    applies them or (no netem, as here) answers that the qdisc kind is unknown."""
    require(not shaper.missing(), "root, iproute2 (ip, tc) and iptables")
    client, server, env = shaper.netem_args(network.link(name), tmp_path)
    ns = f"elt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=20)
    try:
        for args in (client, server):
            cmd = ["ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", "lo", "root", *args]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=20)
            assert proc.returncode == 0 or "qdisc kind is unknown" in proc.stderr, proc.stderr
    finally:
        subprocess.run(["ip", "netns", "del", ns], timeout=20)


@pytest.mark.slow
def test_shaped_link_matches_simulation(tiny_model: dict) -> None:
    """Real HTTP round trips to a LiteRT server through a shaped link: median within 10% and
    p95 within 15% of edgelab's simulation of the same parameters, for three profiles (two lossy)."""
    require_real_link()
    before = namespaces()
    failures, lossy = [], 0
    for name, scale in PROFILES:
        result = shaper.measure_link(name, tiny_model["path"], n=REQUESTS, payload_bytes=1000, scale=scale)
        result.summary()  # shown with -s: which shaper ran, simulated vs measured
        lossy += result.link.loss > 0
        stats = result.stats()
        assert result.measured_ms.size == REQUESTS and result.shaper in ("netem", "nfqueue")
        for key, tolerance in (("p50_ms", 0.10), ("p95_ms", 0.15)):
            sim, meas = stats["simulated"][key], stats["measured"][key]
            if abs(meas / sim - 1) > tolerance:
                failures.append(f"{name} x{scale} ({result.shaper}): {key} measured {meas:.1f} vs "
                                f"simulated {sim:.1f} ms")
        if result.link.loss >= 0.01:  # packets were really dropped: time-outs show as in the simulation
            slow = stats["simulated"]["p50_ms"] + 0.75 * network.RTO_MIN_MS
            measured_slow = float(np.mean(result.measured_ms > slow))
            simulated_slow = float(np.mean(result.simulated.latency_ms > slow))
            if not simulated_slow / 3 <= measured_slow <= simulated_slow * 3:
                failures.append(f"{name}: {measured_slow:.2%} of requests waited for a retransmission, "
                                f"simulated {simulated_slow:.2%}")
    assert lossy >= 1
    assert not failures, "; ".join(failures)
    assert namespaces() == before  # every namespace created was removed


@pytest.mark.slow
def test_testbed_cleans_up_after_an_error(tiny_model: dict) -> None:
    """Namespaces and processes are removed even when the code using the testbed fails."""
    require_real_link()
    with pytest.raises(RuntimeError, match="on purpose"):
        with shaper.Testbed(network.link("4g-lte"), tiny_model["path"]) as bed:
            bed.shape()
            names, processes = (bed.client_ns, bed.server_ns), list(bed.processes)
            assert names[0] in namespaces() and all(p.poll() is None for p in processes)
            raise RuntimeError("on purpose")
    listed = namespaces()
    assert names[0] not in listed and names[1] not in listed
    assert all(p.poll() is not None for p in processes)


@pytest.mark.slow
def test_measure_link_command(tiny_model: dict, capsys: pytest.CaptureFixture) -> None:
    """`edgelab measure-link` prints the shaper used and simulated vs measured percentiles."""
    require_real_link()
    before = namespaces()
    code = cli.main(["measure-link", "starlink", "--scale", "0.2", "-n", "60",
                     "--model", str(tiny_model["path"])])
    out = capsys.readouterr().out
    assert code == 0
    assert "shaper: " in out and "simulated" in out and "measured" in out and "p95" in out
    assert namespaces() == before


def test_measure_link_command_rejects_unknown_profile(capsys: pytest.CaptureFixture) -> None:
    """An unknown profile exits 2 and lists the known ones."""
    assert cli.main(["measure-link", "dialup"]) == 2
    assert "known links: " in capsys.readouterr().err


@settings(max_examples=20, deadline=None)
@given(n=st.one_of(st.integers(max_value=0), st.floats(allow_nan=True)),
       scale=st.one_of(st.floats(max_value=0), st.just(float("nan")), st.just(float("inf"))))
def test_bad_input_names_the_parameter(n: object, scale: float) -> None:
    """measure_link refuses a bad request count or scale before touching the system."""
    with pytest.raises(ValueError, match="n must be an integer"):
        shaper.measure_link("4g-lte", "unused.tflite", n=n)
    with pytest.raises(ValueError, match="scale must be"):
        shaper.measure_link("4g-lte", "unused.tflite", scale=scale)
