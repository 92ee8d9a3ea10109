"""The real-link check: shape a real veth link to a profile and time real HTTP round trips.

Two network namespaces (client and server, a private /24 between them on a veth pair) stand
in for a device and a cloud server. The server runs :mod:`edgelab.serve` with a real
``.tflite`` model. Packets are really delayed, jittered, dropped and rate-limited:

* **netem** where the kernel has it (``tc qdisc ... netem``): delay drawn from the profile's
  shifted log-normal through a generated distribution table, loss, and rate;
* else **nfqueue** (this machine's kernel has no netem): ``iptables -j NFQUEUE`` sends each
  client-to-server packet to a small daemon (``python -m edgelab.shaper delay``, this module)
  that holds it for its serialization time at the uplink rate plus one RTT drawn from the
  profile (packets that arrive while others wait share their delay, so order is kept);
  ``iptables -m statistic`` drops packets in both directions; ``tbf`` limits the downlink.

Everything needs root. :func:`measure_link` first calibrates the apparatus (server, kernel
stack and shaper overhead, measured at a known constant delay), then returns the measured
round trips next to :func:`edgelab.network.simulate_cloud`'s simulation of exactly the shaped
parameters plus that overhead. Server, client and daemon run at a real-time priority
(``chrt``) where allowed, so a busy machine's scheduling does not add to the round trips.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import math
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from edgelab import _checks
from edgelab.network import Link, PathResult, _as_link, simulate_cloud

SUBNET = "10.77.0"  # a private /24 that exists only inside the namespaces created here
CLIENT_IP, SERVER_IP, PORT = f"{SUBNET}.1", f"{SUBNET}.2", 8080
NETEM_DIST_SCALE = 8192  # tc's distribution tables hold N(0, 1)-like values x 8192 in int16
REQUEST_HEADER_BYTES = 85  # the client's request line and headers (edgelab.serve)
RESPONSE_HEADER_BYTES = 70  # the server's status line and headers
REPO_ROOT = str(Path(__file__).resolve().parent.parent)


# ---------------------------------------------------------------------------------------------
# The NFQUEUE delay daemon (runs inside the server's namespace)


SPIN_S = 0.001  # the daemon wakes this early and polls, so a release is not late by a wake-up


def run_delay_daemon(queue_num: int, shift_ms: float, mu: float, sigma: float, seed: int,
                     max_seconds: float = 3600.0, constant_ms: Optional[float] = None,
                     rate_mbps: Optional[float] = None) -> None:
    """Hold each queued packet for its serialization time at ``rate_mbps`` (packets queue for
    the line one after another, Ethernet header counted) plus one RTT drawn from
    shift + lognormal(mu, sigma) ms (or ``constant_ms``), keeping their order. Stops on
    SIGTERM/SIGINT or after ``max_seconds``."""
    from netfilterqueue import NetfilterQueue

    rng = np.random.default_rng(seed)
    held: collections.deque = collections.deque()
    state = {"last_release": 0.0, "delay": 0.0, "line_free": 0.0, "stop": False}
    seconds_per_byte = 8.0 / (rate_mbps * 1e6) if rate_mbps else 0.0

    def on_packet(pkt) -> None:
        now = time.monotonic()
        sent = max(now, state["line_free"]) + (pkt.get_payload_len() + 14) * seconds_per_byte
        state["line_free"] = sent
        if not held:  # a new burst: draw a new delay; packets of a burst share it
            drawn = constant_ms if constant_ms is not None else shift_ms + rng.lognormal(mu, sigma)
            state["delay"] = drawn / 1000.0
        release = max(sent + state["delay"], state["last_release"])
        state["last_release"] = release
        pkt.retain()
        held.append((release, pkt))

    def stop(*_: object) -> None:
        state["stop"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    nfq = NetfilterQueue()
    nfq.bind(queue_num, on_packet, max_len=4096)
    fd = nfq.get_fd()
    end = time.monotonic() + max_seconds
    print("READY", flush=True)
    try:
        while not state["stop"] and time.monotonic() < end:
            now = time.monotonic()
            while held and held[0][0] <= now:
                held.popleft()[1].accept()
            wait = held[0][0] - now if held else 0.2
            timeout = min(0.2, wait - SPIN_S) if wait > 2 * SPIN_S else 0.0
            try:
                ready, _, _ = select.select([fd], [], [], timeout)
            except InterruptedError:
                continue
            if ready:
                nfq.run(block=False)
    finally:
        for _, pkt in held:
            pkt.accept()
        nfq.unbind()


# ---------------------------------------------------------------------------------------------
# Probing and the testbed


def _run(cmd: Sequence[str], check: bool = True, env: Optional[Dict[str, str]] = None,
         timeout: float = 20.0) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def missing() -> List[str]:
    """What this machine lacks for the real-link check (empty when it can run)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("root (network namespaces and iptables need it)")
    for tool in ("ip", "tc", "iptables"):
        if shutil.which(tool) is None:
            problems.append(f"the `{tool}` command (Debian: iproute2 / iptables)")
    return problems


