"""Mutants of System V shared memory: each one a shmget(2), shmop(2) or shmctl(2) rule broken.

Every mutant is the kernel backend with one behavior of shared memory
segments changed the way a real system could change it: attachments that
are private copies (a message-passing emulation), stores published only at
detach (a distributed shared memory with release consistency), a fork that
copies the attached memory, a library that caches one attachment per
segment or attaches for every store, size checks read the seed's way,
``IPC_RMID`` done at once, never, or in user space, statistics read from
the wrong fields, a kernel set up with ``shm_rmid_forced``. The shared
memory specs must notice each one.

Attachments are handles onto addresses (see
:class:`~conformance.backends.sysv_kernel.Attachment`); mutants that need to
know which segment a handle belongs to record it in :class:`_Tracking`.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
from typing import Any

from conformance.backends.kernel import KernelProcessOps
from conformance.backends.sysv_kernel import Attachment
from conformance.backends.sysv_ops import IPC_CREAT, IPC_EXCL, IPC_PRIVATE, SHM_DEST, SHM_RDONLY

from . import mutant
from .sysv_common import error

SHM = "specs/sysv/shm/"
GET = (SHM + "test_shm_get.py",)
ATTACH = (SHM + "test_shm_attach.py",)
RMID = (SHM + "test_shm_rmid.py",)
STAT = (SHM + "test_shm_stat.py",)
SYNC = (SHM + "test_shm_sync.py",)
PAGE = os.sysconf("SC_PAGE_SIZE")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
_libc.shmat.restype = ctypes.c_void_p
_libc.shmdt.argtypes = [ctypes.c_void_p]
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.mmap.restype = ctypes.c_void_p
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_PROT_READ, _PROT_WRITE = 1, 2
_MAP_PRIVATE, _MAP_FIXED, _MAP_ANONYMOUS = 0x02, 0x10, 0x20


def _pages(size: int) -> int:
    return -(-max(size, 1) // PAGE) * PAGE


def _fault() -> None:
    """Die of SIGSEGV, as a process touching memory that is no longer there."""
    os.kill(os.getpid(), signal.SIGSEGV)


class _Tracking(KernelProcessOps):
    """Remembers the segment behind each attachment handle (copied by fork, lost by exec)."""

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.segment_of: dict[int, int] = {}

    def shmat(self, shmid: int, flags: int) -> int:
        handle = super().shmat(shmid, flags)
        self.segment_of[handle] = shmid
        return handle

    def shmat_at(self, shmid: int, address_hint: str, flags: int) -> int:
        handle = super().shmat_at(shmid, address_hint, flags)
        self.segment_of[handle] = shmid
        return handle

    def _nattch(self, shmid: int) -> int:
        return int(super().shmctl_stat(shmid)["nattch"])


def _create_or_open(ops: Any, key: int, size: int, flags: int) -> tuple[int, bool]:
    """shmget through ``ops``'s kernel shmget; returns (id, whether this call created it)."""
    if not flags & IPC_CREAT:
        return KernelProcessOps.shmget(ops, key, size, flags), False
    if key == IPC_PRIVATE:
        return KernelProcessOps.shmget(ops, key, size, flags), True
    try:
        return KernelProcessOps.shmget(ops, key, size, flags | IPC_EXCL), True
    except OSError as exc:
        if exc.errno != errno.EEXIST or flags & IPC_EXCL:
            raise
    return KernelProcessOps.shmget(ops, key, size, flags), False


