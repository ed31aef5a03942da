"""One kind of object in one IPC namespace: keys, ids, and the ``*get`` flag matrix.

Each kind (message queues, semaphore sets, segments) has its own table, an
``ipc_ids`` in the kernel. The table maps ids to objects and public keys to
ids; :func:`ipcget` is the part of ``msgget``/``semget``/``shmget`` they
share (ipc/util.c ``ipcget``):

===========================  ==================  =========================
flags                        key missing         key exists
===========================  ==================  =========================
none (or IPC_EXCL alone)     ENOENT              its id, after the checks
IPC_CREAT                    a new object        its id, after the checks
IPC_CREAT | IPC_EXCL         a new object        EEXIST
===========================  ==================  =========================

``IPC_PRIVATE`` always makes a new object, whatever the flags. "The checks"
on an existing object come in this order: the kind's own (``more_checks``:
a size or nsems larger than the object's is EINVAL), then the access the
flags' permission bits ask for (EACCES, see :func:`.perm.may_access`).

**Ids.** Linux makes an id from a slot index and a sequence number,
``seq * 32768 + index``. The index comes from ``idr_alloc_cyclic`` over a
window of ``max(in_use * 3 // 2, 64)`` slots, starting after the last one
handed out; ``seq`` goes up whenever the index wraps around. The model runs
the same allocator from a fresh namespace's state, so in a new namespace its
ids *are* the kernel's (the tests check this). Elsewhere they are not, and a
comparison maps them with :class:`~.idmap.IdMap`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ...outcome import Errno, Outcome, Value
from .limits import IPC_MIN_CYCLE, IPCMNI, IPCMNI_SHIFT, SEQ_MAX
from .perm import Creds, Perm, may_access

IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000


class IpcObject(Protocol):
    id: int
    perm: Perm


T = TypeVar("T", bound=IpcObject)


@dataclass(eq=False)
class IdTable(Generic[T]):
    """``struct ipc_ids``: the objects of one kind, by id and by key."""

    kind: str
    objects: dict[int, T] = field(default_factory=dict)
    keys: dict[int, int] = field(default_factory=dict)
    #: the allocator's state, as in a new namespace
    seq: int = 0
    last_idx: int = -1
    next_idx: int = 0

    @property
    def in_use(self) -> int:
        return len(self.objects)

    def find(self, ident: int) -> T | None:
        """``ipc_obtain_object_check``: the object with this id, if it still exists."""
        return self.objects.get(ident)

    def find_key(self, key: int) -> T | None:
        ident = self.keys.get(key)
        return None if ident is None else self.objects[ident]

    def allocate(self, limit: int) -> int | None:
        """``ipc_addid``'s choice of id, or None for ENOSPC; reserves nothing."""
        if self.in_use >= min(limit, IPCMNI):
            return None
        window = min(max(self.in_use * 3 // 2, IPC_MIN_CYCLE), IPCMNI)
        used = {ident & (IPCMNI - 1) for ident in self.objects}
        idx = _lowest_free(used, self.next_idx, window)
        if idx is None and self.next_idx > 0:
            idx = _lowest_free(used, 0, window)
        if idx is None:
            return None
        seq = self.seq
        if idx <= self.last_idx:
            seq = seq + 1 if seq + 1 < SEQ_MAX else 0
        return (seq << IPCMNI_SHIFT) | idx

    def add(self, obj: T) -> None:
        """Insert an object whose id came from :meth:`allocate` just now."""
        idx = obj.id & (IPCMNI - 1)
        self.seq = obj.id >> IPCMNI_SHIFT
        self.last_idx = idx
        self.next_idx = idx + 1
        self.objects[obj.id] = obj
        if obj.perm.key != IPC_PRIVATE:
            self.keys[obj.perm.key] = obj.id

    def forget_key(self, obj: T) -> None:
        """``ipc_set_key_private``: the object stays, but its key no longer finds it."""
        if obj.perm.key != IPC_PRIVATE:
            self.keys.pop(obj.perm.key, None)
            obj.perm.key = IPC_PRIVATE

    def remove(self, obj: T) -> None:
        """``ipc_rmid``: the id and the key are free again."""
        self.forget_key(obj)
        del self.objects[obj.id]


def _lowest_free(used: set[int], start: int, end: int) -> int | None:
    for idx in range(start, end):
        if idx not in used:
            return idx
    return None


def ipcget(table: IdTable[T], creds: Creds, key: int, flags: int,
           create: Callable[[], Outcome], more_checks: Callable[[T], str | None]) -> Outcome:
    """The flag matrix of the module documentation; ``create`` makes a new object."""
    if key == IPC_PRIVATE:
        return create()
    obj = table.find_key(key)
    if obj is None:
        return create() if flags & IPC_CREAT else Errno("ENOENT")
    if flags & IPC_CREAT and flags & IPC_EXCL:
        return Errno("EEXIST")
    error = more_checks(obj)
    if error is not None:
        return Errno(error)
    if not may_access(creds, obj.perm, flags):
        return Errno("EACCES")
    return Value(obj.id)


def no_more_checks(obj: IpcObject) -> str | None:
    """Message queues have no kind-specific check on an existing key."""
    return None
