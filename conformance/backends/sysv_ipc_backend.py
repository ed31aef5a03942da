"""The ``sysv_ipc`` backend: System V IPC through the sysv_ipc library.

:class:`SysvIpcOps` performs every System V operation of
:mod:`conformance.backends.sysv_ops` with the ``sysv_ipc`` extension module
(``MessageQueue``, ``Semaphore``, ``SharedMemory``, ``attach``,
``remove_*``) instead of libc; everything else — descriptors, processes,
``become``, ``exec_self`` — is the ``kernel`` backend's. The clauses run
against it therefore check the library: what a Python program using it
observes.

Translating the library into the contract
-----------------------------------------

**Errors.** sysv_ipc turns errno values into its own exceptions and loses
some of the distinctions on the way (``ExistentialError`` is ENOENT, EEXIST,
EINVAL or EIDRM; ``PermissionsError`` is EACCES or EPERM). This backend
recovers the errno from the exception, its message and the call it came
from, and raises ``OSError`` with it:

=========================  ==============================================
``ExistentialError``       EEXIST ("already exists"), EIDRM ("was
                           removed", or a receive from a queue that
                           existed when the call began), ENOENT in a
                           ``*get``, EINVAL otherwise
``PermissionsError``       EACCES; EPERM for IPC_RMID, and for IPC_SET
                           unless the object is unreadable to the caller
                           (then the library's own IPC_STAT before the
                           set was refused: EACCES)
``BusyError``              EAGAIN; ENOMSG for ``receive``
``NotAttachedError``       EINVAL
``sysv_ipc.Error``         EINTR ("Signaled while waiting")
``MemoryError``            ENOMEM
``ValueError``             EINVAL, ERANGE or EFAULT where it wraps that
                           errno or states the same bound; otherwise the
                           library refused the call before making it
``OSError``                its errno; ENOSPC for the two limit messages
                           that carry none
=========================  ==============================================

**What the library cannot express** raises ``NotImplementedError`` with
the reason, and the harness reports the clause as ``unsupported`` for this
backend: msgsnd/msgrcv flags other than IPC_NOWAIT (MSG_NOERROR,
MSG_EXCEPT, MSG_COPY); semaphore sets of more than one semaphore, semop
arrays, GETALL/SETALL and semaphores other than number 0; semtimedop when
the library was built without it; IPC_STAT of a queue (no ``msg_cbytes``)
or of a semaphore set (no ``sem_ctime``, no ``sem_nsems``), or of a segment
the actor only attached (no key: ``SharedMemory.key`` is the constructor's
argument, and ``attach(id)`` leaves it unset); the INFO commands; IPC_EXCL
without IPC_CREAT; creating a segment of size 0; a write through a
read-only attachment (the library refuses it itself instead of storing);
arguments the library refuses before any system call (a message type below
1, a value that does not fit its C type) — and operations on an id the
actor did not get itself, see below.

**Reaching objects by id.** sysv_ipc opens queues and semaphores by *key*
only (``MessageQueue(key)``); there is no way to make an object for an
existing id. Each actor therefore keeps the objects its own ``*get`` calls
made, by id (copied by ``fork``, like any Python object; gone after
``exec_self``), and an id it never got is ``unsupported``. Removal works by
id (``remove_message_queue(id)``...), and so does attaching a segment
(``attach(id)``).

**Side effects the library adds.** ``SharedMemory(...)`` always attaches
the segment and, when it creates it writable, fills it with spaces; this
backend's ``shmget`` detaches again at once, but the attach and detach
times and ``shm_lpid`` stay changed; and when that attach is refused (an
unprivileged creator of a segment it may not read) the constructor raises
after creating the segment, which is left behind with no id to show for
it. The attribute setters behind IPC_SET read the object first (IPC_STAT),
so they need a read permission IPC_SET does not. ``Semaphore(..., flags)``
runs SETVAL(initial_value) whenever ``flags`` has IPC_CREAT (the library
tests ``flags & IPC_CREX``): a new semaphore gets its creator as GETPID, and
an *existing* one opened with IPC_CREAT is reset to the initial value. A queue's receive buffer (``max_message_size``) is fixed when the
object is made: a receive with another ``maxsize`` opens the queue again by
key, which is impossible for an IPC_PRIVATE queue.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

from .kernel import KernelProcessOps
from .sysv_ops import (
    GETALL,
    GETNCNT,
    GETPID,
    GETVAL,
    GETZCNT,
    IPC_CREAT,
    IPC_EXCL,
    IPC_NOWAIT,
    IPC_PRIVATE,
    IPC_RMID,
    MSG_COPY,
    MSG_EXCEPT,
    MSG_NOERROR,
    SEM_UNDO,
    SETALL,
    SETVAL,
)

try:
    import sysv_ipc
except ImportError:  # the backend still loads; every System V operation is then unsupported
    sysv_ipc = None

#: the library's own default ``max_message_size``, what a plain MessageQueue(key) gets
DEFAULT_MESSAGE_SIZE = 2048

#: ValueError messages that wrap an errno (or state the bound the contract calls EFAULT)
_VALUE_ERRORS = {
    "Invalid id, address, or flags": errno.EINVAL,  # shmat
    "The size is invalid": errno.EINVAL,  # shmget
    "must remain between 0 and SEMVMX": errno.ERANGE,  # semop, SETVAL
    "Attempt to write past end of memory segment": errno.EFAULT,  # write's bounds check
}


def _library() -> Any:
    if sysv_ipc is None:
        raise NotImplementedError("sysv_ipc is not installed (pip install 'ipc-conformance[libraries]')")
    return sysv_ipc


def _unsupported(reason: str) -> NoReturn:
    raise NotImplementedError(f"sysv_ipc {reason}")


def _oserror(code: int, exc: BaseException) -> OSError:
    return OSError(code, f"{os.strerror(code)} (sysv_ipc {type(exc).__name__}: {exc})")


def translate(exc: BaseException, *, existential: int = errno.EINVAL,
              permissions: int = errno.EACCES, busy: int = errno.EAGAIN) -> BaseException:
    """The ``OSError`` (or ``NotImplementedError``) a sysv_ipc exception stands for.

    The keyword arguments are the errno each ambiguous exception means in
    the call at hand (see the module documentation). An exception that is
    none of the library's — a bug — is returned unchanged.
    """
    lib = _library()
    message = str(exc)
    if isinstance(exc, lib.ExistentialError):
        if "already exists" in message:
            return _oserror(errno.EEXIST, exc)
        if "was removed" in message:
            return _oserror(errno.EIDRM, exc)
        return _oserror(existential, exc)
    if isinstance(exc, lib.PermissionsError):
        return _oserror(permissions, exc)
    if isinstance(exc, lib.BusyError):
        return _oserror(busy, exc)
    if isinstance(exc, lib.NotAttachedError):
        return _oserror(errno.EINVAL, exc)
    if isinstance(exc, lib.Error) and "Signaled" in message:
        return _oserror(errno.EINTR, exc)
    if isinstance(exc, MemoryError):
        return _oserror(errno.ENOMEM, exc)
    if isinstance(exc, ValueError):
        for text, code in _VALUE_ERRORS.items():
            if text in message:
                return _oserror(code, exc)
        return NotImplementedError(
            f"sysv_ipc refuses the call itself, before any system call: ValueError: {message}")
    if isinstance(exc, OSError):
        if exc.errno:
            return exc
        if "ENOSPC" in message or "system limit" in message:
            return _oserror(errno.ENOSPC, exc)
        if "read-only" in message:
            return NotImplementedError(
                "sysv_ipc refuses a write through a read-only attachment itself (OSError "
                "without errno) instead of storing to the page: the SIGSEGV a C program "
                "gets cannot be expressed")
        return NotImplementedError(f"sysv_ipc raised OSError without an errno: {message}")
    if isinstance(exc, (TypeError, OverflowError)):
        return NotImplementedError(f"sysv_ipc cannot take this argument: {type(exc).__name__}: {message}")
    return exc


@contextmanager
def _calling(**meaning: int) -> Iterator[None]:
    """Run library calls; their exceptions leave as :func:`translate` says."""
    try:
        yield
    except Exception as exc:
        translated = translate(exc, **meaning)
        if translated is exc:
            raise
        raise translated from exc


def _get_flags(flags: int, call: str) -> int:
    """The IPC_CREAT/IPC_EXCL part of a ``*get`` flags word the library can pass on."""
    if flags & IPC_EXCL and not flags & IPC_CREAT:
        _unsupported(f"rejects IPC_EXCL without IPC_CREAT (ValueError), which {call}(2) "
                     "accepts and ignores")
    return flags & (IPC_CREAT | IPC_EXCL)


def _unknown_id(kind: str, ident: int) -> NoReturn:
    _unsupported(f"opens a {kind} only by key (there is no way to make an object for an "
                 f"existing id), and this actor did not get id {ident} itself")


def _known_changes(changes: dict[str, int], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValueError(f"IPC_SET can change only {', '.join(allowed)}, not {', '.join(unknown)}")


@dataclass
class _Queue:
    """A queue this actor got: its key, and a library object per receive size."""

    key: int
    by_size: dict[int, Any] = field(default_factory=dict)


@dataclass
class LibraryState:
    """The library objects one actor holds (copied by fork, lost by exec)."""

    queues: dict[int, _Queue] = field(default_factory=dict)
    semaphores: dict[int, Any] = field(default_factory=dict)
    #: SharedMemory objects made by this actor's shmget (detached; they know the key)
    segments: dict[int, Any] = field(default_factory=dict)
    #: handle -> the attached SharedMemory object (from sysv_ipc.attach)
    attachments: dict[int, Any] = field(default_factory=dict)
    last_detached: int | None = None


class SysvIpcOps(KernelProcessOps):
    """System V operations through sysv_ipc; the rest as the kernel backend."""

    name = "sysv_ipc"

    @property
    def library_state(self) -> LibraryState:
        state = self.__dict__.get("_library_state")
        if state is None:
            state = self.__dict__["_library_state"] = LibraryState()
        return state  # type: ignore[no-any-return]

    # -- message queues --------------------------------------------------
    def msgget(self, key: int, flags: int) -> int:
        lib = _library()
        create = _get_flags(flags, "msgget")
        if flags & ~(0o777 | IPC_CREAT | IPC_EXCL):
            _unsupported(f"masks msgget's flags to IPC_CREAT|IPC_EXCL and the mode: it cannot "
                         f"pass {oct(flags & ~(0o777 | IPC_CREAT | IPC_EXCL))}")
        with _calling(existential=errno.ENOENT):
            queue = lib.MessageQueue(key, create, mode=flags & 0o777,
                                     max_message_size=DEFAULT_MESSAGE_SIZE)
        entry = self.library_state.queues.get(queue.id)
        if entry is None or entry.key != key:
            entry = self.library_state.queues[queue.id] = _Queue(key)
        entry.by_size.setdefault(DEFAULT_MESSAGE_SIZE, queue)
        return int(queue.id)

    def _queue_entry(self, qid: int) -> _Queue:
        entry = self.library_state.queues.get(qid)
        if entry is None:
            _unknown_id("message queue", qid)
        return entry

    def _reopen(self, entry: _Queue, qid: int, size: int) -> Any | None:
        """MessageQueue(key) again with ``max_message_size=size``; None if the key has moved on.

        msgget with mode 0 asks for no permission and changes nothing. When
        the key no longer leads to ``qid``, the queue of ``qid`` is gone and
        any object of it fails the same way the call would.
        """
        lib = _library()
        try:
            with _calling(existential=errno.ENOENT):
                queue = lib.MessageQueue(entry.key, 0, mode=0, max_message_size=size)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        if queue.id != qid:
            return None
        entry.by_size[size] = queue
        return queue

    def _queue_exactly(self, qid: int, size: int) -> Any:
        """A library object of queue ``qid`` whose receive buffer is ``size`` bytes."""
        entry = self._queue_entry(qid)
        if size in entry.by_size:
            return entry.by_size[size]
        if entry.key == IPC_PRIVATE:
            _unsupported(f"fixes a queue's receive size (max_message_size) when the object is "
                         f"made, and an IPC_PRIVATE queue cannot be opened again: receiving with "
                         f"maxsize {size} from a queue opened with {sorted(entry.by_size)} is "
                         f"inexpressible")
        queue = self._reopen(entry, qid, size)
        return queue if queue is not None else next(iter(entry.by_size.values()))

    def _queue_at_least(self, qid: int, size: int) -> Any:
        """A library object of queue ``qid`` that lets a message of ``size`` bytes be sent."""
        entry = self._queue_entry(qid)
        for room, queue in sorted(entry.by_size.items()):
            if room >= size:
                return queue
        if entry.key == IPC_PRIVATE:
            _unsupported(f"refuses to send more than max_message_size bytes (ValueError), fixed "
                         f"when the object is made; an IPC_PRIVATE queue cannot be opened again "
                         f"with room for {size}")
        queue = self._reopen(entry, qid, size)
        return queue if queue is not None else next(iter(entry.by_size.values()))

    @staticmethod
    def _queue_exists(queue: Any) -> bool:
        """Whether the queue is there now (an IPC_STAT that changes nothing)."""
        lib = _library()
        try:
            queue.current_messages  # noqa: B018 (the attribute read is the probe)
        except lib.ExistentialError:
            return False
        except lib.Error:
            return True  # not readable, but there
        return True

    def msgsnd(self, qid: int, mtype: int, text: bytes, flags: int) -> int:
        if flags & ~IPC_NOWAIT:
            _unsupported(f"MessageQueue.send takes only block=True/False (IPC_NOWAIT); it cannot "
                         f"pass msgsnd flags {oct(flags & ~IPC_NOWAIT)}")
        queue = self._queue_at_least(qid, len(text))
        # send reports EINVAL (a vanished id) as OSError; its ExistentialError is only EIDRM.
        with _calling(existential=errno.EIDRM):
            queue.send(text, block=not flags & IPC_NOWAIT, type=mtype)
        return 0

    def msgrcv(self, qid: int, maxsize: int, msgtyp: int, flags: int) -> tuple[int, bytes]:
        unexpressed = [name for bit, name in ((MSG_NOERROR, "MSG_NOERROR"), (MSG_EXCEPT, "MSG_EXCEPT"),
                                              (MSG_COPY, "MSG_COPY")) if flags & bit]
        if unexpressed or flags & ~(IPC_NOWAIT | MSG_NOERROR | MSG_EXCEPT | MSG_COPY):
            shown = ", ".join(unexpressed) or oct(flags & ~IPC_NOWAIT)
            _unsupported(f"cannot express {shown}: MessageQueue.receive takes only block "
                         f"(IPC_NOWAIT) and type")
        queue = self._queue_exactly(qid, maxsize)
        # ExistentialError stands for EINVAL (no such id) and EIDRM (removed
        # while the caller slept) alike: a queue that was there when the call
        # began and is gone when it fails was removed meanwhile.
        there = self._queue_exists(queue)
        with _calling(existential=errno.EIDRM if there else errno.EINVAL, busy=errno.ENOMSG):
            text, mtype = queue.receive(block=not flags & IPC_NOWAIT, type=msgtyp)
        return (int(mtype), bytes(text))

    def msgctl_stat(self, qid: int) -> dict[str, Any]:
        _library()
        _unsupported("MessageQueue exposes no msg_cbytes (the bytes on the queue), so the "
                     "contract's IPC_STAT result cannot be filled")

    @staticmethod
    def _set_fields(obj: Any, changes: dict[str, int], attributes: dict[str, str],
                    refused: int) -> None:
        """IPC_SET field by field, as the library's attribute setters do it.

        Each setter is IPC_STAT then IPC_SET. A PermissionsError means
        EACCES when that IPC_STAT was refused (the object is not readable to
        the caller, probed first), else ``refused`` (what the IPC_SET itself
        answers). The owner changes last, so that no earlier change is
        refused for want of ownership the same call gave away.
        """
        lib = _library()
        for name in ("qbytes", "gid", "mode", "uid"):
            if name not in changes:
                continue
            try:
                obj.mode  # noqa: B018 (a probe: can the library's IPC_STAT read it?)
                readable = True
            except lib.PermissionsError:
                readable = False
            except lib.Error:
                readable = True  # gone: the setter fails on its own
            with _calling(existential=errno.EINVAL, permissions=refused if readable else errno.EACCES):
                setattr(obj, attributes[name], changes[name])

    def msgctl_set(self, qid: int, changes: dict[str, int]) -> int:
        _known_changes(changes, ("uid", "gid", "mode", "qbytes"))
        queue = next(iter(self._queue_entry(qid).by_size.values()))
        self._set_fields(queue, changes, {"uid": "uid", "gid": "gid", "mode": "mode",
                                          "qbytes": "max_size"}, errno.EPERM)
        return 0

    def msgctl_rmid(self, qid: int) -> int:
        lib = _library()
        with _calling(existential=errno.EINVAL, permissions=errno.EPERM):
            lib.remove_message_queue(qid)
        return 0

    # -- semaphore sets --------------------------------------------------
    def semget(self, key: int, nsems: int, flags: int) -> int:
        lib = _library()
        create = _get_flags(flags, "semget")
        if flags & ~(0o777 | IPC_CREAT | IPC_EXCL):
            _unsupported(f"masks semget's flags to IPC_CREAT|IPC_EXCL and the mode: it cannot "
                         f"pass {oct(flags & ~(0o777 | IPC_CREAT | IPC_EXCL))}")
        # nsems 0 opens an existing set, as 1 does; with IPC_CREAT it differs.
        if not (nsems == 1 or (nsems == 0 and not flags & IPC_CREAT)):
            _unsupported(f"Semaphore is a set of exactly one semaphore: semget with nsems={nsems}"
                         f"{' and IPC_CREAT' if flags & IPC_CREAT else ''} cannot be expressed")
        with _calling(existential=errno.ENOENT):
            sem = lib.Semaphore(key, create, mode=flags & 0o777, initial_value=0)
        self.library_state.semaphores[sem.id] = sem
        return int(sem.id)

    def _semaphore(self, semid: int) -> Any:
        sem = self.library_state.semaphores.get(semid)
        if sem is None:
            _unknown_id("semaphore set", semid)
        return sem

    def _one_sop(self, semid: int, sops: tuple[tuple[int, int, int], ...]) -> tuple[Any, int]:
        """The Semaphore and sem_op of a single-operation semop, flags applied to the object."""
        if len(sops) != 1:
            _unsupported(f"performs one operation per call (P, V or Z on semaphore 0): an "
                         f"atomic semop of {len(sops)} operations cannot be expressed")
        num, op, flg = sops[0]
        if num != 0:
            _unsupported(f"operates on semaphore 0 only, not semaphore {num}")
        if flg & ~(IPC_NOWAIT | SEM_UNDO):
            _unsupported(f"Semaphore has only block (IPC_NOWAIT) and undo (SEM_UNDO): it cannot "
                         f"pass sem_flg {oct(flg & ~(IPC_NOWAIT | SEM_UNDO))}")
        sem = self._semaphore(semid)
        sem.block = not flg & IPC_NOWAIT
        sem.undo = bool(flg & SEM_UNDO)
        return sem, op

    def semop(self, semid: int, sops: tuple[tuple[int, int, int], ...]) -> int:
        sem, op = self._one_sop(semid, sops)
        with _calling(existential=errno.EINVAL):
            if op < 0:
                sem.P(delta=-op)
            elif op > 0:
                sem.V(delta=op)
            else:
                sem.Z()
        return 0

    def semtimedop(self, semid: int, sops: tuple[tuple[int, int, int], ...], timeout_ns: int) -> int:
        lib = _library()
        if not lib.SEMAPHORE_TIMEOUT_SUPPORTED:
            _unsupported("was built without semtimedop (SEMAPHORE_TIMEOUT_SUPPORTED is False): "
                         "it calls semop() and ignores the timeout, waiting forever")
        sem, op = self._one_sop(semid, sops)
        timeout = timeout_ns / 1e9
        with _calling(existential=errno.EINVAL):
            if op < 0:
                sem.P(timeout=timeout, delta=-op)
            elif op > 0:
                sem.V(delta=op)  # an increment never waits: the timeout cannot matter
            else:
                sem.Z(timeout=timeout)
        return 0

    def semctl(self, semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0) -> Any:
        lib = _library()
        if cmd == IPC_RMID:
            with _calling(existential=errno.EINVAL):
                lib.remove_semaphore(semid)
            return 0
        if cmd in (GETALL, SETALL):
            _unsupported("has no GETALL/SETALL: it reads and writes one semaphore's value at a "
                         "time (GETVAL/SETVAL through Semaphore.value)")
        readers = {GETVAL: "value", GETPID: "last_pid", GETNCNT: "waiting_for_nonzero",
                   GETZCNT: "waiting_for_zero"}
        if cmd not in readers and cmd != SETVAL:
            _unsupported(f"cannot issue semctl command {cmd}")
        if semnum != 0:
            _unsupported(f"operates on semaphore 0 only, not semaphore {semnum}")
        sem = self._semaphore(semid)
        with _calling(existential=errno.EINVAL):
            if cmd == SETVAL:
                sem.value = arg
                return 0
            return int(getattr(sem, readers[cmd]))

    def semctl_stat(self, semid: int) -> dict[str, Any]:
        _library()
        _unsupported("Semaphore exposes neither sem_ctime nor sem_nsems, so the contract's "
                     "IPC_STAT result cannot be filled")

    def semctl_set(self, semid: int, changes: dict[str, int]) -> int:
        _known_changes(changes, ("uid", "gid", "mode"))
        # Semaphore's setters report IPC_SET's EPERM as OSError(EPERM);
        # their PermissionsError is always the IPC_STAT's EACCES.
        self._set_fields(self._semaphore(semid), changes,
                         {"uid": "uid", "gid": "gid", "mode": "mode"}, errno.EACCES)
        return 0

    # -- shared memory ---------------------------------------------------
    def shmget(self, key: int, size: int, flags: int) -> int:
        """SharedMemory(key, ...), then detach: shmget(2) attaches nothing.

        The constructor attaches the segment (read-only without 0o200 in
        the mode) and fills a segment it created writable with spaces; the
        detach here undoes only the attachment.
        """
        lib = _library()
        create = _get_flags(flags, "shmget")
        if size == 0 and create == IPC_CREAT | IPC_EXCL:
            _unsupported("substitutes PAGE_SIZE for size 0 when creating (IPC_CREAT|IPC_EXCL), "
                         "where shmget(2) answers EINVAL")
        with _calling(existential=errno.ENOENT):
            segment = lib.SharedMemory(key, flags & ~0o777, mode=flags & 0o777, size=size)
        with _calling():
            segment.detach()
        self.library_state.segments[segment.id] = segment
        return int(segment.id)

    def _attach(self, shmid: int, address: int | None, flags: int) -> int:
        lib = _library()
        state = self.library_state
        with _calling():
            attachment = lib.attach(shmid, address, flags)
        handle = min(set(range(len(state.attachments) + 1)) - set(state.attachments))
        state.attachments[handle] = attachment
        return handle

    def shmat(self, shmid: int, flags: int) -> int:
        return self._attach(shmid, None, flags)

    def shmat_at(self, shmid: int, address_hint: str, flags: int) -> int:
        if address_hint == "null":
            return self._attach(shmid, None, flags)
        if address_hint == "previous":
            previous = self.library_state.last_detached
            if previous is None:
                raise ValueError("shmat_at 'previous': this actor has detached nothing yet")
            return self._attach(shmid, previous, flags)
        raise ValueError(f"unknown address hint {address_hint!r}; 'null' or 'previous'")

    def _attachment(self, handle: int) -> Any:
        attachment = self.library_state.attachments.get(handle)
        if attachment is None:
            raise OSError(errno.EFAULT, f"{os.strerror(errno.EFAULT)} (handle {handle} names no attachment)")
        return attachment

    def shm_write(self, handle: int, offset: int, data: bytes) -> int:
        """SharedMemory.write; its "past end of segment" ValueError is the contract's EFAULT."""
        attachment = self._attachment(handle)
        with _calling():
            attachment.write(data, offset)
        return len(data)

    def shm_read(self, handle: int, offset: int, count: int) -> bytes:
        """SharedMemory.read, after the bounds check the contract asks for.

        The library never fails a read past the end: it returns the bytes up
        to the end instead, and reads *everything* from ``offset`` when
        ``count`` is 0. The EFAULT bounds check (this backend's, as in the
        kernel backend) is made against the library's ``size``; a read of
        zero bytes is no operation at all, so nothing is asked of the library.
        """
        attachment = self._attachment(handle)
        with _calling():
            size = int(attachment.size)
        if offset < 0 or count < 0 or offset + count > size:
            raise OSError(errno.EFAULT, f"{os.strerror(errno.EFAULT)} "
                                        f"([{offset}, {offset + count}) is outside the {size}-byte segment)")
        if count == 0:
            return b""
        with _calling():
            return bytes(attachment.read(count, offset))

    def shmdt(self, handle: int) -> int:
        state = self.library_state
        attachment = state.attachments.get(handle)
        if attachment is None:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        address = int(attachment.address)
        with _calling():
            attachment.detach()
        del state.attachments[handle]
        state.last_detached = address
        return 0

    def _segment(self, shmid: int, need_key: bool) -> Any:
        """A library object for segment ``shmid`` (one from shmget, which knows its key)."""
        state = self.library_state
        if shmid in state.segments:
            return state.segments[shmid]
        if not need_key:
            for attachment in state.attachments.values():
                if attachment.id == shmid:
                    return attachment
        if need_key:
            _unsupported(f"reports a segment's key only for an object it made by key "
                         f"(SharedMemory.key is the constructor's argument; an object made by "
                         f"attach(id) has none), and this actor did not get id {shmid} with shmget")
        _unsupported(f"has no object for segment {shmid}: this actor neither got nor attached it")

    def shmctl_stat(self, shmid: int) -> dict[str, Any]:
        """IPC_STAT through the SharedMemory attributes (one IPC_STAT per attribute).

        ``key`` is SharedMemory.key, the key the object was made with: the
        library exposes no ``shm_perm.__key``.
        """
        seg = self._segment(shmid, need_key=True)
        with _calling(existential=errno.EINVAL):
            return {"segsz": int(seg.size), "nattch": int(seg.number_attached),
                    "cpid": int(seg.creator_pid), "lpid": int(seg.last_pid),
                    "atime": bool(seg.last_attach_time), "dtime": bool(seg.last_detach_time),
                    "ctime": bool(seg.last_change_time), "uid": int(seg.uid), "gid": int(seg.gid),
                    "cuid": int(seg.cuid), "cgid": int(seg.cgid), "mode": int(seg.mode),
                    "key": int(seg.key)}

    def shmctl_set(self, shmid: int, changes: dict[str, int]) -> int:
        _known_changes(changes, ("uid", "gid", "mode"))
        self._set_fields(self._segment(shmid, need_key=False), changes,
                         {"uid": "uid", "gid": "gid", "mode": "mode"}, errno.EPERM)
        return 0

    def shmctl_rmid(self, shmid: int) -> int:
        lib = _library()
        with _calling(existential=errno.EINVAL, permissions=errno.EPERM):
            lib.remove_shared_memory(shmid)
        return 0

    # -- what the library has no call for ---------------------------------
    def msgctl_info(self, cmd: int = 0) -> dict[str, int]:
        _unsupported("has no msgctl(IPC_INFO/MSG_INFO)")

    def semctl_info(self, cmd: int = 0) -> dict[str, int]:
        _unsupported("has no semctl(IPC_INFO/SEM_INFO)")

    def shmctl_info(self, cmd: int = 0) -> dict[str, int]:
        _unsupported("has no shmctl(IPC_INFO/SHM_INFO)")
