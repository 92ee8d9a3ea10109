"""A simulated device: the same agent and release workflow, run locally in a folder.

For learners without a Raspberry Pi. The agent runs in a subprocess with this machine's
Python (or another one you pass) in a "device home" folder; benchmark timings are multiplied
by the profile's scale factor and every report says ``"simulated": true`` and the profile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

from edgelab.deploy.ssh import CommandResult, Progress
from edgelab.errors import DeployError

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


class LocalTransport:
    """Runs device commands as local subprocesses in ``home`` (the simulated login folder)."""

    def __init__(self, home: Path, name: str) -> None:
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.name = name

    def run(self, argv: Sequence[str], stdin: Optional[bytes] = None, timeout: float = 600.0,
            progress: Optional[Progress] = None) -> CommandResult:
        """Run ``argv`` (a list: no shell parses it) in the device home, feeding ``stdin``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["HOME"] = str(self.home)
        try:
            proc = subprocess.Popen([str(a) for a in argv], cwd=self.home, env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:  # like a shell's "command not found"
            return CommandResult(127, b"", f"{argv[0]}: {exc.strerror}: No such file".encode())
        try:
            if stdin is not None and progress is not None:
                for start in range(0, len(stdin), 16384):
                    proc.stdin.write(stdin[start:start + 16384])
                    progress(min(start + 16384, len(stdin)), len(stdin))
                stdin = b""
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise DeployError(f"{self.name}: command took more than {timeout:g} s") from None
        except BrokenPipeError:
            out, err = proc.communicate()
        return CommandResult(proc.returncode, out, err)

    def close(self) -> None:
        pass


REFERENCE_PROFILE = "cloud-cpu"


def profile_scale(profile: str, precision: str = "fp32") -> float:
    """How many times slower than this machine the profile's device runs a model.

    From ``edgelab.devices``: the reference profile's effective throughput (peak x efficiency)
    over the profile's. ASSUMPTION: this machine runs LiteRT like the ``cloud-cpu`` profile
    (one server core); pass ``scale=`` to a simulated target to use a measured factor instead.
    Raises ValueError for an unknown profile, or one that cannot run ``precision`` on its own.
    """
    try:
        from edgelab import devices
    except ImportError:  # a minimal install without the profiles: this machine's timings
        return 1.0

    def rate(name: str) -> Optional[float]:
        found = devices.device(name)
        peak, efficiency = found.peak_gops.get(precision), found.efficiency.get(precision)
        return None if peak is None or efficiency is None else peak * efficiency

    target, reference = rate(profile), rate(REFERENCE_PROFILE)
    if target is None or reference is None:
        raise ValueError(f"profile {profile!r} has no {precision} throughput to scale by (e.g. an "
                         "accelerator that runs only int8 models); pass scale= explicitly")
    return reference / target


def check_profile(profile: str) -> str:
    """A profile name is lowercase letters, digits and ``-_.`` (it becomes a folder name)."""
    if not isinstance(profile, str) or not profile or not set(profile) <= _NAME_CHARS:
        raise ValueError(f"profile must be a device profile name like 'raspberry-pi-5' (lowercase letters, "
                         f"digits, '-', '_', '.'); got {profile!r}")
    return profile


def default_home(profile: str) -> Path:
    """Where a simulated device keeps its releases: ``$XDG_STATE_HOME/edgelab/simulated/<profile>``
    (default ``~/.local/state/...``). A device's releases are state, not a cache."""
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "edgelab" / "simulated" / profile


def default_python() -> str:
    return sys.executable
