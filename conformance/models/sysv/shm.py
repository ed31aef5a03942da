"""Shared memory segments (ipc/shm.c): shmget, shmat, shmdt, shmctl, and the memory itself.

A segment is ``segsz`` bytes, exactly as asked (``shm_segsz`` is never
rounded), though memory is handed out in whole pages: SHMALL and the memory
accounting count pages. The bytes are shared by every attachment of every
process; nothing about a read or a write shows in IPC_STAT.

**Attachments** are never addresses: ``shmat`` returns a handle, the lowest
one the process does not use (as the kernel backend hands them out). An
attachment made with SHM_RDONLY can be read; a store through it kills the
process with SIGSEGV (a store of zero bytes touches nothing). Reads and
writes outside ``[0, segsz)`` fail with EFAULT - that is the backend's own
bounds check, a convention the model shares, not the kernel's.

**The attachment count** ``shm_nattch`` counts attachments, not processes:
``shmat`` adds one, ``shmdt`` takes one, ``fork`` adds one for every
attachment the child inherits, and exit, death and exec drop every
attachment of the process. Each of these moves ``shm_lpid`` to the process
that caused it - for fork that is the *parent*, which copies its mappings
(``shm_open`` runs in the parent's context) - and sets ``shm_atime`` (attach,
fork) or ``shm_dtime`` (detach).

**Removal.** IPC_RMID of an unattached segment destroys it at once. With
attachments left it only marks it: SHM_DEST joins the mode and the key
becomes IPC_PRIVATE, so the key finds nothing any more while the id keeps
working - Linux even lets another process attach it by id. The last detach
then destroys it, and the id answers EINVAL. With ``shm_rmid_forced`` set,
every last detach destroys the segment, and so does its creator's exit
when nothing is attached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...backends.ops import ActorRef
from ...outcome import Errno, Killed, Outcome, Value
from ..args import payload
from ..errors import ModelUsageError, Unmodelled
from .cargs import c_int, integer, signed, unsigned
from .limits import SHMMIN
from .namespace import ipcget
from .perm import EXEC, READ, WRITE, Perm, may_access, may_control, perm_changes, update_perm
from .state import Attachment, Proc, World

SHM_HUGETLB = 0o4000
SHM_RDONLY = 0o10000
SHM_RND = 0o20000
SHM_REMAP = 0o40000
SHM_EXEC = 0o100000
SHM_DEST = 0o1000


@dataclass(eq=False)
class Segment:
    id: int
    perm: Perm
    segsz: int
    pages: int
    #: the process whose exit may destroy it under shm_rmid_forced
    creator: str
    #: the bytes written so far; the rest of the segment reads as zeros
    data: bytearray = field(default_factory=bytearray)
    nattch: int = 0
    lpid: str | None = None
    atime: bool = False
    dtime: bool = False
    ctime: bool = True

    def read(self, offset: int, count: int) -> bytes:
        return bytes(self.data[offset:offset + count]).ljust(count, b"\0")

    def write(self, offset: int, data: bytes) -> None:
        end = offset + len(data)
        if end > len(self.data):
            self.data.extend(bytes(end - len(self.data)))
        self.data[offset:end] = data


# -- shmget ----------------------------------------------------------------------
def op_shmget(world: World, proc: Proc, key: Any, size: Any, flags: Any) -> Outcome:
    key = signed(key, 32, "key")
    size = unsigned(size, 64, "size")
    flags = c_int(flags, "flags")
    limits = world.limits

    def create() -> Outcome:
        if size < SHMMIN or size > limits.shmmax:
            return Errno("EINVAL")
        pages = -(-size // limits.page_size)
        if world.shm_pages + pages > limits.shmall:
            return Errno("ENOSPC")
        if flags & SHM_HUGETLB:
            raise Unmodelled("SHM_HUGETLB: huge pages depend on the host's pool")
        if size > limits.shm_modelled_size:
            raise Unmodelled(f"a {size}-byte segment: whether memory can be committed is the host's")
        ident = world.shm.allocate(limits.shmmni)
        if ident is None:
            return Errno("ENOSPC")
        world.shm.add(Segment(ident, Perm.new(key, proc.creds, flags), size, pages, proc.name))
        world.shm_pages += pages
        return Value(ident)

    def more_checks(seg: Segment) -> str | None:
        return "EINVAL" if seg.segsz < size else None

    return ipcget(world.shm, proc.creds, key, flags, create, more_checks)


# -- attaching and detaching ---------------------------------------------------------
def op_shmat(world: World, proc: Proc, shmid: Any, flags: Any) -> Outcome:
    shmid = c_int(shmid, "shmid")
    flags = c_int(flags, "flags")
    if shmid < 0 or flags & SHM_REMAP:  # SHM_REMAP needs an address
        return Errno("EINVAL")
    access = READ if flags & SHM_RDONLY else READ | WRITE
    if flags & SHM_EXEC:
        access |= EXEC
    seg = world.shm.find(shmid)
    if seg is None:
        return Errno("EINVAL")
    if not may_access(proc.creds, seg.perm, access):
        return Errno("EACCES")
    handle = proc.lowest_free_handle()
    proc.attachments[handle] = Attachment(seg.id, bool(flags & SHM_RDONLY), seg.segsz)
    _opened(seg, proc.name)
    return Value(handle)


def op_shmat_at(world: World, proc: Proc, shmid: Any, address_hint: Any, flags: Any) -> Outcome:
    if address_hint == "null":
        return op_shmat(world, proc, shmid, flags)
    if address_hint != "previous":
        raise ModelUsageError(f"unknown address hint {address_hint!r}; 'null' or 'previous'")
    if not proc.detached_once:
        raise ModelUsageError("shmat_at 'previous': this actor has detached nothing yet")
    # Whether the old range is still free (and big enough) depends on what
    # the process mapped since: its allocator's arenas, other attachments.
    raise Unmodelled("shmat_at 'previous': depends on the process's address space")


def _opened(seg: Segment, by: str) -> None:
    """``shm_open``: one more mapping, made by process ``by``."""
    seg.nattch += 1
    seg.atime = True
    seg.lpid = by


def op_shmdt(world: World, proc: Proc, handle: Any) -> Outcome:
    attachment = proc.attachments.pop(integer(handle, "handle"), None)
    if attachment is None:
        return Errno("EINVAL")
    _close(world, proc, attachment)
    return Value(0)


def _close(world: World, proc: Proc, attachment: Attachment) -> None:
    """``shm_close``: one mapping fewer; the last one may destroy the segment."""
    seg = world.shm.find(attachment.shmid)
    assert seg is not None, "an attachment keeps its segment"
    seg.nattch -= 1
    seg.lpid = proc.name
    seg.dtime = True
    proc.detached_once = True
    if seg.nattch == 0 and (seg.perm.mode & SHM_DEST or world.limits.shm_rmid_forced):
        _destroy(world, seg)


def _destroy(world: World, seg: Segment) -> None:
    world.shm.remove(seg)
    world.shm_pages -= seg.pages


def inherit(world: World, parent: Proc, child: Proc) -> None:
    """fork: the child gets every attachment, under the same handles."""
    for handle, attachment in parent.attachments.items():
        child.attachments[handle] = Attachment(attachment.shmid, attachment.readonly, attachment.size)
        seg = world.shm.find(attachment.shmid)
        assert seg is not None
        _opened(seg, parent.name)


def detach_all(world: World, proc: Proc) -> None:
    """exit or exec: every attachment goes (the mm is torn down)."""
    attachments, proc.attachments = proc.attachments, {}
    for handle in sorted(attachments):
        _close(world, proc, attachments[handle])


def exit_shm(world: World, proc: Proc) -> None:
    """``exit_shm``: under shm_rmid_forced, the unattached segments it created go."""
    if not world.limits.shm_rmid_forced:
        return
    for seg in list(world.shm.objects.values()):
        if seg.creator == proc.name and seg.nattch == 0:
            _destroy(world, seg)


# -- the memory ---------------------------------------------------------------------
def _access(proc: Proc, handle: Any, offset: Any, count: int) -> Attachment | Outcome:
    """The attachment, after the backend's bounds check (EFAULT)."""
    offset = integer(offset, "offset")
    attachment = proc.attachments.get(integer(handle, "handle"))
    if attachment is None or offset < 0 or count < 0 or offset + count > attachment.size:
        return Errno("EFAULT")
    return attachment


