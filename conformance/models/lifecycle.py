"""References, releases, signals and deaths: the parts every operation shares.

The kernel does observable work at three moments this module models:

* when the last reference to an open file description goes (``fput`` ->
  ``pipe_release`` / ``unix_release_sock``): readers see EOF, writers EPIPE,
  blocked peers are woken;
* when a signal is delivered: by default most kill, some are ignored; a
  handled ('count') signal makes a blocked call return early;
* when a process dies: the hosted sub-models do their exit work (detaching
  System V segments, SEM_UNDO: ``exit_mm`` and ``exit_sem``), its descriptors
  are closed in ascending order, then its parent is notified (SIGCHLD, and a
  sleeping wait() is woken), in that order (``do_exit``: ``exit_files``
  before ``exit_notify``).

An actor may be blocked in a sub-model's call rather than in one of the
host's (:attr:`.process.Process.pending` is then None): a handled signal
interrupts it there, a death abandons it there.
"""

from __future__ import annotations

from ..outcome import UNKNOWN_DEATH, Outcome, signal_number
from .constants import SIGCHLD
from .descriptions import Description
from .files import FifoInode
from .pending import FifoOpenWait, PipeReadWait, PipeWriteWait, SocketReadWait
from .pipes import Pipe
from .process import FdEntry, Process
from .signals import SigInfo, generate
from .sockets import SocketEnd, unread_resets_peer
from .world import World


def install(proc: Process, desc: Description, fd: int, cloexec: bool) -> int:
    """Put ``desc`` at descriptor ``fd`` (which must be free); returns fd."""
    desc.refs += 1
    proc.fds[fd] = FdEntry(desc, cloexec)
    return fd


def close_fd(world: World, proc: Process, fd: int) -> None:
    entry = proc.fds.pop(fd)
    drop_ref(world, entry.desc)


def drop_ref(world: World, desc: Description) -> None:
    desc.refs -= 1
    if desc.refs == 0:
        _release(world, desc)


def release_failed_open(world: World, desc: Description) -> None:
    """An open that succeeded in the driver but then failed (O_DIRECT check).

    do_dentry_open() rejects O_DIRECT only after the file's own open() ran,
    so the failed file is released like any other (pipe_release and all).
    """
    _release(world, desc)


def _release(world: World, desc: Description) -> None:
    obj = desc.obj
    if isinstance(obj, Pipe):
        if desc.readable:
            obj.readers -= 1
        if desc.writable:
            obj.writers -= 1
        # Last reader or last writer gone, but not both: everybody asleep on
        # the pipe must look again (readers find EOF, writers find EPIPE).
        if (obj.readers == 0) != (obj.writers == 0):
            world.wake_all(obj.rd_wait)
            world.wake_all(obj.wr_wait)
        put_pipe(obj, desc.fifo)
    elif isinstance(obj, SocketEnd):
        _release_socket(world, obj)


def put_pipe(pipe: Pipe, fifo: FifoInode | None) -> None:
    """Drop one of the pipe's ``files``; a FIFO forgets its last pipe."""
    pipe.files -= 1
    if pipe.files == 0 and fifo is not None and fifo.pipe is pipe:
        fifo.pipe = None


def _release_socket(world: World, end: SocketEnd) -> None:
    end.closed = True
    peer = end.peer
    if peer is not None and not peer.closed and not end.dgram:
        # unix_release_sock: SHUTDOWN_MASK on the peer (a datagram peer is
        # left as it is, its sleepers asleep)
        peer.peer_closed = peer.shut_rd = peer.shut_wr = True
        if unread_resets_peer(end):
            peer.err = "ECONNRESET"
        world.wake_all(peer.readers)
    segments, end.queue = end.queue, []
    for segment in segments:
        for passed in segment.passed:
            drop_ref(world, passed)


