"""Getting vmlinux out of a bzImage."""

from __future__ import annotations

import gzip
import lzma
import struct

from conformance.kernels import elf
from conformance.kernels.image import extract_vmlinux, payload

from .fakes import elf as make_elf

VMLINUX = make_elf({".text": bytes(range(256)) * 64},
                   notes=[("Xen", elf.XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<I", 0x1000000))])


def bzimage(compressed: bytes, setup_sects: int = 3, offset: int = 0x3A0) -> bytes:
    """A bzImage shaped like the real ones: setup sectors, then the payload at payload_offset."""
    body = compressed + struct.pack("<I", len(VMLINUX))  # the build appends the size
    image = bytearray((setup_sects + 1) * 512 + offset)
    image[0x1F1] = setup_sects
    image[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", image, 0x206, 0x20F)
    struct.pack_into("<II", image, 0x248, offset, len(body))
    return bytes(image) + body + b"decompressor code follows"


def test_payload_from_the_boot_protocol_header():
    compressed = lzma.compress(VMLINUX, format=lzma.FORMAT_XZ)
    assert payload(bzimage(compressed))[: len(compressed)] == compressed


def test_xz_payload():
    assert extract_vmlinux(bzimage(lzma.compress(VMLINUX))) == (VMLINUX, "xz")


def test_gzip_payload():
    assert extract_vmlinux(bzimage(gzip.compress(VMLINUX))) == (VMLINUX, "gzip")


def test_without_a_header_the_magic_number_is_searched_for():
    image = b"\x00" * 700 + b"\xfd7zXZ\x00 a false start " + lzma.compress(VMLINUX) + b"tail"
    assert extract_vmlinux(image) == (VMLINUX, "xz")


def test_no_kernel_inside():
    assert extract_vmlinux(b"MZ" + b"\x00" * 4096) is None
    assert extract_vmlinux(bzimage(lzma.compress(b"not an ELF file"))) is None


def test_pvh_note_is_recognised():
    assert elf.has_pvh_entry(VMLINUX)
    assert not elf.has_pvh_entry(make_elf({".text": b"\x90"}))
    assert not elf.has_pvh_entry(make_elf(notes=[("GNU", 3, b"build-id")]))
