"""Operations that make new open file descriptions or directory entries.

open, open_proc_fd, pipe, pipe2, socketpair, socketpair_of, unix_bind, unix_connect,
mkfifo, unlink, stat.

What F_GETFL later reports is decided here: ``open`` keeps the flags it was
given except O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC and O_CLOEXEC, and the kernel
adds O_LARGEFILE on 64-bit; ``pipe2`` and ``socketpair`` build their flags
themselves and never include O_LARGEFILE; the read end of a pipe never gets
O_DIRECT (only writes are packetized).
"""

from __future__ import annotations

from typing import Any

from ..outcome import Errno, Outcome, Value
from .args import actor_ref, c_int
from .constants import (
    FASYNC,
    O_ACCMODE,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DSYNC,
    O_EXCL,
    O_NOATIME,
    O_NOCTTY,
    O_NONBLOCK,
    O_PATH,
    O_RDONLY,
    O_RDWR,
    O_SYNC,
    O_TMPFILE_BIT,
    O_TRUNC,
    O_WRONLY,
    UNIX_PATH_MAX,
)
from .descriptions import Description
from .errors import ModelUsageError, Unmodelled
from .fifo import fifo_open
from .files import (
    DEV_NULL,
    DevNull,
    FifoInode,
    Inode,
    RegularFile,
    SocketInode,
    check_name,
    name_error,
)
from .lifecycle import install
from .pipes import Pipe
from .process import Process
from .sockets import SOCKET_TYPES, SocketEnd
from .world import World

_DROPPED_AT_OPEN = O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC | O_ACCMODE


def _check_open_flags(world: World, flags: int) -> None:
    arch = world.config.flags
    known = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC
             | FASYNC | arch.o_direct | arch.o_largefile | arch.o_nofollow | O_NOATIME | O_CLOEXEC
             | O_SYNC)
    if flags & (O_PATH | O_TMPFILE_BIT | arch.o_directory):
        raise Unmodelled("O_PATH, O_TMPFILE and O_DIRECTORY need directories, which are not modelled")
    if flags & ~known or flags < 0:
        raise Unmodelled(f"open flags {flags:#o} include bits the model does not know")


def _stored_flags(world: World, flags: int) -> int:
    return (flags & ~_DROPPED_AT_OPEN) | world.config.flags.o_largefile


def _owner_may(inode: RegularFile | FifoInode, accmode: int, trunc: bool) -> None:
    need = 0
    if accmode in (O_RDONLY, O_RDWR, 3):
        need |= 0o400
    if accmode in (O_WRONLY, O_RDWR, 3) or trunc:
        need |= 0o200
    if inode.mode & need != need:
        raise Unmodelled("the file's owner bits deny this open; the outcome depends on capabilities")


def _lookup(world: World, path: str) -> Inode | None:
    if path == DEV_NULL:
        return world.devnull
    return world.directory.get(path)


def op_open(world: World, proc: Process, path: Any, flags: Any, mode: Any = 0o644) -> Outcome | None:
    path = check_name(path)
    flags = c_int(flags, "flags")
    mode = c_int(mode, "mode")
    _check_open_flags(world, flags)
    if path == "":
        return Errno("ENOENT")  # getname() refuses "" before a descriptor is taken
    fd = proc.lowest_free(world.config.nofile)
    if fd is None:
        return Errno("EMFILE")
    failed = name_error(path)
    if failed:
        return Errno(failed)
    inode = _lookup(world, path)
    if inode is None:
        if not flags & O_CREAT:
            return Errno("ENOENT")
        inode = RegularFile(mode=mode)
        world.directory[path] = inode
        return _open_inode(world, proc, inode, flags, fd, created=True)
    if flags & O_CREAT and flags & O_EXCL:
        return Errno("EEXIST")
    return _open_inode(world, proc, inode, flags, fd, created=False)


def _open_inode(world: World, proc: Process, inode: Inode, flags: int, fd: int,
                created: bool) -> Outcome | None:
    if isinstance(inode, SocketInode):
        return Errno("ENXIO")  # a socket file cannot be opened
    accmode = flags & O_ACCMODE
    cloexec = bool(flags & O_CLOEXEC)
    stored = _stored_flags(world, flags)
    if isinstance(inode, DevNull):
        if flags & world.config.flags.o_direct:
            return Errno("EINVAL")  # no FMODE_CAN_ODIRECT
        return Value(install(proc, Description(inode, accmode, stored), fd, cloexec))
    if not created:
        _owner_may(inode, accmode, bool(flags & O_TRUNC) and isinstance(inode, RegularFile))
    if isinstance(inode, FifoInode):
        if inode.pipe is None:
            inode.pipe = world.new_pipe(named=True)
        return fifo_open(world, proc, inode.pipe, inode, accmode, stored, fd, cloexec)
    if flags & O_TRUNC and not created:
        inode.truncate()  # even for O_RDONLY: Linux truncates
    return Value(install(proc, Description(inode, accmode, stored), fd, cloexec))


def op_open_proc_fd(world: World, proc: Process, owner: Any, target_fd: Any,
                    flags: Any) -> Outcome | None:
    """open("/proc/<owner>/fd/<fd>", flags): a new description of the same object."""
    owner_proc = world.proc(actor_ref(owner))
    target_fd = c_int(target_fd, "fd")
    flags = c_int(flags, "flags")
    _check_open_flags(world, flags)
    if flags & (O_CREAT | world.config.flags.o_nofollow):
        raise Unmodelled("O_CREAT or O_NOFOLLOW on a /proc magic link")
    fd = proc.lowest_free(world.config.nofile)
    if fd is None:
        return Errno("EMFILE")
    if not owner_proc.alive or target_fd not in owner_proc.fds:
        return Errno("ENOENT")  # a zombie's fd directory is empty
    target = owner_proc.fds[target_fd].desc
    obj = target.obj
    if isinstance(obj, SocketEnd):
        return Errno("ENXIO")  # sockets cannot be opened
    if isinstance(obj, Pipe):
        accmode = flags & O_ACCMODE
        return fifo_open(world, proc, obj, target.fifo, accmode, _stored_flags(world, flags), fd,
                         bool(flags & O_CLOEXEC))
    return _open_inode(world, proc, obj, flags, fd, created=False)


