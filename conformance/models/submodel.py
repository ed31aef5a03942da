"""Mechanism sub-models hosted by :class:`~conformance.models.ProcessModel`.

The process model knows processes, descriptors, pipes, FIFOs and signals.
An IPC mechanism with state of its own outside the descriptor table (System V
IPC, POSIX message queues, POSIX semaphores and shared memory) is modelled
by a **sub-model**: an object with the shape of :class:`SubModel`, built by a
factory listed in :data:`MECHANISMS`. The host builds one instance of every
registered sub-model, keeps them inside its copyable world, sends them the
operations they name in :attr:`SubModel.ops`, and tells them everything that
happens to a process.

Adding a mechanism is one line in :data:`MECHANISMS` (and the sub-model
itself). The contract, from the sub-model's side:

**Operations.** ``ops`` is the set of operation names (keys of
:data:`conformance.backends.ops.OPS`) the sub-model performs. No two
registered sub-models may claim the same name, nor a name the host performs
itself (``fork``, ``exit``, ``kill``, ``become``, ``exec_self``...): the host
checks this when it is built. ``step(actor, op, *args)`` is called only for
those names, only for a live actor that is not blocked (in the host or in
any sub-model), and returns the call's :class:`~conformance.outcome.Outcome`
or ``BLOCKED``. A step may end the actor (``Killed("SIGSEGV")`` for a store
through a read-only mapping): the sub-model must already have run its own
exit handling for it; the host then does the rest of the death (descriptors,
parent notification) and calls every other sub-model's :meth:`exit`.
Argument errors a C caller could not make raise
:class:`~.errors.ModelUsageError`; outcomes that depend on timing or facts
the sub-model lacks raise :class:`~.errors.Unmodelled` (the instance is then
discarded, host included).

**Blocking.** A call that sleeps returns ``BLOCKED`` and its actor is in
:meth:`blocked` until the call completes; its completion is reported by
:meth:`settle` exactly once (``{actor: outcome}``). The host's ``blocked()``
is the union of its own and every sub-model's; an actor blocked in a
sub-model cannot step anywhere. ``step`` and every lifecycle hook must leave
the sub-model quiescent: all the sleepers the call woke have run (completed
or gone back to sleep) before it returns, so :meth:`settle` only collects.

**Lifecycle hooks** (the host calls them; the sub-model never learns of
processes any other way):

* :meth:`spawn` - a new root actor (uid and gid 0 unless the sub-model was
  built for other host facts);
* :meth:`fork` - ``parent`` forked ``child``; called before the child can
  step, after the host copied descriptors;
* :meth:`exit` - the actor ended by ``exit``; :meth:`kill` - it was killed
  by a signal (SIGKILL, or a default action that terminates). Both run the
  mechanism's exit work (SEM_UNDO, detaching segments, closing message-queue
  descriptors) and abandon a pending call *without* reporting it: the host
  reports the death. They are called once per death, for every sub-model,
  before the host closes the actor's descriptors (``do_exit`` runs
  ``exit_mm`` and ``exit_sem`` before ``exit_files``);
* :meth:`interrupt` - a handled signal (disposition 'count', no
  SA_RESTART) reached the actor. If it is blocked here the pending call ends
  (EINTR, reported by :meth:`settle`) and the hook returns True; otherwise
  it returns False and nothing changes;
* :meth:`expire` - the timeout of the actor's blocked timed call ran out
  (``semtimedop``, ``mq_timedreceive``, ``sem_timedwait``): the model cannot
  know when real time passes, so whoever watches the real system says so.
  The call then completes with its timeout outcome (via :meth:`settle`).
  Raise ModelUsageError if the actor is not blocked in a timed call here;
* :meth:`exec` - the actor replaced its program image (``exec_self``):
  drop what exec drops (attachments, mappings, message-queue descriptors);
* :meth:`become` - the actor asked to take ``uid``/``gid``
  (``setgroups([]); setgid; setuid``). A sub-model that tracks credentials
  updates them and returns the outcome (``Value(0)`` or ``Errno("EPERM")``);
  one that does not returns None. Every sub-model that answers must give the
  same outcome.

**Optional.** ``retune(params)``: the mechanism's parameters changed on the
system during a scenario (a spec wrote a tunable such as
``/proc/sys/kernel/msgmnb``); later calls see the new ones. A sub-model
without it makes such a change :class:`~.errors.Unmodelled`.

**Descriptors of its own** (optional, for a mechanism used through ordinary
descriptors, as POSIX shared memory is): ``claims(actor, op, args,
host_fds)`` says whether a host operation (``close``, ``fstat``...) is the
sub-model's to perform - one on a descriptor it made; the host then sends it
to :meth:`step`. ``host_descriptors(actor, fds)`` is told, before each of
its steps, which descriptor numbers the host holds for the actor.

**State.** Everything the sub-model knows must live in the instance (and
what it references), so that ``copy.deepcopy`` of the host world - which
holds the instance - is a faithful snapshot: the host explores the orders
in which woken processes may run on copies. :meth:`fingerprint` returns a
comparable picture of that state (plain tuples; two sub-models in the same
state give equal fingerprints whatever Python objects hold it).

**Ids and names.** Results carry what a C program would see, with pids as
:class:`~conformance.backends.ops.ActorRef`. Where a real kernel's numbers
cannot be predicted (System V ids), the sub-model uses its own and the
checked scenario pairs them (:class:`~conformance.models.sysv.idmap.IdMap`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..outcome import Outcome


@runtime_checkable
class SubModel(Protocol):
    """A hosted model of one IPC mechanism (see the module documentation)."""

    #: operation names this sub-model performs
    ops: frozenset[str]

    def spawn(self, actor: str) -> None: ...
    def step(self, actor: str, op: str, *args: Any) -> Outcome: ...
    def settle(self) -> dict[str, Outcome]: ...
    def blocked(self) -> set[str]: ...
    def alive(self) -> set[str]: ...

    def fork(self, parent: str, child: str) -> None: ...
    def exit(self, actor: str) -> None: ...
    def kill(self, actor: str) -> None: ...
    def interrupt(self, actor: str) -> bool: ...
    def expire(self, actor: str) -> None: ...
    def exec(self, actor: str) -> None: ...
    def become(self, actor: str, uid: int, gid: int) -> Outcome | None: ...

    def fingerprint(self) -> Any: ...


@dataclass(frozen=True)
class HostFacts:
    """What a factory may need to know about the system being modelled."""

    #: the actors hold the capabilities root has on this system
    privileged: bool = True
    page_size: int = 4096
    #: per-mechanism parameters by :attr:`Mechanism.name` (for System V, a
    #: :class:`~conformance.models.sysv.Limits`); absent: the defaults of a
    #: fresh namespace
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mechanism:
    """One registered sub-model."""

    name: str
    #: builds the sub-model for these host facts
    build: Callable[[HostFacts], SubModel]
    #: reads this machine's parameters for the mechanism (the only place that
    #: may make system calls); None when it has none
    read_host: Callable[[], Any] | None = None


def _sysv(facts: HostFacts) -> SubModel:
    from .sysv import Limits, SysVModel

    limits = facts.params.get("sysv")
    if limits is None:
        limits = Limits(page_size=facts.page_size)
    return SysVModel(limits)


def _sysv_host() -> Any:
    from .sysv import Limits

    return Limits.from_proc()


#: every hosted mechanism; a new one is one line here
MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("sysv", _sysv, _sysv_host),
    Mechanism("posix_sem", lambda _facts: __import__("conformance.models.posix.sem").models.posix.sem.SemModel()),
    Mechanism("posix_mq", lambda f: __import__("conformance.models.posix.mq").models.posix.mq.build(f)),
    Mechanism("posix_shm", lambda f: __import__("conformance.models.posix.shm").models.posix.shm.build(f),
              lambda: __import__("conformance.models.posix.shm").models.posix.shm.ShmParams.from_host()),
)


def build_all(facts: HostFacts) -> list[tuple[str, SubModel]]:
    """One instance of every registered sub-model, in registry order."""
    return [(m.name, m.build(facts)) for m in MECHANISMS]


def host_params() -> dict[str, Any]:
    """Every mechanism's parameters as this machine has them (system calls)."""
    return {m.name: m.read_host() for m in MECHANISMS if m.read_host is not None}
