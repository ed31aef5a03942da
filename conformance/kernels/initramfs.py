"""The guest's initramfs: a static busybox and the modules that reach the host.

Built at fetch time, once per kernel, and kept uncompressed (the kernel
unpacks it in well under a second; compressing would only add a decompressor
run under emulation)::

    bin/busybox         Debian's busybox-static: the guest has no libc yet
    modules/NAME.ko     uncompressed, one per module in load order
    modules/order       their names, one a line, dependencies first
    dev proc sys newroot ctl    mount points /init uses

``/init`` itself is *not* in it: each run appends a second archive with the
current :mod:`.guest` script and the run's job (see :func:`with_overlay`),
so a cached kernel never carries a stale script.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from . import KernelError, elf
from .cpio import CpioWriter
from .modules import ModuleTree

#: where busybox-static puts it (the dynamic ``busybox`` package uses the same path)
BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")
MOUNT_POINTS = ("dev", "proc", "sys", "newroot", "ctl", "job")


def find_busybox(candidates: tuple[str, ...] = BUSYBOX_PATHS) -> Path:
    """A statically linked busybox on this machine, or a clear error."""
    dynamic = None
    for candidate in candidates:
        path = Path(candidate)
        if not path.is_file():
            continue
        try:
            if not elf.needs_interpreter(path.read_bytes()):
                return path
        except elf.NotElf:
            continue
        dynamic = path
    found = f"{dynamic} is dynamically linked" if dynamic else "no busybox found"
    raise KernelError(f"the guest needs a static busybox ({found}): apt-get install busybox-static")


def build_base(tree: ModuleTree, order: list[str], busybox: Path) -> bytes:
    """The cached part of the initramfs, as bytes."""
    out = io.BytesIO()
    archive = CpioWriter(out)
    for name in MOUNT_POINTS:
        archive.directory(name)
    archive.file("bin/busybox", busybox.read_bytes(), mode=0o755)
    for name in order:
        archive.file(f"modules/{name}.ko", tree.read(name))
    archive.file("modules/order", "".join(f"{name}\n" for name in order).encode())
    archive.close()
    return out.getvalue()


def with_overlay(base: Path, overlay: bytes, out: Path) -> None:
    """Write ``base`` followed by ``overlay``: the kernel unpacks both, in order."""
    with base.open("rb") as src, out.open("wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.write(overlay)
