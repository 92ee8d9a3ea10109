"""The bare-machine check: `make course` on a Debian 12 with only python3, python3-venv,
make, git and ca-certificates, from a `git clone` of this repository's committed HEAD.

    sudo python3 -m tools.bare_machine [--keep] [--fresh]     # or: make bare-machine

1. A Debian bookworm minbase root made with debootstrap in ``build/bare-machine/root``
   (the downloaded .debs are cached as a tarball beside it; ``--fresh`` downloads again).
2. The host's apt and pip configuration, CA certificates and DNS settings are copied in
   (local folders the pip configuration names are bind-mounted read-only), so pip and apt
   inside reach the package registries exactly as the host does.
3. An ordinary user ``student`` clones the repository (HEAD only: uncommitted work is not in it).
4. ``make course`` runs inside with chroot (/proc, /sys, /dev mounted, always unmounted).
5. The URL it prints must answer 200 and serve the student version of lesson 00.

Needs root, debootstrap and util-linux. Prints the time of each phase; exits 1 on failure.
Standard library only.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "build" / "bare-machine"
SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "make", "git", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
USER = "student"
CHECKOUT = f"/home/{USER}/edge-ai-course"
CA_DIR = Path("/usr/local/share/ca-certificates")
PIP_CONFIG_FILES = (Path("/etc/pip.conf"), Path("/etc/xdg/pip/pip.conf"))
USER_PIP_CONFIG_FILES = (Path(".config/pip/pip.conf"), Path(".pip/pip.conf"))
CA_BUNDLE_VARIABLES = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
STUDENT_MARK, SOLUTION_MARK = "YOUR CODE HERE", "BEGIN SOLUTION"


class CheckFailed(Exception):
    """The bare machine did not do what the README promises."""


def log(message: str) -> None:
    print(message, flush=True)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, raising CheckFailed with its output when it fails."""
    proc = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise CheckFailed(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}"
                          f"\n{proc.stderr[-2000:]}")
    return proc


# --- What the host's configuration says ---------------------------------------------------

def mirror_from_sources(texts: list[str], suite: str = SUITE) -> str | None:
    """The Debian mirror URL serving ``suite`` in apt source files (one-line or deb822 format)."""
    for text in texts:
        for line in text.splitlines():  # one-line format: deb [options] URL SUITE COMPONENTS
            words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb" and words[2] == suite:
                return words[1]
        for stanza in re.split(r"\n\s*\n", text):  # deb822: URIs: ... Suites: ...
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, flags=re.M))
            if "deb" in fields.get("Types", "").split() and suite in fields.get("Suites", "").split():
                uris = fields.get("URIs", "").split()
                if uris:
                    return uris[0]
    return None


def host_mirror() -> str:
    """The host's Debian mirror for bookworm, else deb.debian.org."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.sources")),
             *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    texts = [f.read_text() for f in files if f.is_file()]
    return mirror_from_sources(texts) or DEFAULT_MIRROR


def apt_proxy_env() -> dict[str, str]:
    """http(s)_proxy for debootstrap's downloads from apt's Acquire::http(s)::Proxy, when set."""
    env: dict[str, str] = {}
    if not shutil.which("apt-config"):
        return env
    proc = subprocess.run(["apt-config", "dump"], capture_output=True, text=True)
    for scheme in ("http", "https"):
        match = re.search(rf'^Acquire::{scheme}::Proxy "([^"]+)";', proc.stdout, flags=re.M)
        if match and match.group(1).upper() != "DIRECT":
            env[f"{scheme}_proxy"] = match.group(1)
    return env


def user_home() -> Path:
    """The home of the person running the check (through sudo too)."""
    import pwd

    name = os.environ.get("SUDO_USER") or pwd.getpwuid(os.getuid()).pw_name
    return Path(pwd.getpwnam(name).pw_dir)


def pip_config_values(files: list[Path], env: dict[str, str]) -> list[str]:
    """Every value in pip configuration files and PIP_* variables, split on whitespace."""
    values = []
    for path in files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path)
        except configparser.Error as exc:
            raise CheckFailed(f"cannot read the pip configuration {path}: {exc}") from None
        for section in parser.sections():
            values += [word for value in parser[section].values() for word in value.split()]
    values += [word for key, value in env.items() if key.startswith("PIP_") for word in value.split()]
    return values


def local_pip_paths(values: list[str]) -> tuple[list[Path], list[Path]]:
    """(folders, files) on this machine that pip configuration values name: plain absolute paths
    and file:// URLs. A `.../simple` index folder stands for its parent (its files sit beside it)."""
    folders: list[Path] = []
    files: list[Path] = []
    for value in values:
        if value.startswith("file://"):
            value = value[len("file://"):]
        if not value.startswith("/"):
            continue
        path = Path(value)
        if path.is_dir():
            path = path.parent if path.name == "simple" else path
            if path not in folders:
                folders.append(path)
        elif path.is_file() and path not in files:
            files.append(path)
    return folders, files


