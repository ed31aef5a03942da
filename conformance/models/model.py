"""The :class:`ProcessModel` facade: actors, steps, settling.

A step performs one operation for one actor and then lets every process the
operation woke run to completion (see :mod:`.schedule`), the way the real
harness waits for all actors to be quiescent. If the stepping actor went to
sleep but was woken and finished within that same cascade (a big write that
a sleeping reader drained), the step reports the finished call, as the real
actor replies before the harness could see it asleep.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..backends.ops import OPS
from ..outcome import BLOCKED, Outcome
from . import ops_fd, ops_io, ops_open, ops_proc
from .constants import O_RDWR
from .descriptions import Description
from .errors import ModelUsageError, Unmodelled
from .lifecycle import install
from .process import Process
from .schedule import run_to_quiescence
from .world import Config, World

Handler = Callable[..., Outcome | None]

HANDLERS: dict[str, Handler] = {
    "open": ops_open.op_open,
    "open_proc_fd": ops_open.op_open_proc_fd,
    "pipe": ops_open.op_pipe,
    "pipe2": ops_open.op_pipe2,
    "socketpair": ops_open.op_socketpair,
    "unix_bind": ops_open.op_unix_bind,
    "unix_connect": ops_open.op_unix_connect,
    "mkfifo": ops_open.op_mkfifo,
    "unlink": ops_open.op_unlink,
    "stat": ops_open.op_stat,
    "close": ops_fd.op_close,
    "dup": ops_fd.op_dup,
    "dup2": ops_fd.op_dup2,
    "dup3": ops_fd.op_dup3,
    "fcntl": ops_fd.op_fcntl,
    "lseek": ops_fd.op_lseek,
    "fstat": ops_fd.op_fstat,
    "kcmp_file": ops_fd.op_kcmp_file,
    "fd_list": ops_fd.op_fd_list,
    "read": ops_io.op_read,
    "write": ops_io.op_write,
    "sendfd": ops_io.op_sendfd,
    "recvfd": ops_io.op_recvfd,
    "fork": ops_proc.op_fork,
    "exit": ops_proc.op_exit,
    "kill": ops_proc.op_kill,
    "signal": ops_proc.op_signal,
    "signal_count": ops_proc.op_signal_count,
    "wait": ops_proc.op_wait,
    "setvar": ops_proc.op_setvar,
    "getvar": ops_proc.op_getvar,
    "getpid": ops_proc.op_getpid,
    "shell": ops_proc.op_shell,
}


class ProcessModel:
    """A deterministic model of descriptors, pipes, FIFOs and processes on Linux 6.x.

    Actors are named by strings. ``spawn`` makes a process whose descriptors
    0, 1 and 2 share one open file description of /dev/null opened O_RDWR
    (F_GETFL shows O_RDWR|O_LARGEFILE), exactly as the harness prepares real
    actors: one ``open`` then ``dup2`` onto 0, 1 and 2. No system call is
    ever made.

    Conventions the kernel alone does not fix:

    * ``step`` returns the call's outcome, or ``BLOCKED``; ``settle`` then
      reports, once, every blocked call that finished and every death;
    * a dead actor stays a zombie unless its parent waits for it (or ignores
      SIGCHLD): kill() on it succeeds, kcmp and /proc/PID/fd do not;
    * signal dispositions are 'default', 'ignore' and 'count' (a handler
      without SA_RESTART), and every blocking call behaves like the C call:
      a counted signal makes it return EINTR (or the bytes a write already
      moved) unless what it waited for arrived first;
    * ``recvfd`` returns the new descriptor (lowest free, no close-on-exec)
      or None: no descriptor in the byte read, end of file, or no room;
    * where the real outcome depends on timing or on facts the model does
      not have, :class:`~.errors.Unmodelled` is raised; the instance must
      then be discarded.
    """

    def __init__(self, *, page_size: int = 4096, pipe_max_size: int = 1048576,
                 privileged: bool = True, nofile: int = 1024, arch: str = "x86_64") -> None:
        if page_size <= 0 or page_size & (page_size - 1):
            raise ModelUsageError("page_size must be a power of two")
        config = Config(page_size=page_size, pipe_max_size=pipe_max_size,
                        privileged=privileged, nofile=nofile, arch=arch)
        config.flags  # noqa: B018 - fail early on an unknown architecture
        self._world = World(config)

    @property
    def config(self) -> Config:
        return self._world.config

    # -- actors ------------------------------------------------------------
    def spawn(self, actor: str) -> None:
        world = self._world
        if not isinstance(actor, str) or not actor:
            raise ModelUsageError(f"an actor needs a non-empty name, not {actor!r}")
        if actor in world.procs:
            raise ModelUsageError(f"actor name {actor!r} is already used")
        proc = Process(actor, root=True)
        null = Description(world.devnull, O_RDWR, world.config.flags.o_largefile)
        for fd in (0, 1, 2):
            install(proc, null, fd, cloexec=False)
        world.procs[actor] = proc

    def step(self, actor: str, op: str, *args: Any) -> Outcome:
        """Perform ``op`` for ``actor``; its outcome, possibly ``BLOCKED``."""
        world = self._world
        proc = world.proc(actor)
        if not proc.alive:
            raise ModelUsageError(f"{actor} is dead ({proc.death}); it cannot {op}")
        if proc.pending is not None:
            raise ModelUsageError(f"{actor} is blocked; it cannot {op} until that call completes")
        handler = HANDLERS.get(op)
        if handler is None:
            if op in OPS:
                raise Unmodelled(f"{op}: outside this model (descriptors, pipes, FIFOs, processes)")
            raise ModelUsageError(f"unknown operation {op!r}")
        try:
            inspect.signature(handler).bind(world, proc, *args)
        except TypeError as exc:
            raise ModelUsageError(f"{op}{args!r}: {exc}") from None
        outcome = handler(world, proc, *args)
        if outcome is not None:
            world.events.pop(actor, None)  # its own death is this step's outcome
        self._world = world = run_to_quiescence(world)
        if outcome is None:
            outcome = world.events.pop(actor, BLOCKED)
        return outcome

    def settle(self) -> dict[str, Outcome]:
        """Complete what can complete; report finished calls and deaths since last time."""
        self._world = world = run_to_quiescence(self._world)
        events, world.events = world.events, {}
        return events

    def blocked(self) -> set[str]:
        return {n for n, p in self._world.procs.items() if p.alive and p.pending is not None}

    def alive(self) -> set[str]:
        return {n for n, p in self._world.procs.items() if p.alive}

    def open_fds(self, actor: str) -> list[int]:
        """The descriptors ``actor`` has open: lets generators aim at real targets."""
        return sorted(self._world.proc(actor).fds)