# -- attaching ------------------------------------------------------------------
@mutant("attachment-is-a-private-copy", ATTACH, kills=("sysv.shm.visible-across-processes",))
class AttachmentIsAPrivateCopy(KernelProcessOps):
    """Each attachment is a private copy of the segment taken at shmat (a message-passing emulation).

    Reads and writes go to the copy: nothing a process stores reaches the
    others.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.copies: dict[int, bytearray] = {}

    def _copy(self, handle: int) -> int:
        att = self.sysv_state.attachments[handle]
        self.copies[handle] = bytearray(ctypes.string_at(att.address, att.size))
        return handle

    def shmat(self, shmid: int, flags: int) -> int:
        return self._copy(super().shmat(shmid, flags))

    def shmat_at(self, shmid: int, address_hint: str, flags: int) -> int:
        return self._copy(super().shmat_at(shmid, address_hint, flags))

    def shm_write(self, handle: int, offset: int, data: bytes) -> int:
        self._shm_access(handle, offset, len(data))
        self.copies[handle][offset:offset + len(data)] = data
        return len(data)

    def shm_read(self, handle: int, offset: int, count: int) -> bytes:
        self._shm_access(handle, offset, count)
        return bytes(self.copies[handle][offset:offset + count])


@mutant("second-attach-aliases-first", ATTACH, kills=("sysv.shm.null-address-distinct-attachments",))
class SecondAttachAliasesFirst(_Tracking):
    """A library that keeps one attachment per segment: a second shmat hands out the first again.

    Both handles name one mapping, so the kernel counts one attachment, and
    detaching either unmaps the memory behind both.
    """

    def shmat_at(self, shmid: int, address_hint: str, flags: int) -> int:
        state = self.sysv_state
        for handle, seg in self.segment_of.items():
            if seg == shmid and handle in state.attachments:
                first = state.attachments[handle]
                alias = min(set(range(len(state.attachments) + 1)) - set(state.attachments))
                state.attachments[alias] = Attachment(first.address, first.size, first.readonly)
                self.segment_of[alias] = shmid
                return alias
        return super().shmat_at(shmid, address_hint, flags)


@mutant("fork-copies-attached-memory", ATTACH, kills=("sysv.shm.fork-inherits-attachments",))
class ForkCopiesAttachedMemory(KernelProcessOps):
    """fork gives the child a private copy of each attached segment instead of the segment.

    As a fork emulated by copying the address space would: the child reads
    what was there, but its stores stay its own, and the segment's
    attachment count does not include it.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        os.register_at_fork(after_in_child=self._privatize)

    def _privatize(self) -> None:
        for att in self.sysv_state.attachments.values():
            data = ctypes.string_at(att.address, att.size)
            _libc.shmdt(att.address)
            length = _pages(att.size)
            _libc.mmap(att.address, length, _PROT_READ | _PROT_WRITE,
                       _MAP_PRIVATE | _MAP_FIXED | _MAP_ANONYMOUS, -1, 0)
            ctypes.memmove(att.address, data, att.size)
            if att.readonly:
                _libc.mprotect(att.address, length, _PROT_READ)


@mutant("shmat-ignores-rdonly", ATTACH, kills=("sysv.shm.rdonly-write-faults",))
class ShmatIgnoresRdonly(KernelProcessOps):
    """SHM_RDONLY is dropped: every attachment is read-write."""

    def shmat(self, shmid: int, flags: int) -> int:
        return super().shmat(shmid, flags & ~SHM_RDONLY)


@mutant("shm-rmid-forced", ATTACH, kills=("sysv.shm.outlives-creator",))
class ShmRmidForced(KernelProcessOps):
    """A kernel configured with kernel.shm_rmid_forced = 1 (as some hardened systems are).

    Every segment is then destroyed as soon as no process has it attached:
    it cannot outlive its users. The setting is made only in a private IPC
    namespace (the suite's, when it runs as root), never on the host's.
    """

    def shmget(self, key: int, size: int, flags: int) -> int:
        if os.readlink("/proc/self/ns/ipc") != os.readlink("/proc/1/ns/ipc"):
            with open("/proc/sys/kernel/shm_rmid_forced", "w") as f:
                f.write("1\n")
        return super().shmget(key, size, flags)


# -- sizes ----------------------------------------------------------------------
@mutant("shmget-wants-same-size", GET, kills=("sysv.shm.open-with-smaller-size",))
class ShmgetWantsSameSize(KernelProcessOps):
    """Opening an existing segment requires its exact size (or 0), as the seed's S21 reads."""

    def shmget(self, key: int, size: int, flags: int) -> int:
        shmid, created = _create_or_open(self, key, size, flags)
        if not created and size not in (0, self.shmctl_stat(shmid)["segsz"]):
            raise error(errno.EINVAL)
        return shmid


@mutant("shmget-accepts-larger-size", GET, kills=("sysv.shm.open-with-larger-size-einval",))
class ShmgetAcceptsLargerSize(KernelProcessOps):
    """An existing segment is opened whatever size is asked for, even a larger one."""

    def shmget(self, key: int, size: int, flags: int) -> int:
        try:
            return super().shmget(key, size, flags)
        except OSError as exc:
            if exc.errno != errno.EINVAL or key == IPC_PRIVATE or size == 0:
                raise
            return super().shmget(key, 0, flags & ~IPC_CREAT)


