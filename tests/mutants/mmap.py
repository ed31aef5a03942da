"""Mutants of memory maps: sharing, copy-on-write, page rounding, faults."""

from __future__ import annotations

from conformance.backends.kernel import KernelProcessOps

from . import mutant

MMAP_SPECS = ("specs/mmap",)


@mutant("shared-maps-are-private", MMAP_SPECS,
        kills=("mmap.shared.unrelated-processes", "mmap.shared.reaches-the-file"))
class SharedMapsArePrivate(KernelProcessOps):
    """Every file mapping is private: stores stay in the process that made them."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        return super().mmap(fd, length, prot, kind.replace("shared", "private"))


@mutant("private-maps-are-shared", MMAP_SPECS, kills=("mmap.private.copy-on-write",))
class PrivateMapsAreShared(KernelProcessOps):
    """MAP_PRIVATE behaves like MAP_SHARED: stores leak to the file and to others."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        return super().mmap(fd, length, prot, kind.replace("private", "shared"))


@mutant("mmap-extends-file", MMAP_SPECS, kills=("mmap.beyond-eof.sigbus",))
class MmapExtendsFile(KernelProcessOps):
    """Mapping past the end of a file silently grows the file, so nothing faults."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        if "anon" not in kind:
            import os

            if os.fstat(fd).st_size < length:
                self.ftruncate(fd, length)
        return super().mmap(fd, length, prot, kind)


@mutant("tail-written-to-file", MMAP_SPECS, kills=("mmap.page-unit",))
class TailWrittenToFile(KernelProcessOps):
    """Stores past the end of the file within the last page extend the file."""

    def map_write(self, handle: int, offset: int, data: bytes) -> int:
        result = super().map_write(handle, offset, data)
        if offset >= self.mappings[handle][1]:
            for fd in self.fd_list():
                if fd > 2:
                    try:
                        self.ftruncate(fd, offset + len(data))
                    except OSError:
                        pass
        return result


@mutant("anonymous-never-shared", MMAP_SPECS, kills=("mmap.fork.shared-anonymous",))
class AnonymousNeverShared(KernelProcessOps):
    """Anonymous shared memory is copied at fork like private memory."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        return super().mmap(fd, length, prot, "private-anon" if kind == "shared-anon" else kind)


@mutant("read-only-is-writable", MMAP_SPECS, kills=("mmap.read-only.segv",))
class ReadOnlyIsWritable(KernelProcessOps):
    """PROT_READ is ignored: read-only mappings accept stores."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        return super().mmap(fd, length, "rw", kind if "anon" in kind else "private")
