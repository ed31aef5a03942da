"""Process operations: fork, exit, wait, exec, credentials, variables.

fork() copies the descriptor table (sharing every description), the
variables, the signal dispositions, the handler counts and the signal mask;
the child starts with no pending signals. Signal operations live in
:mod:`.ops_signal`.
"""

from __future__ import annotations

from typing import Any

from ..backends.ops import ActorRef
from ..outcome import Errno, Exited, Outcome, Value
from .args import actor_ref, c_int
from .blocking import wait_for
from .errors import ModelUsageError, Unmodelled
from .lifecycle import close_fd, die
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
    copy.mask = set(proc.mask)
    copy.uid = proc.uid
    world.procs[child] = copy
    for sub in world.subs.values():
        sub.fork(proc.name, child)
    return Value(ActorRef(child))


def op_exit(world: World, proc: Process, status: Any) -> Outcome:
    status = c_int(status, "status")
    die(world, proc, Exited(status & 0xFF))
    assert proc.death is not None
    return proc.death


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
    """setgroups([]); setgid(gid); setuid(uid): only root may, and then becomes anyone.

    The process model keeps the user id (kill's permission rule needs it);
    hosted sub-models that keep credentials of their own must agree.
    """
    uid, gid = c_int(uid, "uid"), c_int(gid, "gid")
    own: Outcome = Errno("EPERM") if proc.uid != 0 else Value(0)
    answers = {name: sub.become(proc.name, uid, gid) for name, sub in world.subs.items()}
    decided = {name: outcome for name, outcome in answers.items() if outcome is not None}
    if any(outcome != own for outcome in decided.values()):
        raise Unmodelled(f"become: the hosted models disagree with the process model: {decided}")
    if own == Value(0):
        proc.uid = uid
    return own