@mutant("size-zero-means-a-page", GET, kills=("sysv.shm.create-size-zero-einval",))
class SizeZeroMeansAPage(KernelProcessOps):
    """Creating a segment of size 0 makes one page (0 taken as "the default size")."""

    def shmget(self, key: int, size: int, flags: int) -> int:
        try:
            return super().shmget(key, size, flags)
        except OSError as exc:
            if exc.errno != errno.EINVAL or size != 0 or not flags & IPC_CREAT:
                raise
            return super().shmget(key, PAGE, flags)


@mutant("shmget-clamps-to-shmmax", GET, kills=("sysv.shm.create-above-shmmax-einval",))
class ShmgetClampsToShmmax(KernelProcessOps):
    """A request above SHMMAX creates a segment of SHMMAX bytes instead of failing."""

    def shmget(self, key: int, size: int, flags: int) -> int:
        try:
            return super().shmget(key, size, flags)
        except OSError as exc:
            with open("/proc/sys/kernel/shmmax") as f:
                shmmax = int(f.read())
            if exc.errno != errno.EINVAL or not flags & IPC_CREAT or size <= shmmax:
                raise
            return super().shmget(key, shmmax, flags)


@mutant("segsz-rounded-to-page", GET, kills=("sysv.shm.segsz-as-requested",))
class SegszRoundedToPage(KernelProcessOps):
    """IPC_STAT reports the memory the segment occupies, whole pages, as shm_segsz."""

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        fields = super().shmctl_stat(shmid)
        return {**fields, "segsz": _pages(fields["segsz"])}


@mutant("new-segment-filled-with-spaces", GET, kills=("sysv.shm.new-segment-zeroed",))
class NewSegmentFilledWithSpaces(KernelProcessOps):
    """A new segment is filled with spaces (what a library's "initial character" default does)."""

    def shmget(self, key: int, size: int, flags: int) -> int:
        shmid, created = _create_or_open(self, key, size, flags)
        if created:
            address = _libc.shmat(shmid, None, 0)
            ctypes.memset(address, ord(" "), size)
            _libc.shmdt(address)
        return shmid


# -- IPC_RMID -------------------------------------------------------------------
@mutant("rmid-destroys-at-once", RMID, kills=("sysv.shm.rmid-keeps-attached-working",))
class RmidDestroysAtOnce(_Tracking):
    """IPC_RMID frees the memory at once: attached processes fault on their next access."""

    def _still_there(self, handle: int) -> None:
        shmid = self.segment_of.get(handle)
        if shmid is None:
            return
        try:
            marked = super().shmctl_stat(shmid)["mode"] & SHM_DEST
        except OSError:
            marked = True
        if marked:
            _fault()

    def shm_read(self, handle: int, offset: int, count: int) -> bytes:
        self._still_there(handle)
        return super().shm_read(handle, offset, count)

    def shm_write(self, handle: int, offset: int, data: bytes) -> int:
        self._still_there(handle)
        return super().shm_write(handle, offset, data)


@mutant("mode-masked-to-permissions", RMID, kills=("sysv.shm.rmid-marks-dest",))
class ModeMaskedToPermissions(KernelProcessOps):
    """IPC_STAT reports only the nine permission bits of the mode (SHM_DEST is dropped)."""

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        fields = super().shmctl_stat(shmid)
        return {**fields, "mode": fields["mode"] & 0o777}


@mutant("marked-key-eidrm", RMID, kills=("sysv.shm.rmid-frees-key",))
class MarkedKeyEidrm(KernelProcessOps):
    """shmget of a key whose segment is marked for destruction fails with EIDRM (Linux before 2.3.30).

    The marked segments' keys are kept in a ledger in the scenario's
    directory, since the kernel forgets them.
    """

    LEDGER = ".mutant-marked-keys"

    def shmctl_rmid(self, shmid: int) -> int:
        key = super().shmctl_stat(shmid)["key"]
        result = super().shmctl_rmid(shmid)
        with open(self.LEDGER, "a") as f:
            f.write(f"{key} {shmid}\n")
        return result

    def shmget(self, key: int, size: int, flags: int) -> int:
        try:
            with open(self.LEDGER) as f:
                marked = [tuple(int(x) for x in line.split()) for line in f if line.strip()]
        except FileNotFoundError:
            marked = []
        for old_key, shmid in marked:
            if old_key == key != IPC_PRIVATE:
                try:
                    super().shmctl_stat(shmid)
                except OSError:
                    continue  # destroyed since
                raise error(errno.EIDRM)
        return super().shmget(key, size, flags)