# -- blocked operations ----------------------------------------------------------
def unqueue(proc: Process) -> None:
    """Take a blocked actor off whatever wait queue it sleeps on."""
    pending = proc.pending
    queue: list[str] | None = None
    if isinstance(pending, PipeReadWait):
        assert isinstance(pending.desc.obj, Pipe)
        queue = pending.desc.obj.rd_wait
    elif isinstance(pending, PipeWriteWait):
        assert isinstance(pending.desc.obj, Pipe)
        queue = pending.desc.obj.wr_wait
    elif isinstance(pending, FifoOpenWait):
        queue = pending.pipe.openers
    elif isinstance(pending, SocketReadWait):
        assert isinstance(pending.desc.obj, SocketEnd)
        queue = pending.desc.obj.readers
    if queue is not None and proc.name in queue:
        queue.remove(proc.name)


def abort_fifo_open(world: World, pending: FifoOpenWait) -> None:
    """Undo what a FIFO open did before sleeping (fifo_open's err_rd/err_wr)."""
    pipe = pending.pipe
    if pending.partner == "w":
        pipe.readers -= 1
        if pipe.readers == 0:
            world.wake_one(pipe.wr_wait)
    else:
        pipe.writers -= 1
        if pipe.writers == 0:
            world.wake_all(pipe.rd_wait)
    put_pipe(pipe, pending.desc.fifo)


def abandon_pending(world: World, proc: Process) -> None:
    """The actor dies while blocked: its call is abandoned, with any undo."""
    pending = proc.pending
    if pending is None:
        return
    unqueue(proc)
    if proc.name in world.woken:
        world.woken.remove(proc.name)
    if isinstance(pending, FifoOpenWait):
        abort_fifo_open(world, pending)
    proc.pending = None
    proc.interrupted = False


# -- signals and death -------------------------------------------------------------
def deliver_signal(world: World, target: Process, sig: int) -> None:
    """Send ``sig`` to ``target`` from itself (SIGPIPE: ``send_sig`` from the writer)."""
    generate(world, target, SigInfo(sig, "SI_USER", target.name))


def die(world: World, proc: Process, outcome: Outcome) -> None:
    """End ``proc``: abandon its call, close its descriptors, tell its parent."""
    abandon_pending(world, proc)
    for sub in world.subs.values():
        # each sub-model abandons a call pending there and does its exit work
        if outcome.kind == "signal":
            sub.kill(proc.name)
        else:
            sub.exit(proc.name)
    # Nobody reaps a dead actor except its parent's wait() (or SIGCHLD
    # ignored): the harness leaves every zombie until the scenario ends, so
    # kill() still finds it (0) while kcmp() and /proc/PID/fd do not.
    proc.state = "zombie"
    proc.death = outcome
    for fd in sorted(proc.fds):
        close_fd(world, proc, fd)
    for other in world.procs.values():
        if other.parent == proc.name:
            other.parent = None
    world.record(proc.name, outcome)
    _notify_parent(world, proc)


def _notify_parent(world: World, child: Process) -> None:
    if child.parent is None:
        return
    parent = world.procs[child.parent]
    if not parent.alive:
        return
    pending = parent.pending
    if pending is not None and getattr(pending, "child", None) == child.name:
        world.wake(parent.name)
    if parent.disposition(SIGCHLD) == "ignore":
        # SIGCHLD set to SIG_IGN: the child is reaped at once (autoreap) and
        # no SIGCHLD is sent at all, blocked or not (do_notify_parent). It
        # never was a zombie, so how it died is lost to every onlooker.
        child.state = "reaped"
        child.death = UNKNOWN_DEATH
        world.record(child.name, UNKNOWN_DEATH)
        return
    death = child.death
    assert death is not None
    if death.kind == "signal":
        info = SigInfo(SIGCHLD, "CLD_KILLED", child.name, signal_number(str(death.detail)))
    else:
        info = SigInfo(SIGCHLD, "CLD_EXITED", child.name, int(death.detail))
    generate(world, parent, info)
