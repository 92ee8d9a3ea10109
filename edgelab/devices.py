"""Device profiles and the latency estimator: how fast would this model run on that device?

An estimate is a roofline: the slower of compute time (2 x MACs / (peak x efficiency)) and
memory time (bytes read / memory bandwidth), plus a fixed invoke overhead. Each device's
``efficiency`` is calibrated on a published benchmark named in ``data/devices.json`` (or
marked there as an assumption). Estimates say they are estimates; to *measure* a model on
this machine, use :func:`measure_latency` (real LiteRT inference).

>>> from edgelab import devices
>>> from edgelab.stats import ModelStats
>>> mobilenet = ModelStats("mobilenet_v1", macs=569_000_000, params=4_200_000,
...                        weight_bytes=4_300_000, precision="int8")
>>> round(devices.estimate_latency(devices.device("coral-usb-pi5"), mobilenet).ms, 1)
2.4
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Dict, List, Mapping, Optional, Union

import numpy as np

from edgelab import _checks
from edgelab.stats import ModelStats


@dataclass(frozen=True)
class Device:
    """A device profile. ``peak_gops`` and ``efficiency`` map a precision ("fp32", "fp16",
    "int8") to G operations/s and to the fraction of it reached (None: cannot run)."""

    name: str
    description: str
    peak_gops: Mapping[str, Optional[float]]
    efficiency: Mapping[str, Optional[float]]
    mem_bw_gbs: float
    ram_mb: float
    flash_mb: float
    weights_in: str
    overhead_ms: float
    active_w: float
    idle_w: float
    int8_only: bool
    sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)


@lru_cache(maxsize=1)
def _data() -> Dict[str, Any]:
    text = resources.files("edgelab").joinpath("data/devices.json").read_text(encoding="utf-8")
    return json.loads(text)


def devices() -> List[str]:
    """The names of the device profiles, e.g. ``"raspberry-pi-5"``."""
    return list(_data()["devices"])


def device(name: str) -> Device:
    """The sourced device profile called ``name`` (see :func:`devices`)."""
    profiles = _data()["devices"]
    _checks.profile_name("device", name, profiles)
    e = profiles[name]
    return Device(name=name, description=e["description"], peak_gops=dict(e["peak_gops"]),
                  efficiency=dict(e["efficiency"]), mem_bw_gbs=e["mem_bw_gbs"], ram_mb=e["ram_mb"],
                  flash_mb=e["flash_mb"], weights_in=e["weights_in"], overhead_ms=e["overhead_ms"],
                  active_w=e["active_w"], idle_w=e["idle_w"], int8_only=e["int8_only"],
                  sources=dict(e["sources"]))


def _as_device(value: Union[str, Device]) -> Device:
    if isinstance(value, Device):
        return value
    if isinstance(value, str):
        return device(value)
    raise ValueError(f"device must be a Device or a device profile name ({', '.join(devices())}); "
                     f"got {value!r}")


def _as_stats(value: Any) -> ModelStats:
    if not isinstance(value, ModelStats):
        raise ValueError(f"model must be an edgelab.stats.ModelStats; got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Fit:
    """Whether a model fits a device's memory and can run there; ``reason`` says why not."""

    fits: bool
    runs: bool
    reason: str = ""


def check_fit(device: Union[str, Device], model: ModelStats) -> Fit:
    """Does ``model`` fit in the device's RAM/flash, and can the device run its precision?"""
    dev = _as_device(device)
    stats = _as_stats(model)
    if dev.int8_only and stats.precision != "int8":
        return Fit(False, False, f"{dev.name} runs only fully int8-quantized models (compiled for it); "
                                 f"{stats.name} is {stats.precision}")
    if dev.peak_gops.get(stats.precision) is None:
        return Fit(False, False, f"{dev.name} cannot run {stats.precision} arithmetic")
    ram = dev.ram_mb * 1e6
    flash = dev.flash_mb * 1e6
    if dev.weights_in == "flash":
        if stats.weight_bytes > flash:
            return Fit(False, True, f"weights ({stats.weight_bytes:,} B) do not fit in {dev.name}'s "
                                    f"flash ({flash:,.0f} B)")
        if stats.activation_bytes > ram:
            return Fit(False, True, f"activations ({stats.activation_bytes:,} B) do not fit in "
                                    f"{dev.name}'s RAM ({ram:,.0f} B)")
    elif stats.weight_bytes + stats.activation_bytes > ram:
        return Fit(False, True, f"weights + activations ({stats.weight_bytes + stats.activation_bytes:,} B) "
                                f"do not fit in {dev.name}'s memory ({ram:,.0f} B)")
    return Fit(True, True)


