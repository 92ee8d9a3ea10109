"""The SSH transport to a real device: paramiko, known host keys only, keys or an agent only.

* Host keys are checked against a known_hosts file with a :class:`paramiko.RejectPolicy`
  subclass: an unknown or changed key is refused, with its ``SHA256:`` fingerprint and the
  line to add once the fingerprint was checked on the device itself.
* No passwords: a private key file or the user's ssh-agent.
* Every remote argument goes through :func:`shlex.quote`.
* An unreachable host fails within ``connect_timeout`` seconds (TCP connect and SSH banner).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from edgelab.errors import DeployError

Progress = Callable[[int, int], None]
DEFAULT_CONNECT_TIMEOUT = 5.0
_SPEC = re.compile(r"^(?:(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@)?"
                   r"(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?$")


class HostKeyError(DeployError):
    """The device's host key is not in known_hosts, or differs from the one recorded there."""


class ConnectError(DeployError):
    """The device cannot be reached (name, network, or no SSH server answering in time)."""


class AuthError(DeployError):
    """The device refused the key (or no key/agent could be used)."""


@dataclass(frozen=True)
class CommandResult:
    """What a remote (or local) command returned."""

    returncode: int
    stdout: bytes
    stderr: bytes


def parse_target(spec: str, port: Optional[int] = None) -> tuple[str, str, int]:
    """Split ``user@host[:port]`` into (user, host, port); ValueError if malformed."""
    match = _SPEC.match(spec.strip()) if isinstance(spec, str) else None
    if not match:
        raise ValueError(f"target must look like user@host or user@host:port (e.g. "
                         f"pi@raspberrypi.local); got {spec!r}")
    number = int(match.group("port") or port or 22)
    if not 1 <= number <= 65535:
        raise ValueError(f"port must be from 1 to 65535; got {number}")
    return match.group("user") or "pi", match.group("host").strip("[]"), number


def fingerprint(key: Any) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint of a paramiko public key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _host_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def _trust_hint(host: str, port: int, key: Any, known_hosts: Path) -> str:
    line = f"{_host_entry(host, port)} {key.get_name()} {key.get_base64()}"
    return (f"Check this fingerprint ON THE DEVICE (its own screen or console): "
            f"`ssh-keygen -lf /etc/ssh/ssh_host_{_key_file_type(key)}_key.pub` must print "
            f"{fingerprint(key)}. Only if it matches, trust it with:\n"
            f"  echo {shlex.quote(line)} >> {shlex.quote(str(known_hosts))}")


