"""The newc writer: what the kernel's initramfs unpacker reads."""

from __future__ import annotations

import io
import shutil
import stat
import subprocess

import pytest

from conformance.kernels.cpio import CpioWriter, entries


def archive(build) -> bytes:
    out = io.BytesIO()
    writer = CpioWriter(out)
    build(writer)
    writer.close()
    return out.getvalue()


def test_round_trip_with_parents_added_first():
    data = archive(lambda w: (w.file("a/b/c.txt", b"hello", mode=0o600), w.symlink("bin/sh", "busybox")))
    listed = [(name, stat.S_IFMT(mode), stat.S_IMODE(mode), body) for name, mode, body in entries(data)]
    assert listed == [
        ("a", stat.S_IFDIR, 0o755, b""),
        ("a/b", stat.S_IFDIR, 0o755, b""),
        ("a/b/c.txt", stat.S_IFREG, 0o600, b"hello"),
        ("bin", stat.S_IFDIR, 0o755, b""),
        ("bin/sh", stat.S_IFLNK, 0o777, b"busybox"),
    ]


def test_every_header_is_four_byte_aligned_and_the_archive_ends_with_the_trailer():
    data = archive(lambda w: [w.file(f"f{i}" * (i + 1), b"x" * i) for i in range(7)])
    assert len(data) % 4 == 0
    assert data.count(b"070701") == 8  # seven files and the trailer
    at = -1
    while (at := data.find(b"070701", at + 1)) >= 0:
        assert at % 4 == 0
    assert b"TRAILER!!!" in data[-128:]


def test_a_directory_is_written_once():
    data = archive(lambda w: (w.directory("dev"), w.directory("/dev/"), w.file("dev/null", b"")))
    assert [name for name, _, _ in entries(data)] == ["dev", "dev/null"]


def test_concatenated_archives_read_in_order_later_entries_win():
    first = archive(lambda w: w.file("init", b"old"))
    second = archive(lambda w: w.file("init", b"new"))
    contents = dict((name, body) for name, _, body in entries(first + second))
    assert contents == {"init": b"new"}


def test_writing_after_close_is_refused():
    writer = CpioWriter(io.BytesIO())
    writer.close()
    with pytest.raises(ValueError):
        writer.file("late", b"")


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox not installed")
def test_busybox_cpio_lists_what_we_wrote(tmp_path):
    data = archive(lambda w: (w.file("bin/busybox", b"\x7fELF", mode=0o755), w.file("modules/order", b"9p\n")))
    listed = subprocess.run(["busybox", "cpio", "-t"], input=data, capture_output=True, check=True).stdout
    assert listed.decode().split() == ["bin", "bin/busybox", "modules", "modules/order"]
