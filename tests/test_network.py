"""Link profiles, the round trip, the queue and the cloud-vs-edge comparison (edgelab.network)."""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgelab import devices, network
from edgelab.stats import ModelStats

REQUIRED_LINKS = {"ethernet-lan", "wifi-edge", "wifi-cloud", "fixed-broadband", "4g-lte", "5g", "5g-mec",
                  "starlink", "geo-satellite", "lte-m", "nb-iot", "lorawan"}
MOBILENET_V2 = ModelStats("mobilenet_v2", macs=300_000_000, params=3_400_000, weight_bytes=3_600_000,
                          precision="int8", activation_bytes=2_000_000)
BAD_NUMBERS = st.one_of(st.floats(max_value=-1e-9, allow_nan=False), st.just(float("nan")),
                        st.just(float("inf")), st.just(float("-inf")))


def raw_links() -> dict:
    return json.loads(resources.files("edgelab").joinpath("data/links.json").read_text())


def test_required_links_exist() -> None:
    """Every link type the course teaches has a profile."""
    assert REQUIRED_LINKS <= set(network.links())


def test_published_figures_are_the_cited_ones() -> None:
    """Profiles carry the published figures they cite (Ookla, Opensignal, Starlink)."""
    assert network.link("fixed-broadband").rtt_median_ms == 14
    assert network.link("starlink").rtt_median_ms == 33  # Starlink, March 2024, US peak hours
    assert network.link("geo-satellite").rtt_median_ms == 630
    assert 44.1 <= network.link("4g-lte").rtt_median_ms <= 66.4
    five_g = network.link("5g")
    # Ookla H1 2024
    assert (five_g.rtt_median_ms, five_g.uplink_mbps, five_g.downlink_mbps) == (47, 14.56, 265.8)
    assert "assumption" not in five_g.sources["rtt_ms.median"]


def test_profiles_are_parsed_once() -> None:
    """link() hands out the same immutable profile every time: no JSON parsing per call."""
    assert network.link("4g-lte") is network.link("4g-lte")
    with pytest.raises(TypeError):
        network.link("4g-lte").sources["loss"] = "changed"  # type: ignore[index]


def test_unknown_link_lists_known_names() -> None:
    """An unknown profile name raises a ValueError that lists the names that exist."""
    with pytest.raises(ValueError, match="unknown link profile 'dialup'.*4g-lte.*starlink"):
        network.link("dialup")


def test_rtt_distribution_matches_profile() -> None:
    """Sampled RTTs reproduce the profile's min, median and p95 (shifted log-normal fit)."""
    for name in network.links():
        ln = network.link(name)
        rtt = ln.sample_rtt(400_000, np.random.default_rng(1))
        assert rtt.min() >= ln.rtt_min_ms
        assert np.median(rtt) == pytest.approx(ln.rtt_median_ms, rel=0.01)
        assert np.percentile(rtt, 95) == pytest.approx(ln.rtt_p95_ms, rel=0.02)


def test_scaled_link_scales_only_times() -> None:
    """scaled() multiplies RTT figures and keeps bandwidth and loss."""
    ln = network.link("4g-lte")
    half = ln.scaled(0.5)
    assert (half.rtt_min_ms, half.rtt_median_ms, half.rtt_p95_ms) == (15, 27.5, 60)
    assert (half.uplink_mbps, half.loss) == (ln.uplink_mbps, ln.loss)


def test_link_rejects_inconsistent_rtt() -> None:
    """A profile whose median is not between min and p95 is refused."""
    with pytest.raises(ValueError, match="rtt_min_ms < rtt_median_ms < rtt_p95_ms"):
        network.link("4g-lte").with_(rtt_median_ms=200)


def test_fifo_waits_single_server_matches_lindley_loop() -> None:
    """The vectorised Lindley recurrence equals the plain loop."""
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(1.0, 2000))
    services = rng.exponential(0.9, 2000)
    expected = np.zeros(2000)
    for k in range(1, 2000):
        expected[k] = max(0.0, expected[k - 1] + services[k - 1] - (arrivals[k] - arrivals[k - 1]))
    np.testing.assert_allclose(network.fifo_waits(arrivals, services, 1), expected, atol=1e-9)


