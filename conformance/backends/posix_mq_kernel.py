"""POSIX message queues on the running kernel, through libc (ctypes).

:class:`PosixMqKernelOps` is a mixin of the ``kernel`` backend
(:class:`~conformance.backends.kernel.KernelProcessOps` inherits it). It
performs every operation of :mod:`conformance.backends.posix_mq_ops` with
the real libc call: ``mq_open mq_close mq_unlink mq_send mq_timedsend
mq_receive mq_timedreceive mq_getattr mq_setattr mq_notify`` (in libc itself
since glibc 2.34, in ``librt`` before).

How the C interface is reproduced:

* **Structures.** ``struct mq_attr`` is four ``long`` and four reserved
  ``long`` (<bits/types/struct_mq_attr.h>... in glibc: ``mq_flags, mq_maxmsg,
  mq_msgsize, mq_curmsgs, __pad[4]``). ``struct sigevent`` is 64 bytes on
  LP64 Linux: ``union sigval`` (8), ``int sigev_signo``, ``int
  sigev_notify``, then a union padding it out. Only ``SIGEV_SIGNAL`` and
  ``SIGEV_NONE`` are used, which read nothing from the union.
* **mq_open is variadic** (``mode`` and ``attr`` follow ``oflag`` only with
  ``O_CREAT``): it deliberately has no ``argtypes``, and every argument is
  passed as an explicit ctypes object, the way a variadic call must be made.
* **Timeouts** are relative in the contract and absolute in C: the backend
  reads ``CLOCK_REALTIME`` just before the call and adds the timeout.
* **Descriptors**: the ``mqd_t`` is returned as is (a descriptor on Linux).

Standard library only: this module is embedded in standalone reproducers.
"""

from __future__ import annotations

import ctypes
import os
import time

TYPE_CHECKING = False  # typing itself is not imported: see conformance.backends
if TYPE_CHECKING:
    from typing import Any

SIGEV_SIGNAL, SIGEV_NONE = 0, 1


def _load() -> Any:
    """The library that has ``mq_open``: libc (glibc >= 2.34) or librt."""
    libc = ctypes.CDLL(None, use_errno=True)
    if hasattr(libc, "mq_open"):
        return libc
    from ctypes.util import find_library  # only on old C libraries: it imports subprocess and re

    return ctypes.CDLL(find_library("rt") or "librt.so.1", use_errno=True)


class MqAttr(ctypes.Structure):
    """``struct mq_attr`` as glibc declares it (LP64)."""

    _fields_ = [
        ("mq_flags", ctypes.c_long),
        ("mq_maxmsg", ctypes.c_long),
        ("mq_msgsize", ctypes.c_long),
        ("mq_curmsgs", ctypes.c_long),
        ("_pad", ctypes.c_long * 4),
    ]


class SigEvent(ctypes.Structure):
    """``struct sigevent`` (LP64 Linux, 64 bytes); the tail union is padding here."""

    _fields_ = [
        ("sigev_value", ctypes.c_void_p),  # union sigval: int or pointer
        ("sigev_signo", ctypes.c_int),
        ("sigev_notify", ctypes.c_int),
        ("_union", ctypes.c_byte * 48),
    ]


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_lib = _load()
# mq_open: variadic, see the module documentation; no argtypes on purpose.
_lib.mq_close.argtypes = [ctypes.c_int]
_lib.mq_unlink.argtypes = [ctypes.c_char_p]
_lib.mq_timedsend.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                              ctypes.c_void_p]
_lib.mq_timedreceive.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
_lib.mq_timedreceive.restype = ctypes.c_ssize_t
_lib.mq_getattr.argtypes = [ctypes.c_int, ctypes.POINTER(MqAttr)]
_lib.mq_setattr.argtypes = [ctypes.c_int, ctypes.POINTER(MqAttr), ctypes.POINTER(MqAttr)]
_lib.mq_notify.argtypes = [ctypes.c_int, ctypes.POINTER(SigEvent)]