def op_shm_write(world: World, proc: Proc, handle: Any, offset: Any, data: Any) -> Outcome:
    data = payload(data)
    attachment = _access(proc, handle, offset, len(data))
    if isinstance(attachment, Outcome):
        return attachment
    if attachment.readonly and data:
        return Killed("SIGSEGV")
    seg = world.shm.find(attachment.shmid)
    assert seg is not None
    seg.write(offset, data)
    return Value(len(data))


def op_shm_read(world: World, proc: Proc, handle: Any, offset: Any, count: Any) -> Outcome:
    count = integer(count, "count")
    attachment = _access(proc, handle, offset, count)
    if isinstance(attachment, Outcome):
        return attachment
    seg = world.shm.find(attachment.shmid)
    assert seg is not None
    return Value(seg.read(offset, count))


# -- shmctl ----------------------------------------------------------------------
def _lookup(world: World, shmid: Any) -> Segment | Outcome:
    shmid = c_int(shmid, "shmid")
    seg = world.shm.find(shmid) if shmid >= 0 else None
    return Errno("EINVAL") if seg is None else seg


def _ref(name: str | None) -> ActorRef | int:
    return 0 if name is None else ActorRef(name)


def op_shmctl_stat(world: World, proc: Proc, shmid: Any) -> Outcome:
    seg = _lookup(world, shmid)
    if isinstance(seg, Outcome):
        return seg
    if not may_access(proc.creds, seg.perm, READ):
        return Errno("EACCES")
    return Value({
        "segsz": seg.segsz, "nattch": seg.nattch, "cpid": ActorRef(seg.creator),
        "lpid": _ref(seg.lpid), "atime": seg.atime, "dtime": seg.dtime, "ctime": seg.ctime,
        **seg.perm.fields(), "key": seg.perm.key,
    })


def op_shmctl_set(world: World, proc: Proc, shmid: Any, changes: Any) -> Outcome:
    wanted = perm_changes(changes, ("uid", "gid", "mode"))
    seg = _lookup(world, shmid)
    if isinstance(seg, Outcome):
        return seg
    if not may_control(proc.creds, seg.perm):
        return Errno("EPERM")
    error = update_perm(seg.perm, wanted)
    if error is not None:
        return Errno(error)
    seg.ctime = True
    return Value(0)


def op_shmctl_rmid(world: World, proc: Proc, shmid: Any) -> Outcome:
    seg = _lookup(world, shmid)
    if isinstance(seg, Outcome):
        return seg
    if not may_control(proc.creds, seg.perm):
        return Errno("EPERM")
    if seg.nattch:
        seg.perm.mode |= SHM_DEST
        world.shm.forget_key(seg)
    else:
        _destroy(world, seg)
    return Value(0)