def netem_available() -> bool:
    """True when the kernel has the netem qdisc (probed in a scratch namespace)."""
    if missing():
        return False
    ns = f"elprobe-{uuid.uuid4().hex[:6]}"
    try:
        _run(["ip", "netns", "add", ns])
        return _run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                     "delay", "1ms"], check=False).returncode == 0
    except (RuntimeError, subprocess.SubprocessError, OSError):
        return False
    finally:
        _run(["ip", "netns", "del", ns], check=False)


def nfqueue_available() -> bool:
    """True when the ``netfilterqueue`` binding imports."""
    try:
        import netfilterqueue  # noqa: F401
    except ImportError:
        return False
    return True


def netem_table(link: Link, size: int = 4096) -> tuple[float, float, List[int]]:
    """``(mean_ms, std_ms, table)`` that make netem draw the link's RTT: netem adds
    ``mean + std * table[i] / 8192`` for a random ``i``, so the table holds the standardized
    quantiles of the shifted log-normal (clipped to int16, i.e. about ±4 standard deviations)."""
    shift, mu, sigma = link.rtt_lognormal
    from statistics import NormalDist

    probs = (np.arange(size) + 0.5) / size
    z = np.array([NormalDist().inv_cdf(p) for p in probs])
    values = shift + np.exp(mu + sigma * z)
    mean, std = float(values.mean()), float(values.std())
    table = np.clip(np.round((values - mean) / std * NETEM_DIST_SCALE), -32767, 32767).astype(int)
    return mean, std, table.tolist()