assert ctypes.sizeof(MqAttr) == 64 and ctypes.sizeof(SigEvent) == 64


def _check(result: int) -> int:
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def _deadline(timeout_ns: int) -> Timespec:
    """The absolute CLOCK_REALTIME time ``timeout_ns`` from now (what mq_timed* take)."""
    now = time.clock_gettime_ns(time.CLOCK_REALTIME) + timeout_ns
    return Timespec(now // 10**9, now % 10**9)


def attr_dict(attr: MqAttr) -> dict[str, int]:
    """The contract's shape of a ``struct mq_attr``."""
    return {"flags": attr.mq_flags, "maxmsg": attr.mq_maxmsg, "msgsize": attr.mq_msgsize,
            "curmsgs": attr.mq_curmsgs}


class PosixMqKernelOps:
    """POSIX message queue operations; a mixin of the kernel backend."""

    control_fd: int

    def mq_open(self, name: str, oflag: int, mode: int = 0o600,
                attr: tuple[int, int] | None = None) -> int:
        c_attr = None
        if attr is not None:
            c_attr = MqAttr(0, attr[0], attr[1], 0)
        result = _lib.mq_open(ctypes.c_char_p(os.fsencode(name)), ctypes.c_int(oflag),
                              ctypes.c_uint(mode),
                              ctypes.byref(c_attr) if c_attr is not None else ctypes.c_void_p(None))
        return _check(result)

    def mq_close(self, mqd: int) -> int:
        return _check(_lib.mq_close(mqd))

    def mq_unlink(self, name: str) -> int:
        return _check(_lib.mq_unlink(os.fsencode(name)))

    def mq_send(self, mqd: int, data: bytes, prio: int) -> int:
        # glibc's mq_send is mq_timedsend with no timeout: the same system call
        return _check(_lib.mq_timedsend(mqd, data, len(data), prio, None))

    def mq_timedsend(self, mqd: int, data: bytes, prio: int, timeout_ns: int) -> int:
        when = _deadline(timeout_ns)
        return _check(_lib.mq_timedsend(mqd, data, len(data), prio, ctypes.byref(when)))

    def _mq_receive_until(self, mqd: int, bufsize: int, when: Timespec | None) -> tuple[bytes, int]:
        buf = ctypes.create_string_buffer(max(bufsize, 1))
        prio = ctypes.c_uint(0)
        size = _check(_lib.mq_timedreceive(mqd, buf, bufsize, ctypes.byref(prio),
                                           ctypes.byref(when) if when is not None else None))
        return buf.raw[:size], prio.value

    def mq_receive(self, mqd: int, bufsize: int) -> tuple[bytes, int]:
        return self._mq_receive_until(mqd, bufsize, None)

    def mq_timedreceive(self, mqd: int, bufsize: int, timeout_ns: int) -> tuple[bytes, int]:
        return self._mq_receive_until(mqd, bufsize, _deadline(timeout_ns))

    def mq_getattr(self, mqd: int) -> dict[str, int]:
        attr = MqAttr()
        _check(_lib.mq_getattr(mqd, ctypes.byref(attr)))
        return attr_dict(attr)

    def mq_setattr(self, mqd: int, flags: int) -> dict[str, int]:
        new, old = MqAttr(flags, 0, 0, 0), MqAttr()
        _check(_lib.mq_setattr(mqd, ctypes.byref(new), ctypes.byref(old)))
        return attr_dict(old)

    def mq_notify(self, mqd: int, sig: int | str | None) -> int:
        if sig is None:
            return _check(_lib.mq_notify(mqd, None))
        event = SigEvent()
        if sig == "none":
            event.sigev_notify = SIGEV_NONE
        elif isinstance(sig, int):
            event.sigev_notify, event.sigev_signo = SIGEV_SIGNAL, sig
        else:
            raise ValueError(f"mq_notify: sig must be a signal number, 'none' or None, not {sig!r}")
        return _check(_lib.mq_notify(mqd, ctypes.byref(event)))
