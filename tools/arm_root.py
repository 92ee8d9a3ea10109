"""Raspberry Pi stand-ins that really are ARM: Debian bookworm roots for arm64 (the base of 64-bit
Raspberry Pi OS) and armhf (32-bit Raspberry Pi OS), run by qemu-user-static through binfmt_misc,
each with its own sshd on a loopback port.

    python3 -m tools.arm_root build arm64      # build/arm-roots/arm64/root (once; minutes)
    python3 -m tools.arm_root serve arm64 --port 2222   # its sshd, in the foreground
    python3 -m tools.arm_root run arm64 -- uname -m     # one command inside, as root

What each root holds (the device side of the course, nothing else):

* ``arm64``: Python 3.11, a venv ``/home/pi/edgelab-venv`` with numpy and ``ai-edge-litert``
  from PyPI (their real aarch64 wheels).
* ``armhf``: Python 3.11 with ``python3-numpy`` from Debian (numpy < 2: there is no armv7l
  numpy 2 wheel) and a venv ``/home/pi/edgelab-venv`` (``--system-site-packages``) with
  ``tflite-runtime`` 2.14, the last one, the only runtime with an armv7l wheel.
* a user ``pi`` who logs in with a key only, and an sshd configuration of the stand-in.

Two traps of user-mode emulation, handled here (measured on this machine kind):

1. LiteRT crashes on every model when ``/proc/cpuinfo`` shows the host's x86 CPU (qemu passes
   it through): a Raspberry Pi's ``/proc/cpuinfo`` (``tools/pi_cpuinfo/``) is bind-mounted
   over it inside the root.
2. With qemu's default CPU model (``max``) int8 models give wrong outputs: ``QEMU_CPU`` pins a
   real core, and the sshd configuration's ``SetEnv`` passes it to every process of a login.

Every command that enters a root runs in a private mount namespace (``unshare --mount``): its
/proc, /dev and cpuinfo mounts vanish with its last process, nothing is left mounted on the
host. Building registers the qemu interpreters with binfmt_misc (mounting it if needed): a
change to the host kernel's settings, as installing qemu-user-static with systemd does.
Timings measured in these roots say nothing about a Pi (10-300x slower than one).

Needs root, debootstrap, util-linux (unshare, mount) and qemu-user-static. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.bare_machine import apt_proxy_env, host_mirror, remove_tree

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build" / "arm-roots"
CPUINFO_DIR = Path(__file__).resolve().parent / "pi_cpuinfo"
SUITE = "bookworm"
USER = "pi"
VENV = f"/home/{USER}/edgelab-venv"
DEVICE_PYTHON = f"{VENV}/bin/python"  # the device Python a deploy target names
SSHD_CONFIG = "/etc/ssh/edgelab_sshd_config"
STAMP = "edgelab-arm-root.json"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
PIP = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir"]
NAMESPACE_MARK = "EDGELAB_ARM_ROOT_NAMESPACE"  # set once inside the private mount namespace
PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


@dataclass(frozen=True)
class Arch:
    """One stand-in: its Debian architecture, qemu, pinned CPU and what its device Python holds."""

    name: str                 # Debian architecture
    machine: str              # what `uname -m` says inside
    qemu: str                 # qemu-user target (qemu-<qemu>-static, binfmt entry qemu-<qemu>)
    qemu_cpu: str             # QEMU_CPU: the core the cpuinfo shows
    cpuinfo: str              # file in tools/pi_cpuinfo/
    profile: str              # the edgelab device profile it stands in for
    apt: tuple[str, ...]      # Debian packages
    pip: tuple[str, ...]      # installed into the venv with pip
    system_site: bool         # the venv sees Debian's packages (python3-numpy)
    runtime: str              # the TFLite runtime the device uses


ARCHES = {
    "arm64": Arch("arm64", "aarch64", "aarch64", "cortex-a76", "raspberry-pi-5-arm64.txt", "raspberry-pi-5",
                  ("python3", "python3-venv", "openssh-server"),
                  ("numpy==2.4.6", "ai-edge-litert==2.3.0"), False, "ai-edge-litert"),
    "armhf": Arch("armhf", "armv7l", "arm", "cortex-a15", "raspberry-pi-4-armv7l.txt", "raspberry-pi-4",
                  ("python3", "python3-venv", "python3-numpy", "openssh-server"),
                  ("tflite-runtime==2.14.0",), True, "tflite-runtime"),
}
# What the stand-in's sshd accepts: keys for `pi` only, and QEMU_CPU in every login's processes.
SSHD_SETTINGS = (("ListenAddress", "127.0.0.1"), ("HostKey", "/etc/ssh/ssh_host_ed25519_key"),
                 ("PasswordAuthentication", "no"), ("KbdInteractiveAuthentication", "no"),
                 ("PubkeyAuthentication", "yes"), ("UsePAM", "no"), ("AllowUsers", USER),
                 ("MaxStartups", "30"), ("MaxSessions", "30"), ("PidFile", "none"))


class BuildFailed(Exception):
    """A root could not be built or entered."""


def log(message: str) -> None:
    print(f"arm_root: {message}", flush=True)


def arch_of(name: str) -> Arch:
    """The stand-in called ``name`` (arm64 or armhf)."""
    if name not in ARCHES:
        raise ValueError(f"arch must be one of {sorted(ARCHES)}; got {name!r}")
    return ARCHES[name]


def root_of(arch: Arch) -> Path:
    return BUILD / arch.name / "root"


def recipe(arch: Arch) -> str:
    """A digest of everything a root is built from: a changed recipe means a rebuild."""
    text = json.dumps([asdict(arch), SSHD_SETTINGS, (CPUINFO_DIR / arch.cpuinfo).read_text(), VENV, SUITE])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stamp(arch: Arch) -> dict:
    """What the last successful build of ``arch`` wrote ({} if none)."""
    try:
        return json.loads((BUILD / arch.name / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def is_built(arch: Arch) -> bool:
    """The root exists and was built from the current recipe."""
    return stamp(arch).get("recipe") == recipe(arch) and (root_of(arch) / "usr/bin/python3").exists()


def missing_tools(arch: Arch) -> list[str]:
    """What this machine lacks to build or run the ``arch`` root ([] when nothing)."""
    missing = [tool for tool in ("debootstrap", "unshare", "mount", f"qemu-{arch.qemu}-static")
               if shutil.which(tool) is None]
    if not Path(f"/usr/lib/binfmt.d/qemu-{arch.qemu}.conf").is_file():
        missing.append(f"/usr/lib/binfmt.d/qemu-{arch.qemu}.conf (qemu-user-static)")
    if os.geteuid() != 0:
        missing.append("root")
    return missing


def run(args: list[str], timeout: float = 1800, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, raising BuildFailed with the end of its output when it fails."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if proc.returncode != 0:
        raise BuildFailed(f"{' '.join(args)[:300]} failed ({proc.returncode}):\n"
                          f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


# --- binfmt_misc ------------------------------------------------------------------------------

def ensure_binfmt(arch: Arch) -> None:
    """binfmt_misc mounted and the package's qemu entry for ``arch`` registered (with its F flag:
    the interpreter is opened now, so it works inside a root that does not contain it)."""
    if not (BINFMT / "register").exists():
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)])
    entry = BINFMT / f"qemu-{arch.qemu}"
    if entry.exists():
        if entry.read_text().splitlines()[0] != "enabled":
            entry.write_text("1")
        return
    line = Path(f"/usr/lib/binfmt.d/qemu-{arch.qemu}.conf").read_text().strip()
    (BINFMT / "register").write_text(line)


# --- entering a root --------------------------------------------------------------------------

def tool_argv(*args: str) -> list[str]:
    """The host command line of ``python -m tools.arm_root ARGS`` (``run`` and ``serve`` enter a
    fresh, private mount namespace by themselves)."""
    return [sys.executable, "-m", "tools.arm_root", *args]


def device_env(arch: Arch, user: str = "root") -> dict[str, str]:
    """A login's environment inside the root: a clean one, with the pinned CPU."""
    home = f"/home/{user}" if user != "root" else "/root"
    env = {"PATH": PATH, "HOME": home, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8",
           "QEMU_CPU": arch.qemu_cpu}
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") and k != "PIP_FIND_LINKS"})
    return env


