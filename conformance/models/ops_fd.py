"""Operations on descriptor numbers: close, dup*, fcntl, lseek, fstat, kcmp, fd_list.

Numbers are allocated lowest-first below RLIMIT_NOFILE. The per-number
close-on-exec bit is the only state a number has of its own; everything else
(offset, status flags, pipe size) is shared through the description.
"""

from __future__ import annotations

from typing import Any

from ..outcome import Errno, Outcome, Value
from .args import actor_ref, as_int32, as_uint32, c_int, c_long
from .constants import (
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    F_DUPFD_QUERY,
    F_GETFD,
    F_GETFL,
    F_GETPIPE_SZ,
    F_SETFD,
    F_SETFL,
    F_SETPIPE_SZ,
    F_UNMODELLED,
    FASYNC,
    FD_CLOEXEC,
    MAX_MODEL_OFFSET,
    O_APPEND,
    O_CLOEXEC,
    O_NOATIME,
    O_NONBLOCK,
    SEEK_CUR,
    SEEK_DATA,
    SEEK_END,
    SEEK_HOLE,
    SEEK_SET,
)
from .descriptions import Description
from .errors import Unmodelled
from .files import DevNull, RegularFile
from .lifecycle import close_fd, drop_ref, install
from .pipes import Pipe
from .process import Process
from .sockets import SocketEnd
from .world import World


def _desc(proc: Process, fd: int) -> Description | None:
    entry = proc.fds.get(fd)
    return entry.desc if entry else None


def op_close(world: World, proc: Process, fd: Any) -> Outcome:
    fd = c_int(fd, "fd")
    if fd not in proc.fds:
        return Errno("EBADF")
    close_fd(world, proc, fd)
    return Value(0)


def op_dup(world: World, proc: Process, fd: Any) -> Outcome:
    fd = c_int(fd, "fd")
    desc = _desc(proc, fd)
    if desc is None:
        return Errno("EBADF")
    new = proc.lowest_free(world.config.nofile)
    if new is None:
        return Errno("EMFILE")
    return Value(install(proc, desc, new, cloexec=False))


def op_dup2(world: World, proc: Process, oldfd: Any, newfd: Any) -> Outcome:
    oldfd = c_int(oldfd, "oldfd")
    newfd = c_int(newfd, "newfd")
    if oldfd == newfd:
        # dup2(fd, fd) only checks fd; it leaves FD_CLOEXEC alone.
        return Value(oldfd) if oldfd in proc.fds else Errno("EBADF")
    return _dup3(world, proc, oldfd, newfd, 0)


def op_dup3(world: World, proc: Process, oldfd: Any, newfd: Any, flags: Any) -> Outcome:
    oldfd = c_int(oldfd, "oldfd")
    newfd = c_int(newfd, "newfd")
    flags = c_int(flags, "flags")
    if flags & ~O_CLOEXEC:
        return Errno("EINVAL")
    if oldfd == newfd:
        return Errno("EINVAL")
    return _dup3(world, proc, oldfd, newfd, flags)


def _dup3(world: World, proc: Process, oldfd: int, newfd: int, flags: int) -> Outcome:
    # The kernel sees unsigned numbers: a negative newfd is a huge one.
    if newfd < 0 or newfd >= world.config.nofile:
        return Errno("EBADF")
    desc = _desc(proc, oldfd)
    if desc is None:
        return Errno("EBADF")
    # do_dup2 installs the new reference before closing what newfd held, so
    # dup2 onto a descriptor of the same description releases nothing.
    previous = proc.fds.get(newfd)
    desc.refs += 1
    if previous is not None:
        del proc.fds[newfd]
    install(proc, desc, newfd, cloexec=bool(flags & O_CLOEXEC))
    desc.refs -= 1
    if previous is not None:
        drop_ref(world, previous.desc)
    return Value(newfd)


def op_fcntl(world: World, proc: Process, fd: Any, cmd: Any, arg: Any = 0) -> Outcome:
    fd = c_int(fd, "fd")
    cmd = c_int(cmd, "cmd")
    arg = c_long(arg, "arg")
    desc = _desc(proc, fd)
    if desc is None:
        return Errno("EBADF")
    argi = as_int32(arg)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        start = as_uint32(argi)
        if start >= world.config.nofile:
            return Errno("EINVAL")
        new = proc.lowest_free(world.config.nofile, start)
        if new is None:
            return Errno("EMFILE")
        return Value(install(proc, desc, new, cloexec=cmd == F_DUPFD_CLOEXEC))
    if cmd == F_DUPFD_QUERY:
        other = _desc(proc, argi)
        if other is None:
            return Errno("EBADF")
        return Value(1 if other is desc else 0)
    if cmd == F_GETFD:
        return Value(FD_CLOEXEC if proc.fds[fd].cloexec else 0)
    if cmd == F_SETFD:
        proc.fds[fd].cloexec = bool(argi & FD_CLOEXEC)
        return Value(0)
    if cmd == F_GETFL:
        return Value(desc.status)
    if cmd == F_SETFL:
        return _setfl(world, desc, as_uint32(argi))
    if cmd in (F_GETPIPE_SZ, F_SETPIPE_SZ):
        if not isinstance(desc.obj, Pipe):
            return Errno("EBADF")
        if cmd == F_GETPIPE_SZ:
            return Value(desc.obj.max_usage * world.config.page_size)
        return _set_pipe_size(world, desc.obj, as_uint32(argi))
    if cmd in F_UNMODELLED:
        raise Unmodelled(f"fcntl command {cmd}")
    return Errno("EINVAL")


