"""Mutants of AF_UNIX socket pairs that the socket state machine must catch.

Each one gets a rule of stream, seqpacket or datagram sockets wrong the way
a compatibility layer or an emulated socket might: a socket type replaced
by a stream (boundaries, empty messages, end of file and SIGPIPE all
change), a shutdown that changes nothing. None of them is a clause of its
own: ``socket.model.multi-process`` finds each through the model.
"""

from __future__ import annotations

import ctypes
import os
import socket
import stat

from conformance.backends.kernel import KernelProcessOps, _check, _libc

from . import mutant

MACHINE_SPECS = ("specs/socket/test_socket_machine.py",)
MACHINE = ("socket.model.multi-process",)


def _socket_type(fd: int) -> int | None:
    """SO_TYPE of ``fd``, or None when it is not a socket."""
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return None
    except OSError:
        return None
    value = ctypes.c_int(0)
    size = ctypes.c_uint32(ctypes.sizeof(value))
    _check(_libc.getsockopt(fd, socket.SOL_SOCKET, socket.SO_TYPE, ctypes.byref(value), ctypes.byref(size)))
    return value.value


@mutant("seqpacket-is-a-stream", MACHINE_SPECS, kills=MACHINE)
class SeqpacketIsAStream(KernelProcessOps):
    """socketpair(SOCK_SEQPACKET) hands out a stream pair, as a layer without seqpacket might.

    Messages run together, an empty write is no message at all, and a write
    to a closed peer raises SIGPIPE.
    """

    def socketpair_of(self, type: str) -> tuple[int, int]:  # noqa: A002 - the operation's word
        return super().socketpair_of("stream" if type == "seqpacket" else type)


@mutant("datagram-pair-is-a-stream", MACHINE_SPECS, kills=MACHINE)
class DatagramPairIsAStream(KernelProcessOps):
    """socketpair(SOCK_DGRAM) hands out a stream pair: no boundaries, EOF when the peer goes."""

    def socketpair_of(self, type: str) -> tuple[int, int]:  # noqa: A002
        return super().socketpair_of("stream" if type == "dgram" else type)


@mutant("shutdown-does-nothing", MACHINE_SPECS, kills=MACHINE)
class ShutdownDoesNothing(KernelProcessOps):
    """shutdown() on a socket checks its arguments, reports success and changes nothing.

    Writes go on working, the peer never sees end of file, and reads after
    SHUT_RD still wait for data.
    """

    def shutdown(self, fd: int, how: int) -> int:
        if how in (socket.SHUT_RD, socket.SHUT_WR, socket.SHUT_RDWR) and _socket_type(fd) is not None:
            return 0
        return super().shutdown(fd, how)
