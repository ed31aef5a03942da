"""QEMU's command line, and the choice between KVM and software emulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.kernels import accel, qemu

SHARES = [qemu.Share("hostroot", Path("/"), readonly=True), qemu.Share("ctl", Path("/tmp/a,b")),
          qemu.Share("rw0", Path("/work/main"))]


def argv(acc: str = "tcg") -> list[str]:
    return qemu.command(kernel=Path("/k/vmlinux"), initrd=Path("/t/initrd.cpio"), accel=acc,
                        shares=SHARES, memory_mb=1024, cpus=2)


def option(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == name]


def test_a_bare_machine_booting_the_kernel_directly():
    args = argv()
    assert args[0] == "qemu-system-x86_64"
    assert option(args, "-accel") == ["tcg"]
    assert option(args, "-kernel") == ["/k/vmlinux"] and option(args, "-initrd") == ["/t/initrd.cpio"]
    assert option(args, "-m") == ["1024"] and option(args, "-smp") == ["2"]
    for flag in ("-nodefaults", "-no-user-config", "-no-reboot"):
        assert flag in args
    assert option(args, "-display") == ["none"] and option(args, "-serial") == ["stdio"]


def test_panic_ends_qemu_and_the_console_is_the_serial_port():
    append = option(argv(), "-append")[0].split()
    assert "panic=-1" in append and "console=ttyS0" in append and "rdinit=/init" in append


def test_the_host_root_is_shared_read_only_and_the_rest_writable():
    shares = option(argv(), "-virtfs")
    assert shares[0] == "local,path=/,mount_tag=hostroot,security_model=none,multidevs=remap,readonly=on"
    assert "readonly" not in shares[2] and "mount_tag=rw0" in shares[2]


def test_commas_in_paths_are_escaped():
    assert "path=/tmp/a,,b,mount_tag=ctl" in option(argv(), "-virtfs")[1]


def test_cpu_model_follows_the_accelerator():
    assert option(argv("kvm"), "-cpu") == ["host"]
    assert option(argv("tcg"), "-cpu") == []


# -- KVM or TCG --------------------------------------------------------------
def modules_dir(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / "sys-module" / name).mkdir(parents=True)
    (tmp_path / "sys-module").mkdir(exist_ok=True)
    return tmp_path / "sys-module"


def fake_device(tmp_path: Path) -> str:
    device = tmp_path / "kvm"
    device.write_bytes(b"")
    return str(device)


def test_no_device_no_kvm(tmp_path):
    status = accel.kvm_status(str(tmp_path / "no-kvm"), modules_dir(tmp_path, "kvm", "kvm_intel"))
    assert not status.usable and "no-kvm" in status.reason


def test_the_pvm_backend_alone_cannot_run_a_stock_kernel(tmp_path):
    status = accel.kvm_status(fake_device(tmp_path), modules_dir(tmp_path, "kvm", "kvm_pvm"))
    assert not status.usable and "kvm_pvm" in status.reason


@pytest.mark.parametrize("loaded", [("kvm", "kvm_intel"), ("kvm", "kvm_amd"), ("kvm", "kvm_pvm", "kvm_intel")])
def test_a_full_backend_is_usable(tmp_path, loaded):
    assert accel.kvm_status(fake_device(tmp_path), modules_dir(tmp_path, *loaded)).usable


USABLE = accel.KvmStatus(True, "KVM available")
PVM = accel.KvmStatus(False, "KVM here is the PVM backend (kvm_pvm), which cannot run a stock kernel")


@pytest.mark.parametrize("requested, status, order, says", [
    ("auto", USABLE, ("kvm", "tcg"), None),
    ("auto", PVM, ("tcg",), "software emulation"),
    ("tcg", USABLE, ("tcg",), None),
    ("kvm", USABLE, ("kvm",), None),
    ("kvm", PVM, ("kvm",), "--accel kvm although"),
])
def test_choice(requested, status, order, says):
    choice = accel.choose(requested, status)
    assert choice.order == order
    assert (choice.note is None) if says is None else (says in choice.note)


@pytest.mark.parametrize("acc, remaining, started, failed, waited, expected", [
    ("kvm", ("tcg",), False, True, 1.0, True),             # QEMU aborted, or KVM internal error
    ("kvm", ("tcg",), False, False, accel.KVM_BOOT_GRACE, True),  # crawling
    ("kvm", ("tcg",), False, False, 1.0, False),            # still booting normally
    ("kvm", ("tcg",), True, True, 99.0, False),              # the job had started: never repeat it
    ("kvm", (), False, True, 99.0, False),                   # --accel kvm: nothing to fall back to
    ("tcg", (), False, True, 99.0, False),
])
def test_fall_back(acc, remaining, started, failed, waited, expected):
    assert accel.should_fall_back(acc, remaining, started, failed, waited) is expected
