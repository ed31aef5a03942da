"""read, write, sendfd, recvfd and shutdown: dispatch on what the description refers to."""

from __future__ import annotations

from typing import Any

from ..outcome import Errno, Outcome, Value
from .args import c_int, count, payload
from .constants import O_APPEND
from .descriptions import Description
from .errors import Unmodelled
from .files import DevNull, RegularFile
from .pipeio import pipe_read, pipe_write
from .pipes import Pipe
from .process import Process
from .sockets import SocketEnd
from .sockio import socket_recv, socket_send, socket_shutdown
from .world import World


def _no_direct_io(world: World, desc: Description) -> None:
    if desc.flags & world.config.flags.o_direct and isinstance(desc.obj, RegularFile):
        raise Unmodelled("O_DIRECT I/O on a regular file (alignment rules of the filesystem)")


def op_read(world: World, proc: Process, fd: Any, n: Any) -> Outcome | None:
    fd = c_int(fd, "fd")
    n = count(n)
    entry = proc.fds.get(fd)
    if entry is None or not entry.desc.readable:
        return Errno("EBADF")
    desc = entry.desc
    obj = desc.obj
    if isinstance(obj, Pipe):
        return pipe_read(world, proc, desc, n)
    if isinstance(obj, SocketEnd):
        return socket_recv(world, proc, desc, n)
    if isinstance(obj, DevNull):
        return Value(b"")
    _no_direct_io(world, desc)
    data = obj.read_at(desc.offset, n)
    desc.offset += len(data)
    return Value(data)


def op_write(world: World, proc: Process, fd: Any, data: Any) -> Outcome | None:
    fd = c_int(fd, "fd")
    data = payload(data)
    entry = proc.fds.get(fd)
    if entry is None or not entry.desc.writable:
        return Errno("EBADF")
    desc = entry.desc
    obj = desc.obj
    if isinstance(obj, Pipe):
        return pipe_write(world, proc, desc, data)
    if isinstance(obj, SocketEnd):
        return socket_send(world, proc, desc, data)
    if isinstance(obj, DevNull):
        return Value(len(data))
    _no_direct_io(world, desc)
    if not data:
        return Value(0)  # not even O_APPEND moves the offset for an empty write
    if desc.flags & O_APPEND:
        desc.offset = obj.size
    obj.write_at(desc.offset, data)
    desc.offset += len(data)
    return Value(len(data))


def _socket(proc: Process, sock: int) -> Description | Outcome:
    entry = proc.fds.get(sock)
    if entry is None:
        return Errno("EBADF")
    if not isinstance(entry.desc.obj, SocketEnd):
        return Errno("ENOTSOCK")
    return entry.desc


def op_sendfd(world: World, proc: Process, sock: Any, fd: Any) -> Outcome:
    found = _socket(proc, c_int(sock, "sock"))
    if not isinstance(found, Description):
        return found
    entry = proc.fds.get(c_int(fd, "fd"))
    if entry is None:
        return Errno("EBADF")
    if isinstance(entry.desc.obj, SocketEnd):
        raise Unmodelled("passing a socket over a socket (its lifetime then depends on the unix GC)")
    return socket_send(world, proc, found, b"F", passed=entry.desc)


def op_recvfd(world: World, proc: Process, sock: Any) -> Outcome | None:
    found = _socket(proc, c_int(sock, "sock"))
    if not isinstance(found, Description):
        return found
    return socket_recv(world, proc, found, None)


def op_shutdown(world: World, proc: Process, sock: Any, how: Any) -> Outcome:
    """shutdown(2): sockfd_lookup (EBADF, ENOTSOCK) comes before the check of ``how``."""
    found = _socket(proc, c_int(sock, "sock"))
    if not isinstance(found, Description):
        return found
    end = found.obj
    assert isinstance(end, SocketEnd)
    return socket_shutdown(world, end, c_int(how, "how"))