def _setfl(world: World, desc: Description, arg: int) -> Outcome:
    """setfl() of fs/fcntl.c. Only the SETFL_MASK bits change, FASYNC aside."""
    direct = world.config.flags.o_direct
    obj = desc.obj
    # Pipes and FIFOs use O_DIRECT for packet mode; other files need
    # FMODE_CAN_ODIRECT, which regular files on ext4/tmpfs (6.6+) have and
    # /dev/null and sockets do not.
    if arg & direct and isinstance(obj, (DevNull, SocketEnd)):
        return Errno("EINVAL")
    # FASYNC is not in SETFL_MASK: only a file with a ->fasync method (pipes,
    # sockets) can change it, through fasync_helper.
    if (arg ^ desc.flags) & FASYNC and isinstance(obj, (Pipe, SocketEnd)):
        if arg & FASYNC:
            desc.flags |= FASYNC
            desc.fasync_registered = True
        elif desc.fasync_registered:
            desc.flags &= ~FASYNC
            desc.fasync_registered = False
    mask = O_APPEND | O_NONBLOCK | direct | O_NOATIME
    desc.flags = (arg & mask) | (desc.flags & ~mask)
    return Value(0)


def _set_pipe_size(world: World, pipe: Pipe, arg: int) -> Outcome:
    """pipe_set_size(): round up to a power-of-two number of pages."""
    page = world.config.page_size
    if arg > 1 << 31:
        return Errno("EINVAL")
    size = page if arg < page else 1 << (arg - 1).bit_length()
    slots = size // page
    if slots == 0:
        return Errno("EINVAL")
    if slots > pipe.max_usage and size > world.config.pipe_max_size and not world.config.privileged:
        return Errno("EPERM")
    if slots < pipe.occupancy():
        return Errno("EBUSY")
    pipe.max_usage = slots
    # pipe_resize_ring() wakes one writer whether or not there is room now.
    world.wake_one(pipe.wr_wait)
    return Value(slots * page)


def op_lseek(world: World, proc: Process, fd: Any, offset: Any, whence: Any) -> Outcome:
    fd = c_int(fd, "fd")
    offset = c_long(offset, "offset")
    whence = c_int(whence, "whence")
    desc = _desc(proc, fd)
    if desc is None:
        return Errno("EBADF")
    if not 0 <= whence <= SEEK_HOLE:
        return Errno("EINVAL")  # checked before the file is even asked
    if not desc.seekable:
        return Errno("ESPIPE")
    obj = desc.obj
    if isinstance(obj, DevNull):
        desc.offset = 0
        return Value(0)
    assert isinstance(obj, RegularFile)
    if whence in (SEEK_DATA, SEEK_HOLE):
        if obj.has_hole:
            raise Unmodelled("SEEK_DATA/SEEK_HOLE in a file with holes (filesystem dependent)")
        if offset < 0 or offset >= obj.size:
            return Errno("ENXIO")
        target = offset if whence == SEEK_DATA else obj.size
    elif whence == SEEK_SET:
        target = offset
    elif whence == SEEK_CUR:
        target = desc.offset + offset
    else:
        assert whence == SEEK_END
        target = obj.size + offset
    if target < 0:
        return Errno("EINVAL")
    if target > MAX_MODEL_OFFSET:
        raise Unmodelled("an offset past what every filesystem surely allows")
    desc.offset = target
    return Value(target)


def op_fstat(world: World, proc: Process, fd: Any) -> Outcome:
    fd = c_int(fd, "fd")
    desc = _desc(proc, fd)
    if desc is None:
        return Errno("EBADF")
    size = desc.obj.size if isinstance(desc.obj, RegularFile) else 0
    return Value((desc.file_type, size))


def op_kcmp_file(world: World, proc: Process, other: Any, fd: Any, other_fd: Any) -> Outcome:
    peer = world.proc(actor_ref(other))
    fd = c_int(fd, "fd")
    other_fd = c_int(other_fd, "other_fd")
    if peer.state == "reaped":
        return Errno("ESRCH")
    mine = _desc(proc, fd)
    theirs = _desc(peer, other_fd) if peer.alive else None  # a zombie has no files
    if mine is None or theirs is None:
        return Errno("EBADF")
    return Value(mine is theirs)


def op_fd_list(world: World, proc: Process) -> Outcome:
    # The actor lists /proc/self/fd, which takes a descriptor of its own: with
    # the table full the listing fails like any other open.
    if proc.lowest_free(world.config.nofile) is None:
        return Errno("EMFILE")
    return Value(tuple(sorted(proc.fds)))
