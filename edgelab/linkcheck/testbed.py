"""The testbed: a device and a server namespace joined by a veth pair, shaped to a link profile.

* rate: ``tc qdisc ... tbf`` on the device's egress (uplink) and the server's (downlink), with
  a one-packet bucket, so packets leave at the profile's rate one after another;
* delay: ``iptables -j NFQUEUE`` in the server's namespace sends every device-to-server TCP
  packet (SYN, data and ACK) to :mod:`edgelab.linkcheck.delay`, which holds it for a round
  trip drawn from the profile (the whole RTT is applied on the way in; TCP only sees the sum);
* congestion control: ``net.ipv4.tcp_congestion_control`` in both namespaces (cubic or bbr).

Everything needs root. Processes run at a real-time priority (``chrt``) where allowed, so a
busy machine's scheduling adds as little as possible to the round trips. :meth:`Testbed.close`
removes every process, both namespaces, and with them the veth pair, qdiscs and rules.
"""

from __future__ import annotations

import functools
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from edgelab import _checks, network
from edgelab.linkcheck.client import Timings
from edgelab.network import Link

SUBNET = "10.77.0"  # a private /24 that exists only inside the namespaces created here
CLIENT_IP, SERVER_IP, PORT = f"{SUBNET}.1", f"{SUBNET}.2", 8080
# One full frame (1514 B) fits: packets leave one at a time at the rate. The bucket refills while
# the link idles, so the first frame of a burst leaves at once: the testbed runs one frame time
# per idle-started burst faster than a real link (1.9 ms at 6.3 Mbit/s; measured medians of
# 10-packet requests sit 3-9 % under the simulation for this reason).
TBF_BURST_BYTES = 1600
REPO_ROOT = str(Path(__file__).resolve().parent.parent.parent)


def run(cmd: Sequence[str], check: bool = True, env: Optional[Dict[str, str]] = None,
        timeout: float = 20.0) -> subprocess.CompletedProcess:
    """Run a command; with ``check``, a failure raises RuntimeError with its stderr."""
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
    if not nfqueue_available():
        problems.append("the `netfilterqueue` package (pip; built against Debian's libnetfilter-queue-dev)")
    return problems