def op_pipe(world: World, proc: Process) -> Outcome:
    return op_pipe2(world, proc, 0)


def op_pipe2(world: World, proc: Process, flags: Any) -> Outcome:
    flags = c_int(flags, "flags")
    direct = world.config.flags.o_direct
    if flags & ~(O_CLOEXEC | O_NONBLOCK | direct | O_EXCL):
        return Errno("EINVAL")
    if flags & O_EXCL:
        raise Unmodelled("O_NOTIFICATION_PIPE (watch queues; ENOPKG without CONFIG_WATCH_QUEUE)")
    if not proc.free_count(world.config.nofile, 2):
        return Errno("EMFILE")
    pipe = world.new_pipe(named=False)
    pipe.readers = pipe.writers = 1
    pipe.files = 2
    cloexec = bool(flags & O_CLOEXEC)
    rfd = install(proc, Description(pipe, O_RDONLY, flags & O_NONBLOCK),
                  _free(world, proc), cloexec)
    wfd = install(proc, Description(pipe, O_WRONLY, flags & (O_NONBLOCK | direct)),
                  _free(world, proc), cloexec)
    return Value((rfd, wfd))


def op_socketpair(world: World, proc: Process) -> Outcome:
    return op_socketpair_of(world, proc, "stream")


def op_socketpair_of(world: World, proc: Process, kind: Any) -> Outcome:
    """socketpair(AF_UNIX, type): two connected ends (each the other's peer)."""
    if kind not in SOCKET_TYPES:
        raise ModelUsageError(f"socket type must be one of {SOCKET_TYPES}, not {kind!r}")
    if not proc.free_count(world.config.nofile, 2):
        return Errno("EMFILE")
    first, second = SocketEnd(kind), SocketEnd(kind)
    first.peer, second.peer = second, first
    a = install(proc, Description(first, O_RDWR, 0), _free(world, proc), False)
    b = install(proc, Description(second, O_RDWR, 0), _free(world, proc), False)
    return Value((a, b))


def _free(world: World, proc: Process) -> int:
    fd = proc.lowest_free(world.config.nofile)
    assert fd is not None
    return fd


def op_mkfifo(world: World, proc: Process, path: Any, mode: Any = 0o644) -> Outcome:
    path = check_name(path)
    mode = c_int(mode, "mode")
    failed = name_error(path)
    if failed:
        return Errno(failed)
    if _lookup(world, path) is not None:
        return Errno("EEXIST")
    world.directory[path] = FifoInode(mode=mode)
    return Value(0)


def op_unlink(world: World, proc: Process, path: Any) -> Outcome:
    path = check_name(path)
    if path == DEV_NULL:
        raise Unmodelled("unlinking /dev/null")
    failed = name_error(path)
    if failed:
        return Errno(failed)
    if world.directory.pop(path, None) is None:
        return Errno("ENOENT")
    return Value(0)


def op_stat(world: World, proc: Process, path: Any) -> Outcome:
    path = check_name(path)
    failed = name_error(path)
    if failed:
        return Errno(failed)
    inode = _lookup(world, path)
    if inode is None:
        return Errno("ENOENT")
    if isinstance(inode, RegularFile):
        return Value(("-", inode.size))
    if isinstance(inode, FifoInode):
        return Value(("p", 0))
    if isinstance(inode, SocketInode):
        return Value(("s", 0))
    return Value(("c", 0))


def _socket_path(world: World, proc: Process, path: Any) -> tuple[str, int] | Outcome:
    """socket(AF_UNIX, SOCK_DGRAM) takes a descriptor before the path is looked at."""
    path = check_name(path)
    if path in ("", DEV_NULL) or len(path.encode()) > UNIX_PATH_MAX:
        raise Unmodelled(f"unix socket path {path!r} (autobind, devices, too long for sun_path)")
    fd = proc.lowest_free(world.config.nofile)
    if fd is None:
        return Errno("EMFILE")
    return path, fd


def op_unix_bind(world: World, proc: Process, path: Any) -> Outcome:
    """A datagram socket bound to ``path``: a mailbox any actor can connect to."""
    found = _socket_path(world, proc, path)
    if not isinstance(found, tuple):
        return found
    name, fd = found
    if name in world.directory:
        return Errno("EADDRINUSE")
    end = SocketEnd("dgram")
    world.directory[name] = SocketInode(end)
    return Value(install(proc, Description(end, O_RDWR, 0), fd, False))


def op_unix_connect(world: World, proc: Process, path: Any) -> Outcome:
    """A datagram socket connected to the one bound at ``path``."""
    found = _socket_path(world, proc, path)
    if not isinstance(found, tuple):
        return found
    name, fd = found
    inode = world.directory.get(name)
    if inode is None:
        return Errno("ENOENT")
    if not isinstance(inode, SocketInode) or inode.end is None or inode.end.closed:
        return Errno("ECONNREFUSED")  # not a socket, or nobody is bound any more
    end = SocketEnd("dgram", peer=inode.end)
    return Value(install(proc, Description(end, O_RDWR, 0), fd, False))