@mutant("rmid-ignored-while-attached", RMID,
        kills=("sysv.shm.destroyed-at-last-shmdt", "sysv.shm.rmid-marks-dest", "sysv.shm.rmid-frees-key"))
class RmidIgnoredWhileAttached(_Tracking):
    """IPC_RMID of a segment that is attached reports success and does nothing."""

    def shmctl_rmid(self, shmid: int) -> int:
        if self._nattch(shmid):
            return 0
        return super().shmctl_rmid(shmid)


@mutant("deferred-removal-in-user-space", RMID,
        kills=("sysv.shm.destroyed-at-last-exit", "sysv.shm.destroyed-at-last-exec"))
class DeferredRemovalInUserSpace(_Tracking):
    """Deferred destruction done by a library: IPC_RMID of an attached segment is remembered,
    and the shmdt that leaves it unattached removes it.

    Only shmdt runs the library's code: a process that exits or execs while
    attached detaches without it, and the segment is never removed.
    """

    LEDGER = ".mutant-pending-removal"

    def _pending(self) -> set[int]:
        try:
            with open(self.LEDGER) as f:
                return {int(line) for line in f if line.strip()}
        except FileNotFoundError:
            return set()

    def shmctl_rmid(self, shmid: int) -> int:
        if not self._nattch(shmid):
            return super().shmctl_rmid(shmid)
        with open(self.LEDGER, "a") as f:
            f.write(f"{shmid}\n")
        return 0

    def shmdt(self, handle: int) -> int:
        shmid = self.segment_of.get(handle)
        result = super().shmdt(handle)
        if shmid in self._pending() and not self._nattch(shmid):
            super().shmctl_rmid(shmid)
        return result


@mutant("exec-keeps-mappings", RMID, kills=("sysv.shm.destroyed-at-last-exec",))
class ExecKeepsMappings(KernelProcessOps):
    """exec emulated inside the old address space: the program restarts, its attachments stay mapped.

    The new image has no handles for them, but the kernel still counts them.
    """

    def exec_self(self) -> int:
        self.__dict__.pop("_sysv_state", None)
        return 0


@mutant("rmid-always-defers", RMID, kills=("sysv.shm.rmid-unattached-destroys-at-once",))
class RmidAlwaysDefers(KernelProcessOps):
    """IPC_RMID only ever marks: even an unattached segment waits for a detach to be destroyed.

    The mutant keeps a hidden attachment of every segment it removes, so the
    segment lasts, marked, as long as the process.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.hidden: list[int] = []

    def shmctl_rmid(self, shmid: int) -> int:
        address = _libc.shmat(shmid, None, SHM_RDONLY)
        if address not in (None, ctypes.c_void_p(-1).value):
            self.hidden.append(address)
        return super().shmctl_rmid(shmid)


@mutant("no-attach-after-rmid", RMID, kills=("sysv.shm.attach-after-rmid",))
class NoAttachAfterRmid(KernelProcessOps):
    """A segment marked for destruction cannot be attached (as on other UNIX systems): EIDRM."""

    def shmat(self, shmid: int, flags: int) -> int:
        try:
            marked = self.shmctl_stat(shmid)["mode"] & SHM_DEST
        except OSError:
            marked = False  # let shmat report the bad id
        if marked:
            raise error(errno.EIDRM)
        return super().shmat(shmid, flags)


# -- IPC_STAT -------------------------------------------------------------------
@mutant("nattch-counts-processes", STAT, kills=("sysv.shm.stat-nattch-counts-attachments",))
class NattchCountsProcesses(KernelProcessOps):
    """shm_nattch counts the processes that have the segment mapped, as shmctl(2) words it.

    Counted from /proc/PID/maps, where an attachment of segment N shows as
    a mapping of /SYSV<key> with inode N.
    """

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        fields = super().shmctl_stat(shmid)
        holders = 0
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/maps") as f:
                    maps = f.read().splitlines()
            except OSError:
                continue
            if any(len(row.split()) > 5 and row.split()[4] == str(shmid) and row.split()[5].startswith("/SYSV")
                   for row in maps):
                holders += 1
        return {**fields, "nattch": holders}


@mutant("cpid-lpid-swapped", STAT, kills=("sysv.shm.stat-cpid-creator", "sysv.shm.stat-lpid-last-attach-detach"))
class CpidLpidSwapped(KernelProcessOps):
    """shm_cpid and shm_lpid are read from each other's place (a structure layout mix-up)."""

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        fields = super().shmctl_stat(shmid)
        return {**fields, "cpid": fields["lpid"], "lpid": fields["cpid"]}


