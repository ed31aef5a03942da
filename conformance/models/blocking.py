"""Continuing a blocked operation when its actor is woken.

The kernel wakes a sleeper; the sleeper then re-checks what it waits for and
either finishes, or goes back to sleep at the *tail* of its wait queue. A
'count' signal wakes it too, and then the call returns early (EINTR, or the
bytes a write had already put in the pipe) unless what it waited for has
arrived in the meantime.
"""

from __future__ import annotations

from ..outcome import Errno, Outcome, Value
from .fifo import resume_fifo_open
from .pending import (
    ChildWait,
    FifoOpenWait,
    PipeReadWait,
    PipeWriteWait,
    SignalWait,
    SocketReadWait,
)
from .pipeio import pipe_read, pipe_write
from .process import Process
from .sockio import socket_recv
from .world import World


def resume(world: World, name: str) -> None:
    """Run woken actor ``name``; record its outcome if its call finished."""
    proc = world.procs[name]
    pending = proc.pending
    if pending is None or not proc.alive:
        return
    proc.pending = None
    outcome: Outcome | None
    if isinstance(pending, PipeReadWait):
        outcome = pipe_read(world, proc, pending.desc, pending.count, resumed=True)
    elif isinstance(pending, PipeWriteWait):
        outcome = pipe_write(world, proc, pending.desc, pending.data, resumed=True,
                             done=pending.done)
    elif isinstance(pending, FifoOpenWait):
        outcome = resume_fifo_open(world, proc, pending)
    elif isinstance(pending, SocketReadWait):
        outcome = socket_recv(world, proc, pending.desc, pending.count, resumed=True)
    elif isinstance(pending, SignalWait):
        from .ops_signal import resume_sigtimedwait  # ops_signal builds on this module

        outcome = resume_sigtimedwait(world, proc, pending)
    else:
        outcome = resume_wait(world, proc, pending)
    if outcome is None:
        return
    proc.interrupted = False
    if proc.alive:
        world.record(name, outcome)


def wait_for(world: World, proc: Process, child_name: str) -> Outcome | None:
    """wait() for one child: reap it if it is a zombie, else sleep."""
    child = world.procs.get(child_name)
    if child is None or child.parent != proc.name or child.state == "reaped":
        return Errno("ECHILD")
    if child.state == "zombie":
        child.state = "reaped"
        death = child.death
        assert death is not None
        if death.kind == "signal":
            return Value(("killed", death.detail))
        return Value(("exited", death.detail))
    proc.pending = ChildWait(child_name)
    return None


def resume_wait(world: World, proc: Process, pending: ChildWait) -> Outcome | None:
    outcome = wait_for(world, proc, pending.child)
    if outcome is None and proc.interrupted:
        proc.pending = None
        return Errno("EINTR")
    return outcome
