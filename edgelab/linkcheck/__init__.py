"""The real-link check: real TCP round trips through a shaped link, next to edgelab's simulation.

The latency lab's simulator (:mod:`edgelab.network`) is checked here against a real network
stack. Two network namespaces (a device and a server) are joined by a veth pair; the server
runs :mod:`edgelab.serve` with a real ``.tflite`` model; the client times real HTTP round
trips. The link is shaped by parts that do not share the simulator's formulas:

* **rate**: the kernel's token bucket filter (``tc qdisc ... tbf``) on each end's egress, the
  uplink on the device's side and the downlink on the server's;
* **delay**: every device-to-server TCP packet (SYNs and ACKs included) goes through
  ``iptables -j NFQUEUE`` to a small daemon (:mod:`edgelab.linkcheck.delay`) that holds it for
  a round-trip time drawn from the profile; packets of one burst share a delay, so order is
  kept, and a burst that follows a pause gets a new one. This machine's kernel has no netem.

Modules: :mod:`~edgelab.linkcheck.delay` (the daemon), :mod:`~edgelab.linkcheck.client` (the
timing client), :mod:`~edgelab.linkcheck.testbed` (namespaces, shaping, processes),
:mod:`~edgelab.linkcheck.measure` (measured vs simulated), :mod:`~edgelab.linkcheck.demo_model`
(a small model to serve) and :mod:`~edgelab.linkcheck.cli` (``edgelab measure-link``).
"""

from edgelab.linkcheck.measure import Case, CaseResult, LinkMeasurement, measure_cases, measure_link
from edgelab.linkcheck.testbed import Testbed, missing, nfqueue_available

__all__ = ["Case", "CaseResult", "LinkMeasurement", "Testbed", "measure_cases", "measure_link", "missing",
           "nfqueue_available"]