def test_fifo_waits_many_servers_matches_brute_force() -> None:
    """With c servers each job starts when it arrives or when the first server frees."""
    rng = np.random.default_rng(4)
    arrivals = np.cumsum(rng.exponential(0.4, 500))
    services = rng.exponential(1.0, 500)
    free = [0.0, 0.0, 0.0]
    expected = []
    for a, s in zip(arrivals, services):
        i = int(np.argmin(free))
        start = max(a, free[i])
        expected.append(start - a)
        free[i] = start + s
    np.testing.assert_allclose(network.fifo_waits(arrivals, services, 3), expected, atol=1e-9)


def test_queue_matches_queueing_theory() -> None:
    """M/M/1, M/D/1 (Pollaczek-Khinchine) and M/M/2 (Erlang C) mean responses match theory."""
    mm1 = network.simulate_queue(800, 1.0, n=1_000_000, seed=0)
    assert mm1.mean_ms == pytest.approx(1 / (1 - 0.8), rel=0.03)
    md1 = network.simulate_queue(800, 1.0, n=1_000_000, seed=0, service_cv=0.0)
    assert md1.mean_ms == pytest.approx(1 + 0.8 / (2 * (1 - 0.8)), rel=0.02)
    rho, a = 0.8, 1.6  # M/M/2: offered load 1.6 Erlang
    p0 = 1 / (1 + a + a * a / (2 * (1 - rho)))
    erlang_c = a * a / (2 * (1 - rho)) * p0
    mm2 = network.simulate_queue(1600, 1.0, n=500_000, seed=0, servers=2)
    assert mm2.mean_ms == pytest.approx(1 + erlang_c / (2 - a), rel=0.03)


def test_unstable_queue_is_refused() -> None:
    """A request rate at or above capacity says the queue is unstable."""
    with pytest.raises(ValueError, match="request_rate.*queue is\\s+unstable"):
        network.simulate_queue(1000, 1.0)
    with pytest.raises(ValueError, match="queue is unstable"):
        network.simulate_cloud("4g-lte", 1000, server_ms=50, request_rate=40, servers=2)


def test_simulation_is_deterministic_under_a_seed() -> None:
    """The same seed gives identical latencies; another seed gives different ones."""
    a = network.simulate_cloud("starlink", 50_000, server_ms=5, n=20_000, seed=7).latency_ms
    b = network.simulate_cloud("starlink", 50_000, server_ms=5, n=20_000, seed=7).latency_ms
    c = network.simulate_cloud("starlink", 50_000, server_ms=5, n=20_000, seed=8).latency_ms
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_round_trip_components_add_up() -> None:
    """Serialization is bytes/bandwidth for one flight; a new TLS connection adds two RTTs."""
    ln = network.link("fixed-broadband")
    reused = network.round_trip(ln, 10_000, 200, server_ms=3)
    tls = network.round_trip(ln, 10_000, 200, server_ms=3, connection="new-tls")
    wire = 10_000 + 7 * network.HEADER_BYTES
    assert reused["upload_ms"] == pytest.approx(wire * 8 / 17.18e6 * 1000)
    assert tls["total_ms"] - reused["total_ms"] == pytest.approx(2 * 14)
    assert reused["total_ms"] == pytest.approx(sum(v for k, v in reused.items() if k != "total_ms"))


def test_flights_double_from_the_initial_window() -> None:
    """Slow start sends 10, 20, 40 ... segments; an open window sends everything at once."""
    assert network.flights(150_000) == [10, 20, 40, 34]
    assert network.flights(14_480) == [10] and network.flights(14_481) == [10, 1]
    assert network.flights(150_000, math.inf) == [104]
    assert network.flights(0) == [1]


