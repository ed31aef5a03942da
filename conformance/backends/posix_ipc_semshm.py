"""POSIX named semaphores and shared memory through the posix_ipc library.

:class:`PosixIpcSemShmOps` performs the operations of
:mod:`conformance.backends.posix_semshm_ops` with ``posix_ipc.Semaphore``
and ``posix_ipc.SharedMemory``. The library wraps the libc calls the
``kernel`` backend makes, so every difference the specs find is the
library's.

How the contract maps onto the library:

* **Semaphore handles.** ``sem_open`` keeps the ``Semaphore`` object in a
  table *handle -> Semaphore* (lowest unused handle), an ordinary attribute
  that ``fork`` copies. ``sem_wait`` is ``acquire()``, ``sem_trywait`` is
  ``acquire(0)``, ``sem_timedwait`` is ``acquire(seconds)`` (the library
  computes the absolute deadline itself), ``sem_post`` is ``release()``,
  ``sem_getvalue`` reads ``value``, ``sem_close`` is ``close()``.
* **Shared memory.** ``shm_open`` makes a ``SharedMemory`` (``read_only``
  for O_RDONLY, size 0: no ftruncate) and returns its ``fd``; the object is
  kept so the descriptor stays the library's. Mapping goes through the
  kernel backend's ``mmap`` on that descriptor, as a program would pass
  ``fd`` to :mod:`mmap`.
* **Errors** are mapped back to the errno of the failing call, which the
  library's messages make knowable: ``ExistentialError`` is EEXIST ("already
  exists"), ENOENT ("No ... exists") or EINVAL (an operation on a closed
  semaphore); ``PermissionsError`` EACCES; ``BusyError`` EAGAIN from
  ``acquire(0)`` and ETIMEDOUT from a timed acquire; ``SignalError`` EINTR;
  ``ValueError`` ENAMETOOLONG ("too long") or EINVAL; ``OSError`` its errno.
* **What the library cannot express** raises ``NotImplementedError``: a
  timed wait with an invalid or zero timeout (``acquire`` takes a float of
  seconds; 0 means "try"), O_WRONLY (``SharedMemory`` opens O_RDONLY or
  O_RDWR only), and O_EXCL without O_CREAT.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import posix_ipc

_T = TypeVar("_T")
_NS = 1_000_000_000


def _oserror(code: int, text: str) -> OSError:
    return OSError(code, f"{os.strerror(code)} (posix_ipc: {text})")


def _translated(call: Callable[[], _T], busy: int = 11) -> _T:
    """Run ``call``; raise the library's exceptions as OSError with the errno they stand for."""
    try:
        return call()
    except posix_ipc.ExistentialError as exc:
        text = str(exc)
        if "already exists" in text:
            raise _oserror(17, text) from exc
        if "closed" in text:
            raise _oserror(22, text) from exc
        raise _oserror(2, text) from exc
    except posix_ipc.PermissionsError as exc:
        raise _oserror(13, str(exc)) from exc
    except posix_ipc.BusyError as exc:
        raise _oserror(busy, str(exc)) from exc
    except posix_ipc.SignalError as exc:
        raise _oserror(4, str(exc)) from exc
    except ValueError as exc:
        text = str(exc)
        raise _oserror(36 if "too long" in text else 22, text) from exc


def _library_flags(oflag: int) -> int:
    if oflag & os.O_EXCL and not oflag & os.O_CREAT:
        raise NotImplementedError("posix_ipc refuses O_EXCL without O_CREAT before any call")
    return oflag & (os.O_CREAT | os.O_EXCL | os.O_TRUNC)


class PosixIpcSemShmOps:
    """POSIX semaphore and shared memory operations over posix_ipc; a mixin of the posix_ipc backend."""

    control_fd: int

    @property
    def semaphores(self) -> dict[int, Any]:
        """This actor's semaphore handles: handle -> ``posix_ipc.Semaphore``."""
        table: dict[int, Any] | None = self.__dict__.get("_ipc_semaphores")
        if table is None:
            table = self.__dict__["_ipc_semaphores"] = {}
        return table

    @property
    def shared_memories(self) -> list[Any]:
        """Every ``SharedMemory`` this actor opened (kept so their descriptors stay open)."""
        kept: list[Any] | None = self.__dict__.get("_ipc_shm")
        if kept is None:
            kept = self.__dict__["_ipc_shm"] = []
        return kept

    def _sem(self, handle: int) -> Any:
        if handle not in self.semaphores:
            raise OSError(22, "no such semaphore handle")
        return self.semaphores[handle]

    # -- named semaphores -------------------------------------------------
    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        flags = _library_flags(oflag)
        sem = _translated(lambda: posix_ipc.Semaphore(name, flags, mode, value))
        handle = min(set(range(len(self.semaphores) + 1)) - set(self.semaphores))
        self.semaphores[handle] = sem
        return handle

    def sem_close(self, handle: int) -> int:
        _translated(self._sem(handle).close)
        del self.semaphores[handle]
        return 0

    def sem_unlink(self, name: str) -> int:
        _translated(lambda: posix_ipc.unlink_semaphore(name))
        return 0

    def sem_wait(self, handle: int) -> int:
        _translated(self._sem(handle).acquire)
        return 0

    def sem_trywait(self, handle: int) -> int:
        sem = self._sem(handle)
        _translated(lambda: sem.acquire(0))
        return 0

    def sem_timedwait(self, handle: int, sec: int, nsec: int) -> int:
        if not 0 <= nsec < _NS:
            raise NotImplementedError("posix_ipc's acquire(timeout) takes seconds as a float: "
                                      "an invalid tv_nsec cannot be passed")
        if sec < 0 or sec == nsec == 0:
            raise NotImplementedError("posix_ipc's acquire() treats a timeout of 0 as sem_trywait "
                                      "and refuses a negative one")
        sem = self._sem(handle)
        _translated(lambda: sem.acquire(sec + nsec / _NS), busy=110)
        return 0

    def sem_post(self, handle: int) -> int:
        _translated(self._sem(handle).release)
        return 0

    def sem_getvalue(self, handle: int) -> int:
        sem = self._sem(handle)
        return int(_translated(lambda: sem.value))

    # -- shared memory objects ----------------------------------------------
    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        access = oflag & os.O_ACCMODE
        if access == os.O_WRONLY:
            raise NotImplementedError("posix_ipc.SharedMemory opens O_RDONLY or O_RDWR only")
        flags = _library_flags(oflag)
        shm = _translated(lambda: posix_ipc.SharedMemory(name, flags, mode, 0, access == os.O_RDONLY))
        self.shared_memories.append(shm)
        return int(shm.fd)

    def shm_unlink(self, name: str) -> int:
        _translated(lambda: posix_ipc.unlink_shared_memory(name))
        return 0
