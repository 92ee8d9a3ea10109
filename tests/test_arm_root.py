"""tools.arm_root: the ARM Pi stand-ins' recipe, and commands run inside a root without leaving mounts."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from conftest import require

from tools import arm_root
from tools.bare_machine import mounts_under

pytest_plugins = ["arm"]  # arm64_pi: the root built and its sshd running


def test_unknown_arch_is_refused() -> None:
    """Only the two stand-ins exist; another name is a ValueError listing them."""
    with pytest.raises(ValueError, match=r"arch must be one of \['arm64', 'armhf'\]; got 'riscv64'"):
        arm_root.arch_of("riscv64")


def test_recipe_follows_what_a_root_is_built_from() -> None:
    """The recipe digest is stable, and changes with the pinned CPU or the packages (a rebuild)."""
    arch = arm_root.arch_of("arm64")
    assert arm_root.recipe(arch) == arm_root.recipe(arm_root.arch_of("arm64"))
    assert arm_root.recipe(dataclasses.replace(arch, qemu_cpu="max")) != arm_root.recipe(arch)
    assert arm_root.recipe(dataclasses.replace(arch, pip=("numpy",))) != arm_root.recipe(arch)


def test_each_stand_in_pins_a_cpu_qemu_has() -> None:
    """QEMU_CPU names a core of the stand-in's qemu, and the cpuinfo file it shows exists."""
    import subprocess

    for arch in arm_root.ARCHES.values():
        qemu = f"qemu-{arch.qemu}-static"
        require(shutil.which(qemu) is not None, f"{qemu} (qemu-user-static)")
        listing = subprocess.run([qemu, "-cpu", "help"], capture_output=True, text=True)
        assert arch.qemu_cpu in listing.stdout.split(), arch
        assert (arm_root.CPUINFO_DIR / arch.cpuinfo).read_text().count("processor\t:") == 4


@pytest.mark.slow
def test_a_command_inside_sees_an_arm_pi_and_leaves_no_mount(arm64_pi) -> None:
    """`run` executes an ARM program in the root with a Pi 5's cpuinfo and QEMU_CPU pinned, in a
    private mount namespace: nothing stays mounted under the root afterwards."""
    arch = arm_root.arch_of("arm64")
    assert arm_root.run_inside(arch, ["/bin/uname", "-m"]).strip() == "aarch64"
    assert "Raspberry Pi 5 Model B" in arm_root.run_inside(arch, ["/bin/cat", "/proc/cpuinfo"])
    env = arm_root.run_inside(arch, ["/usr/bin/env"], user="pi").splitlines()
    assert "QEMU_CPU=cortex-a76" in env and "USER=pi" in env
    assert not any(line.startswith(arm_root.NAMESPACE_MARK) for line in env)
    assert mounts_under(arm_root.root_of(arch)) == []
