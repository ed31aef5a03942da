"""The ``qemu-system-x86_64`` command line of a guest run.

A bare machine: no default devices (``-nodefaults``), no display, no
network, no disk. The kernel and initramfs are given directly; the console
is the first serial port on QEMU's stdout (``console=ttyS0``), which the
runner reads. Files reach the guest only through 9p shares (``-virtfs``):

* ``hostroot``: the host's ``/``, read-only (``readonly=on``);
* ``ctl``: a temporary directory of the runner, for the exit status;
* ``rw0``, ``rw1``...: the writable directories (project, report).

``security_model=none`` passes the host's owners and modes through unchanged
(QEMU runs as the invoking user, so the guest can do what that user can);
``multidevs=remap`` keeps inode numbers unique across the host's several
filesystems under ``/``.

Kernel parameters: ``panic=-1`` reboots at once on a panic, and
``-no-reboot`` turns that reboot into QEMU exiting, so a panic ends the run
instead of hanging until the deadline; ``quiet`` keeps the console for the
suite's own output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

QEMU = "qemu-system-x86_64"
KERNEL_ARGS = ("console=ttyS0", "quiet", "panic=-1", "rdinit=/init")


@dataclass(frozen=True)
class Share:
    tag: str
    path: Path
    readonly: bool = False


def _escape(value: str) -> str:
    """QEMU option values: a comma is written as two commas."""
    return value.replace(",", ",,")


def virtfs(share: Share) -> str:
    option = (f"local,path={_escape(str(share.path))},mount_tag={share.tag},"
              "security_model=none,multidevs=remap")
    return option + (",readonly=on" if share.readonly else "")


def command(*, kernel: Path, initrd: Path, accel: str, shares: Sequence[Share],
            memory_mb: int = 2048, cpus: int = 2, qemu: str = QEMU,
            extra_kernel_args: Sequence[str] = ()) -> list[str]:
    """The argv that boots ``kernel`` with ``initrd`` and ``shares``."""
    argv = [
        qemu,
        "-accel", accel,
        # KVM: the host's CPU as it is. TCG: QEMU's default qemu64 model,
        # whose SSE2-only baseline keeps libc off AVX2 routines that are
        # slower to emulate (-cpu max did not make the suite faster).
        *(("-cpu", "host") if accel == "kvm" else ()),
        "-m", str(memory_mb),
        "-smp", str(cpus),
        "-nodefaults", "-no-user-config", "-no-reboot",
        "-display", "none", "-monitor", "none", "-serial", "stdio",
        "-kernel", str(kernel),
        "-initrd", str(initrd),
        "-append", " ".join((*KERNEL_ARGS, *extra_kernel_args)),
    ]
    for share in shares:
        argv += ["-virtfs", virtfs(share)]
    return argv
