"""Mutants of POSIX shared memory: each gets one rule of shm_open, shm_unlink or their mappings wrong."""

from __future__ import annotations

import errno
import os
import signal

from conformance.backends.kernel import KernelProcessOps

from . import mutant

SHM_SPECS = ("specs/posix/shm",)
PAGE = os.sysconf("SC_PAGE_SIZE")


def _errno(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class _Tracked(KernelProcessOps):
    """Remembers which descriptors shm_open returned, so a mutant can treat them apart."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        fd = super().shm_open(name, oflag, mode)
        self.__dict__.setdefault("shm_fds", set()).add(fd)
        return fd

    def is_shm(self, fd: int) -> bool:
        return fd in self.__dict__.get("shm_fds", set())


@mutant("shm-new-has-a-page", SHM_SPECS, kills=("posix.shm.new-size-zero",))
class ShmNewHasAPage(KernelProcessOps):
    """A new object starts one page long."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        fd = super().shm_open(name, oflag, mode)
        if oflag & os.O_CREAT and oflag & os.O_EXCL:
            self.ftruncate(fd, PAGE)
        return fd


@mutant("shm-maps-private", SHM_SPECS, kills=("posix.shm.shared-mapping-visible",))
class ShmMapsPrivate(_Tracked):
    """MAP_SHARED of a shared memory object behaves as MAP_PRIVATE."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        return super().mmap(fd, length, prot, "private" if self.is_shm(fd) else kind)


@mutant("shm-ignores-trunc", SHM_SPECS, kills=("posix.shm.o-trunc",))
class ShmIgnoresTrunc(KernelProcessOps):
    """O_TRUNC is dropped."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        return super().shm_open(name, oflag & ~os.O_TRUNC, mode)


@mutant("shm-private-is-shared", SHM_SPECS, kills=("posix.shm.private-not-shared",))
class ShmPrivateIsShared(_Tracked):
    """MAP_PRIVATE of a shared memory object writes through to it."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        return super().mmap(fd, length, prot, "shared" if self.is_shm(fd) else kind)


@mutant("shm-mmap-grows-object", SHM_SPECS, kills=("posix.shm.beyond-end-sigbus",))
class ShmMmapGrowsObject(_Tracked):
    """Mapping past the object's end grows the object, so nothing faults."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        if self.is_shm(fd) and os.fstat(fd).st_size < length:
            self.ftruncate(fd, length)
        return super().mmap(fd, length, prot, kind)


@mutant("shm-last-close-empties", SHM_SPECS, kills=("posix.shm.survives-close",))
class ShmLastCloseEmpties(_Tracked):
    """Closing a shared memory descriptor discards the object's contents."""

    def close(self, fd: int) -> int:
        if self.is_shm(fd):
            self.ftruncate(fd, 0)
        return super().close(fd)


@mutant("shm-unlink-destroys", SHM_SPECS, kills=("posix.shm.unlink-while-mapped",))
class ShmUnlinkDestroys(KernelProcessOps):
    """shm_unlink destroys the contents at once, under the mappings' feet."""

    def shm_unlink(self, name: str) -> int:
        try:
            fd = super().shm_open(name, os.O_RDWR, 0)
        except OSError:
            return super().shm_unlink(name)
        self.ftruncate(fd, 0)
        super().close(fd)
        return super().shm_unlink(name)


@mutant("shm-open-ignores-excl", SHM_SPECS, kills=("posix.shm.create-excl-eexist",))
class ShmOpenIgnoresExcl(KernelProcessOps):
    """O_EXCL is dropped: O_CREAT|O_EXCL opens an existing object."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        return super().shm_open(name, oflag & ~os.O_EXCL, mode)


@mutant("shm-open-always-creates", SHM_SPECS, kills=("posix.shm.open-missing-enoent",))
class ShmOpenAlwaysCreates(KernelProcessOps):
    """Every shm_open creates a missing object, with or without O_CREAT."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        return super().shm_open(name, oflag | os.O_CREAT, mode)


@mutant("shm-bad-name-enoent", SHM_SPECS, kills=("posix.shm.name-slash-einval",))
class ShmBadNameEnoent(KernelProcessOps):
    """A badly formed name is reported as missing (ENOENT) rather than invalid."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        if name == "/" or "/" in name[1:]:
            raise _errno(errno.ENOENT)
        return super().shm_open(name, oflag, mode)


@mutant("shm-long-name-einval", SHM_SPECS, kills=("posix.shm.name-too-long",))
class ShmLongNameEinval(KernelProcessOps):
    """A name too long is reported as EINVAL instead of ENAMETOOLONG."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        try:
            return super().shm_open(name, oflag, mode)
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise _errno(errno.EINVAL) from None
            raise


@mutant("shm-open-eperm", SHM_SPECS, kills=("posix.shm.unprivileged-eacces",))
class ShmOpenEperm(KernelProcessOps):
    """Permission refusals come back as EPERM."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        try:
            return super().shm_open(name, oflag, mode)
        except OSError as exc:
            if exc.errno == errno.EACCES:
                raise _errno(errno.EPERM) from None
            raise


@mutant("shm-elsewhere", SHM_SPECS, kills=("posix.shm.in-dev-shm",))
class ShmElsewhere(KernelProcessOps):
    """Objects live under another file name than /dev/shm/NAME (here /dev/shm/sem.NAME)."""

    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        return super().shm_open(f"/sem.{name[1:]}", oflag, mode)

    def shm_unlink(self, name: str) -> int:
        return super().shm_unlink(f"/sem.{name[1:]}")


# -- mutants the model-checked machine must catch ------------------------------------------
MACHINE_SPECS = ("specs/posix/shm/test_posix_shm_machine.py",)
MACHINE = ("posix.shm.model.multi-process",)


@mutant("shm-machine-shared-store-unseen", MACHINE_SPECS, kills=MACHINE)
class ShmSharedStoreUnseen(ShmMapsPrivate):
    """A MAP_SHARED store to a shared memory object is not seen by another process (it maps
    private), found among random sequences of opens, stores, loads and forks."""


@mutant("shm-machine-unlink-destroys", MACHINE_SPECS, kills=MACHINE)
class ShmMachineUnlinkDestroys(ShmUnlinkDestroys):
    """shm_unlink empties the object while descriptors and mappings still hold it."""


@mutant("shm-machine-sigbus-by-byte", MACHINE_SPECS, kills=MACHINE)
class ShmSigbusByByte(_Tracked):
    """A load or store past the object's size faults even inside its last page (a byte-granular
    check where the kernel faults by page)."""

    def mmap(self, fd: int, length: int, prot: str, kind: str) -> int:
        handle = super().mmap(fd, length, prot, kind)
        if self.is_shm(fd) and "anon" not in kind:
            self.__dict__.setdefault("shm_paths", {})[handle] = os.readlink(f"/proc/self/fd/{fd}")
        return handle

    def _check(self, handle: int, end: int) -> None:
        path = self.__dict__.get("shm_paths", {}).get(handle)
        if path is not None and os.path.exists(path) and end > os.stat(path).st_size:
            os.kill(os.getpid(), signal.SIGBUS)

    def map_read(self, handle: int, offset: int, count: int) -> bytes:
        if count:
            self._check(handle, offset + count)
        return super().map_read(handle, offset, count)

    def map_write(self, handle: int, offset: int, data: bytes) -> int:
        if data:
            self._check(handle, offset + len(data))
        return super().map_write(handle, offset, data)

    def munmap(self, handle: int) -> int:
        self.__dict__.get("shm_paths", {}).pop(handle, None)
        return super().munmap(handle)