def test_transfer_overlaps_serialization_with_the_acknowledgements() -> None:
    """The issue's case 1 by hand: 60,000 B at 8 Mbit/s, RTT 35 ms; the link idles only while the
    first acknowledgement of a flight is still on its way (35 - 10 x 1.514 ms, then 35 - 20 x ...)."""
    segment = (network.MSS_BYTES + network.HEADER_BYTES) * 8 / 8e3  # ms per full segment at 8 Mbit/s
    last = (60_000 - 41 * network.MSS_BYTES + network.HEADER_BYTES) * 8 / 8e3
    flight1_start = segment + 35  # the first segment's ACK
    flight2_start = max(flight1_start + segment + 35, flight1_start + 20 * segment)
    expected = flight2_start + 11 * segment + last
    assert network.transfer_ms(60_000, 8, 35) == pytest.approx(expected)
    idle = network.transfer_ms(60_000, 8, 35) - network.serialization_ms(60_000, 8)
    assert 20 < idle < 35  # not the two whole RTTs the additive sum charges
    # once the first flight outlasts the RTT (bandwidth-delay product below the window), no idle at all
    assert network.transfer_ms(60_000, 8, 1) == pytest.approx(network.serialization_ms(60_000, 8))


@given(payload=st.integers(0, 3_000_000), mbps=st.floats(0.01, 1000), rtt=st.floats(0, 2000))
@settings(max_examples=60, deadline=None)
def test_transfer_is_bounded_by_serialization_and_the_additive_sum(payload: int, mbps: float,
                                                                     rtt: float) -> None:
    """A transfer never takes less than its serialization, nor more than serialization plus one
    whole RTT per extra flight (the old additive model, an upper bound)."""
    ser = network.serialization_ms(payload, mbps)
    extra = len(network.flights(payload)) - 1
    t = network.transfer_ms(payload, mbps, rtt)
    assert ser - 1e-9 <= t <= ser + extra * rtt + 1e-6 * max(1.0, ser)


def test_cubic_restarts_slow_start_after_idle_bbr_does_not() -> None:
    """start_window: IW on a new connection; cubic halves per RTO of idle down to IW; BBR keeps it open."""
    assert network.start_window("new-tcp", "bbr", 0.0, 250.0, 100) == network.INITIAL_WINDOW
    assert network.start_window("reused", "bbr", 1e6, 250.0, 100) == math.inf
    assert network.start_window("reused", "cubic", 100.0, 250.0, 100) == math.inf  # busy: open
    assert network.start_window("reused", "cubic", 300.0, 250.0, 100) == 55  # (10 + 100) / 2
    assert network.start_window("reused", "cubic", 10_000.0, 250.0, 100) == network.INITIAL_WINDOW
    windows = network.start_window("reused", "cubic", np.array([0.0, 300.0, 1e5]), 250.0, 100)
    np.testing.assert_array_equal(windows, [math.inf, 55, network.INITIAL_WINDOW])


def test_round_trip_reused_connection_depends_on_congestion_control() -> None:
    """After an idle, cubic's bulky request waits for slow start again; BBR's does not."""
    cubic = network.round_trip("4g-lte", 150_000, 200, congestion_control="cubic")
    bbr = network.round_trip("4g-lte", 150_000, 200, congestion_control="bbr")
    assert bbr["upload_ms"] == pytest.approx(network.serialization_ms(150_000, 6.3))
    assert cubic["upload_ms"] > bbr["upload_ms"] + 20
    fresh = network.round_trip("4g-lte", 150_000, 200, connection="new-tcp", congestion_control="bbr")
    assert fresh["upload_ms"] == pytest.approx(cubic["upload_ms"])  # a new connection starts small either way


@given(payload=st.integers(0, 3_000_000), mbps=st.floats(0.05, 1000), rtt=st.floats(0.1, 2000),
       enter=st.floats(0, 5000))
@settings(max_examples=60, deadline=None)
def test_probe_rtt_never_makes_a_transfer_faster(payload: int, mbps: float, rtt: float, enter: float) -> None:
    """A transfer that meets PROBE_RTT takes at least its open-window time, and at most that plus
    one round trip to drain, the 200 ms hold and the round that ends it."""
    open_ms = network.transfer_ms(payload, mbps, rtt, initial_window=math.inf)
    probed = network.probe_rtt_transfer_ms(payload, mbps, rtt, enter_ms=enter)
    four_segments = network.serialization_ms(4 * network.MSS_BYTES, mbps)
    longest = open_ms + rtt + network.BBR_PROBE_RTT_MS + max(rtt, four_segments)
    assert open_ms - 1e-6 * max(1.0, open_ms) <= probed <= longest + 1e-6 * max(1.0, open_ms)


