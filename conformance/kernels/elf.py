"""Just enough of ELF64 to read kernel modules, busybox and vmlinux.

Three questions are asked of ELF files here, and each needs only headers:

* a module's ``.modinfo`` section (NUL-separated ``key=value`` strings) says
  what the module depends on;
* a program with a ``PT_INTERP`` header needs a dynamic loader, which an
  initramfs of one static busybox does not have;
* a ``vmlinux`` with the Xen note ``XEN_ELFNOTE_PHYS32_ENTRY`` can be booted
  by QEMU directly (the PVH entry point), skipping the bzImage decompressor.

Only little-endian ELF64 is read: every file involved is x86-64.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"\x7fELF"
PT_INTERP = 3
PT_NOTE = 4
#: the note a kernel built with CONFIG_PVH carries: its 32-bit PVH entry point
XEN_ELFNOTE_PHYS32_ENTRY = 18


class NotElf(ValueError):
    """The bytes are not a little-endian ELF64 file."""


@dataclass(frozen=True)
class Section:
    name: str
    offset: int
    size: int


def _check(data: bytes) -> None:
    if len(data) < 64 or data[:4] != MAGIC:
        raise NotElf("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise NotElf("not a little-endian 64-bit ELF file")


def sections(data: bytes) -> list[Section]:
    """The section headers, with names resolved through the string table."""
    _check(data)
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shoff == 0 or shnum == 0:
        return []
    raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = raw[shstrndx][4]

    def name(offset: int) -> str:
        start = names_at + offset
        return data[start:data.index(b"\0", start)].decode("ascii", "replace")

    return [Section(name(r[0]), r[4], r[5]) for r in raw]


def section(data: bytes, wanted: str) -> bytes | None:
    """The contents of the first section named ``wanted``, or None."""
    for sec in sections(data):
        if sec.name == wanted:
            return data[sec.offset:sec.offset + sec.size]
    return None


def _program_headers(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(type, file offset, file size) of each program header."""
    _check(data)
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        yield p_type, p_offset, p_filesz


def needs_interpreter(data: bytes) -> bool:
    """True for a dynamically linked program (it has a ``PT_INTERP`` header)."""
    return any(p_type == PT_INTERP for p_type, _, _ in _program_headers(data))


def notes(data: bytes) -> Iterator[tuple[str, int, bytes]]:
    """(owner name, type, descriptor) of every note in the ``PT_NOTE`` segments."""
    for p_type, offset, size in _program_headers(data):
        if p_type != PT_NOTE:
            continue
        pos, end = offset, offset + size
        while pos + 12 <= end:
            namesz, descsz, n_type = struct.unpack_from("<III", data, pos)
            pos += 12
            name = data[pos:pos + namesz].rstrip(b"\0").decode("ascii", "replace")
            pos += (namesz + 3) & ~3
            desc = data[pos:pos + descsz]
            pos += (descsz + 3) & ~3
            yield name, n_type, desc


def has_pvh_entry(data: bytes) -> bool:
    """True if QEMU can boot this vmlinux directly through its PVH entry point."""
    return any(name == "Xen" and n_type == XEN_ELFNOTE_PHYS32_ENTRY for name, n_type, _ in notes(data))
