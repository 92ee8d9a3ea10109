"""Every link, radio and device profile number has a source: a citation with its URL and date, a
definition, or an assumption that says why (edgelab/data/links.json, edgelab/data/devices.json)."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest

from edgelab import devices, network, sources

URL = re.compile(r"https?://\S+")
YEAR = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
LESSONS = Path(__file__).resolve().parent.parent / "lessons"

# The figures a graded exercise computes with, per profile: (the lessons that grade them, the
# fields). Lesson 02: 3.1 (round trip by hand over 5G and to a MEC server), 3.2 (5G simulated:
# timing, loss and outages, not the radio's energy), 3.4 (crossovers). Lesson 03: 3.2 (a Pi 5
# inference's energy), 3.3 (the Nano 33 BLE's energy per inference). Lesson 04: 3.1 (the roofline on
# six devices with int8 and fp32 models: peaks, efficiencies, memory bandwidth, overhead; RAM
# decides which cases fit), 3.2 (the Nano 33 BLE's flash and RAM), 3.3 (choose_device picks the
# cheapest device within the limits, so only devices no dearer than the picks can change them:
# the Nano 33 BLE ($40) and the Pi 4 ($55); their estimate, fit and active power), 3.4 (cloud-cpu
# fp32 estimate). Lesson 11: 3.3 (the Nano 33 BLE node's battery life on the LTE and LoRa radios),
# 3.5 (choose_device within $60: the Nano 33 BLE). fp16 figures, idle power and the storage of
# devices that keep weights in RAM enter no graded answer.
ROOFLINE = ("peak_gops.int8", "peak_gops.fp32", "efficiency.int8", "efficiency.fp32", "mem_bw_gbs",
            "overhead_ms", "ram_mb")
GRADED_FIELDS = {
    ("link", "5g"): (("02",), ("rtt_ms.min", "rtt_ms.median", "rtt_ms.p95", "uplink_mbps", "downlink_mbps",
                               "loss", "availability", "outage_mean_s")),
    ("link", "4g-lte"): (("02",), ("rtt_ms.median", "uplink_mbps", "downlink_mbps")),
    ("link", "5g-mec"): (("02",), ("rtt_ms.median", "uplink_mbps", "downlink_mbps")),
    ("link", "starlink"): (("02",), ("rtt_ms.median", "uplink_mbps", "downlink_mbps")),
    ("link", "wifi-cloud"): (("02",), ("rtt_ms.median", "uplink_mbps", "downlink_mbps")),
    ("radio", "lte"): (("03", "11"), ("up_nj_per_bit", "down_nj_per_bit", "tail_mj")),
    ("radio", "lora"): (("11",), ("up_nj_per_bit", "down_nj_per_bit", "tail_mj")),
    ("device", "raspberry-pi-4"): (("04",), ROOFLINE + ("active_w",)),
    ("device", "raspberry-pi-5"): (("03", "04"), ROOFLINE + ("active_w",)),
    ("device", "cloud-cpu"): (("04",), ROOFLINE),
    ("device", "jetson-orin-nano"): (("04",), ROOFLINE),
    ("device", "jetson-orin-nano-super"): (("04",), ROOFLINE),
    ("device", "raspberry-pi-5-ai-hat"): (("04",), ROOFLINE),
    ("device", "arduino-nano-33-ble-sense"): (("03", "04", "11"), (
        "peak_gops.int8", "efficiency.int8", "mem_bw_gbs", "overhead_ms", "flash_mb", "ram_mb", "active_w")),
}
# Those still resting on an assumption: a new assumption in a graded field fails the test below,
# and sourcing one means taking it off this list. Each lesson shows them (edgelab.sources).
GRADED_ASSUMPTIONS_LEFT = {
    "link 5g: loss", "link 5g: outage_mean_s", "link 5g: rtt_ms.p95",
    "link 5g-mec: rtt_ms.median",
    "device raspberry-pi-4: overhead_ms", "device raspberry-pi-5: overhead_ms",
    "device arduino-nano-33-ble-sense: mem_bw_gbs",
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
            if source.startswith(sources.ASSUMPTION)}


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


def _graded_assumptions() -> Dict[Tuple[str, str], set]:
    """(kind, profile) -> the graded fields of that profile still resting on an assumption."""
    out: Dict[Tuple[str, str], set] = {}
    for label in assumptions():
        kind, rest = label.split(" ", 1)
        name, field = rest.split(": ", 1)
        graded = GRADED_FIELDS.get((kind, name))
        if graded and field in graded[1]:
            out.setdefault((kind, name), set()).add(field)
    return out


def test_graded_fields_list_their_remaining_assumptions() -> None:
    """The fields graded exercises use that still rest on an assumption are exactly the known list."""
    graded = {f"{kind} {name}: {field}" for (kind, name), fields in _graded_assumptions().items()
              for field in fields}
    assert graded == GRADED_ASSUMPTIONS_LEFT


def _code_cells(number: str) -> list:
    """The code cells of a lesson's source notebook."""
    (path,) = LESSONS.glob(f"{number}-*/*.ipynb")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def test_lessons_show_the_assumptions_they_grade_with() -> None:
    """Each lesson that grades with an assumed figure prints it with its reason (edgelab.sources),
    naming the profile, so learners see which numbers are not measured."""
    missing = []
    for (kind, name), fields in _graded_assumptions().items():
        for number in GRADED_FIELDS[(kind, name)][0]:
            shown = [cell for cell in _code_cells(number) if "sources.assumption_lines(" in cell]
            if not any(f'"{name}"' in cell for cell in shown):
                missing.append(f"lesson {number} does not show {kind} {name}'s assumptions {sorted(fields)}")
    assert not missing, "\n".join(missing)


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