def nfqueue_available() -> bool:
    """True when the ``netfilterqueue`` binding imports."""
    try:
        import netfilterqueue  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def realtime() -> tuple:
    """``chrt -f 10`` where allowed (else nothing): a real-time priority for the measuring
    processes, so a busy machine's scheduling does not add to the round trips."""
    chrt = ("chrt", "-f", "10")
    if shutil.which("chrt") is None:
        return ()
    try:
        ok = subprocess.run([*chrt, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return chrt if ok else ()


def env_with_repo() -> Dict[str, str]:
    """This environment with the repository on PYTHONPATH (for ``python -m edgelab...``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def wait_ready(proc: subprocess.Popen, what: str, timeout: float = 30.0, log: Optional[Path] = None) -> None:
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


def burst_gap_ms(link: Link) -> float:
    """The pause after which the delay daemon draws a new delay: three segment times at the
    slower of the two rates (packets of one TCP flight, and their ACKs, come closer), at least 1 ms."""
    slowest = min(link.uplink_mbps, link.downlink_mbps) * link.duty_cycle
    return max(1.0, 3 * (network.MSS_BYTES + network.HEADER_BYTES) * 8 / (slowest * 1e3))


class Testbed:
    """Device and server namespaces joined by a veth pair, the inference server running.
    Use as a context manager; :meth:`shape` applies ``link``; :meth:`close` removes everything."""

    def __init__(self, link: Link, model_path: Union[str, Path], *, seed: int = 0,
                 congestion_control: str = "cubic") -> None:
        problems = missing()
        if problems:
            raise RuntimeError("the real-link check needs " + "; ".join(problems))
        self.link = link
        self.model_path = str(model_path)
        self.seed = seed
        self.congestion_control = _checks.choice("congestion_control", congestion_control,
                                                 network.CONGESTION_CONTROLS)
        tag = uuid.uuid4().hex[:6]
        self.client_ns, self.server_ns = f"elc-{tag}", f"els-{tag}"
        self.client_if, self.server_if = f"elc{tag}", f"els{tag}"
        self.processes: List[subprocess.Popen] = []
        self.daemon: Optional[subprocess.Popen] = None
        self._queue_rule = False
        self._shaped = False
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
        return run(["ip", "netns", "exec", ns, *cmd], **kwargs)

    def _create(self) -> None:
        cns, sns, cif, sif = self.client_ns, self.server_ns, self.client_if, self.server_if
        run(["ip", "netns", "add", cns])
        run(["ip", "netns", "add", sns])
        run(["ip", "link", "add", cif, "netns", cns, "type", "veth", "peer", "name", sif, "netns", sns])
        for ns, dev, ip, peer in ((cns, cif, CLIENT_IP, SERVER_IP), (sns, sif, SERVER_IP, CLIENT_IP)):
            run(["ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "-n", ns, "link", "set", dev, "up"])
            # one packet per segment, so the rate and the delay act on real packets (no GSO batches)
            run(["ip", "-n", ns, "link", "set", dev, "gso_max_size", "1500"], check=False)
            # the congestion control of every connection to the peer, both ways (a namespace's
            # default may only be set to the host's allowed list: a route may name any)
            run(["ip", "-n", ns, "route", "add", f"{peer}/32", "dev", dev,
                 "congctl", self.congestion_control])
            # each new connection starts like a first contact: no cached ssthresh from the last one
            self._ns(ns, "sysctl", "-qw", "net.ipv4.tcp_no_metrics_save=1")
        self._start_server()

    def _spawn(self, cmd: List[str], name: str) -> tuple[subprocess.Popen, Path]:
        """Start a long-running helper; its stderr goes to a log file (a pipe nobody reads
        could fill up and block it)."""
        log = Path(self.tmpdir, f"{name}-{len(self.processes)}.log")
        with open(log, "w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env_with_repo())
        self.processes.append(proc)
        return proc, log

    def _start_server(self) -> None:
        cmd = ["ip", "netns", "exec", self.server_ns, *realtime(), sys.executable, "-m", "edgelab.serve",
               "server", "--model", self.model_path, "--host", SERVER_IP, "--port", str(PORT)]
        proc, log = self._spawn(cmd, "server")
        wait_ready(proc, "the inference server", log=log)

    def start_delay(self, constant_ms: Optional[float] = None) -> None:
        """(Re)start the delay daemon: the link's RTT distribution, or a constant delay (used to
        calibrate the apparatus's own overhead)."""
        if self.daemon is not None:
            self._stop(self.daemon)
            self.processes.remove(self.daemon)
        shift, mu, sigma = self.link.rtt_lognormal
        cmd = ["ip", "netns", "exec", self.server_ns, *realtime(), sys.executable, "-m",
               "edgelab.linkcheck.delay", "--queue", "0", "--shift", repr(shift), "--mu", repr(mu),
               "--sigma", repr(sigma), "--seed", str(self.seed), "--burst-gap", repr(burst_gap_ms(self.link))]
        if constant_ms is not None:
            cmd += ["--constant", repr(float(constant_ms))]
        self.daemon, log = self._spawn(cmd, "delay")
        wait_ready(self.daemon, "the NFQUEUE delay daemon", log=log)
        if not self._queue_rule:  # every device-to-server TCP packet goes through the daemon
            self._ns(self.server_ns, "iptables", "-A", "INPUT", "-i", self.server_if, "-p", "tcp",
                     "-j", "NFQUEUE", "--queue-num", "0")
            self._queue_rule = True

    def shape(self) -> None:
        """Apply the link's rates (tbf) and RTT distribution (the delay daemon) until :meth:`close`."""
        ln = self.link
        if not self._shaped:
            for ns, dev, mbps in ((self.client_ns, self.client_if, ln.uplink_mbps),
                                  (self.server_ns, self.server_if, ln.downlink_mbps)):
                rate = f"{mbps * ln.duty_cycle * 1000:.3f}kbit"
                self._ns(ns, "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", rate,
                         "burst", str(TBF_BURST_BYTES), "latency", "10s")
            self._shaped = True
        self.start_delay()

    # -- use --------------------------------------------------------------------------------
    def round_trips(self, n: int, payload_bytes: int, response_bytes: int, *, connection: str = "reused",
                    idle_ms: float = 0.0, warmup: int = 2, deadline_s: float = 300.0) -> Timings:
        """Time ``n`` real HTTP round trips from the device's namespace."""
        cmd = ["ip", "netns", "exec", self.client_ns, *realtime(), sys.executable, "-m",
               "edgelab.linkcheck.client", "--url", self.url, "--n", str(n),
               "--payload", str(payload_bytes), "--response", str(response_bytes),
               "--connection", connection, "--idle-ms", repr(float(idle_ms)),
               "--warmup", str(warmup), "--deadline", str(deadline_s)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=deadline_s + 30,
                              env=env_with_repo())
        if proc.returncode != 0:
            raise RuntimeError(f"the client failed: {proc.stderr.strip()[-2000:]}")
        data = json.loads(proc.stdout)
        return Timings(data["round_trips_ms"], data["request_bytes"], data["response_bytes"])

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
            run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(self.tmpdir, ignore_errors=True)
