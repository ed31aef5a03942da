"""From a compressed bzImage to the ``vmlinux`` QEMU boots fastest.

A bzImage is real-mode setup code followed by a compressed kernel and a small
decompressor. Under software emulation the decompressor is slow: measured on
the 2-core development machine, booting Debian's 6.1 bzImage (XZ) to a
busybox prompt took 4.9 s, its extracted ``vmlinux`` 2.5 s; for 6.12 (ZSTD)
2.9 s against 2.2 s. QEMU boots an ELF ``vmlinux`` directly when it has a PVH
entry point (``CONFIG_PVH``, on in Debian's kernels), so it is extracted once,
at fetch time.

The boot protocol (>= 2.08) says where the payload is: it starts
``payload_offset`` bytes into the protected-mode part, which begins after
``setup_sects + 1`` 512-byte sectors, and is ``payload_length`` bytes long. The
build appends the decompressed size (4 bytes) to it, which decompressors here
must ignore. When the header does not help, the image is scanned for the
compressors' magic numbers, as the kernel's ``scripts/extract-vmlinux`` does.
"""

from __future__ import annotations

import bz2
import lzma
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator

from . import elf

MAGICS = {
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
    "gzip": b"\x1f\x8b\x08",
    "bzip2": b"BZh",
}
_HDRS = b"HdrS"


def payload(image: bytes) -> bytes | None:
    """The compressed kernel inside a bzImage, from its boot-protocol header."""
    if len(image) < 0x250 or image[0x202:0x206] != _HDRS:
        return None
    version = struct.unpack_from("<H", image, 0x206)[0]
    if version < 0x208:
        return None
    setup_sects = image[0x1F1] or 4
    offset, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + offset
    if length == 0 or start + length > len(image):
        return None
    return image[start:start + length]


def _decompress(kind: str, data: bytes) -> bytes | None:
    try:
        if kind == "xz":
            return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
        if kind == "gzip":
            return zlib.decompressobj(wbits=31).decompress(data)
        if kind == "bzip2":
            return bz2.BZ2Decompressor().decompress(data)
        if kind == "zstd":
            # Python 3.11 has no zstd; the zstd program reads one frame
            # and, with the size the build appended, complains of trailing
            # bytes after it: the output is what matters.
            zstd = shutil.which("zstd")
            if zstd is None:
                return None
            done = subprocess.run([zstd, "-dcq"], input=data, capture_output=True)
            return done.stdout
    except (lzma.LZMAError, zlib.error, OSError, EOFError, ValueError):
        return None
    return None


def _candidates(image: bytes) -> Iterator[tuple[str, bytes]]:
    inner = payload(image)
    if inner is not None:
        for kind, magic in MAGICS.items():
            if inner.startswith(magic):
                yield kind, inner
    for kind, magic in MAGICS.items():
        at = image.find(magic)
        tries = 0
        while at >= 0 and tries < 8:
            yield kind, image[at:]
            at = image.find(magic, at + 1)
            tries += 1


def extract_vmlinux(image: bytes) -> tuple[bytes, str] | None:
    """(vmlinux, compressor) from a bzImage, or None if no payload decompresses to ELF."""
    for kind, data in _candidates(image):
        out = _decompress(kind, data)
        if out and out.startswith(elf.MAGIC):
            return out, kind
    return None


def compressor_missing(image: bytes) -> str | None:
    """The name of a tool that would let :func:`extract_vmlinux` succeed, if that is why it failed."""
    inner = payload(image)
    if inner is not None and inner.startswith(MAGICS["zstd"]) and shutil.which("zstd") is None:
        return "zstd"
    return None
