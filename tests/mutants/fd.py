"""Mutants of descriptor allocation, duplication and sharing."""

from __future__ import annotations

from conformance.backends.kernel import KernelProcessOps, _check, _libc

from . import mutant

FD_SPECS = ("specs/fd",)


@mutant("open-skips-lowest", FD_SPECS, kills=("fd.open.first-is-3",))
class OpenSkipsLowest(KernelProcessOps):
    """open() returns the lowest free descriptor plus one (a wrong allocator)."""

    def open(self, path: str, flags: int, mode: int = 0o644) -> int:
        fd = super().open(path, flags, mode)
        moved = _check(_libc.fcntl(fd, 0, fd + 1))  # F_DUPFD above it
        _libc.close(fd)
        return moved