def test_probe_rtt_holds_a_bulky_upload_not_a_short_one() -> None:
    """104 segments at 14.56 Mbit/s, RTT 20 ms, wait about 180 ms more; 2 segments are on the wire
    before the first acknowledgement and do not wait."""
    bulky_open = network.transfer_ms(150_000, 14.56, 20, initial_window=math.inf)
    bulky = network.probe_rtt_transfer_ms(150_000, 14.56, 20)
    assert network.BBR_PROBE_RTT_MS - 40 < bulky - bulky_open < network.BBR_PROBE_RTT_MS
    short = network.transfer_ms(2_000, 14.56, 20, initial_window=math.inf)
    assert network.probe_rtt_transfer_ms(2_000, 14.56, 20) == pytest.approx(short)


def test_probe_rtt_not_met_after_an_idle_of_ten_seconds() -> None:
    """Requests more than 10 s apart never meet PROBE_RTT: the first acknowledgement after each
    idle refreshes the expired minimum instead (Linux's idle_restart)."""
    starts = np.cumsum(np.random.default_rng(0).uniform(10_001, 60_000, size=2_000))
    rtts = network.link("starlink").sample_rtt(starts.size, np.random.default_rng(1))
    assert not np.isfinite(network.probe_rtt_entry_ms(starts, 5_000.0, rtts)).any()


def test_probe_rtt_once_per_ten_seconds_while_sending() -> None:
    """A connection that never stops sending, with no new minimum RTT, probes about once per
    10 s plus the 200 ms probe; requests 1 s apart that take 100 ms to send meet none."""
    starts = np.arange(3_000) * 100.0  # 300 s of back-to-back 100 ms transfers
    rising = 20.0 + 1e-3 * np.arange(starts.size)  # every round trip above the first: no new minimum
    busy = network.probe_rtt_entry_ms(starts, 100.0, rising)
    period = network.BBR_MIN_RTT_WINDOW_MS + network.BBR_PROBE_RTT_MS
    assert np.isfinite(busy).sum() == pytest.approx(starts[-1] / period, abs=1)
    apart = network.probe_rtt_entry_ms(starts * 10, 100.0, rising)
    assert not np.isfinite(apart).any()


def test_probe_rtt_share_grows_with_the_time_spent_sending() -> None:
    """Requests closer than 10 s meet PROBE_RTT only when the filter expires while one is sent: at
    most one per 10 s, and more of them the longer each takes to send."""
    rng = np.random.default_rng(2)
    starts = np.cumsum(rng.exponential(1_500.0, size=20_000))
    rtts = network.link("5g-mec").sample_rtt(starts.size, rng)
    shares = [np.isfinite(network.probe_rtt_entry_ms(starts, send, rtts)).mean() for send in (50.0, 500.0)]
    assert 0 < shares[0] < shares[1] <= 1_500.0 / network.BBR_MIN_RTT_WINDOW_MS
    assert shares[1] < 500.0 / network.BBR_MIN_RTT_WINDOW_MS  # new minima put some expiries off


def test_probe_rtt_slows_a_few_bbr_uploads_only() -> None:
    """simulate_cloud, BBR on a reused connection: a bulky upload sometimes meets PROBE_RTT (about
    200 ms slower), a short one never waits for it; a new connection is the same with cubic or BBR."""
    ln = network.link("5g-mec").with_(loss=0.0, availability=1.0, outage_mean_s=0.0)
    kw = dict(server_ms=1.0, service_cv=0.0, request_rate=0.7, connection="reused", n=20_000, seed=3)
    bbr = network.simulate_cloud(ln, 150_000, congestion_control="bbr", **kw).latency_ms
    slow = np.mean(bbr > np.median(bbr) + network.BBR_PROBE_RTT_MS - 50)
    assert 0.001 < slow < 0.02
    short = network.simulate_cloud(ln, 2_000, congestion_control="bbr", **kw)
    assert short.components_ms["upload_ms"] == pytest.approx(network.serialization_ms(2_000, ln.uplink_mbps))
    for conn in ("new-tcp", "new-tls"):
        new = {cc: network.simulate_cloud(ln, 150_000, congestion_control=cc, **{**kw, "connection": conn})
               for cc in network.CONGESTION_CONTROLS}
        np.testing.assert_array_equal(new["bbr"].latency_ms, new["cubic"].latency_ms)


