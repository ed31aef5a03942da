"""Small stand-ins for the real things: ELF files, a kernel package, a cache entry, QEMU."""

from __future__ import annotations

import lzma
import os
import struct
import sys
import textwrap
from pathlib import Path

from conformance.kernels.cache import KernelEntry
from conformance.kernels.cpio import CpioWriter

PT_INTERP, PT_NOTE = 3, 4


def elf(sections: dict[str, bytes] | None = None, *, interp: bool = False,
        notes: list[tuple[str, int, bytes]] | None = None) -> bytes:
    """A little-endian ELF64 file with the given sections and program headers."""
    sections = sections or {}
    segments: list[tuple[int, bytes]] = []
    if interp:
        segments.append((PT_INTERP, b"/lib64/ld-linux-x86-64.so.2\0"))
    if notes:
        blob = b""
        for name, n_type, desc in notes:
            raw = name.encode() + b"\0"
            blob += struct.pack("<III", len(raw), len(desc), n_type)
            blob += raw + b"\0" * (-len(raw) % 4) + desc + b"\0" * (-len(desc) % 4)
        segments.append((PT_NOTE, blob))
    body = bytearray()
    base = 64 + 56 * len(segments)
    program_headers = b""
    for p_type, data in segments:
        program_headers += struct.pack("<IIQQQQQQ", p_type, 4, base + len(body), 0, 0, len(data), len(data), 4)
        body += data
    names = b"\0.shstrtab\0"
    placed = []
    for name, data in sections.items():
        placed.append((len(names), base + len(body), len(data)))
        names += name.encode() + b"\0"
        body += data
    shstr_at = base + len(body)
    body += names
    shoff = base + len(body)
    headers = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    for name_off, offset, size in placed:
        headers += struct.pack("<IIQQQQIIQQ", name_off, 1, 0, 0, offset, size, 0, 0, 1, 0)
    headers += struct.pack("<IIQQQQIIQQ", 1, 3, 0, 0, shstr_at, len(names), 0, 0, 1, 0)
    shnum = len(placed) + 2
    header = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 1, 62, 1, 0,
                         64 if segments else 0, shoff, 0, 64, 56, len(segments), 64, shnum, shnum - 1)
    return header + program_headers + bytes(body) + headers


def module(depends: str = "", name: str = "") -> bytes:
    info = f"license=GPL\0depends={depends}\0name={name}\0vermagic=6.1.0 SMP\0".encode()
    return elf({".text": b"\x90" * 16, ".modinfo": info})


def module_tree(root: Path, release: str, modules: dict[str, str], builtin: tuple[str, ...] = (),
                xz: tuple[str, ...] = ()) -> Path:
    """``root/lib/modules/<release>/kernel/...`` with modules named -> their ``depends=``."""
    tree = root / "lib" / "modules" / release
    for name, depends in modules.items():
        data = module(depends, name)
        suffix = ".ko"
        if name in xz:
            data, suffix = lzma.compress(data), ".ko.xz"
        path = tree / "kernel" / "fs" / name / f"{name}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (tree / "modules.builtin").write_text("".join(f"kernel/drivers/{b}.ko\n" for b in builtin))
    return tree


def entry(directory: Path, release: str = "6.1.0-99-amd64", version: str = "6.1.999-1") -> KernelEntry:
    """A cache entry whose files exist (a kernel no one could boot)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "initramfs.cpio").open("wb") as out:
        archive = CpioWriter(out)
        archive.file("bin/busybox", b"not really")
        archive.close()
    (directory / "vmlinux").write_bytes(elf())
    made = KernelEntry(release=release, package=f"linux-image-{release}", package_version=version,
                       image="vmlinux", image_kind="vmlinux (decompressed from xz)", modules=["9p"])
    made.save(directory)
    return KernelEntry.load(directory)


FAKE_QEMU = '''\
#!{python}
"""Behaves like qemu-system-x86_64 booting an ipc-conformance guest, as $FAKE_QEMU_MODE says."""
import json, os, signal, subprocess, sys, time

args = sys.argv[1:]
mode = os.environ.get("FAKE_QEMU_MODE", "status:0")
accel = args[args.index("-accel") + 1]
ctl = next(v for v in args if "mount_tag=ctl," in v).split("path=")[1].split(",mount_tag")[0]
child = None
if mode.startswith("hang"):
    child = subprocess.Popen(["sleep", "300"])
record = os.environ.get("FAKE_QEMU_RECORD")
if record:
    with open(record, "a") as f:
        f.write(json.dumps({{"pid": os.getpid(), "accel": accel, "argv": args,
                            "child": child.pid if child else None}}) + "\\n")

def say(line):
    print(line, flush=True)

say("SeaBIOS (version fake)")
if accel == "kvm" and mode.endswith("kvm-abort"):
    say("qemu-system-x86_64: error: failed to set MSR 0x38f to 0x7000000ff")
    os.abort()
if accel == "kvm" and mode.endswith("kvm-internal-error"):
    say("KVM internal error. Suberror: 1")
    time.sleep(300)
if accel == "kvm" and mode.endswith("kvm-slow"):
    time.sleep(300)
say("ipc-conformance-guest: init 0.51")
if mode == "panic":
    say("[    1.2] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100")
    sys.exit(0)
if mode == "error":
    say("ipc-conformance-guest: error: cannot mount the host's root over 9p")
    sys.exit(0)
say("ipc-conformance-guest: running 1.02")
if mode.startswith("hang"):
    say("job: working")
    time.sleep(300)
status = mode.split(":")[1] if ":" in mode else "0"
sys.stdout.write("job: partial line... ")
sys.stdout.flush()
say("done")
with open(os.path.join(ctl, "status.tmp"), "w") as f:
    f.write(status + "\\n")
os.rename(os.path.join(ctl, "status.tmp"), os.path.join(ctl, "status"))
say(f"ipc-conformance-guest: status {{status}}")
say("[    2.0] reboot: Power down")
'''


def fake_qemu(directory: Path) -> Path:
    """Write the fake as ``directory/qemu-system-x86_64``; put ``directory`` first on PATH to use it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "qemu-system-x86_64"
    path.write_text(textwrap.dedent(FAKE_QEMU.format(python=sys.executable)))
    path.chmod(0o755)
    return path


def alive(pid: int) -> bool:
    """Running (a zombie has finished: only its parent's wait is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def env_with(path_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{path_dir}:{env.get('PATH', '')}"
    env.update(extra)
    return env
