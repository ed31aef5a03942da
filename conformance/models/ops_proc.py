"""Process operations: fork, exit, kill, signal dispositions, wait, variables.

Signal dispositions mirror what the actor runtime installs: 'default'
(SIG_DFL), 'ignore' (SIG_IGN) and 'count' (a handler without SA_RESTART that
counts deliveries). fork() copies the descriptor table (sharing every
description), the variables, the dispositions and the counts.
"""

from __future__ import annotations

from typing import Any

from ..backends.ops import ActorRef
from ..outcome import Errno, Exited, Outcome, Value
from .args import actor_ref, c_int
from .blocking import wait_for
from .constants import DISPOSITIONS, GLIBC_RESERVED, MAX_SIGNAL, SIGKILL, SIGSTOP
from .errors import ModelUsageError, Unmodelled
from .lifecycle import close_fd, deliver_signal, die
from .process import FdEntry, Process
from .world import World


def op_fork(world: World, proc: Process, child: Any) -> Outcome:
    if not isinstance(child, str) or not child:
        raise ModelUsageError(f"fork needs the child's actor name, not {child!r}")
    if child in world.procs:
        raise ModelUsageError(f"actor name {child!r} is already used")
    copy = Process(child, root=False, parent=proc.name)
    for fd, entry in proc.fds.items():
        entry.desc.refs += 1
        copy.fds[fd] = FdEntry(entry.desc, entry.cloexec)
    copy.variables = dict(proc.variables)
    copy.dispositions = dict(proc.dispositions)
    copy.counts = dict(proc.counts)
    world.procs[child] = copy
    for sub in world.subs.values():
        sub.fork(proc.name, child)
    return Value(ActorRef(child))


def op_exit(world: World, proc: Process, status: Any) -> Outcome:
    status = c_int(status, "status")
    die(world, proc, Exited(status & 0xFF))
    assert proc.death is not None
    return proc.death


def op_kill(world: World, proc: Process, target: Any, sig: Any) -> Outcome:
    victim = world.proc(actor_ref(target))
    sig = c_int(sig, "sig")
    if victim.state == "reaped":
        return Errno("ESRCH")
    if not 0 <= sig <= MAX_SIGNAL:
        return Errno("EINVAL")
    if sig:
        deliver_signal(world, victim, sig)
    if not proc.alive:
        assert proc.death is not None
        return proc.death  # it killed itself
    return Value(0)


def op_signal(world: World, proc: Process, sig: Any, disposition: Any) -> Outcome:
    sig = c_int(sig, "sig")
    if not 1 <= sig <= MAX_SIGNAL:
        raise Unmodelled(f"signal number {sig} (the actor runtime rejects it)")
    if disposition not in DISPOSITIONS:
        raise Unmodelled(f"disposition {disposition!r} (the actor runtime rejects it)")
    if sig in (SIGKILL, SIGSTOP) or sig in GLIBC_RESERVED:
        return Errno("EINVAL")
    proc.dispositions[sig] = disposition
    return Value(0)


def op_signal_count(world: World, proc: Process, sig: Any) -> Outcome:
    return Value(proc.counts.get(c_int(sig, "sig"), 0))


def op_wait(world: World, proc: Process, child: Any) -> Outcome | None:
    return wait_for(world, proc, actor_ref(child))


def op_setvar(world: World, proc: Process, name: Any, value: Any) -> Outcome:
    proc.variables[name] = value
    return Value(0)


def op_getvar(world: World, proc: Process, name: Any) -> Outcome:
    return Value(proc.variables.get(name))


def op_getpid(world: World, proc: Process) -> Outcome:
    return Value(ActorRef(proc.name))


def op_shell(world: World, proc: Process, command: Any) -> Outcome:
    raise Unmodelled("shell: running /bin/sh is outside the model")


def op_exec_self(world: World, proc: Process) -> Outcome:
    """execve() of the actor's own program: what survives is what the kernel keeps.

    Descriptors marked close-on-exec are closed (in ascending order); handled
    signals go back to their default action while ignored ones stay ignored;
    the counts and variables were process memory and start afresh. Each
    sub-model then drops what exec drops for its mechanism.
    """
    for fd in sorted(fd for fd, entry in proc.fds.items() if entry.cloexec):
        close_fd(world, proc, fd)
    proc.dispositions = {sig: d for sig, d in proc.dispositions.items() if d == "ignore"}
    proc.counts = {}
    proc.variables = {}
    for sub in world.subs.values():
        sub.exec(proc.name)
    return Value(0)


def op_become(world: World, proc: Process, uid: Any, gid: Any) -> Outcome:
    """setgroups([]); setgid(gid); setuid(uid): the sub-models that track credentials decide."""
    answers = {name: sub.become(proc.name, uid, gid) for name, sub in world.subs.items()}
    decided = {name: outcome for name, outcome in answers.items() if outcome is not None}
    if not decided:
        raise Unmodelled("become: no hosted model tracks credentials")
    if len(set(decided.values())) > 1:
        raise Unmodelled(f"become: the hosted models disagree: {decided}")
    return next(iter(decided.values()))
