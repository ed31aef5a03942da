"""The initramfs format: ``newc`` cpio archives, written and read.

An initramfs is a cpio archive in the "new ASCII" format: for each entry a
110-byte header of thirteen 8-digit hex fields, the NUL-terminated name and
the data, each padded to a multiple of 4 bytes; an entry named
``TRAILER!!!`` ends the archive. The kernel unpacks *concatenated* archives
one after another, later entries replacing earlier ones, which is how a run
adds its own ``/init`` to a cached base archive without rewriting it.

Entries carry mtime 0 and owner root, so the same inputs give the same bytes.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from typing import BinaryIO

TRAILER = "TRAILER!!!"
_HEADER_LEN = 110


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


class CpioWriter:
    """Write a newc archive; parent directories are added when first needed."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._inode = 0x1000
        self._dirs: set[str] = set()
        self._closed = False

    def _entry(self, name: str, mode: int, data: bytes = b"", nlink: int = 1) -> None:
        if self._closed:
            raise ValueError("archive already closed")
        self._inode += 1
        encoded = name.encode() + b"\0"
        fields = (self._inode, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        header = b"070701" + b"".join(b"%08x" % value for value in fields)
        self._out.write(header + encoded + _pad(_HEADER_LEN + len(encoded)))
        self._out.write(data + _pad(len(data)))

    def _parents(self, name: str) -> None:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self.directory("/".join(parts[:i]))

    def directory(self, name: str, mode: int = 0o755) -> None:
        name = name.strip("/")
        if name in self._dirs:
            return
        self._parents(name)
        self._dirs.add(name)
        self._entry(name, stat.S_IFDIR | mode, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        name = name.strip("/")
        self._parents(name)
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        name = name.strip("/")
        self._parents(name)
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def close(self) -> None:
        """Write the trailer; the archive is complete (the stream stays open)."""
        self._entry(TRAILER, 0)
        self._closed = True


def entries(data: bytes) -> Iterator[tuple[str, int, bytes]]:
    """(name, mode, data) of every entry of one or more concatenated archives."""
    pos = 0
    while pos + _HEADER_LEN <= len(data):
        if data[pos:pos + 6] != b"070701":
            if data[pos:pos + 4] == b"\0\0\0\0":  # padding between archives
                pos += 4
                continue
            raise ValueError(f"not a newc cpio header at offset {pos}")
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_at = pos + _HEADER_LEN
        name = data[name_at:name_at + namesize - 1].decode()
        data_at = name_at + namesize + len(_pad(_HEADER_LEN + namesize))
        pos = data_at + size + len(_pad(size))
        if name != TRAILER:
            yield name, mode, data[data_at:data_at + size]
