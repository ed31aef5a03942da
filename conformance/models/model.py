"""The :class:`ProcessModel` facade: actors, steps, settling.

A step performs one operation for one actor and then lets every process the
operation woke run to completion (see :mod:`.schedule`), the way the real
harness waits for all actors to be quiescent. If the stepping actor went to
sleep but was woken and finished within that same cascade (a big write that
a sleeping reader drained), the step reports the finished call, as the real
actor replies before the harness could see it asleep.

Mechanisms with state of their own (System V IPC, POSIX IPC) are hosted
sub-models (:mod:`.submodel`): their operations are delegated to them, and
every process event - spawn, fork, exec, credentials, a handled signal, a
death - is forwarded to all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..outcome import BLOCKED, Outcome
from . import lifecycle, ops_fd, ops_io, ops_open, ops_proc, ops_signal
from .constants import O_RDWR
from .descriptions import Description
from .dispatch import call_handler
from .errors import ModelUsageError, Unmodelled
from .lifecycle import install
from .process import Process
from .schedule import run_to_quiescence
from .signals import SigInfo, generate
from .submodel import HostFacts, build_all
from .world import Config, World

Handler = Callable[..., Outcome | None]

HANDLERS: dict[str, Handler] = {
    "open": ops_open.op_open,
    "open_proc_fd": ops_open.op_open_proc_fd,
    "pipe": ops_open.op_pipe,
    "pipe2": ops_open.op_pipe2,
    "socketpair": ops_open.op_socketpair,
    "socketpair_of": ops_open.op_socketpair_of,
    "shutdown": ops_io.op_shutdown,
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
    "kill": ops_signal.op_kill,
    "sigqueue": ops_signal.op_sigqueue,
    "signal": ops_signal.op_signal,
    "signal_count": ops_signal.op_signal_count,
    "sigprocmask": ops_signal.op_sigprocmask,
    "sigpending": ops_signal.op_sigpending,
    "sigtimedwait": ops_signal.op_sigtimedwait,
    "wait": ops_proc.op_wait,
    "setvar": ops_proc.op_setvar,
    "getvar": ops_proc.op_getvar,
    "getpid": ops_proc.op_getpid,
    "shell": ops_proc.op_shell,
    "exec_self": ops_proc.op_exec_self,
    "become": ops_proc.op_become,
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
    * the operations of every registered sub-model (System V IPC...) are
      performed by it; ``mechanisms`` gives each its parameters by name
      (``{"sysv": Limits(...)}``, see :func:`.submodel.host_params`), absent
      ones get a fresh namespace's defaults. A timed call (``semtimedop``)
      that sleeps stays blocked until :meth:`expire` says its time ran out;
    * where the real outcome depends on timing or on facts the model does
      not have, :class:`~.errors.Unmodelled` is raised; the instance must
      then be discarded.
    """

    def __init__(self, *, page_size: int = 4096, pipe_max_size: int = 1048576,
                 privileged: bool = True, nofile: int = 1024, arch: str = "x86_64",
                 mechanisms: Mapping[str, Any] | None = None) -> None:
        if page_size <= 0 or page_size & (page_size - 1):
            raise ModelUsageError("page_size must be a power of two")
        config = Config(page_size=page_size, pipe_max_size=pipe_max_size,
                        privileged=privileged, nofile=nofile, arch=arch)
        config.flags  # noqa: B018 - fail early on an unknown architecture
        self._world = World(config)
        facts = HostFacts(privileged=privileged, page_size=page_size, params=dict(mechanisms or {}))
        #: operation name -> the sub-model (by registry name) that performs it
        self._routes: dict[str, str] = {}
        for name, sub in build_all(facts):
            for op in sub.ops:
                owner = self._routes.get(op, "the process model" if op in HANDLERS else None)
                if owner is not None:
                    raise ModelUsageError(f"operation {op!r} is claimed by {owner} and by {name}")
                self._routes[op] = name
            self._world.subs[name] = sub

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
        for sub in world.subs.values():
            sub.spawn(actor)

    def step(self, actor: str, op: str, *args: Any) -> Outcome:
        """Perform ``op`` for ``actor``; its outcome, possibly ``BLOCKED``."""
        world = self._world
        proc = world.proc(actor)
        if not proc.alive:
            raise ModelUsageError(f"{actor} is dead ({proc.death}); it cannot {op}")
        if actor in self.blocked():
            raise ModelUsageError(f"{actor} is blocked; it cannot {op} until that call completes")
        outcome: Outcome | None
        route = self._routes.get(op)
        if route is None:
            route = self._claimant(proc, op, args)
        if route is not None:
            outcome = self._sub_step(world.subs[route], proc, op, args)
        else:
            outcome = call_handler(HANDLERS, world, proc, op, args, "this model and its hosted mechanisms")
        if outcome is not None:
            world.events.pop(actor, None)  # its own death is this step's outcome
        self._world = world = run_to_quiescence(world)
        if outcome is None:
            outcome = world.events.pop(actor, BLOCKED)
        return outcome

    def settle(self) -> dict[str, Outcome]:
        """Complete what can complete; report finished calls and deaths since last time."""
        self._world = world = run_to_quiescence(self._world)
        events: dict[str, Outcome] = {}
        for sub in world.subs.values():
            events.update(sub.settle())
        events.update(world.events)  # a death reported by the host outranks a completion
        world.events = {}
        return events

    def blocked(self) -> set[str]:
        """Actors asleep in a call, the host's or a sub-model's."""
        world = self._world
        names = {n for n, p in world.procs.items() if p.alive and p.pending is not None}
        for sub in world.subs.values():
            names |= sub.blocked()
        return names

    def expire(self, actor: str) -> None:
        """The timeout of ``actor``'s blocked timed call ran out; settle() reports the outcome."""
        for sub in self._world.subs.values():
            if actor in sub.blocked():
                sub.expire(actor)
                return
        raise ModelUsageError(f"{actor} is not blocked in a timed call")

    def retune(self, mechanisms: Mapping[str, Any]) -> None:
        """A mechanism's parameters changed on the system (a tunable was written).

        Sub-models that can follow the change offer ``retune(params)``; for
        the others a change is :class:`~.errors.Unmodelled`.
        """
        for name, params in mechanisms.items():
            sub = self._world.subs.get(name)
            if sub is None:
                continue
            retune = getattr(sub, "retune", None)
            if retune is None:
                raise Unmodelled(f"{name}: its parameters changed during the scenario")
            retune(params)

    def submodel(self, name: str) -> Any:
        """The hosted sub-model registered as ``name`` (for generators and id pairing)."""
        try:
            return self._world.subs[name]
        except KeyError:
            raise ModelUsageError(f"no hosted mechanism named {name!r}") from None

    def _sub_step(self, sub: Any, proc: Process, op: str, args: tuple[Any, ...]) -> Outcome:
        """Delegate ``op`` to a sub-model; a death it reports is finished by the host."""
        note = getattr(sub, "host_descriptors", None)
        if note is not None:  # optional: a sub-model that numbers descriptors of its own
            note(proc.name, frozenset(proc.fds))
        outcome: Outcome = sub.step(proc.name, op, *args)
        take_signals = getattr(sub, "take_signals", None)
        if take_signals is not None:  # optional: signals the step sent (mq_notify's SIGEV_SIGNAL)
            for owner, sig in take_signals():
                generate(self._world, self._world.proc(owner), SigInfo(sig, "SI_MESGQ", proc.name))
        if outcome.kind in ("signal", "exit"):
            # the sub-model did its own exit work; the host closes descriptors,
            # tells the parent and the other sub-models
            lifecycle.die(self._world, proc, outcome)
        return outcome

    def _claimant(self, proc: Process, op: str, args: tuple[Any, ...]) -> str | None:
        """The sub-model that performs this host operation itself (optional ``claims``: one on a
        descriptor or file the sub-model made, such as ``close`` of a POSIX shm descriptor)."""
        for name, sub in self._world.subs.items():
            claims = getattr(sub, "claims", None)
            if claims is not None and claims(proc.name, op, args, frozenset(proc.fds)):
                return name
        return None

    def alive(self) -> set[str]:
        return {n for n, p in self._world.procs.items() if p.alive}

    def reachable(self) -> set[str]:
        """Actors whose pid still names them: alive, or zombies nobody has reaped."""
        return {n for n, p in self._world.procs.items() if p.state != "reaped"}

    def pending_signals(self, actor: str) -> list[int]:
        """The signals pending for ``actor``: lets generators aim at them."""
        return sorted({info.signo for info in self._world.proc(actor).signals})

    def children(self, actor: str) -> list[str]:
        """The children of ``actor`` that it can still wait() for."""
        return sorted(n for n, p in self._world.procs.items()
                      if p.parent == actor and p.state != "reaped")

    def open_fds(self, actor: str) -> list[int]:
        """The descriptors ``actor`` has open: lets generators aim at real targets."""
        return sorted(self._world.proc(actor).fds)