@mutant("dtime-reads-atime", STAT, kills=("sysv.shm.stat-atime-dtime",))
class DtimeReadsAtime(KernelProcessOps):
    """shm_dtime is read from shm_atime's place (a structure layout mix-up)."""

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        fields = super().shmctl_stat(shmid)
        return {**fields, "dtime": fields["atime"]}


# -- synchronization ------------------------------------------------------------
@mutant("stores-published-at-detach", SYNC, kills=("sysv.shm.torn-read",))
class StoresPublishedAtDetach(KernelProcessOps):
    """Stores are buffered per attachment and made visible together at shmdt.

    Release consistency, as a distributed shared memory may offer: the
    writer sees its own stores, other processes see all of them or none.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.pending: dict[int, list[tuple[int, bytes]]] = {}

    def shm_write(self, handle: int, offset: int, data: bytes) -> int:
        self._shm_access(handle, offset, len(data))
        self.pending.setdefault(handle, []).append((offset, data))
        return len(data)

    def shm_read(self, handle: int, offset: int, count: int) -> bytes:
        view = bytearray(super().shm_read(handle, offset, count))
        for start, data in self.pending.get(handle, []):
            for i, byte in enumerate(data):
                if offset <= start + i < offset + count:
                    view[start + i - offset] = byte
        return bytes(view)

    def shmdt(self, handle: int) -> int:
        for start, data in self.pending.pop(handle, []):
            super().shm_write(handle, start, data)
        return super().shmdt(handle)


@mutant("attach-per-store", SYNC, kills=("sysv.shm.writes-leave-no-trace",))
class AttachPerStore(_Tracking):
    """Every store attaches the segment, writes and detaches (a library without long-lived mappings).

    The bytes end up right, but each store is an attach and a detach, which
    the segment's shmid_ds records.
    """

    def shm_write(self, handle: int, offset: int, data: bytes) -> int:
        shmid = self.segment_of.get(handle)
        if shmid is None:
            return super().shm_write(handle, offset, data)
        self._shm_access(handle, offset, len(data))
        extra = super().shmat(shmid, 0)
        try:
            return super().shm_write(extra, offset, data)
        finally:
            super().shmdt(extra)


@mutant("reads-consume", SYNC, kills=("sysv.shm.read-does-not-consume",))
class ReadsConsume(KernelProcessOps):
    """Reading takes the bytes out (they read as zeros afterwards), as receiving from a queue does."""

    def shm_read(self, handle: int, offset: int, count: int) -> bytes:
        data = super().shm_read(handle, offset, count)
        if not self.sysv_state.attachments[handle].readonly:
            super().shm_write(handle, offset, bytes(count))
        return data


# -- the state machine ------------------------------------------------------------
MACHINE = (SHM + "test_shm_machine.py",)


@mutant("shm-read-stale-cache", MACHINE, kills=("sysv.shm.model.multi-process",))
class ShmReadStaleCache(KernelProcessOps):
    """Reads come from a copy of the segment taken when it was attached.

    The actor's own stores through the handle update the copy (and the
    segment), so a process alone never notices; stores by anybody else -
    a parent or child sharing the attachment after fork, another actor -
    are not seen: stale data.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.cache: dict[int, bytearray] = {}

    def shmat(self, shmid: int, flags: int) -> int:
        handle = super().shmat(shmid, flags)
        att = self.sysv_state.attachments[handle]
        self.cache[handle] = bytearray(ctypes.string_at(att.address, att.size))
        return handle

    def shm_write(self, handle: int, offset: int, data: bytes) -> int:
        written = super().shm_write(handle, offset, data)
        if handle in self.cache:
            self.cache[handle][offset:offset + len(data)] = data
        return written

    def shm_read(self, handle: int, offset: int, count: int) -> bytes:
        fresh = super().shm_read(handle, offset, count)  # the bounds check, and EFAULT
        if handle not in self.cache:
            return fresh
        return bytes(self.cache[handle][offset:offset + count])

    def shmdt(self, handle: int) -> int:
        self.cache.pop(handle, None)
        return super().shmdt(handle)
