"""edgelab.dashboards: the demo dashboards compute the right numbers and follow their controls."""

from __future__ import annotations

import math

import ipywidgets as w
import numpy as np
import pytest

from edgelab import dashboards, network

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _widget_tree(widget: w.Widget) -> list[w.Widget]:
    """A widget and every widget nested in its children."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _widget_tree(child)
    return found


@pytest.mark.parametrize("build", [dashboards.latency_dashboard, dashboards.fleet_dashboard])
def test_dashboards_show_plots_as_images_not_output_widgets(build) -> None:
    """Plots are PNG images: an Output widget capturing output while Voila runs the notebook
    could hang the page (Voila issue #1428)."""
    box = build()
    assert not any(isinstance(x, w.Output) for x in _widget_tree(box))
    assert box.plot in _widget_tree(box)
    assert bytes(box.plot.value).startswith(PNG_MAGIC)


def test_latency_numbers_match_the_simulator() -> None:
    """The dashboard's table and samples are network.compare's for the same inputs."""
    numbers = dashboards.latency_numbers(link="5g", payload_kb=50, request_rate=2, deadline_ms=100,
                                         cloud="cloud-gpu-t4", edge="raspberry-pi-5",
                                         model="mobilenet-v1-224-int8")
    from edgelab import zoo

    direct = network.compare(payload_bytes=50_000, response_bytes=200, link="5g", cloud="cloud-gpu-t4",
                             edge="raspberry-pi-5", model=zoo.reference_model("mobilenet-v1-224-int8"),
                             n=dashboards.SIM_REQUESTS, seed=0, deadline_ms=100, request_rate=2)
    assert numbers["table"] == direct.summary(show=False)
    assert np.array_equal(numbers["edge_ms"], direct.edge.latency_ms)


def test_crossover_is_the_budgets_exactly() -> None:
    """The crossover is budget.crossover_payload_bytes for the edge's simulated median and the
    cloud's estimated server time: one byte less and the cloud's median round trip still wins."""
    from edgelab import budget, devices, zoo

    numbers = dashboards.latency_numbers(link="ethernet-lan", payload_kb=1, request_rate=1, deadline_ms=100,
                                         cloud="cloud-gpu-t4", edge="raspberry-pi-4",
                                         model="mobilenet-v1-224-fp32")
    cross = numbers["crossover_bytes"]
    edge_p50 = numbers["table"]["edge"]["p50_ms"]
    server = devices.estimate_latency("cloud-gpu-t4", zoo.reference_model("mobilenet-v1-224-fp32")).ms
    assert cross == budget.crossover_payload_bytes("ethernet-lan", edge_p50, server_ms=server,
                                                   response_bytes=200)
    assert 0 < cross < math.inf
    below = budget.cloud_median_ms("ethernet-lan", cross - 1, server_ms=server, response_bytes=200)
    at = budget.cloud_median_ms("ethernet-lan", cross, server_ms=server, response_bytes=200)
    assert below <= edge_p50 < at


def test_crossover_when_the_edge_cannot_run_the_model() -> None:
    """A model that does not fit the edge device has no crossover (None), and the page says why."""
    box = dashboards.latency_dashboard()
    box.controls["edge"].value = "arduino-nano-33-ble-sense"
    assert box.numbers["crossover_bytes"] is None
    assert "cannot run this model" in box.text.value


def test_latency_dashboard_follows_its_controls() -> None:
    """Switching the link to geostationary satellite raises the cloud median above 500 ms and
    redraws the CDFs; every control redraws them."""
    box = dashboards.latency_dashboard()
    before = box.numbers["table"]["cloud"]["p50_ms"]
    plot_before = bytes(box.plot.value)
    box.controls["link"].value = "geo-satellite"
    after = box.numbers["table"]["cloud"]["p50_ms"]
    assert after > 500 and after > before
    assert bytes(box.plot.value) != plot_before  # the CDF is redrawn
    for name, value in (("payload_kb", 1000.0), ("request_rate", 2.0), ("deadline_ms", 1000.0),
                        ("cloud", _other(box.controls["cloud"])), ("model", "mobilenet-v1-224-fp32")):
        drawn = bytes(box.plot.value)
        box.controls[name].value = value
        assert bytes(box.plot.value) != drawn, name
    box.controls["edge"].value = "arduino-nano-33-ble-sense"
    assert not math.isfinite(box.numbers["table"]["edge"]["p50_ms"])  # MobileNet does not fit


def _other(dropdown: w.Dropdown) -> str:
    """An option of ``dropdown`` other than the one selected."""
    return next(value for value in dropdown.options if value != dropdown.value)


def test_a_request_rate_the_edge_cannot_keep_up_with_is_explained() -> None:
    """50 requests/s on a Pi 4 running float MobileNet (more than 20 ms an inference) is refused
    by the simulator: the page says so and hides the plot instead of failing."""
    from edgelab import devices, zoo

    box = dashboards.latency_dashboard()
    edge, model = "raspberry-pi-4", "mobilenet-v1-224-fp32"
    assert devices.estimate_latency(edge, zoo.reference_model(model)).ms > 1000 / 50
    box.controls["edge"].value, box.controls["model"].value = edge, model
    box.controls["request_rate"].value = 50
    assert box.numbers is None and "Cannot compute this" in box.text.value
    assert "request_rate" in box.text.value
    box.controls["request_rate"].value = 5
    assert box.numbers is not None


def test_fleet_dashboard_follows_its_controls() -> None:
    """A 100% failure rate stops the rollout at the canary; a longer outage queues more and
    redraws the outbox plot; a smaller fleet lowers the canary slider's maximum."""
    from edgelab import fleetsim

    box = dashboards.fleet_dashboard()
    box.controls["failure_rate"].value = 1.0
    assert box.numbers["rollout"].stopped and len(box.numbers["rollout"].stages) == 1
    peak = box.numbers["peak_queued"]
    plot_before = bytes(box.plot.value)
    box.controls["outage_hours"].value = 30
    assert box.numbers["peak_queued"] > peak and box.numbers["lost"] == 0
    assert bytes(box.plot.value) != plot_before  # the outbox plot is redrawn
    direct = fleetsim.simulate_outbox(readings_per_hour=60, forward_per_hour=180, outage_start_h=6,
                                      outage_hours=30, total_hours=72)
    assert box.numbers["peak_queued"] == int(direct.queued.max())
    assert box.numbers["drained_at_hour"] == direct.drained_at_hour
    for name, value in (("readings_per_hour", 120), ("forward_per_hour", 100)):
        drawn = bytes(box.plot.value)
        box.controls[name].value = value
        assert bytes(box.plot.value) != drawn, name
    assert box.numbers["drained_at_hour"] is None  # forwarding 100/h cannot catch up with 120/h
    box.controls["devices"].value = 4
    assert box.controls["canary"].max == 4 and box.numbers["rollout"].n_devices == 4


@pytest.mark.parametrize("build", [dashboards.latency_dashboard, dashboards.fleet_dashboard])
def test_browser_state_is_clamped_to_each_controls_declared_range(build) -> None:
    """A front-end update that widens a slider's range and sets a value far outside it leaves
    the range as made and clamps the value; the dashboard recomputes with the clamped value."""
    from edgelab.ui import declared_range

    box = build()
    for control in box.controls.values():
        bounds = declared_range(control)
        if bounds is None:  # a dropdown: ipywidgets refuses an index outside its options
            continue
        made = (control.min, control.max)
        control.set_state({"max": 1e12, "value": 1e12})
        assert (control.min, control.max) == made
        assert control.value <= bounds[1]
    if build is dashboards.fleet_dashboard:
        assert box.numbers["rollout"].n_devices == 200


def _kernel_output(client, code: str) -> str:
    """Run ``code`` in the kernel of ``client``; return what it printed (fail on an error)."""
    outputs: list = []
    reply = client.execute_interactive(code, timeout=120, output_hook=outputs.append)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")


@pytest.mark.slow
def test_a_forged_comm_msg_is_clamped_in_the_kernel() -> None:
    """A real kernel runs the fleet demo's dashboard; a comm_msg forged as a page could send it
    (through Voila's websocket) sets the devices slider's max and value to 10^8: the kernel keeps
    the slider's range, clamps the value to 200 and simulates 200 devices."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        code = ("from edgelab.dashboards import fleet_dashboard\nbox = fleet_dashboard()\n"
                "slider = box.controls['devices']\nprint(slider.model_id)")
        model_id = _kernel_output(client, code).split()[-1]
        forged = client.session.msg("comm_msg", {"comm_id": model_id, "data": {
            "method": "update", "state": {"max": 10**8, "value": 10**8}, "buffer_paths": []}})
        client.shell_channel.send(forged)
        seen = _kernel_output(client, "print(slider.value, slider.max, box.numbers['rollout'].n_devices)")
        assert seen.split() == ["200", "200", "200"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