def mount_inside(arch: Arch, root: Path) -> None:
    """/proc (with a Pi's cpuinfo over the host's) and /dev in ``root``: call in a private
    mount namespace only."""
    run(["mount", "-t", "proc", "proc", str(root / "proc")])
    run(["mount", "--bind", str(CPUINFO_DIR / arch.cpuinfo), str(root / "proc/cpuinfo")])
    run(["mount", "--rbind", "/dev", str(root / "dev")])


def enter(arch: Arch, argv: list[str], user: str = "root") -> None:
    """Replace this process by ``argv`` run inside the root as ``user`` (namespace side)."""
    root = root_of(arch)
    mount_inside(arch, root)
    uid = gid = 0
    if user != "root":
        for line in (root / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == user:
                uid, gid = int(fields[2]), int(fields[3])
                break
        else:
            raise BuildFailed(f"no user {user!r} in {root}")
    os.chroot(root)
    os.chdir("/" if user == "root" else f"/home/{user}")
    if user != "root":
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    os.execve(argv[0], argv, device_env(arch, user))


def run_inside(arch: Arch, argv: list[str], user: str = "root", timeout: float = 1800) -> str:
    """Run ``argv`` inside the root (host side); its stdout, BuildFailed if it fails."""
    return run(tool_argv("run", arch.name, "--user", user, "--", *argv), timeout=timeout, cwd=REPO).stdout


# --- building ---------------------------------------------------------------------------------

def bootstrap(arch: Arch, root: Path) -> None:
    """debootstrap a minbase root of ``arch`` with its packages; the .debs are kept in a tarball."""
    tarball = BUILD / f"{SUITE}-{arch.name}-{'-'.join(arch.apt)}.tgz"
    common = ["debootstrap", f"--arch={arch.name}", "--variant=minbase", f"--include={','.join(arch.apt)}"]
    env = dict(os.environ, **apt_proxy_env())
    mirror = host_mirror()
    if not tarball.exists():
        work = BUILD / f"{arch.name}-tarball-work"
        remove_tree(work)
        run([*common, f"--make-tarball={tarball}", SUITE, str(work), mirror], env=env)
        remove_tree(work)
    run([*common, f"--unpack-tarball={tarball}", SUITE, str(root), mirror], env=env)


def configure(arch: Arch, root: Path) -> None:
    """DNS, pip configuration and CA certificates of the host (no ca-certificates package: its
    configuration takes minutes under emulation); user ``pi``; the sshd config."""
    for path in (Path("/etc/resolv.conf"), Path("/etc/hosts"), Path("/etc/pip.conf"),
                 Path("/etc/ssl/certs/ca-certificates.crt")):
        if path.is_file():
            (root / path.relative_to("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, root / path.relative_to("/"))
    if not (root / f"home/{USER}").exists():
        run_inside(arch, ["/usr/sbin/useradd", "-m", "-s", "/bin/sh", USER])
    run_inside(arch, ["/usr/sbin/usermod", "-p", "*", USER])  # unlocked for keys, no password
    settings = [*SSHD_SETTINGS, ("SetEnv", f"QEMU_CPU={arch.qemu_cpu}")]
    (root / SSHD_CONFIG.lstrip("/")).write_text("".join(f"{k} {v}\n" for k, v in settings))
    (root / "run/sshd").mkdir(parents=True, exist_ok=True)
    if not (root / "etc/ssh/ssh_host_ed25519_key").exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "etc/ssh/ssh_host_ed25519_key")])


