"""tools.system_packages: the one list of Debian packages `make test` needs, and how it installs them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import system_packages as sp

# What .ci/run installed before the list moved to .ci/system-packages.txt, plus the grader
# sandbox's bwrap and the bare-machine check's debootstrap.
NEEDED = {"make", "git", "iproute2", "iptables", "libnetfilter-queue-dev", "gcc", "libc6-dev", "chromium",
          "openssh-server", "python3", "python3-venv", "util-linux", "passwd", "bubblewrap", "debootstrap"}


def test_the_list_holds_every_package_the_tests_need() -> None:
    """The committed list names every package CI installed before, bubblewrap and debootstrap,
    and nodejs/npm only where npm is missing."""
    lines = sp.read_list()
    assert NEEDED <= set(sp.wanted(lines, which=lambda cmd: "/usr/bin/" + cmd))
    assert "nodejs" not in sp.wanted(lines, which=lambda cmd: "/usr/bin/" + cmd)
    assert {"nodejs", "npm"} <= set(sp.wanted(lines, which=lambda cmd: None))
    assert all(line.why for line in lines), "every line says what needs its packages"


def test_malformed_lines_are_refused_with_their_number(tmp_path: Path) -> None:
    """A line with no package, or a when-missing without one command, is an error naming the line."""
    for bad in ("when-missing: npm  # no package\n", "nodejs when-missing:  # no command\n"):
        path = tmp_path / "list.txt"
        path.write_text("# a comment\n" + bad)
        with pytest.raises(ValueError, match=r"list\.txt:2"):
            sp.read_list(path)


def test_missing_asks_dpkg() -> None:
    """An installed package is not missing, an unknown one is."""
    if not shutil.which("dpkg-query"):
        pytest.skip("not a Debian-based system")
    assert sp.missing(["dpkg", "edgelab-no-such-package"]) == ["edgelab-no-such-package"]


def test_without_root_or_sudo_it_prints_the_command_only(capsys: pytest.CaptureFixture) -> None:
    """No way to become root: exit 1 at once, with the one command to run, and no apt-get call."""
    calls = []
    assert sp.install(["chromium", "debootstrap"], None, run=lambda *a, **k: calls.append(a)) == 1
    assert calls == []
    assert ("sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium debootstrap"
            in capsys.readouterr().err)


def test_with_sudo_it_runs_apt_get_through_sudo_n() -> None:
    """With passwordless sudo: apt-get update, then apt-get install of exactly the missing packages."""
    calls = []
    assert sp.install(["chromium"], ["sudo", "-n"], run=lambda args, **k: calls.append(args)) == 0
    assert calls[0][:3] == ["sudo", "-n", "apt-get"] and "update" in calls[0]
    assert calls[1][:4] == ["sudo", "-n", "apt-get", "install"] and calls[1][-1] == "chromium"


def test_nothing_missing_runs_nothing() -> None:
    """When every package is there, nothing is run, root or not."""
    assert sp.install([], None, run=lambda *a, **k: pytest.fail("ran something")) == 0