def _key_file_type(key: Any) -> str:
    name = key.get_name()
    return {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa"}.get(name, "ecdsa" if "ecdsa" in name else name)


def _reject_policy(known_hosts: Path) -> Any:
    import paramiko

    class RefuseUnknownHostKey(paramiko.RejectPolicy):
        """Refuse an unknown host key, saying how to check and trust it."""

        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            host, _, port = hostname.strip("[").partition("]:")
            raise HostKeyError(f"unknown host key for {hostname}: {key.get_name()} {fingerprint(key)} is "
                               f"not in {known_hosts}. "
                               + _trust_hint(host, int(port or 22), key, known_hosts))

    return RefuseUnknownHostKey()


class SSHTransport:
    """One authenticated SSH connection to a device, running quoted commands."""

    def __init__(self, spec: str, *, key: Optional[str] = None, known_hosts: str = "~/.ssh/known_hosts",
                 port: Optional[int] = None, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> None:
        self.user, self.host, self.port = parse_target(spec, port)
        self.name = f"{self.user}@{self.host}:{self.port}"
        if not (isinstance(connect_timeout, (int, float)) and 0 < connect_timeout <= 120):
            raise ValueError(f"connect_timeout must be from 0 to 120 seconds; got {connect_timeout!r}")
        self.connect_timeout = float(connect_timeout)
        self.key = None
        if key is not None:
            path = Path(os.path.expanduser(str(key)))
            if not path.is_file():
                raise ValueError(f"key must be a private key file (e.g. ~/.ssh/id_ed25519); {path} does "
                                 "not exist. Create one with `ssh-keygen -t ed25519` and copy it to the "
                                 "device with `ssh-copy-id`.")
            self.key = path
        self.known_hosts = Path(os.path.expanduser(str(known_hosts)))
        if not self.known_hosts.is_file():
            raise ValueError(f"known_hosts must be an existing file; {self.known_hosts} does not exist. "
                             f"Connect once with `ssh -p {self.port} {self.user}@{self.host}` after checking "
                             "the device's fingerprint on the device, or pass known_hosts=...")
        self._client: Any = None

    # -- connection --

    def connect(self) -> None:
        """Open the connection (done lazily by :meth:`run`)."""
        if self._client is not None and self._client.get_transport() is not None \
                and self._client.get_transport().is_active():
            return
        import paramiko

        client = paramiko.SSHClient()
        try:
            client.load_host_keys(str(self.known_hosts))
        except (OSError, paramiko.SSHException) as exc:
            raise ValueError(f"known_hosts file {self.known_hosts} cannot be read: {exc}") from None
        client.set_missing_host_key_policy(_reject_policy(self.known_hosts))
        start = time.monotonic()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except socket.gaierror as exc:
            raise ConnectError(f"unknown target {self.host!r}: the name does not resolve "
                               f"({exc.strerror}). Check the hostname (e.g. raspberrypi.local) or use "
                               "the device's IP.") from None
        except (socket.timeout, TimeoutError):
            raise ConnectError(f"{self.name} is unreachable: no answer within {self.connect_timeout:g} s. "
                               "Is the device on, on this network, and is SSH enabled?") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self.name}: {exc.strerror or exc}. Is SSH enabled "
                               "on the device and the port right?") from None
        left = max(0.5, self.connect_timeout - (time.monotonic() - start))
        try:
            client.connect(self.host, port=self.port, username=self.user, sock=sock,
                           key_filename=str(self.key) if self.key else None,
                           look_for_keys=False, allow_agent=self.key is None, password=None,
                           timeout=left, banner_timeout=left, auth_timeout=left)
        except HostKeyError:
            sock.close()
            raise
        except paramiko.BadHostKeyException as exc:
            sock.close()
            raise HostKeyError(
                f"HOST KEY CHANGED for {self.name}: the device presents {exc.key.get_name()} "
                f"{fingerprint(exc.key)}, but {self.known_hosts} records {fingerprint(exc.expected_key)}. "
                "This is either a reinstalled device or someone intercepting the connection. "
                f"Remove the old entry with `ssh-keygen -R {shlex.quote(_host_entry(self.host, self.port))} "
                f"-f {shlex.quote(str(self.known_hosts))}`; then "
                + _trust_hint(self.host, self.port, exc.key, self.known_hosts)) from None
        except paramiko.PasswordRequiredException:
            sock.close()
            raise AuthError(f"the key {self.key} is protected by a passphrase: load it into ssh-agent "
                            "(`ssh-add`) and pass key=None. edgelab never asks for or stores passwords.") \
                from None
        except paramiko.AuthenticationException:
            sock.close()
            how = f"the key {self.key}" if self.key else "the keys in your ssh-agent"
            raise AuthError(f"{self.name} refused {how} for user {self.user!r}. Install the public key on "
                            f"the device: `ssh-copy-id -i {self.key or '~/.ssh/id_ed25519'}.pub "
                            f"-p {self.port} {self.user}@{self.host}`.") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            sock.close()
            raise ConnectError(f"{self.name} did not complete the SSH handshake within "
                               f"{self.connect_timeout:g} s ({type(exc).__name__}: {exc}). Is it an SSH "
                               "server, and is the device overloaded?") from None
        self._client = client

    def close(self) -> None:
        """Close the connection (a cut connection can be reopened by the next command)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- commands --

    def run(self, argv: Sequence[str], stdin: Optional[bytes] = None, timeout: float = 600.0,
            progress: Optional[Progress] = None) -> CommandResult:
        """Run ``argv`` on the device (each argument quoted), feeding ``stdin``.

        ``progress(sent, total)`` is called after each chunk of ``stdin``.
        """
        self.connect()
        command = " ".join(shlex.quote(str(a)) for a in argv)
        try:
            channel = self._client.get_transport().open_session(timeout=self.connect_timeout)
            channel.settimeout(timeout)
            channel.exec_command(command)
            if stdin is not None:
                view, total = memoryview(stdin), len(stdin)
                for start in range(0, total, 16384):
                    channel.sendall(view[start:start + 16384])
                    if progress is not None:
                        progress(min(start + 16384, total), total)
            channel.shutdown_write()
            out, err = bytearray(), bytearray()
            deadline = time.monotonic() + timeout
            while True:
                busy = False
                if channel.recv_ready():
                    out += channel.recv(65536)
                    busy = True
                if channel.recv_stderr_ready():
                    err += channel.recv_stderr(65536)
                    busy = True
                if not busy and channel.exit_status_ready() and not channel.recv_ready() \
                        and not channel.recv_stderr_ready():
                    break
                if time.monotonic() > deadline:
                    raise DeployError(f"{self.name}: command took more than {timeout:g} s: {command[:200]}")
                if not busy:
                    time.sleep(0.005)
            code = channel.recv_exit_status()
            channel.close()
        except DeployError:
            raise
        except Exception as exc:  # paramiko raises several types when the link drops
            self.close()
            raise ConnectError(f"connection to {self.name} was lost during a command "
                               f"({type(exc).__name__}: {exc})") from None
        return CommandResult(code, bytes(out), bytes(err))