def install_device_python(arch: Arch) -> None:
    """The device venv of ``pi`` with the runtime, installed by pip inside the root (emulated)."""
    venv = ["/usr/bin/python3", "-m", "venv", *(["--system-site-packages"] if arch.system_site else []), VENV]
    run_inside(arch, venv, user=USER, timeout=600)
    run_inside(arch, [f"{VENV}/bin/python", *PIP, *arch.pip], user=USER, timeout=1800)


def check_device(arch: Arch) -> dict:
    """Ask the course's device agent inside the root what it runs on (as `pi`)."""
    folder = root_of(arch) / "opt/edgelab-agent-check"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for source in (REPO / "edgelab/deploy/agent.py", REPO / "edgelab/bench.py"):
        shutil.copyfile(source, folder / source.name)
    out = run_inside(arch, [f"{VENV}/bin/python", "/opt/edgelab-agent-check/agent.py", "--root",
                            "/tmp/edgelab-agent-check", "info"], user=USER, timeout=600)
    info = json.loads(out.strip().splitlines()[-1])
    shutil.rmtree(folder, ignore_errors=True)
    runtime = info.get("runtime") or {}
    if info.get("machine") != arch.machine or runtime.get("backend") != arch.runtime:
        raise BuildFailed(f"the {arch.name} root is not what it should be: machine {info.get('machine')}, "
                          f"runtime {runtime or info.get('runtime_error')}")
    return info


