"""read() and write() on pipes and FIFOs, following ``fs/pipe.c`` (Linux 6.x).

Both functions can start a call or resume one that slept. They return the
call's outcome, or None when the caller must sleep; they have then already
put the actor on the pipe's wait queue and stored its progress.

Wake-ups follow the kernel exactly because the order of several sleepers is
observable: the wait queues are exclusive and FIFO, a writer wakes one
reader only if the pipe was empty, a reader wakes one writer only if it
freed a slot of a full pipe, and a reader or writer that had to sleep passes
the wake-up on to the next one when it leaves something for it.
"""

from __future__ import annotations

from ..outcome import Errno, Outcome, Value
from .constants import O_NONBLOCK, SIGPIPE
from .descriptions import Description
from .lifecycle import deliver_signal
from .pending import PipeReadWait, PipeWriteWait
from .pipes import Pipe
from .process import Process
from .world import World


def _pipe(desc: Description) -> Pipe:
    assert isinstance(desc.obj, Pipe)
    return desc.obj


def readable(pipe: Pipe) -> bool:
    """pipe_readable(): what a sleeping reader waits for."""
    return not pipe.empty or pipe.writers == 0


def writable(pipe: Pipe) -> bool:
    """pipe_writable(): what a sleeping writer waits for."""
    return not pipe.full or pipe.readers == 0


def pipe_read(world: World, proc: Process, desc: Description, count: int,
              resumed: bool = False) -> Outcome | None:
    pipe = _pipe(desc)
    if count == 0:
        return Value(b"")
    wake_next_reader = False
    if resumed:
        # wait_event_interruptible_exclusive(): the condition is checked
        # before the signal, so data that is there wins over EINTR.
        if not readable(pipe):
            if proc.interrupted:
                return Errno("EINTR")
            pipe.rd_wait.append(proc.name)
            proc.pending = PipeReadWait(desc, count)
            return None
        wake_next_reader = True
    wake_writer = False
    got = bytearray()
    left = count
    while True:
        if not pipe.empty:
            packet = pipe.slots[0].packet
            chunk, _freed, was_full = pipe.take(left)
            got += chunk
            wake_writer |= was_full
            left = 0 if packet else left - len(chunk)
            if left == 0:
                break
            if not pipe.empty:
                continue
        if pipe.writers == 0 or got:
            break
        if desc.flags & O_NONBLOCK:
            return Errno("EAGAIN")
        pipe.rd_wait.append(proc.name)
        proc.pending = PipeReadWait(desc, count)
        return None
    if pipe.empty:
        wake_next_reader = False
    if wake_writer:
        world.wake_one(pipe.wr_wait)
    if wake_next_reader:
        world.wake_one(pipe.rd_wait)
    return Value(bytes(got))


def pipe_write(world: World, proc: Process, desc: Description, data: bytes,
               resumed: bool = False, done: int = 0) -> Outcome | None:
    pipe = _pipe(desc)
    page = world.config.page_size
    total = len(data)
    packet = bool(desc.flags & world.config.flags.o_direct)
    if not resumed:
        if total == 0:
            return Value(0)
        if pipe.readers == 0:
            return _epipe(world, proc, 0)
        was_empty = pipe.empty
        wake_next_writer = False
        # Only the sub-page remainder (len % PAGE_SIZE) may be merged into
        # the last slot, and only all of it; the rest goes in whole pages.
        chars = total % page
        if chars and not was_empty and pipe.try_merge(data[:chars], page):
            done = chars
            if done == total:
                return _write_done(world, pipe, done, was_empty, wake_next_writer)
    else:
        if not writable(pipe) and not proc.interrupted:
            pipe.wr_wait.append(proc.name)
            proc.pending = PipeWriteWait(desc, data, done)
            return None
        was_empty = pipe.empty
        wake_next_writer = True
    while True:
        if pipe.readers == 0:
            return _epipe(world, proc, done)
        if not pipe.full:
            chunk = data[done : done + page]
            pipe.push_slot(chunk, packet)
            done += len(chunk)
            if done == total:
                break
        if not pipe.full:
            continue
        if desc.flags & O_NONBLOCK:
            if not done:
                return Errno("EAGAIN")
            break
        if proc.interrupted:
            if not done:
                return Errno("EINTR")
            break
        if was_empty:
            world.wake_one(pipe.rd_wait)
        pipe.wr_wait.append(proc.name)
        proc.pending = PipeWriteWait(desc, data, done)
        return None
    return _write_done(world, pipe, done, was_empty, wake_next_writer)


def _write_done(world: World, pipe: Pipe, done: int, was_empty: bool,
                wake_next_writer: bool) -> Outcome:
    if pipe.full:
        wake_next_writer = False
    if was_empty:
        world.wake_one(pipe.rd_wait)
    if wake_next_writer:
        world.wake_one(pipe.wr_wait)
    return Value(done)


def _epipe(world: World, proc: Process, done: int) -> Outcome:
    """No reader left: SIGPIPE to the writer; the call returns what it wrote."""
    deliver_signal(world, proc, SIGPIPE)
    if not proc.alive:
        assert proc.death is not None
        return proc.death
    return Value(done) if done else Errno("EPIPE")
