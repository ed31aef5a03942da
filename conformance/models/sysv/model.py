"""The :class:`SysVModel` facade: actors, steps, settling, lifecycle hooks."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from ...backends.ops import ActorRef
from ...backends.sysv_ops import SYSV_OPS
from ...outcome import BLOCKED, Exited, Killed, Outcome, Value
from ..args import actor_ref, c_int
from ..dispatch import call_handler
from ..errors import ModelUsageError, Unmodelled
from . import lifecycle, msg, sem, shm
from .limits import Limits
from .schedule import fingerprint, run_to_quiescence
from .state import Proc, World

Handler = Callable[..., Outcome | None]

HANDLERS: dict[str, Handler] = {
    "msgget": msg.op_msgget,
    "msgsnd": msg.op_msgsnd,
    "msgrcv": msg.op_msgrcv,
    "msgctl_stat": msg.op_msgctl_stat,
    "msgctl_set": msg.op_msgctl_set,
    "msgctl_rmid": msg.op_msgctl_rmid,
    "semget": sem.op_semget,
    "semop": sem.op_semop,
    "semtimedop": sem.op_semtimedop,
    "semctl": sem.op_semctl,
    "semctl_stat": sem.op_semctl_stat,
    "semctl_set": sem.op_semctl_set,
    "shmget": shm.op_shmget,
    "shmat": shm.op_shmat,
    "shmat_at": shm.op_shmat_at,
    "shm_write": shm.op_shm_write,
    "shm_read": shm.op_shm_read,
    "shmdt": shm.op_shmdt,
    "shmctl_stat": shm.op_shmctl_stat,
    "shmctl_set": shm.op_shmctl_set,
    "shmctl_rmid": shm.op_shmctl_rmid,
    "become": lifecycle.op_become,
    "exec_self": lifecycle.op_exec_self,
}
assert set(HANDLERS) == set(SYSV_OPS), "every System V operation has a handler"

#: process operations the model performs itself when it runs alone
STANDALONE_OPS = ("fork", "exit", "kill", "getpid")
#: operations a hosting process model performs itself, calling the hooks
#: :meth:`SysVModel.become` and :meth:`SysVModel.exec` (exec also closes
#: descriptors; credentials may matter to other mechanisms too)
HOST_OPS = ("become", "exec_self")


class SysVModel:
    """A deterministic model of one IPC namespace and the processes using it.

    Actors are named by strings, as in :class:`~conformance.models.ProcessModel`,
    and every operation of :data:`~conformance.backends.sysv_ops.SYSV_OPS`
    is predicted exactly, including sleeping and waking. No system call is
    ever made. Conventions:

    * ``step`` returns the call's outcome, or ``BLOCKED``; ``settle`` then
      reports, once, every blocked call that finished (and, standalone,
      every actor a ``kill`` step killed).
    * ids are the model's own (see :mod:`.namespace`; a comparison with a
      real kernel maps them with :class:`~.idmap.IdMap`); pids in results
      are ``ActorRef`` s, or 0 where the kernel has none.
    * a ``semtimedop`` that sleeps stays blocked until :meth:`expire` says
      its timeout ran out; a handled signal is :meth:`interrupt`.
    * where the outcome depends on timing or on facts the model lacks it
      raises :class:`~..errors.Unmodelled`; the instance must then be
      discarded.

    Used inside :class:`~conformance.models.ProcessModel` it is a
    :class:`~conformance.models.submodel.SubModel`: it performs the
    operations in :attr:`ops`, and the lifecycle comes from the host through
    :meth:`spawn`, :meth:`fork`, :meth:`exit`, :meth:`kill`,
    :meth:`interrupt`, :meth:`expire`, :meth:`exec` and :meth:`become`. Used
    alone, ``step`` also performs ``fork``, ``exit``, ``getpid``, ``kill``
    with SIGKILL, ``become`` and ``exec_self``.
    """

    #: what a host sends to :meth:`step` (it performs HOST_OPS itself)
    ops: frozenset[str] = frozenset(HANDLERS) - frozenset(HOST_OPS)

    def __init__(self, limits: Limits | None = None) -> None:
        self._world = World(limits or Limits())

    @property
    def limits(self) -> Limits:
        return self._world.limits

    # -- actors ------------------------------------------------------------
    def spawn(self, actor: str, uid: int = 0, gid: int = 0) -> None:
        """A new process with this identity (uid 0 holds ``limits.root_caps``)."""
        if not isinstance(actor, str) or not actor:
            raise ModelUsageError(f"an actor needs a non-empty name, not {actor!r}")
        if actor in self._world.procs:
            raise ModelUsageError(f"actor name {actor!r} is already used")
        lifecycle.new_process(self._world, actor, uid, gid)

    def fork(self, parent: str, child: str) -> None:
        """``parent`` forked ``child``: credentials and attachments are copied."""
        world = self._world
        proc = self._live(parent)
        if not isinstance(child, str) or not child or child in world.procs:
            raise ModelUsageError(f"fork needs a new actor name, not {child!r}")
        lifecycle.fork(world, proc, child)

    def exit(self, actor: str) -> None:
        """``actor`` ended (any way): detach, apply SEM_UNDO, serve whoever that frees."""
        self._end(actor)

    def kill(self, actor: str) -> None:
        """``actor`` was killed; for System V state the same as :meth:`exit`."""
        self._end(actor)

    def interrupt(self, actor: str) -> bool:
        """A handled signal reached ``actor``: its blocked call fails with EINTR.

        Returns whether it was blocked here. The outcome is reported by
        :meth:`settle`.
        """
        return lifecycle.interrupt(self._world, self._world.proc(actor))

    def expire(self, actor: str) -> None:
        """The timeout of ``actor``'s blocked semtimedop ran out (EAGAIN, via settle)."""
        lifecycle.expire(self._world, self._world.proc(actor))

    def exec(self, actor: str) -> None:
        """``actor`` replaced its program image: every attachment is dropped."""
        lifecycle.op_exec_self(self._world, self._live(actor))
        self._world = run_to_quiescence(self._world)

    def become(self, actor: str, uid: int, gid: int) -> Outcome | None:
        """``actor`` takes ``uid``/``gid`` (``become``); the outcome, as the credentials decide."""
        return lifecycle.op_become(self._world, self._live(actor), uid, gid)

    def retune(self, limits: Limits) -> None:
        """The namespace's tunables were written: later calls see ``limits``.

        The kernel reads every tunable when a call needs it, so objects that
        exist keep what they got (a queue keeps its msg_qbytes). Turning
        shm_rmid_forced on also destroys orphaned segments at once
        (``shm_destroy_orphaned``), which the model does not follow.
        """
        world = self._world
        if limits.shm_rmid_forced and not world.limits.shm_rmid_forced and world.shm.objects:
            raise Unmodelled("shm_rmid_forced turned on while segments exist")
        world.limits = limits

    # -- steps ---------------------------------------------------------------
    def step(self, actor: str, op: str, *args: Any) -> Outcome:
        """Perform ``op`` for ``actor``; its outcome, possibly ``BLOCKED``."""
        world = self._world
        proc = self._live(actor)
        if proc.pending is not None:
            raise ModelUsageError(f"{actor} is blocked; it cannot {op} until that call completes")
        if op in STANDALONE_OPS:
            outcome: Outcome | None = self._process_op(proc, op, args)
        else:
            outcome = call_handler(HANDLERS, world, proc, op, args, "the System V model")
        if outcome is not None:
            world.events.pop(actor, None)
            if outcome.kind in ("signal", "exit"):
                lifecycle.die(world, proc)
        self._world = world = run_to_quiescence(world)
        if outcome is None:
            outcome = world.events.pop(actor, BLOCKED)
        return outcome

    def settle(self) -> dict[str, Outcome]:
        """Complete what can complete; report finished calls (and deaths) since last time."""
        self._world = world = run_to_quiescence(self._world)
        events, world.events = world.events, {}
        return events

    def blocked(self) -> set[str]:
        return {n for n, p in self._world.procs.items() if p.alive and p.pending is not None}

    def alive(self) -> set[str]:
        return {n for n, p in self._world.procs.items() if p.alive}

    # -- looking in (for generators and comparisons) ----------------------------
    def ids(self, kind: str) -> list[int]:
        """The ids of the live objects of ``kind`` ("msg", "sem" or "shm"), oldest first."""
        world = self._world
        if kind == "msg":
            return list(world.msg.objects)
        if kind == "sem":
            return list(world.sem.objects)
        if kind == "shm":
            return list(world.shm.objects)
        raise ModelUsageError(f"kind is 'msg', 'sem' or 'shm', not {kind!r}")

    def identity(self, actor: str) -> tuple[int, int, frozenset[str]]:
        """``actor``'s (uid, gid, capabilities), as ``become`` left them."""
        creds = self._world.proc(actor).creds
        return creds.uid, creds.gid, creds.caps

    def handles(self, actor: str) -> list[int]:
        """The attachment handles ``actor`` holds."""
        return sorted(self._world.proc(actor).attachments)

    def fingerprint(self) -> Any:
        """A comparable picture of the whole state (for a host model's own exploring)."""
        return fingerprint(self._world)

    # -- helpers -------------------------------------------------------------------
    def _live(self, actor: str) -> Proc:
        proc = self._world.proc(actor)
        if not proc.alive:
            raise ModelUsageError(f"{actor} is dead")
        return proc

    def _end(self, actor: str) -> None:
        world = self._world
        lifecycle.die(world, world.proc(actor))
        world.events.pop(actor, None)  # its own death is its host's to report
        self._world = run_to_quiescence(world)

    def _process_op(self, proc: Proc, op: str, args: tuple[Any, ...]) -> Outcome:
        """fork, exit, getpid and kill(SIGKILL or 0), for a model that runs alone."""
        world = self._world
        if op == "getpid" and not args:
            return Value(ActorRef(proc.name))
        if op == "fork" and len(args) == 1:
            self.fork(proc.name, args[0])
            return Value(ActorRef(args[0]))
        if op == "exit" and len(args) == 1:
            return Exited(c_int(args[0], "status") & 0xFF)
        if op == "kill" and len(args) == 2:
            victim = world.proc(actor_ref(args[0]))
            sig = c_int(args[1], "sig")
            if sig not in (0, signal.SIGKILL):
                raise Unmodelled("signals other than SIGKILL belong to the process model")
            if sig and victim.alive:
                lifecycle.die(world, victim)
                world.events[victim.name] = Killed("SIGKILL")
                if victim is proc:
                    return world.events.pop(proc.name)
            return Value(0)
        raise ModelUsageError(f"{op}{args!r}: wrong arguments")