def build(name: str, fresh: bool = False) -> Path:
    """Build the ``name`` root unless it is already built from the current recipe; its path."""
    arch = arch_of(name)
    missing = missing_tools(arch)
    if missing:
        raise BuildFailed(f"cannot build the {name} root: missing {', '.join(missing)}")
    ensure_binfmt(arch)
    root = root_of(arch)
    if is_built(arch) and not fresh:
        return root
    (BUILD / arch.name / STAMP).unlink(missing_ok=True)
    remove_tree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    times = {}
    steps = (("debootstrap", lambda: bootstrap(arch, root)), ("configure", lambda: configure(arch, root)),
             ("pip", lambda: install_device_python(arch)))
    for phase, step in steps:
        start = time.monotonic()
        log(f"{name}: {phase} ...")
        step()
        times[phase] = round(time.monotonic() - start, 1)
    info = check_device(arch)
    (BUILD / arch.name / STAMP).write_text(json.dumps(
        {"recipe": recipe(arch), "arch": name, "seconds": times, "python": info["python"],
         "runtime": info["runtime"], "numpy": info["numpy"], "built": time.strftime("%Y-%m-%dT%H:%M:%S")},
        indent=1))
    log(f"{name}: built in {sum(times.values()):.0f} s {times}: Python {info['python']}, numpy "
        f"{info['numpy']}, {info['runtime']['backend']} {info['runtime']['version']}")
    return root


def host_key_line(name: str, port: int) -> str:
    """The known_hosts line of the ``name`` root's sshd on ``port`` of 127.0.0.1."""
    key_type, key = (root_of(arch_of(name)) / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2]
    return f"[127.0.0.1]:{port} {key_type} {key}\n"


def add_authorized_key(ssh_dir: Path, public_key: str, uid: int, gid: int) -> None:
    """Add ``public_key`` (one line) to ``ssh_dir``/authorized_keys, keeping the keys already
    there (another test session may be using them), owned by ``uid``:``gid``, mode 0600."""
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    path = ssh_dir / "authorized_keys"
    lines = path.read_text().splitlines() if path.exists() else []
    if public_key.strip() not in lines:
        path.write_text("".join(f"{line}\n" for line in [*lines, public_key.strip()]))
    path.chmod(0o600)
    for item in (ssh_dir, path):
        os.chown(item, uid, gid)


def remove_authorized_key(ssh_dir: Path, public_key: str) -> None:
    """Take ``public_key`` out of ``ssh_dir``/authorized_keys again (the others stay)."""
    path = ssh_dir / "authorized_keys"
    if path.exists():
        kept = [line for line in path.read_text().splitlines() if line != public_key.strip()]
        path.write_text("".join(f"{line}\n" for line in kept))


def authorize(name: str, public_key: str) -> None:
    """Let the holder of ``public_key`` (one line) log in as ``pi`` in the ``name`` root."""
    root = root_of(arch_of(name))
    uid = gid = None
    for line in (root / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == USER:
            uid, gid = int(fields[2]), int(fields[3])
    add_authorized_key(root / f"home/{USER}/.ssh", public_key, uid, gid)


def serve_argv(name: str, port: int) -> list[str]:
    """The host command line that runs the ``name`` root's sshd on ``port`` in the foreground."""
    return tool_argv("serve", arch_of(name).name, "--port", str(port))


# --- command line -----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python3 -m tools.arm_root", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build the root (skipped when already built from this recipe)")
    p.add_argument("arch", choices=sorted(ARCHES))
    p.add_argument("--fresh", action="store_true", help="rebuild even if built (the .deb tarball is kept)")
    p = sub.add_parser("serve", help="the root's sshd on 127.0.0.1:PORT, in the foreground")
    p.add_argument("arch", choices=sorted(ARCHES))
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("run", help="run a command inside the root (in a private mount namespace)")
    p.add_argument("arch", choices=sorted(ARCHES))
    p.add_argument("--user", default="root")
    p.add_argument("argv", nargs="+")
    args = parser.parse_args(raw)
    arch = arch_of(args.arch)
    try:
        if args.command == "build":
            print(build(args.arch, fresh=args.fresh))
            return 0
        if os.environ.get(NAMESPACE_MARK) != arch.name:  # host side: again, in a new mount namespace
            ensure_binfmt(arch)  # gone after a reboot
            env = dict(os.environ, PYTHONPATH=str(REPO), **{NAMESPACE_MARK: arch.name})
            private = ["unshare", "--mount", "--propagation", "private", "--"]
            os.execvpe("unshare", [*private, *tool_argv(*raw)], env)
        if args.command == "serve":
            if not 1 <= args.port <= 65535:
                raise ValueError(f"port must be from 1 to 65535; got {args.port}")
            enter(arch, ["/usr/sbin/sshd", "-D", "-e", "-f", SSHD_CONFIG, "-p", str(args.port)])
        enter(arch, args.argv, user=args.user)
    except BuildFailed as exc:
        print(f"arm_root: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
