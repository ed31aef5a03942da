"""POSIX named semaphores and shared memory on the running kernel, through libc (ctypes).

Since glibc 2.34 ``sem_*`` and ``shm_*`` live in libc itself (no -lrt, no
-lpthread). ``sem_open`` is variadic — ``sem_open(name, oflag, ...)`` takes
``mode_t mode, unsigned int value`` only with O_CREAT — so its ``argtypes``
name all four parameters: on x86_64 and aarch64 the variadic arguments travel
in the same registers as fixed ones, and declaring them makes ctypes convert
them to the right C types (``unsigned int``, not a Python int of unknown
width).

A named semaphore is a file ``/dev/shm/sem.NAME`` that glibc maps
MAP_SHARED; the ``sem_t *`` it returns is an address in this process, so
actors see small *handles* instead (see :mod:`.posix_semshm_ops`). The
handle table is an ordinary attribute: ``fork`` copies it together with the
mappings it points into, as the kernel copies the mappings.

This module imports only the standard library, so it can be embedded in a
standalone reproducer script.
"""

from __future__ import annotations

import ctypes
import os
import time

_libc = ctypes.CDLL(None, use_errno=True)
_libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
_libc.sem_open.restype = ctypes.c_void_p
for _name in ("sem_close", "sem_wait", "sem_trywait", "sem_post"):
    getattr(_libc, _name).argtypes = [ctypes.c_void_p]
_libc.sem_timedwait.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_libc.sem_getvalue.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
_libc.sem_unlink.argtypes = [ctypes.c_char_p]
_libc.shm_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]
_libc.shm_unlink.argtypes = [ctypes.c_char_p]

#: what sem_open returns on failure
SEM_FAILED = None  # ctypes turns the NULL-valued (void *) 0 into None
_NS = 1_000_000_000


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _fail() -> OSError:
    err = ctypes.get_errno()
    return OSError(err, os.strerror(err))


def _check(result: int) -> int:
    if result == -1:
        raise _fail()
    return result


def deadline(sec: int, nsec: int) -> tuple[int, int]:
    """The absolute CLOCK_REALTIME deadline *now* + ``sec`` s + ``nsec`` ns.

    A valid ``nsec`` is added and carried into seconds; an invalid one (below
    0 or from 10**9) is kept as the deadline's ``tv_nsec`` so the call sees
    it unchanged.
    """
    now = time.clock_gettime_ns(time.CLOCK_REALTIME)
    if 0 <= nsec < _NS:
        total = now + sec * _NS + nsec
        return total // _NS, total % _NS
    return now // _NS + sec, nsec


class PosixSemShmKernelOps:
    """POSIX semaphore and shared memory operations; a mixin of the kernel backend."""

    control_fd: int

    @property
    def semaphores(self) -> dict[int, int]:
        """This actor's semaphore handles: handle -> ``sem_t *`` address."""
        table: dict[int, int] | None = self.__dict__.get("_semaphores")
        if table is None:
            table = self.__dict__["_semaphores"] = {}
        return table

    def _sem(self, handle: int) -> int:
        if handle not in self.semaphores:
            raise OSError(22, "no such semaphore handle")
        return self.semaphores[handle]

    def _new_handle(self, address: int) -> int:
        handle = min(set(range(len(self.semaphores) + 1)) - set(self.semaphores))
        self.semaphores[handle] = address
        return handle

    # -- named semaphores -------------------------------------------------
    def sem_open(self, name: str, oflag: int, mode: int = 0o600, value: int = 0) -> int:
        address = _libc.sem_open(name.encode(), oflag, mode, value)
        if address is SEM_FAILED:
            raise _fail()
        return self._new_handle(int(address))

    def sem_close(self, handle: int) -> int:
        result = _check(_libc.sem_close(self._sem(handle)))
        del self.semaphores[handle]
        return result

    def sem_unlink(self, name: str) -> int:
        return _check(_libc.sem_unlink(name.encode()))

    def sem_wait(self, handle: int) -> int:
        return _check(_libc.sem_wait(self._sem(handle)))

    def sem_trywait(self, handle: int) -> int:
        return _check(_libc.sem_trywait(self._sem(handle)))

    def sem_timedwait(self, handle: int, sec: int, nsec: int) -> int:
        when = _Timespec(*deadline(sec, nsec))
        return _check(_libc.sem_timedwait(self._sem(handle), ctypes.byref(when)))

    def sem_post(self, handle: int) -> int:
        return _check(_libc.sem_post(self._sem(handle)))

    def sem_getvalue(self, handle: int) -> int:
        value = ctypes.c_int(0)
        _check(_libc.sem_getvalue(self._sem(handle), ctypes.byref(value)))
        return value.value

    # -- shared memory objects ----------------------------------------------
    def shm_open(self, name: str, oflag: int, mode: int = 0o600) -> int:
        return _check(_libc.shm_open(name.encode(), oflag, mode))

    def shm_unlink(self, name: str) -> int:
        return _check(_libc.shm_unlink(name.encode()))
