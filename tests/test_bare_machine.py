"""tools.bare_machine: `make course` works on a bare Debian 12 (debootstrap root, chroot)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

from tools import bare_machine as bm

REPO = Path(__file__).resolve().parent.parent


def test_mirror_is_read_from_both_apt_source_formats() -> None:
    """The bookworm mirror comes from a one-line `deb` entry or a deb822 stanza; others are skipped."""
    one_line = "deb [arch=amd64] http://mirror.example/debian bookworm main\n"
    deb822 = ("Types: deb\nURIs: http://other.example/debian-security\nSuites: bookworm-security\n\n"
              "Types: deb\nURIs: http://other.example/debian\nSuites: bookworm bookworm-updates\n")
    assert bm.mirror_from_sources([one_line]) == "http://mirror.example/debian"
    assert bm.mirror_from_sources([deb822]) == "http://other.example/debian"
    assert bm.mirror_from_sources(["deb http://x.example/debian trixie main\n"]) is None


def test_local_pip_paths_of_the_host_configuration(tmp_path: Path) -> None:
    """Local folders and files that pip settings name are found (a `simple` index stands for its
    parent); URLs of other hosts and missing paths are left alone."""
    (tmp_path / "mirror" / "simple").mkdir(parents=True)
    (tmp_path / "wheels").mkdir()
    (tmp_path / "constraints.txt").write_text("torch<3\n")
    config = tmp_path / "pip.conf"
    config.write_text(f"[global]\nextra-index-url = file://{tmp_path}/mirror/simple https://pypi.example/simple\n"
                      f"constraint = {tmp_path}/constraints.txt\n")
    values = bm.pip_config_values([config], {"PIP_FIND_LINKS": f"{tmp_path}/wheels {tmp_path}/gone",
                                             "HOME": "/not/pip"})
    folders, files = bm.local_pip_paths(values)
    assert folders == [tmp_path / "mirror", tmp_path / "wheels"]
    assert files == [tmp_path / "constraints.txt"]


def test_nothing_is_mounted_under_a_plain_folder(tmp_path: Path) -> None:
    """mounts_under finds no mount point in a fresh folder, and removing it works."""
    (tmp_path / "root" / "proc").mkdir(parents=True)
    assert bm.mounts_under(tmp_path / "root") == []
    bm.remove_tree(tmp_path / "root")
    assert not (tmp_path / "root").exists()


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_make_course_on_a_bare_debian_12() -> None:
    """The bare-machine check passes end to end: debootstrap root, clone of HEAD, `make course`
    as a student, the printed URL answers 200 with the student version of lesson 00; nothing
    stays mounted and the root is removed."""
    require(os.geteuid() == 0, "root (debootstrap, mount, chroot)")
    require(shutil.which("debootstrap") is not None, "debootstrap")
    proc = subprocess.run([sys.executable, "-m", "tools.bare_machine"], cwd=REPO, capture_output=True,
                          text=True, timeout=2300)
    out = proc.stdout + proc.stderr
    print(out)  # the phase times, in the test log
    assert proc.returncode == 0, out[-5000:]
    assert "PASS lesson 00 served is the student version" in out
    assert "bare machine: OK" in out
    assert bm.mounts_under(bm.BUILD) == []
    assert not (bm.BUILD / "root").exists()
