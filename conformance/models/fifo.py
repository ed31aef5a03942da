"""Opening a pipe by name: FIFOs, and pipes reopened through /proc/PID/fd.

This is ``fifo_open`` (``fs/pipe.c``). The open is counted as a reader or
writer *before* it may sleep, so a process blocked opening a FIFO for reading
already keeps writers from getting EPIPE, and a non-blocking O_WRONLY open
succeeds because of it. A sleeping open waits for the partner *counter* to
change, not for a partner to be present: an open followed by an immediate
close still wakes it. An anonymous pipe reopened through /proc never sleeps
and never fails with ENXIO, whatever the state of the other end.
"""

from __future__ import annotations

from ..outcome import Errno, Outcome, Value
from .constants import O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY
from .descriptions import Description
from .files import FifoInode
from .lifecycle import abort_fifo_open, install, put_pipe, release_failed_open
from .pending import FifoOpenWait
from .pipes import Pipe
from .process import Process
from .world import World


def _wake_partner(world: World, pipe: Pipe) -> None:
    """wake_up_partner(): every sleeping opener re-checks its counter."""
    world.wake_all(pipe.openers)


def fifo_open(world: World, proc: Process, pipe: Pipe, fifo: FifoInode | None,
              accmode: int, flags: int, fd: int, cloexec: bool) -> Outcome | None:
    """Open ``pipe`` into descriptor ``fd`` (reserved by the caller)."""
    pipe.files += 1
    desc = Description(pipe, accmode, flags, fifo=fifo)
    named = pipe.named
    if accmode == O_RDONLY:
        pipe.r_counter += 1
        if pipe.readers == 0:
            _wake_partner(world, pipe)
        pipe.readers += 1
        if named and pipe.writers == 0 and not flags & O_NONBLOCK:
            _sleep(proc, pipe, desc, "w", cloexec)
            return None
    elif accmode == O_WRONLY:
        if named and flags & O_NONBLOCK and pipe.readers == 0:
            put_pipe(pipe, fifo)
            return Errno("ENXIO")
        pipe.w_counter += 1
        if pipe.writers == 0:
            _wake_partner(world, pipe)
        pipe.writers += 1
        if named and pipe.readers == 0:
            _sleep(proc, pipe, desc, "r", cloexec)
            return None
    elif accmode == O_RDWR:
        # Never sleeps: the process can at least talk to itself.
        pipe.readers += 1
        pipe.writers += 1
        pipe.r_counter += 1
        pipe.w_counter += 1
        if pipe.readers == 1 or pipe.writers == 1:
            _wake_partner(world, pipe)
    else:
        put_pipe(pipe, fifo)
        return Errno("EINVAL")
    return _finish(world, proc, desc, fd, cloexec)


def _finish(world: World, proc: Process, desc: Description, fd: int, cloexec: bool) -> Outcome:
    if desc.flags & world.config.flags.o_direct:
        # A pipe has no FMODE_CAN_ODIRECT: the open fails with EINVAL, but
        # only after fifo_open() did its work (and maybe slept); the file is
        # then released, which readers and writers of the pipe can notice.
        release_failed_open(world, desc)
        return Errno("EINVAL")
    return Value(install(proc, desc, fd, cloexec))


def _sleep(proc: Process, pipe: Pipe, desc: Description, partner: str, cloexec: bool) -> None:
    seen = pipe.w_counter if partner == "w" else pipe.r_counter
    pipe.openers.append(proc.name)
    proc.pending = FifoOpenWait(desc, pipe, partner, seen, cloexec)


def resume_fifo_open(world: World, proc: Process, pending: FifoOpenWait) -> Outcome | None:
    pipe = pending.pipe
    now = pipe.w_counter if pending.partner == "w" else pipe.r_counter
    if now != pending.seen:
        fd = proc.lowest_free(world.config.nofile)
        assert fd is not None, "the number was reserved when the open began"
        return _finish(world, proc, pending.desc, fd, pending.cloexec)
    if proc.interrupted:
        abort_fifo_open(world, pending)
        return Errno("EINTR")
    pipe.openers.append(proc.name)
    proc.pending = pending
    return None
