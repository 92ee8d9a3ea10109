"""Every link, radio and device profile number has a source: a citation with its URL and date, a
definition, or an assumption that says why (edgelab/data/links.json, edgelab/data/devices.json)."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Dict, Iterator, Tuple

import pytest

from edgelab import devices, network

URL = re.compile(r"https?://\S+")
YEAR = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
KINDS = ("assumption:", "definition:")

# Fields that graded exercises use (lessons 02, 03 and 04: hand calculations and checks on these
# profiles). Those still resting on an assumption are listed here, so a new assumption in a graded
# field fails the test below, and sourcing one means taking it off this list.
GRADED_FIELDS = {
    # lesson 02: 3.1 (round trip by hand over 5G and to a MEC server), 3.2 (5G simulated), 3.4 (crossover
    # over 4G and others)
    # (lesson 02 uses the 5G link's timing and failures, not its radio's energy)
    ("link", "5g"): ("rtt_ms.min", "rtt_ms.median", "rtt_ms.p95", "uplink_mbps", "downlink_mbps", "loss",
                     "availability", "outage_mean_s"),
    ("link", "4g-lte"): ("rtt_ms.median", "uplink_mbps", "downlink_mbps"),
    ("link", "5g-mec"): ("rtt_ms.median", "uplink_mbps", "downlink_mbps"),
    ("link", "starlink"): ("rtt_ms.median", "uplink_mbps", "downlink_mbps"),
    ("link", "wifi-cloud"): ("rtt_ms.median", "uplink_mbps", "downlink_mbps"),
    # lesson 03: 3.2 and 3.3 (the LTE phone radio's energy)
    ("radio", "lte"): ("up_nj_per_bit", "down_nj_per_bit", "tail_mj"),
    # lesson 03 3.2 (Pi 5 compute energy) and lesson 04 3.1 (roofline on these devices)
    ("device", "raspberry-pi-4"): None, ("device", "raspberry-pi-5"): None, ("device", "cloud-cpu"): None,
    ("device", "jetson-orin-nano"): None, ("device", "arduino-nano-33-ble-sense"): None,
    # lesson 04 3.1's hidden tests also run the roofline on the issue-20 devices
    ("device", "jetson-orin-nano-super"): None, ("device", "raspberry-pi-5-ai-hat"): None,
}
GRADED_ASSUMPTIONS_LEFT = {
    "link 5g: loss", "link 5g: outage_mean_s", "link 5g: rtt_ms.p95",
    "link 5g-mec: rtt_ms.median",  # no published median RTT to a MEC server (lesson 02 3.1 says so)
    "device raspberry-pi-4: overhead_ms",
    "device raspberry-pi-4: peak_gops.int8",
    "device raspberry-pi-5: efficiency.int8", "device raspberry-pi-5: overhead_ms",
    "device cloud-cpu: efficiency.int8", "device cloud-cpu: flash_mb", "device cloud-cpu: idle_w",
    "device cloud-cpu: peak_gops.int8", "device cloud-cpu: ram_mb",
    "device jetson-orin-nano: flash_mb",
    "device jetson-orin-nano: peak_gops.fp16",
    "device arduino-nano-33-ble-sense: active_w", "device arduino-nano-33-ble-sense: efficiency.fp16",
    "device arduino-nano-33-ble-sense: efficiency.fp32", "device arduino-nano-33-ble-sense: idle_w",
    "device arduino-nano-33-ble-sense: mem_bw_gbs",
    "device arduino-nano-33-ble-sense: peak_gops.fp16",
    "device jetson-orin-nano-super: flash_mb",
    "device jetson-orin-nano-super: peak_gops.fp16",
    "device raspberry-pi-5-ai-hat: active_w", "device raspberry-pi-5-ai-hat: idle_w",
    "device raspberry-pi-5-ai-hat: mem_bw_gbs", "device raspberry-pi-5-ai-hat: overhead_ms",
}


def _data(name: str) -> dict:
    return json.loads(resources.files("edgelab").joinpath(f"data/{name}").read_text(encoding="utf-8"))


def _numbers(entry: dict, prefix: str = "") -> Iterator[str]:
    """Dotted names of the numeric (or null) fields of a profile entry, 'sources' aside."""
    for key, value in entry.items():
        if key == "sources":
            continue
        if isinstance(value, dict):
            yield from _numbers(value, f"{prefix}{key}.")
        elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            yield f"{prefix}{key}"


def _fields() -> Iterator[Tuple[str, str, str, str]]:
    """(kind, profile, field, source) for every number in the three kinds of profile."""
    links = _data("links.json")
    for kind, group in (("link", links["links"]), ("radio", links["radios"]),
                        ("device", _data("devices.json")["devices"])):
        for name, entry in group.items():
            names = list(_numbers(entry)) + (["radio"] if kind == "link" else [])
            for field in names:
                yield kind, name, field, entry["sources"].get(field, "")


def assumptions() -> Dict[str, str]:
    """'kind profile: field' -> the assumption's text, for every field that still rests on one."""
    return {f"{kind} {name}: {field}": source for kind, name, field, source in _fields()
            if source.startswith("assumption:")}