def test_probe_rtt_entry_refuses_bad_times() -> None:
    """Unsorted or non-finite start times, and a round trip of 0, are refused by name."""
    with pytest.raises(ValueError, match="start_ms"):
        network.probe_rtt_entry_ms([5.0, 1.0], 10.0, [20.0, 20.0])
    with pytest.raises(ValueError, match="rtt_ms"):
        network.probe_rtt_entry_ms([1.0, 5.0], 10.0, [20.0, 0.0])


def test_slow_start_adds_round_trips_for_big_uploads() -> None:
    """A 1 MB upload on a fast link waits extra RTTs while TCP's window opens."""
    ln = network.link("fixed-broadband").with_(uplink_mbps=1000)
    small = network.round_trip(ln, 10_000)
    big = network.round_trip(ln, 1_000_000)
    assert big["upload_ms"] - 1_000_000 * 8 / 1e9 * 1000 > 3 * ln.rtt_median_ms
    assert small["upload_ms"] < 1.0


def test_each_wait_is_its_own_rtt_draw() -> None:
    """The p95 of a many-flight request spreads less than one RTT draw reused for every flight."""
    ln = network.link("4g-lte").with_(loss=0.0, availability=1.0)
    res = network.simulate_cloud(ln, 150_000, 200, server_ms=0, service_cv=0, request_rate=0.001,
                                 connection="new-tcp", n=100_000, seed=0)
    rng = np.random.default_rng(1)
    shared = ln.sample_rtt(100_000, rng)  # the old model: one draw for every wait
    waits = 1 + len(network.flights(150_000))  # hand-shake, the flights' ACKs, the propagation
    spread_shared = np.percentile(shared * waits, 95) - np.median(shared * waits)
    assert res.percentile(95) - res.percentile(50) < 0.8 * spread_shared


def test_simulated_median_matches_components_without_loss() -> None:
    """With no loss or outage, the median is RTT median + serialization + server time."""
    ln = network.link("4g-lte").with_(loss=0.0, availability=1.0)
    res = network.simulate_cloud(ln, 1000, 200, server_ms=2, service_cv=0, n=200_000, seed=0)
    expected = network.round_trip(ln, 1000, 200, server_ms=2)["total_ms"]
    assert res.percentile(50) == pytest.approx(expected, rel=0.01)


def test_loss_lengthens_the_tail() -> None:
    """Lost packets cost retransmission time-outs: p99 grows, the median barely moves."""
    ln = network.link("4g-lte").with_(availability=1.0)
    clean = network.simulate_cloud(ln.with_(loss=0.0), 1000, server_ms=2, n=100_000, seed=0)
    lossy = network.simulate_cloud(ln.with_(loss=0.05), 1000, server_ms=2, n=100_000, seed=0)
    assert lossy.percentile(99) > clean.percentile(99) + 100
    # one request packet and one answer packet, each lost with p = 5%, each costing SRTT + 200 ms
    expected_extra = 2 * 0.05 * (network.RTO_MIN_MS + ln.rtt_median_ms)
    extra = lossy.latency_ms.mean() - clean.latency_ms.mean()
    assert extra == pytest.approx(expected_extra, rel=0.1)
    assert lossy.percentile(50) == pytest.approx(clean.percentile(50), rel=0.05)


def test_outage_policies() -> None:
    """Outages fail requests at about 1 - availability ("fail"), or delay them ("wait")."""
    ln = network.link("4g-lte").with_(availability=0.95, outage_mean_s=2.0)
    failed = network.simulate_cloud(ln, 1000, server_ms=2, request_rate=5, n=200_000, seed=0)
    waited = network.simulate_cloud(ln, 1000, server_ms=2, request_rate=5, n=200_000, seed=0,
                                    outage_policy="wait")
    assert failed.failure_rate == pytest.approx(0.05, abs=0.015)
    assert waited.failure_rate == 0
    assert waited.percentile(99) > 500