@dataclass(frozen=True)
class Estimate:
    """An *estimated* inference latency (not a measurement), with its parts and whether the
    model fits and can run there (``ms`` is ``inf`` when it cannot)."""

    device: str
    model: str
    ms: float
    compute_ms: float
    memory_ms: float
    bound: str
    fits: bool
    runs: bool
    reason: str = ""
    kind: str = "estimate"

    def __str__(self) -> str:
        if not (self.fits and self.runs):
            return f"estimate: {self.model} cannot run on {self.device}: {self.reason}"
        return f"estimate: {self.model} on {self.device} ≈ {self.ms:.3g} ms ({self.bound}-bound)"


def estimate_latency(device: Union[str, Device], model: ModelStats) -> Estimate:
    """Roofline estimate of one inference of ``model`` on ``device``, in ms."""
    dev = _as_device(device)
    stats = _as_stats(model)
    fit = check_fit(dev, stats)
    peak = dev.peak_gops.get(stats.precision)
    eff = dev.efficiency.get(stats.precision)
    if not fit.runs or peak is None or eff is None:
        return Estimate(dev.name, stats.name, math.inf, math.inf, math.inf, "none", False, False, fit.reason)
    compute_ms = 2.0 * stats.macs / (peak * 1e9 * eff) * 1000.0
    memory_ms = (stats.weight_bytes + stats.activation_bytes) / (dev.mem_bw_gbs * 1e9) * 1000.0
    bound = "compute" if compute_ms >= memory_ms else "memory"
    if not fit.fits:
        return Estimate(dev.name, stats.name, math.inf, compute_ms, memory_ms, bound, False, True, fit.reason)
    ms = max(compute_ms, memory_ms) + dev.overhead_ms
    return Estimate(dev.name, stats.name, ms, compute_ms, memory_ms, bound, True, True)


# ---------------------------------------------------------------------------------------------
# Energy


def energy_per_inference_mj(device: Union[str, Device], latency_ms: float) -> float:
    """Compute energy of one inference: the device's active power x latency (mJ)."""
    dev = _as_device(device)
    return dev.active_w * _checks.number("latency_ms", latency_ms)


def battery_life_hours(battery_wh: float, energy_per_request_mj: float, requests_per_hour: float,
                       sleep_mw: float = 0.0) -> float:
    """Hours a battery of ``battery_wh`` lasts for a duty cycle: ``requests_per_hour`` requests of
    ``energy_per_request_mj`` each, and ``sleep_mw`` drawn the rest of the time."""
    wh = _checks.number("battery_wh", battery_wh, inclusive=False)
    per_request = _checks.number("energy_per_request_mj", energy_per_request_mj)
    rate = _checks.number("requests_per_hour", requests_per_hour)
    sleep = _checks.number("sleep_mw", sleep_mw)
    average_w = sleep / 1000.0 + per_request / 1000.0 * rate / 3600.0
    if average_w == 0:
        return math.inf
    return wh / average_w


# ---------------------------------------------------------------------------------------------
# Measurement on this machine


def measure_latency(model: Any, runs: int = 50, warmup: int = 5,
                    num_threads: Optional[int] = None) -> np.ndarray:
    """Run a real ``.tflite`` model (path or bytes) with LiteRT on this machine ``runs`` times
    and return each inference's latency in ms (a *measurement*, unlike :func:`estimate_latency`)."""
    from edgelab.runtime import load_interpreter

    runs = _checks.count("runs", runs, minimum=1, maximum=100_000)
    warmup = _checks.count("warmup", warmup, minimum=0, maximum=10_000)
    loaded = load_interpreter(model, num_threads=num_threads)
    interp = loaded.interpreter
    rng = np.random.default_rng(0)
    for detail in loaded.input_details:
        shape = [max(1, int(d)) for d in detail["shape"]]
        dtype = np.dtype(detail["dtype"])
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            data = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
        else:
            data = rng.normal(size=shape).astype(dtype)
        interp.set_tensor(detail["index"], data)
    for _ in range(warmup):
        interp.invoke()
    out = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        interp.invoke()
        out[i] = (time.perf_counter() - start) * 1000.0
    return out