def test_every_profile_number_has_a_well_formed_source() -> None:
    """Every number is a citation (URL and year), a definition or a reasoned assumption; the
    remaining assumptions are listed (shown with -s)."""
    bad = []
    for kind, name, field, source in _fields():
        label = f"{kind} {name}: {field}"
        if not source.strip():
            bad.append(f"{label} has no source")
        elif source.startswith("assumption:"):
            if len(source.split(":", 1)[1].strip()) < 3:
                bad.append(f"{label}: an assumption must say why")
        elif not source.startswith("definition:") and not (URL.search(source) and YEAR.search(source)):
            bad.append(f"{label}: a citation needs a URL and a date: {source!r}")
    assert not bad, "\n".join(bad)
    left = assumptions()
    print(f"\n{len(left)} profile numbers still rest on an assumption:")
    for label, text in sorted(left.items()):
        print(f"  {label}: {text}")


def test_graded_fields_list_their_remaining_assumptions() -> None:
    """The fields graded exercises use that still rest on an assumption are exactly the known list."""
    left = assumptions()
    graded = set()
    for (kind, name), fields in GRADED_FIELDS.items():
        for label in left:
            k, rest = label.split(" ", 1)
            profile, field = rest.split(": ", 1)
            if k == kind and profile == name and (fields is None or field in fields):
                graded.add(label)
    assert graded == GRADED_ASSUMPTIONS_LEFT


@pytest.mark.parametrize("name", ["5g-mec", "lte-m", "nb-iot", "wifi-edge"])
def test_new_links_load(name: str) -> None:
    """The issue-20 link profiles load, with RTTs ordered and a radio."""
    ln = network.link(name)
    assert ln.rtt_min_ms < ln.rtt_median_ms < ln.rtt_p95_ms and ln.radio is not None


def test_mec_is_closer_than_the_cloud_over_the_same_radio() -> None:
    """A MEC server shares the 5G radio link but skips the Internet: lower RTT, same rates."""
    mec, cloud = network.link("5g-mec"), network.link("5g")
    assert mec.rtt_median_ms < cloud.rtt_median_ms
    assert (mec.uplink_mbps, mec.downlink_mbps) == (cloud.uplink_mbps, cloud.downlink_mbps)


def test_new_devices_load() -> None:
    """The Orin Nano Super is the Orin Nano at higher clocks; the AI HAT+ runs only int8."""
    orin, sup = devices.device("jetson-orin-nano"), devices.device("jetson-orin-nano-super")
    assert sup.mem_bw_gbs > orin.mem_bw_gbs and sup.peak_gops["int8"] > orin.peak_gops["int8"]
    hat = devices.device("raspberry-pi-5-ai-hat")
    assert hat.int8_only and hat.peak_gops["fp32"] is None
