"""The initramfs: the cached base (busybox, modules) and a run's overlay (/init, job)."""

from __future__ import annotations

import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from conformance.kernels import KernelError, guest
from conformance.kernels.cpio import entries
from conformance.kernels.initramfs import build_base, find_busybox, with_overlay
from conformance.kernels.modules import ModuleTree

from .fakes import elf, module_tree

DEPS = {"netfs": "", "9pnet": "", "9pnet_virtio": "9pnet", "9p": "9pnet,netfs"}


def contents(data: bytes) -> dict[str, tuple[int, bytes]]:
    return {name: (mode, body) for name, mode, body in entries(data)}


def test_a_static_busybox_is_found(tmp_path):
    static = tmp_path / "busybox"
    static.write_bytes(elf())
    assert find_busybox((str(tmp_path / "missing"), str(static))) == static


def test_a_dynamic_busybox_is_refused_with_the_package_to_install(tmp_path):
    dynamic = tmp_path / "busybox"
    dynamic.write_bytes(elf(interp=True))
    with pytest.raises(KernelError, match="dynamically linked.*busybox-static"):
        find_busybox((str(dynamic),))


def test_no_busybox_at_all(tmp_path):
    with pytest.raises(KernelError, match="no busybox found.*busybox-static"):
        find_busybox((str(tmp_path / "nope"),))


def test_the_base_holds_busybox_the_modules_in_order_and_the_mount_points(tmp_path):
    tree = ModuleTree(module_tree(tmp_path, "6.12.1+deb12-amd64", DEPS, builtin=("virtio_pci",), xz=("9p",)))
    busybox = tmp_path / "busybox"
    busybox.write_bytes(elf())
    files = contents(build_base(tree, tree.load_order(), busybox))
    mode, body = files["bin/busybox"]
    assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o755 and body == busybox.read_bytes()
    order = files["modules/order"][1].decode().split()
    assert order == ["9pnet", "9pnet_virtio", "netfs", "9p"]
    for name in order:
        assert files[f"modules/{name}.ko"][1].startswith(b"\x7fELF"), "stored uncompressed"
    for mount_point in ("dev", "proc", "sys", "newroot", "ctl", "job"):
        assert stat.S_ISDIR(files[mount_point][0])
    assert "init" not in files, "/init comes with each run"


def test_a_run_appends_init_and_its_job(tmp_path):
    base = tmp_path / "base.cpio"
    base.write_bytes(b"")
    overlay = guest.overlay(["/usr/bin/python3", "-c", "print('it''s')"], {"A": "1 2"}, "/work/x y",
                            [("rw1", Path("/work/main/reports/r")), ("rw0", Path("/work/main"))])
    out = tmp_path / "initrd"
    with_overlay(base, overlay, out)
    files = contents(out.read_bytes())
    mode, init = files["init"]
    assert stat.S_IMODE(mode) == 0o755 and init.startswith(b"#!/bin/busybox sh\n")
    assert files["job/mounts"][1] == b"rw0 /work/main\nrw1 /work/main/reports/r\n", "parents first"
    script = files["job/run.sh"][1].decode().splitlines()
    assert script[1] == "cd '/work/x y' || exit 2"
    words = shlex.split(script[2])
    assert words[:4] == ["exec", "/usr/bin/env", "-i", "A=1 2"]
    assert words[4:] == ["/usr/bin/python3", "-c", "print('it''s')"]


def test_shared_paths_with_whitespace_are_refused():
    with pytest.raises(KernelError, match="whitespace"):
        guest.mounts_file([("rw0", Path("/my reports"))])


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox not installed")
def test_init_and_job_are_valid_shell(tmp_path):
    (tmp_path / "init").write_text(guest.init_script())
    (tmp_path / "run.sh").write_text(guest.run_script(["true"], {"X": "$(oops)"}, "/"))
    for name in ("init", "run.sh"):
        subprocess.run(["busybox", "sh", "-n", str(tmp_path / name)], check=True)
    assert guest.MARK in guest.init_script() and "@MARK@" not in guest.init_script()