def test_lorawan_cannot_carry_an_image_quickly() -> None:
    """A 150 KB image over LoRaWAN's 5.47 kbit/s at 1% duty cycle takes hours."""
    parts = network.round_trip("lorawan", 150_000)
    assert parts["upload_ms"] > 3600 * 1000


def test_compare_summary_and_deadline() -> None:
    """compare() gives p50/p95/p99, deadline misses, bytes and energy for both paths."""
    res = network.compare(150_000, 200, link="4g-lte", cloud="cloud-gpu-t4", edge="raspberry-pi-5",
                          model=MOBILENET_V2, n=20_000, seed=0, deadline_ms=100)
    table = res.summary(show=False)
    for path in ("cloud", "edge"):
        for key in ("p50_ms", "p95_ms", "p99_ms", "deadline_miss_rate", "bytes_sent",
                    "energy_mj_per_request"):
            assert key in table[path]
        assert table[path]["estimate"] is True
    assert table["cloud"]["deadline_miss_rate"] > 0.9  # 150 KB up a 6.3 Mbit/s uplink alone is ~200 ms
    assert table["edge"]["deadline_miss_rate"] < 0.05
    assert table["edge"]["bytes_sent"] == 0 and table["cloud"]["bytes_sent"] > 150_000
    # At 1 request/s the LTE radio never leaves its 11.6 s high-power tail (about 1.06 W):
    # each request pays about 1 s of tail, not the whole 12 J.
    assert 1_000 < table["cloud"]["energy_mj_per_request"] < 3_000
    sparse = network.compare(150_000, 200, link="4g-lte", cloud="cloud-gpu-t4", edge="raspberry-pi-5",
                             model=MOBILENET_V2, n=2_000, seed=0, request_rate=0.05)
    # one request every 20 s: the whole tail (about 12 J) dominates the radio energy
    assert sparse.summary(show=False)["cloud"]["energy_mj_per_request"] > 12_000
    assert "cloud" in res.format_table() and "missed 100 ms deadline" in res.format_table()


def test_compare_with_a_model_that_cannot_run_on_the_edge() -> None:
    """A float model on the Edge TPU fails at the edge and the summary says why."""
    fp32 = ModelStats("mnv2_fp32", macs=300_000_000, params=3_400_000, weight_bytes=14_000_000)
    res = network.compare(20_000, link="5g", edge="coral-usb-pi5", model=fp32, n=1000, seed=0, deadline_ms=50)
    assert res.edge.failure_rate == 1.0
    assert "int8" in res.format_table()
    with pytest.raises(ValueError, match="cloud device 'coral-usb-pi5' cannot serve the model.*int8"):
        network.compare(20_000, link="5g", cloud="coral-usb-pi5", model=fp32, n=1000)


def test_compare_with_measured_edge_latencies() -> None:
    """Measured edge latencies are resampled and labelled as measured."""
    measured = [10.0, 11.0, 12.0, 30.0]
    res = network.compare(1000, link="ethernet-lan", model=MOBILENET_V2, edge_ms=measured, n=10_000, seed=0)
    assert res.edge.estimate is False
    assert 10.0 <= res.edge.percentile(1) and res.edge.percentile(50) <= 12.5


@pytest.mark.slow
def test_plot_marks_the_deadline() -> None:
    """plot() draws one CDF per path and the deadline line."""
    import matplotlib

    matplotlib.use("Agg")
    res = network.compare(10_000, link="starlink", model=MOBILENET_V2, n=2_000, seed=0, deadline_ms=80)
    ax = res.plot()
    assert len(ax.lines) == 3
    assert any("deadline" in t.get_text() for t in ax.get_legend().get_texts())


def test_energy_and_estimate_link_up() -> None:
    """The edge energy is the device's power times its estimated latency."""
    est = devices.estimate_latency("raspberry-pi-5", MOBILENET_V2)
    res = network.compare(1000, link="wifi-cloud", model=MOBILENET_V2, n=5_000, seed=0)
    assert res.edge.energy_mj == pytest.approx(devices.device("raspberry-pi-5").active_w * est.ms, rel=0.05)


# ---------------------------------------------------------------------------------------------
# Bad input: a ValueError naming the parameter


