"""POSIX message queues through the posix_ipc library.

:class:`PosixIpcMqOps` performs the operations of
:mod:`conformance.backends.posix_mq_ops` with ``posix_ipc.MessageQueue``.
The library wraps the same libc calls the ``kernel`` backend makes, so
every difference the specs find is the library's.

How the contract maps onto the library:

* **Descriptors.** ``mq_open`` returns the object's ``mqd`` and keeps the
  object in a table *descriptor -> MessageQueue*. The table is an ordinary
  attribute, so ``fork`` copies it (the child inherits the descriptors). A
  closed object stays in the table, so a later call on it reaches the
  kernel and gets the kernel's EBADF; a descriptor the library never opened
  cannot be reached at all (``NotImplementedError``).
* **Errors.** The library raises its own exceptions; each is mapped back to
  the errno the failing call set, which the library's source makes
  knowable: ``ExistentialError`` is EEXIST or ENOENT from ``mq_open`` (by
  its message), ENOENT from ``mq_unlink`` and EBADF from operations on a
  descriptor; ``PermissionsError`` is EACCES from open and unlink, and EBADF
  when the library itself refuses to send on a read-only or receive on a
  write-only queue (the kernel's answer to the same call); ``BusyError`` is
  EAGAIN on a non-blocking queue, ETIMEDOUT from a timed call, EBUSY from
  ``request_notification``; ``ValueError`` is EINVAL, ENAMETOOLONG or
  EMSGSIZE by its message.
* **What the library cannot express** raises ``NotImplementedError``: a
  receive buffer smaller than ``mq_msgsize`` (it always receives into
  ``mq_msgsize`` bytes), ``SIGEV_NONE`` registrations (its ``None`` means
  "unregister"), ``O_EXCL`` without ``O_CREAT`` (refused with ValueError;
  ``mq_open`` ignores it), and ``mq_setattr`` flags other than O_NONBLOCK.
* **Default attributes.** The library always passes an ``mq_attr`` when it
  creates a queue. ``attr=None`` is passed as the kernel's own defaults read
  from ``/proc/sys/fs/mqueue/msg_default`` and ``msgsize_default``.

Where the library behaves differently from the calls it wraps, the backend
passes the difference on rather than hiding it, so the specs see it:
``request_notification`` first removes the caller's own registration
(``mq_notify(NULL)``), so a process registering twice succeeds where
``mq_notify`` fails with EBUSY (clause ``posix.mq.notify.busy-same-process``);
and ``request_notification(None)`` ignores ``mq_notify``'s result, so it
reports success even on a closed descriptor.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

try:
    import posix_ipc
except ImportError:  # the backend reports itself unsupported
    posix_ipc = None


def _library() -> Any:
    if posix_ipc is None:
        raise NotImplementedError("posix_ipc is not installed (pip install 'ipc-conformance[libraries]')")
    return posix_ipc


def _unsupported(reason: str) -> NoReturn:
    raise NotImplementedError(f"posix_ipc {reason}")


def _oserror(code: int, exc: BaseException) -> OSError:
    return OSError(code, f"{os.strerror(code)} (posix_ipc {type(exc).__name__}: {exc})")


#: ValueError messages of the library and the errno of the call behind them
_VALUE_ERRORS = {
    "Invalid parameter": errno.EINVAL,
    "name is too long": errno.ENAMETOOLONG,
    "message must be no longer": errno.EMSGSIZE,
    "message is too long": errno.EMSGSIZE,
    "priority must be": errno.EINVAL,
}


def translate(exc: BaseException, *, existential: int, permissions: int, busy: int) -> BaseException:
    """The ``OSError`` (or ``NotImplementedError``) a posix_ipc exception stands for."""
    lib = _library()
    message = str(exc)
    if isinstance(exc, lib.ExistentialError):
        if "already exists" in message:
            return _oserror(errno.EEXIST, exc)
        return _oserror(existential, exc)
    if isinstance(exc, lib.PermissionsError):
        return _oserror(permissions, exc)
    if isinstance(exc, lib.BusyError):
        return _oserror(busy, exc)
    if isinstance(exc, lib.SignalError):
        return _oserror(errno.EINTR, exc)
    if isinstance(exc, MemoryError):
        return _oserror(errno.ENOMEM, exc)
    if isinstance(exc, ValueError):
        for text, code in _VALUE_ERRORS.items():
            if text in message:
                return _oserror(code, exc)
        return NotImplementedError(f"posix_ipc refuses the call itself: ValueError: {message}")
    if isinstance(exc, OSError) and exc.errno:
        return exc
    if isinstance(exc, (TypeError, OverflowError)):
        return NotImplementedError(f"posix_ipc cannot take this argument: {type(exc).__name__}: {message}")
    return exc


@contextmanager
def _calling(existential: int = errno.EBADF, permissions: int = errno.EBADF,
             busy: int = errno.EAGAIN) -> Iterator[None]:
    """Run library calls; their exceptions leave as :func:`translate` says."""
    try:
        yield
    except Exception as exc:
        translated = translate(exc, existential=existential, permissions=permissions, busy=busy)
        if translated is exc:
            raise
        raise translated from exc


def _proc_default(name: str) -> int:
    with open(f"/proc/sys/fs/mqueue/{name}") as f:
        return int(f.read())


class PosixIpcMqOps:
    """POSIX message queue operations over posix_ipc; a mixin of the posix_ipc backend."""

    control_fd: int

    @property
    def mq_queues(self) -> dict[int, Any]:
        """descriptor -> the MessageQueue that opened it (created on first use)."""
        table: dict[int, Any] | None = self.__dict__.get("_mq_table")
        if table is None:
            table = self.__dict__["_mq_table"] = {}
        return table

    def _mq_queue(self, mqd: int) -> Any:
        if mqd not in self.mq_queues:
            _unsupported(f"reaches a queue only through the MessageQueue that opened it; "
                         f"descriptor {mqd} was never opened by it")
        return self.mq_queues[mqd]

    def _mq_busy(self, queue: Any, timed: bool) -> int:
        """EAGAIN on a non-blocking queue; ETIMEDOUT when a timed call ran out of time."""
        try:
            blocking = queue.block
        except Exception:  # the descriptor is gone; the kernel would have said EAGAIN first
            return errno.EAGAIN
        return errno.ETIMEDOUT if timed and blocking else errno.EAGAIN

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        lib = _library()
        access = oflag & os.O_ACCMODE
        if access not in (os.O_RDONLY, os.O_WRONLY, os.O_RDWR):
            _unsupported("cannot pass an access mode other than O_RDONLY, O_WRONLY, O_RDWR")
        if oflag & os.O_EXCL and not oflag & os.O_CREAT:
            _unsupported("refuses O_EXCL without O_CREAT (ValueError), which mq_open(3) ignores")
        if attr is None:
            attr = (_proc_default("msg_default"), _proc_default("msgsize_default"))
        with _calling(existential=errno.ENOENT, permissions=errno.EACCES):
            queue = lib.MessageQueue(name, oflag & ~os.O_ACCMODE, mode, attr[0], attr[1],
                                     read=access != os.O_WRONLY, write=access != os.O_RDONLY)
        self.mq_queues[queue.mqd] = queue
        return int(queue.mqd)

    def mq_close(self, mqd: int) -> int:
        queue = self._mq_queue(mqd)
        with _calling():
            queue.close()
        return 0

    def mq_unlink(self, name: str) -> int:
        lib = _library()
        # mq_unlink's EINVAL (a name without its leading slash) and ENOENT
        # both come out as ExistentialError; the name tells which it was.
        with _calling(existential=errno.ENOENT if name.startswith("/") else errno.EINVAL,
                      permissions=errno.EACCES):
            lib.unlink_message_queue(name)
        return 0

    def _mq_send(self, mqd: int, data: bytes, prio: int, timeout: float | None) -> int:
        queue = self._mq_queue(mqd)
        try:
            with _calling(busy=-1):
                queue.send(data, timeout, prio)
        except OSError as exc:
            if exc.errno == -1:
                raise _oserror(self._mq_busy(queue, timeout is not None), exc) from exc
            raise
        return 0

    def mq_send(self, mqd: int, data: bytes, prio: int) -> int:
        return self._mq_send(mqd, data, prio, None)

    def mq_timedsend(self, mqd: int, data: bytes, prio: int, timeout_ns: int) -> int:
        return self._mq_send(mqd, data, prio, timeout_ns / 1e9)

    def _mq_receive(self, mqd: int, bufsize: int, timeout: float | None) -> tuple[bytes, int]:
        queue = self._mq_queue(mqd)
        if bufsize < queue.max_message_size:
            _unsupported(f"always receives into a buffer of mq_msgsize ({queue.max_message_size}) "
                         f"bytes; a {bufsize}-byte buffer cannot be passed")
        try:
            with _calling(busy=-1):
                data, prio = queue.receive(timeout)
        except OSError as exc:
            if exc.errno == -1:
                raise _oserror(self._mq_busy(queue, timeout is not None), exc) from exc
            raise
        return bytes(data), int(prio)

    def mq_receive(self, mqd: int, bufsize: int) -> tuple[bytes, int]:
        return self._mq_receive(mqd, bufsize, None)

    def mq_timedreceive(self, mqd: int, bufsize: int, timeout_ns: int) -> tuple[bytes, int]:
        return self._mq_receive(mqd, bufsize, timeout_ns / 1e9)

    def mq_getattr(self, mqd: int) -> dict[str, int]:
        queue = self._mq_queue(mqd)
        with _calling():
            blocking = queue.block
            current = queue.current_messages
        return {"flags": 0 if blocking else os.O_NONBLOCK, "maxmsg": int(queue.max_messages),
                "msgsize": int(queue.max_message_size), "curmsgs": int(current)}

    def mq_setattr(self, mqd: int, flags: int) -> dict[str, int]:
        if flags & ~os.O_NONBLOCK:
            _unsupported("sets only the blocking flag: other mq_flags bits cannot be passed")
        old = self.mq_getattr(mqd)
        with _calling():
            self._mq_queue(mqd).block = not flags & os.O_NONBLOCK
        return old

    def mq_notify(self, mqd: int, sig: int | str | None) -> int:
        if sig == "none":
            _unsupported("cannot register SIGEV_NONE: request_notification(None) unregisters")
        queue = self._mq_queue(mqd)
        with _calling(busy=errno.EBUSY):
            queue.request_notification(sig)
        return 0
