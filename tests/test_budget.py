"""Bytes per day, radio energy, deadlines, crossovers and device choice (edgelab.budget)."""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest

from edgelab import budget, devices, network, zoo
from edgelab.stats import ModelStats

MOBILENET_INT8 = zoo.reference_model("mobilenet-v2-224-int8")


def test_wire_bytes_adds_one_header_per_packet() -> None:
    """A message pays one 66-byte header per 1448-byte packet, and at least one packet."""
    assert budget.wire_bytes(0) == network.HEADER_BYTES
    assert budget.wire_bytes(network.MSS_BYTES) == network.MSS_BYTES + network.HEADER_BYTES
    assert budget.wire_bytes(network.MSS_BYTES + 1) == network.MSS_BYTES + 1 + 2 * network.HEADER_BYTES


def test_video_and_event_volumes() -> None:
    """Raw 1080p30 video, a 4 Mbit/s stream and 240 small events per day have the textbook sizes."""
    assert budget.raw_video_bytes_per_s(1920, 1080, 30) == 1920 * 1080 * 3 * 30
    assert budget.stream_bytes_per_day(4.0) == pytest.approx(43.2e9)
    assert budget.stream_bytes_per_day(4.0, hours_per_day=12) == pytest.approx(21.6e9)
    assert budget.events_bytes_per_day(240, 200) == 240 * (200 + network.HEADER_BYTES)
    assert budget.fleet_bytes_per_day(1e6, 1000) == 1e9


def test_data_plan_agrees_with_the_pieces() -> None:
    """Each mode of data_plan is the matching single calculation, times the fleet size."""
    raw = budget.data_plan("raw", 10, width=640, height=480, fps=15)
    assert raw.bytes_per_device_per_day == pytest.approx(budget.raw_video_bytes_per_s(640, 480, 15) * 86_400)
    assert raw.fleet_bytes_per_day == pytest.approx(10 * raw.bytes_per_device_per_day)
    stream = budget.data_plan("compressed", compressed_mbps=2.0)
    assert stream.average_mbps_per_device == pytest.approx(2.0)
    events = budget.data_plan("events", 500, events_per_hour=10, event_bytes=200)
    assert events.bytes_per_device_per_day == budget.events_bytes_per_day(240, 200)
    assert "fleet of 500" in events.describe()
    assert raw.bytes_per_device_per_day > stream.bytes_per_device_per_day > events.bytes_per_device_per_day


def test_human_bytes() -> None:
    """Byte counts are written in decimal units."""
    assert budget.human_bytes(512) == "512 B"
    assert budget.human_bytes(43.2e9) == "43.2 GB"
    assert budget.human_bytes(16.1e12) == "16.1 TB"


def test_radio_energy_matches_the_simulator() -> None:
    """radio_energy_mj reproduces the energy network.simulate_cloud reports for a request."""
    result = network.simulate_cloud("4g-lte", 10_000, 200, server_ms=5, n=2_000, seed=1)
    done = result.latency_ms[np.isfinite(result.latency_ms)]
    by_hand = budget.radio_energy_mj("4g-lte", result.bytes_sent, result.bytes_received,
                                     active_ms=float(done.mean()), request_rate=1.0)
    assert by_hand == pytest.approx(result.energy_mj)
    isolated = budget.radio_energy_mj("4g-lte", result.bytes_sent, result.bytes_received)
    assert isolated > by_hand  # one request alone pays the whole tail
    lte = network.link("4g-lte").radio
    expected = 8000 * lte.up_nj_per_bit * 1e-6
    assert budget.radio_energy_mj("4g-lte", 1000, tail=False) == pytest.approx(expected)


def test_distance_travelled() -> None:
    """At 100 km/h a car covers 27.8 m in one second and 2.8 cm in one millisecond."""
    assert budget.distance_travelled_m(100, 1000) == pytest.approx(27.777, rel=1e-3)
    assert budget.distance_travelled_m(100, 1) == pytest.approx(0.027777, rel=1e-3)


def test_crossover_is_the_first_payload_where_the_edge_wins() -> None:
    """At the crossover the cloud's median is slower than the edge; one byte less, it is not."""
    edge_ms = 60.0
    cross = budget.crossover_payload_bytes("5g", edge_ms, server_ms=5)
    assert 0 < cross < math.inf
    assert budget.cloud_median_ms("5g", cross, server_ms=5) > edge_ms
    assert budget.cloud_median_ms("5g", cross - 1, server_ms=5) <= edge_ms
    assert budget.crossover_payload_bytes("geo-satellite", 30, server_ms=5) == 0.0
    assert budget.crossover_payload_bytes("ethernet-lan", 1e6, max_bytes=1e6) == math.inf