@settings(max_examples=25, deadline=None)
@given(value=BAD_NUMBERS)
def test_bad_sizes_name_the_parameter(value: float) -> None:
    """Negative, NaN or infinite sizes are refused by name."""
    with pytest.raises(ValueError, match="payload_bytes"):
        network.simulate_cloud("4g-lte", value, server_ms=1, n=10)
    with pytest.raises(ValueError, match="response_bytes"):
        network.round_trip("4g-lte", 100, value)
    with pytest.raises(ValueError, match="server_ms"):
        network.simulate_cloud("4g-lte", 100, server_ms=value, n=10)


@settings(max_examples=25, deadline=None)
@given(value=st.one_of(BAD_NUMBERS, st.just(0.0)))
def test_bad_rates_name_the_parameter(value: float) -> None:
    """A request rate must be a finite number > 0."""
    with pytest.raises(ValueError, match="request_rate"):
        network.simulate_cloud("4g-lte", 100, server_ms=1, request_rate=value, n=10)
    with pytest.raises(ValueError, match="request_rate"):
        network.simulate_queue(value, 1.0, n=10)


@settings(max_examples=25, deadline=None)
@given(value=st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.text(max_size=3)))
def test_bad_counts_name_the_parameter(value: object) -> None:
    """n must be a positive integer; servers too."""
    with pytest.raises(ValueError, match="n must be an integer"):
        network.simulate_cloud("4g-lte", 100, server_ms=1, n=value)
    with pytest.raises(ValueError, match="servers must be an integer"):
        network.simulate_queue(1, 1.0, n=10, servers=value)


@settings(max_examples=25, deadline=None)
@given(value=st.one_of(BAD_NUMBERS, st.just(0.0), st.just(-0.0)))
def test_bad_deadline_names_the_parameter(value: float) -> None:
    """A deadline of zero (or negative, NaN, infinite) is refused."""
    with pytest.raises(ValueError, match="deadline_ms"):
        network.compare(1000, link="4g-lte", model=MOBILENET_V2, n=10, deadline_ms=value)


@settings(max_examples=25, deadline=None)
@given(name=st.text(max_size=12).filter(lambda s: s not in set(network.links()) | set(devices.devices())))
def test_unknown_names_are_refused(name: str) -> None:
    """Any name that is not a profile is refused with the list of names."""
    with pytest.raises(ValueError, match="known links: .*4g-lte"):
        network.link(name)
    with pytest.raises(ValueError, match="known devices: .*raspberry-pi-5"):
        network.compare(1000, link="4g-lte", edge=name, model=MOBILENET_V2, n=10)


def test_bad_choices_are_refused() -> None:
    """connection and outage_policy accept only their documented values."""
    with pytest.raises(ValueError, match="connection must be one of 'reused', 'new-tcp', 'new-tls'"):
        network.simulate_cloud("4g-lte", 100, server_ms=1, connection="udp")
    with pytest.raises(ValueError, match="outage_policy must be one of 'fail', 'wait'"):
        network.simulate_cloud("4g-lte", 100, server_ms=1, outage_policy="retry")
    with pytest.raises(ValueError, match="model must be a ModelStats"):
        network.compare(1000, link="4g-lte")
    assert math.isfinite(network.link("lorawan").rtt_lognormal[2])


@settings(max_examples=25, deadline=None)
@given(value=BAD_NUMBERS)
def test_bad_link_and_edge_numbers_name_the_parameter(value: float) -> None:
    """A link with a bad loss or bandwidth, or an edge latency that is not a finite ms value, is refused."""
    with pytest.raises(ValueError, match="loss must be"):
        network.link("4g-lte").with_(loss=value)
    with pytest.raises(ValueError, match="uplink_mbps must be"):
        network.link("4g-lte").with_(uplink_mbps=value)
    with pytest.raises(ValueError, match="inference_ms"):
        network.simulate_edge(value, n=10)
    with pytest.raises(ValueError, match="inference_ms must be a number or a non-empty sequence"):
        network.simulate_edge([1.0, value], n=10)
    with pytest.raises(ValueError, match="factor must be"):
        network.link("4g-lte").scaled(value)