@functools.lru_cache(maxsize=1)
def _realtime() -> tuple:
    """Run the measuring processes at a real-time priority where ``chrt`` may: on a busy
    machine, scheduling delays would otherwise add milliseconds to the measured round trips."""
    chrt = ["chrt", "-f", "10"]
    if shutil.which("chrt") is None:
        return ()
    try:
        ok = subprocess.run([*chrt, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return tuple(chrt) if ok else ()


def _rate(mbps: float) -> List[str]:
    return ["rate", f"{mbps * 1000:.3f}kbit"]


def netem_args(link: Link, folder: Union[str, Path]) -> tuple[List[str], List[str], Dict[str, str]]:
    """The ``tc qdisc add dev IF root ...`` arguments for the client side (delay drawn from the
    link's RTT distribution, loss, uplink rate) and the server side (loss, downlink rate), and
    the environment that points tc at the distribution table written into ``folder``."""
    mean, std, table = netem_table(link)
    rows = (" ".join(str(v) for v in table[i:i + 8]) for i in range(0, len(table), 8))
    Path(folder, "edgelab.dist").write_text("# edgelab shifted log-normal RTT\n" + "\n".join(rows) + "\n")
    loss = ["loss", f"{link.loss * 100:.4f}%"] if link.loss > 0 else []
    client = ["netem", "limit", "100000", "delay", f"{mean:.3f}ms", f"{std:.3f}ms", "distribution", "edgelab",
              *loss, *_rate(link.uplink_mbps * link.duty_cycle)]
    server = ["netem", "limit", "100000", *loss, *_rate(link.downlink_mbps * link.duty_cycle)]
    return client, server, dict(os.environ, TC_LIB_DIR=str(folder))


def _env_with_repo() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _wait_ready(proc: subprocess.Popen, what: str, timeout: float = 30.0,
                log: Optional[Path] = None) -> None:
    """Wait for ``proc`` to print READY; else raise with its stderr (or its ``log`` file)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.strip() == "READY":
                return
            if line == "" and proc.poll() is not None:
                break
        elif proc.poll() is not None:
            break
    if log is not None:
        err = log.read_text(errors="replace") if log.exists() else ""
    else:
        err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
    raise RuntimeError(f"{what} did not start within {timeout:g} s: {err.strip()[-2000:]}")


class Testbed:
    """Client and server namespaces joined by a veth pair shaped to ``link``, with the
    inference server running. Use as a context manager; :meth:`close` removes everything
    (processes, namespaces, and with them the veth pair, qdiscs and iptables rules)."""

    def __init__(self, link: Link, model_path: Union[str, Path], seed: int = 0,
                 shaper: Optional[str] = None) -> None:
        problems = missing()
        if problems:
            raise RuntimeError("the real-link check needs " + "; ".join(problems))
        self.link = link
        self.model_path = str(model_path)
        self.seed = seed
        self.shaper = shaper or ("netem" if netem_available() else "nfqueue")
        _checks.choice("shaper", self.shaper, ("netem", "nfqueue"))
        if self.shaper == "nfqueue" and not nfqueue_available():
            raise RuntimeError("the nfqueue shaper needs the `netfilterqueue` package "
                               "(pip; build it against Debian's libnetfilter-queue-dev)")
        tag = uuid.uuid4().hex[:6]
        self.client_ns, self.server_ns = f"elc-{tag}", f"els-{tag}"
        self.client_if, self.server_if = f"elc{tag}", f"els{tag}"
        self.processes: List[subprocess.Popen] = []
        self.daemon: Optional[subprocess.Popen] = None
        self._queue_rule = False
        self.tmpdir = tempfile.mkdtemp(prefix="edgelab-link-")
        self.url = f"http://{SERVER_IP}:{PORT}/infer"

    # -- set-up -----------------------------------------------------------------------------
    def __enter__(self) -> Testbed:
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ns(self, ns: str, *cmd: str, **kwargs) -> subprocess.CompletedProcess:
        return _run(["ip", "netns", "exec", ns, *cmd], **kwargs)

    def _create(self) -> None:
        cns, sns, cif, sif = self.client_ns, self.server_ns, self.client_if, self.server_if
        _run(["ip", "netns", "add", cns])
        _run(["ip", "netns", "add", sns])
        _run(["ip", "link", "add", cif, "netns", cns, "type", "veth", "peer", "name", sif, "netns", sns])
        for ns, dev, ip in ((cns, cif, CLIENT_IP), (sns, sif, SERVER_IP)):
            _run(["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev])
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            _run(["ip", "-n", ns, "link", "set", dev, "up"])
            # one packet per segment, so loss and rate act on real packets (no GSO/TSO batches)
            _run(["ip", "-n", ns, "link", "set", dev, "gso_max_size", "1500"], check=False)
        self._start_server()

    def shape(self) -> None:
        """Apply the link's delay, jitter, loss and rate (until :meth:`close`)."""
        if self.shaper == "netem":
            self._shape_netem()
        else:
            self._shape_nfqueue()

    def _spawn(self, cmd: List[str], name: str) -> tuple[subprocess.Popen, Path]:
        """Start a long-running helper; its stderr goes to a log file (a pipe nobody reads
        could fill up and block it)."""
        log = Path(self.tmpdir, f"{name}-{len(self.processes)}.log")
        with open(log, "w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=_env_with_repo())
        self.processes.append(proc)
        return proc, log

    def _start_server(self) -> None:
        cmd = ["ip", "netns", "exec", self.server_ns, *_realtime(), sys.executable, "-m", "edgelab.serve",
               "server", "--model", self.model_path, "--host", SERVER_IP, "--port", str(PORT)]
        proc, log = self._spawn(cmd, "server")
        _wait_ready(proc, "the inference server", log=log)

    def start_delay(self, constant_ms: Optional[float] = None, rate_mbps: Optional[float] = None) -> None:
        """(Re)start the NFQUEUE daemon: the link's RTT distribution, or a constant delay
        (used to calibrate the shaper's own overhead), with uplink serialization at ``rate_mbps``."""
        if self.daemon is not None:
            self._stop(self.daemon)
            self.processes.remove(self.daemon)
        shift, mu, sigma = self.link.rtt_lognormal
        cmd = ["ip", "netns", "exec", self.server_ns, *_realtime(), sys.executable, "-m", "edgelab.shaper",
               "delay",
               "--queue", "0", "--shift", repr(shift), "--mu", repr(mu), "--sigma", repr(sigma),
               "--seed", str(self.seed)]
        if constant_ms is not None:
            cmd += ["--constant", repr(float(constant_ms))]
        if rate_mbps is not None:
            cmd += ["--rate-mbps", repr(float(rate_mbps))]
        self.daemon, log = self._spawn(cmd, "delay")
        _wait_ready(self.daemon, "the NFQUEUE delay daemon", log=log)
        if not self._queue_rule:  # every client-to-server TCP packet goes through the daemon
            self._ns(self.server_ns, "iptables", "-A", "INPUT", "-i", self.server_if, "-p", "tcp",
                     "-j", "NFQUEUE", "--queue-num", "0")
            self._queue_rule = True

    def _shape_nfqueue(self) -> None:
        ln = self.link
        # downlink rate: tbf on the server's side (uplink serialization is done by the daemon,
        # packet by packet: tbf would let a first packet through at line rate)
        self._ns(self.server_ns, "tc", "qdisc", "add", "dev", self.server_if, "root", "tbf",
                 *_rate(ln.downlink_mbps * ln.duty_cycle), "burst", "1600", "latency", "5s")
        if ln.loss > 0:
            for ns, dev in ((self.client_ns, self.client_if), (self.server_ns, self.server_if)):
                # inserted first: a dropped packet never reaches the delay queue
                self._ns(ns, "iptables", "-I", "INPUT", "1", "-i", dev, "-p", "tcp", "-m", "statistic",
                         "--mode", "random", "--probability", f"{ln.loss:.6f}", "-j", "DROP")
        self.start_delay(rate_mbps=ln.uplink_mbps * ln.duty_cycle)

    def _shape_netem(self) -> None:
        client_args, server_args, env = netem_args(self.link, self.tmpdir)
        self._ns(self.client_ns, "tc", "qdisc", "add", "dev", self.client_if, "root", *client_args, env=env)
        self._ns(self.server_ns, "tc", "qdisc", "add", "dev", self.server_if, "root", *server_args, env=env)

    # -- use --------------------------------------------------------------------------------
    def round_trips(self, n: int, payload_bytes: int, response_bytes: int, new_connection: bool = False,
                    deadline_s: float = 300.0) -> np.ndarray:
        """Time ``n`` real HTTP round trips from the client namespace (ms)."""
        cmd = ["ip", "netns", "exec", self.client_ns, *_realtime(), sys.executable, "-m", "edgelab.serve",
               "client",
               "--url", self.url, "--n", str(n), "--payload", str(payload_bytes), "--response",
               str(response_bytes), "--deadline", str(deadline_s)]
        if new_connection:
            cmd.append("--new-connection")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=deadline_s + 30,
                              env=_env_with_repo())
        if proc.returncode != 0:
            raise RuntimeError(f"the client failed: {proc.stderr.strip()[-2000:]}")
        return np.asarray(json.loads(proc.stdout)["round_trips_ms"])

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """Stop every process started here and delete both namespaces (idempotent)."""
        for proc in reversed(self.processes):
            self._stop(proc)
        self.processes.clear()
        self.daemon = None
        for ns in (self.client_ns, self.server_ns):
            _run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(self.tmpdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Measured vs simulated


@dataclass(frozen=True)
class LinkMeasurement:
    """Real round trips through a shaped link next to the simulation of the same parameters."""

    link: Link
    shaper: str
    measured_ms: np.ndarray = field(repr=False)
    simulated: PathResult = field(repr=False)
    baseline_ms: float
    payload_bytes: int
    response_bytes: int

    def stats(self) -> Dict[str, Dict[str, float]]:
        """p50/p95/p99 and mean of both, in ms."""
        measured = {f"p{q}_ms": float(np.percentile(self.measured_ms, q)) for q in (50, 95, 99)}
        measured["mean_ms"] = float(self.measured_ms.mean())
        simulated = {f"p{q}_ms": self.simulated.percentile(q) for q in (50, 95, 99)}
        simulated["mean_ms"] = float(self.simulated.latency_ms.mean())
        return {"measured": measured, "simulated": simulated}

    def summary(self, show: bool = True) -> Dict[str, Dict[str, float]]:
        """Print simulated vs measured side by side; return the numbers."""
        table = self.stats()
        if show:
            ln = self.link
            print(f"link {ln.name}: RTT median {ln.rtt_median_ms:g} ms, p95 {ln.rtt_p95_ms:g} ms, "
                  f"up {ln.uplink_mbps:g} / down {ln.downlink_mbps:g} Mbit/s, loss {ln.loss:.2%}; "
                  f"shaper: {self.shaper}")
            print(f"{self.measured_ms.size} requests of {self.payload_bytes} B "
                  f"(answers {self.response_bytes} B); "
                  f"server, stack and shaper overhead (calibrated): {self.baseline_ms:.2f} ms")
            print(f"{'':10}{'simulated':>12}{'measured':>12}{'ratio':>8}")
            for key in ("p50_ms", "p95_ms", "p99_ms", "mean_ms"):
                sim, meas = table["simulated"][key], table["measured"][key]
                print(f"{key[:-3]:10}{sim:10.1f}ms{meas:10.1f}ms{meas / sim:8.2f}")
        return table


def measure_link(link: Union[str, Link], model_path: Union[str, Path], *, n: int = 200,
                 payload_bytes: int = 1000, response_bytes: int = 200, scale: float = 1.0,
                 seed: int = 0, shaper: Optional[str] = None) -> LinkMeasurement:
    """Shape a real link to ``link`` (RTTs times ``scale``), time ``n`` real HTTP round trips
    to a LiteRT server, and simulate exactly those parameters with the measured unshaped
    server time. Needs root, iproute2, iptables, and netem or ``netfilterqueue``."""
    ln = _as_link(link)
    n = _checks.count("n", n, minimum=1, maximum=100_000)
    payload = _checks.count("payload_bytes", payload_bytes, minimum=0, maximum=64 * 1024 * 1024)
    response = _checks.count("response_bytes", response_bytes, minimum=0, maximum=64 * 1024 * 1024)
    if _checks.number("scale", scale, inclusive=False) != 1.0:
        ln = ln.scaled(scale)
    ln = ln.with_(availability=1.0, outage_mean_s=0.0)  # outages are not shaped
    expected_s = n * (ln.rtt_median_ms + 300 * ln.loss * 4) / 1000 + 30
    with Testbed(ln, model_path, seed=seed, shaper=shaper) as bed:
        if bed.shaper == "nfqueue":
            # calibrate: server + stack + the daemon's own wake-up overhead, at a known delay
            known = ln.rtt_median_ms
            bed.start_delay(constant_ms=known)
            baseline = float(np.median(bed.round_trips(100, payload, response))) - known
        else:
            baseline = float(np.median(bed.round_trips(30, payload, response)))  # server + stack
        baseline = max(baseline, 0.0)
        bed.shape()
        measured = bed.round_trips(n, payload, response, deadline_s=max(60.0, 4 * expected_s))
        used = bed.shaper
    simulated = simulate_cloud(ln, payload + REQUEST_HEADER_BYTES, response + RESPONSE_HEADER_BYTES,
                               server_ms=baseline, service_cv=0.0, request_rate=1.0, n=200_000,
                               seed=seed, label=f"simulated {ln.name}")
    return LinkMeasurement(ln, used, measured, simulated, baseline, payload, response)


DEMO_MODEL_SCRIPT = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, tensorflow as tf
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                          keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
open(sys.argv[1], "wb").write(tf.lite.TFLiteConverter.from_keras_model(model).convert())
"""


def demo_model(path: Optional[Union[str, Path]] = None) -> Path:
    """A small real ``.tflite`` classifier for the inference server, built once with TensorFlow
    (in a subprocess) and cached under ``~/.cache/edgelab``."""
    target = Path(path) if path else Path.home() / ".cache" / "edgelab" / "measure-link.tflite"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        subprocess.run([sys.executable, "-c", DEMO_MODEL_SCRIPT, str(partial)], check=True,
                       capture_output=True, timeout=600)
        partial.replace(target)
    return target


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``edgelab measure-link`` to the command line."""
    p = commands.add_parser("measure-link", help="shape a real veth link to a profile and compare real "
                            "round trips with the simulation (needs root)")
    p.add_argument("profile", help="link profile name, e.g. 4g-lte")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the profile's RTTs (e.g. 0.1 for "
                   "geo-satellite to finish quickly); the simulation uses the same scaled figures")
    p.add_argument("-n", "--requests", type=int, default=200, help="round trips to measure (default 200)")
    p.add_argument("--payload", type=int, default=1000, help="request body in bytes (default 1000)")
    p.add_argument("--response", type=int, default=200, help="answer body in bytes (default 200)")
    p.add_argument("--model", default=None, help=".tflite model to serve (default: a small demo model)")
    p.add_argument("--shaper", choices=("netem", "nfqueue"), default=None,
                   help="force a shaper (default: netem if the kernel has it, else nfqueue)")
    p.add_argument("--seed", type=int, default=0)


def run_cli(args: argparse.Namespace) -> int:
    """Run ``edgelab measure-link``: print simulated vs measured; 2 on bad input, 1 if it cannot run."""
    try:
        link_profile = _as_link(args.profile)
        problems = missing()
        if problems:
            print("measure-link needs " + "; ".join(problems), file=sys.stderr)
            return 1
        model = Path(args.model) if args.model else demo_model()
        result = measure_link(link_profile, model, n=args.requests, payload_bytes=args.payload,
                              response_bytes=args.response, scale=args.scale, seed=args.seed,
                              shaper=args.shaper)
    except ValueError as exc:
        print(f"edgelab measure-link: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"edgelab measure-link: {exc}", file=sys.stderr)
        return 1
    result.summary()
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgelab.shaper")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("delay", help="run the NFQUEUE delay daemon (inside a namespace)")
    d.add_argument("--queue", type=int, default=0)
    d.add_argument("--shift", type=float, required=True)
    d.add_argument("--mu", type=float, required=True)
    d.add_argument("--sigma", type=float, required=True)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--max-seconds", type=float, default=3600.0)
    d.add_argument("--constant", type=float, default=None, help="hold every packet this many ms")
    d.add_argument("--rate-mbps", type=float, default=None, help="serialize packets at this rate")
    args = parser.parse_args(argv)
    if not all(math.isfinite(v) for v in (args.shift, args.mu, args.sigma)):
        parser.error("--shift, --mu and --sigma must be finite")
    if args.rate_mbps is not None and not (math.isfinite(args.rate_mbps) and args.rate_mbps > 0):
        parser.error("--rate-mbps must be a finite number > 0")
    run_delay_daemon(args.queue, args.shift, args.mu, args.sigma, args.seed, args.max_seconds,
                     args.constant, args.rate_mbps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