def test_link_table_is_seeded_and_ordered() -> None:
    """The same seed gives the same table; a geostationary link is slower than 5G at p50 and p95."""
    one = budget.link_table(20_000, server_ms=5, links=["5g", "geo-satellite"], n=5_000, deadline_ms=100)
    two = budget.link_table(20_000, server_ms=5, links=["5g", "geo-satellite"], n=5_000, deadline_ms=100)
    assert one == two
    for key in ("p50_ms", "p95_ms"):  # p99 may be inf: about 1% of requests meet an outage and fail
        assert one["geo-satellite"][key] > one["5g"][key]
    assert one["geo-satellite"]["deadline_miss_rate"] == 1.0
    assert one["5g"]["p50_ms"] < one["5g"]["p95_ms"] <= one["5g"]["p99_ms"]
    assert "lorawan" not in budget.link_table(1000, server_ms=5, n=200)


# Profiles added in issue 20 whose prices (data/prices.json, not this helper's file) the lead adds:
# the Orin Nano Super developer kit ($249, NVIDIA, 2024-12-17) and a Pi 5 8 GB with the AI Kit ($80 + $70).
PRICES_PENDING = {"jetson-orin-nano-super", "raspberry-pi-5-ai-hat"}


def test_every_edge_device_has_a_sourced_price() -> None:
    """Each non-cloud device profile has a price with a source; no price names an unknown device."""
    raw = json.loads(resources.files("edgelab").joinpath("data/prices.json").read_text())["prices_usd"]
    edge = {d for d in devices.devices() if not d.startswith("cloud")}
    assert set(raw) == edge - (PRICES_PENDING - set(raw))
    for name, entry in raw.items():
        assert entry["usd"] > 0 and entry["source"].strip(), name
        assert budget.price_source(name) == entry["source"]


def test_choose_device_picks_the_cheapest_that_meets_every_limit() -> None:
    """The pick meets all three limits and no cheaper candidate does; impossible limits pick nothing."""
    choice = budget.choose_device(MOBILENET_INT8, max_latency_ms=15, max_power_w=10, max_cost_usd=150)
    ok = [c for c in choice.candidates if c.ok]
    assert choice.pick == min(ok, key=lambda c: c.cost_usd).device == "raspberry-pi-5"
    pi4 = next(c for c in choice.candidates if c.device == "raspberry-pi-4")  # cheaper, 17 ms
    assert not pi4.ok and "too slow" in pi4.problems[0]
    mcu = next(c for c in choice.candidates if c.device == "arduino-nano-33-ble-sense")
    assert not mcu.ok and "cannot run" in mcu.problems[0]
    assert "<- pick" in choice.table()
    strict = budget.choose_device(MOBILENET_INT8, max_latency_ms=0.1, max_power_w=1, max_cost_usd=20)
    assert strict.pick is None
    tiny = ModelStats("kws", macs=5_000_000, params=40_000, weight_bytes=40_000, precision="int8",
                      activation_bytes=50_000)
    assert budget.choose_device(tiny, max_latency_ms=1000, max_power_w=0.1, max_cost_usd=50).pick == (
        "arduino-nano-33-ble-sense")


@pytest.mark.parametrize("call", [
    lambda: budget.wire_bytes(-1),
    lambda: budget.raw_video_bytes_per_s(0, 1080, 30),
    lambda: budget.stream_bytes_per_day(4, hours_per_day=25),
    lambda: budget.data_plan("fax"),
    lambda: budget.fleet_bytes_per_day(1e6, 0),
    lambda: budget.distance_travelled_m(-5, 10),
    lambda: budget.crossover_payload_bytes("5g", float("nan")),
    lambda: budget.choose_device(MOBILENET_INT8, max_latency_ms=0, max_power_w=1, max_cost_usd=1),
    lambda: budget.choose_device("mobilenet", max_latency_ms=1, max_power_w=1, max_cost_usd=1),
    lambda: budget.price_usd("cloud-gpu-t4"),
])
def test_bad_input_is_a_clear_value_error(call) -> None:
    """Bad arguments raise ValueError, not a traceback from deep inside."""
    with pytest.raises(ValueError):
        call()
