"""Deploy models to a Raspberry Pi over SSH, to a simulated Pi, and to a fleet of them.

```python
from edgelab import deploy
pi = deploy.ssh_target("pi@raspberrypi.local", key="~/.ssh/id_ed25519",
                       known_hosts="~/.ssh/known_hosts")
pi.info()                                  # arch, CPU, RAM, OS, Python, runtime versions
release = pi.deploy("model.tflite")        # upload, verify, smoke-load, switch, health-check
report = pi.benchmark(runs=200)            # measured ON the device (edgelab.benchmark/1)
pi.rollback()
sim = deploy.simulated_target("raspberry-pi-5")   # no Pi: same API, reports say simulated
deploy.rollout([pi, sim], "model.tflite")  # canary, health gate, stages, report per device
```

The device side is one folder of three files (``agent.py``, ``bench.py``, ``collect.py``)
that needs only Python >= 3.9, numpy and ai-edge-litert; it is uploaded on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from edgelab.deploy.fleet import DeviceReport, RolloutReport, plan_stages, rollout
from edgelab.deploy.releases import Release, Target
from edgelab.deploy.simulated import (
    LocalTransport,
    check_profile,
    default_home,
    default_python,
    profile_scale,
)
from edgelab.deploy.ssh import DEFAULT_CONNECT_TIMEOUT, AuthError, ConnectError, HostKeyError, SSHTransport
from edgelab.errors import DeployError

__all__ = [
    "AuthError", "ConnectError", "DeployError", "DeviceReport", "HostKeyError", "Release", "RolloutReport",
    "Target", "plan_stages", "rollout", "simulated_target", "ssh_target",
]

DEFAULT_PYTHON = "~/edgelab-venv/bin/python"
DEFAULT_ROOT = "~/edgelab"


def ssh_target(spec: str, *, key: Optional[str] = None, known_hosts: str = "~/.ssh/known_hosts",
               port: Optional[int] = None, python: str = DEFAULT_PYTHON, root: str = DEFAULT_ROOT,
               connect_timeout: float = DEFAULT_CONNECT_TIMEOUT, python_named_by: str = "python=") -> Target:
    """A real device reached over SSH as ``user@host[:port]``.

    ``key`` is a private key file (None: use ssh-agent); host keys must already be in
    ``known_hosts`` (never added automatically). ``python`` is the device's Python with numpy
    and ai-edge-litert (or tflite-runtime on 32-bit Pi OS); ``python_named_by`` says where that
    setting came from, for the error when it is wrong; ``root`` the device folder holding releases.
    Nothing connects until the first command; an unreachable host then fails within
    ``connect_timeout`` seconds.
    """
    transport = SSHTransport(spec, key=key, known_hosts=known_hosts, port=port,
                             connect_timeout=connect_timeout)
    return Target(transport, python=python, root=root, python_named_by=python_named_by)


def simulated_target(profile: str = "raspberry-pi-5", *, scale: Optional[float] = None,
                     home: Union[str, Path, None] = None, python: Optional[str] = None,
                     root: str = DEFAULT_ROOT, name: Optional[str] = None) -> Target:
    """A simulated device: the same agent run locally in ``home`` (default
    ``~/.local/state/edgelab/simulated/<profile>``), timings multiplied by ``scale`` (default: the
    profile's factor from ``edgelab.devices`` when available, else 1.0). Its reports say
    ``"simulated": true`` and name the profile."""
    check_profile(profile)
    if scale is None:
        scale = profile_scale(profile)
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0 < scale <= 10_000:
        raise ValueError("scale must be a number from 0 to 10000 (device time / this machine's); "
                         f"got {scale!r}")
    home = Path(home).expanduser() if home is not None else default_home(profile)
    transport = LocalTransport(home, name or f"simulated:{profile}@{home}")
    return Target(transport, python=python or default_python(), root=root, profile=profile, scale=scale)