# --- The root --------------------------------------------------------------------------------

def tarball_path() -> Path:
    return BUILD / f"{SUITE}-minbase-{'-'.join(PACKAGES)}.tgz"


def bootstrap(root: Path, mirror: str, fresh: bool) -> None:
    """A fresh minbase root at ``root`` with PACKAGES, from the cached .debs when there are any."""
    tarball = tarball_path()
    env = dict(os.environ, **apt_proxy_env())
    common = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}"]
    if fresh or not tarball.exists():
        work = BUILD / "tarball-work"
        remove_tree(work)
        run([*common, f"--make-tarball={tarball}", SUITE, str(work), mirror], env=env, timeout=1200)
    run([*common, f"--unpack-tarball={tarball}", SUITE, str(root), mirror], env=env, timeout=1200)


def copy_into(root: Path, path: Path, dest: Path | None = None) -> None:
    """Copy a host file or folder to the same place (or ``dest``) inside ``root``."""
    target = root / (dest or path).relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, target, dirs_exist_ok=True, symlinks=True)
    else:
        shutil.copy2(path, target)


def configure(root: Path, pip_files: list[Path]) -> None:
    """The host's DNS, apt and pip configuration and CA certificates, inside ``root``."""
    for path in (Path("/etc/resolv.conf"), Path("/etc/hosts")):
        if path.exists():
            shutil.copyfile(path, root / path.relative_to("/"))  # resolv.conf may be a link
    apt = Path("/etc/apt")
    for path in [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]:
        if path.is_file():
            copy_into(root, path)
    for path in sorted((apt / "apt.conf.d").glob("*")):
        if path.is_file() and "Acquire" in path.read_text(errors="replace"):
            copy_into(root, path)  # proxies and download settings, not the host's hooks
    for text in [p.read_text() for p in (apt / "sources.list.d").glob("*.sources")]:
        for keyring in re.findall(r"^Signed-By:\s*(/\S+)", text, flags=re.M):
            if Path(keyring).is_file() and not (root / keyring.lstrip("/")).exists():
                copy_into(root, Path(keyring))
    home = user_home()
    for path in PIP_CONFIG_FILES:
        if path.exists():
            copy_into(root, path.parent if path.parent.name == "pip" else path)
    for rel in USER_PIP_CONFIG_FILES:
        if (home / rel).is_file():
            copy_into(root, home / rel, Path(f"/home/{USER}") / rel)
    if os.environ.get("PIP_CONFIG_FILE") and Path(os.environ["PIP_CONFIG_FILE"]).is_file():
        copy_into(root, Path(os.environ["PIP_CONFIG_FILE"]))
    for path in pip_files:
        copy_into(root, path)  # constraint files and the like named by the pip configuration
    if CA_DIR.is_dir():
        copy_into(root, CA_DIR)
    for variable in CA_BUNDLE_VARIABLES:
        bundle = os.environ.get(variable)
        if bundle and Path(bundle).is_file() and not bundle.startswith("/etc/ssl/certs/"):
            copy_into(root, Path(bundle))
    run(["chroot", str(root), "update-ca-certificates"], timeout=300)
    run(["chroot", str(root), "chown", "-R", f"{USER}:{USER}", f"/home/{USER}"], timeout=60)


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` (deepest first)."""
    prefix = str(root.resolve())
    lines = Path("/proc/self/mounts").read_text().splitlines()
    points = [line.split()[1].replace("\\040", " ") for line in lines]
    return sorted((p for p in points if p == prefix or p.startswith(prefix + "/")), key=len, reverse=True)


def unmount_all(root: Path) -> None:
    """Unmount everything below ``root``, lazily if a mount stays busy."""
    for point in mounts_under(root):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
    left = mounts_under(root)
    if left:
        raise CheckFailed(f"could not unmount {left}")


def remove_tree(path: Path) -> None:
    """Delete a previous root or work folder, never through a mount point."""
    if not path.exists():
        return
    unmount_all(path)
    run(["rm", "-rf", "--one-file-system", str(path)], timeout=600)


@contextmanager
def mounted(root: Path, read_only: list[Path]) -> Iterator[None]:
    """/proc, /sys, /dev and /dev/shm in ``root``, and ``read_only`` host folders at the same
    paths, read-only; all unmounted on the way out, whatever happened."""
    try:
        for kind, point in (("proc", "proc"), ("sysfs", "sys"), ("devtmpfs", "dev"), ("tmpfs", "dev/shm")):
            (root / point).mkdir(parents=True, exist_ok=True)
            run(["mount", "-t", kind, kind, str(root / point)])
        for folder in read_only:
            target = root / folder.relative_to("/")
            target.mkdir(parents=True, exist_ok=True)
            run(["mount", "--bind", str(folder), str(target)])
            run(["mount", "-o", "remount,bind,ro", str(target)])
        yield
    finally:
        kill_processes_in(root)
        unmount_all(root)


def kill_processes_in(root: Path) -> None:
    """End every process whose root directory is ``root`` (the ones this check started)."""
    real = str(root.resolve())
    for attempt in range(2):
        pids = []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if os.readlink(entry / "root") == real:
                    pids.append(int(entry.name))
            except OSError:
                continue
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM if attempt == 0 else signal.SIGKILL)
            except ProcessLookupError:
                pass
        if not pids:
            return
        time.sleep(3)


# --- The check ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str) -> tuple[int, bytes]:
    """Status and body of a GET, without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def student_env() -> dict[str, str]:
    """The environment of the student's shell inside the root: a clean one, plus the host's
    PIP_* and proxy variables."""
    env = {"HOME": f"/home/{USER}", "USER": USER, "LOGNAME": USER, "SHELL": "/bin/bash",
           "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update({k: v for k, v in os.environ.items()
                if k.startswith("PIP_") or k in PROXY_VARIABLES or k in CA_BUNDLE_VARIABLES})
    return env


def make_course(root: Path, port: int, log_path: Path, timeout: float) -> tuple[subprocess.Popen, str, float]:
    """Start `make course` as the student inside ``root``; return the process, the URL it
    printed and the seconds its install took (until the course environment was ready)."""
    args = ["chroot", f"--userspec={USER}:{USER}", str(root), "env", "-i",
            *[f"{k}={v}" for k, v in student_env().items()],
            "make", "-C", CHECKOUT, "course", f"PORT={port}", "LAB_ARGS=--no-browser"]
    out = open(log_path, "w+")
    start = time.monotonic()
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    pattern = re.compile(rf"(http://127\.0\.0\.1:{port}/lab[^\s]*\?token=\w+)")
    installed_at = None
    while time.monotonic() - start < timeout:
        out.seek(0)
        text = out.read()
        if installed_at is None and ".course-installed" in text:
            installed_at = time.monotonic() - start
        match = pattern.search(text)
        if match:
            return proc, match.group(1), installed_at or 0.0
        if proc.poll() is not None:
            raise CheckFailed(f"make course stopped ({proc.returncode}):\n{text[-4000:]}")
        time.sleep(1)
    out.seek(0)
    raise CheckFailed(f"make course printed no URL in {timeout:.0f} s:\n{out.read()[-4000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop make and the JupyterLab it started (one process group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def check_served(url: str) -> list[str]:
    """What the student's JupyterLab serves: the printed URL answers 200, lesson 00 is the
    student version, the sources and the formgrader are not there. Returns what passed."""
    base, token = url.split("/lab", 1)[0], url.split("token=", 1)[1]
    status, _ = http_get(url)
    if status != 200:
        raise CheckFailed(f"the printed URL {url} answered {status}")
    passed = [f"the printed URL answers 200 ({url.split('?')[0]})"]
    status, body = http_get(f"{base}/api/contents/00-welcome/welcome.ipynb?token={token}")
    if status != 200:
        raise CheckFailed(f"lesson 00 (00-welcome/welcome.ipynb) is not served: {status}")
    text = json.dumps(json.loads(body)["content"])
    if STUDENT_MARK not in text or SOLUTION_MARK in text:
        raise CheckFailed("lesson 00 served is not the student version "
                          f"({STUDENT_MARK!r} present: {STUDENT_MARK in text}, "
                          f"{SOLUTION_MARK!r} present: {SOLUTION_MARK in text})")
    passed.append(f"lesson 00 served is the student version ({STUDENT_MARK!r}, no {SOLUTION_MARK!r})")
    for path, what in (("api/contents/lessons", "the source lessons"), ("formgrader", "the formgrader")):
        status, _ = http_get(f"{base}/{path}?token={token}")
        if status != 404:
            raise CheckFailed(f"{what} must not be served to the student, /{path} answered {status}")
        passed.append(f"{what} not served (/{path}: 404)")
    return passed


def check(keep: bool = False, fresh: bool = False, timeout: float = 1500) -> None:
    """The whole check; raises CheckFailed. Prints each phase's time."""
    for tool in ("debootstrap", "chroot", "mount", "git"):
        if not shutil.which(tool):
            raise CheckFailed(f"{tool} is missing (make system-packages installs it)")
    if os.geteuid() != 0:
        raise CheckFailed("root is needed (debootstrap, mount, chroot)")
    head = run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).stdout.strip()
    BUILD.mkdir(parents=True, exist_ok=True)
    root = BUILD / "root"
    times: dict[str, float] = {}
    start = time.monotonic()
    remove_tree(root)
    mirror = host_mirror()
    cached = tarball_path().exists() and not fresh
    log(f"bare machine: debootstrap {SUITE} minbase + {' '.join(PACKAGES)} from {mirror}"
        f"{' (cached .debs)' if cached else ''}")
    bootstrap(root, mirror, fresh)
    times["debootstrap"] = time.monotonic() - start

    phase = time.monotonic()
    run(["chroot", str(root), "useradd", "--create-home", "--shell", "/bin/bash", USER], timeout=60)
    home = user_home()
    pip_files = PIP_CONFIG_FILES + tuple(home / rel for rel in USER_PIP_CONFIG_FILES)
    folders, files = local_pip_paths(pip_config_values([p for p in pip_files if p.is_file()],
                                                       dict(os.environ)))
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(root / CHECKOUT.lstrip("/"))],
        timeout=300)
    configure(root, files)
    python = run(["chroot", str(root), "python3", "--version"]).stdout.strip()
    times["configure and clone"] = time.monotonic() - phase
    log(f"bare machine: {python}, {USER} cloned HEAD {head}"
        + (f"; host pip folders mounted read-only: {', '.join(map(str, folders))}" if folders else ""))

    try:
        with mounted(root, folders):
            phase = time.monotonic()
            port = free_port()
            proc, url, installed = make_course(root, port, BUILD / "make-course.log", timeout)
            times["make course: install"] = installed
            times["make course: until the URL"] = time.monotonic() - phase
            try:
                for line in check_served(url):
                    log(f"PASS {line}")
            finally:
                stop(proc)
    finally:
        times["total"] = time.monotonic() - start
        log("bare machine times: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
        if not keep:
            remove_tree(root)


def main(argv: list[str] | None = None) -> int:
    """Run the check; 0 when `make course` works on the bare machine."""
    parser = argparse.ArgumentParser(prog="python3 -m tools.bare_machine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep build/bare-machine/root afterwards")
    parser.add_argument("--fresh", action="store_true", help="download the Debian packages again")
    parser.add_argument("--timeout", type=float, default=1500,
                        help="seconds `make course` may take to print its URL (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(f"--timeout must be > 0 seconds, got {args.timeout}")
    try:
        check(keep=args.keep, fresh=args.fresh, timeout=args.timeout)
    except CheckFailed as exc:
        log(f"FAIL bare machine: {exc}")
        return 1
    log("bare machine: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
