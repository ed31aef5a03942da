"""Hypothesis state machines over System V message queues, semaphores and segments.

Each rule is one operation by one idle actor, run on the system under test
and on the reference model (:class:`~conformance.models.ProcessModel`
hosting :class:`~conformance.models.sysv.SysVModel`) through
:class:`~conformance.harness.checked.CheckedScenario`; every outcome, and
every blocked call that completes or process that dies as a consequence,
must agree. Several actors create and open objects by key, send, receive,
operate on semaphores (SEM_UNDO included), attach, write and read segments,
look (IPC_STAT), change (IPC_SET) and remove, fork, exit, are killed or
interrupted by a handled signal while they sleep. A difference is shrunk to
the shortest step list that still shows it.

The spec sets small namespace limits (``/proc/sys/kernel/msgmnb`` etc.,
private to the worker's IPC namespace) before the machine starts, so full
queues, exhausted sets and ENOSPC come within a few steps; the model reads
the same limits (``Limits.from_proc()``).

**Ids.** Rules speak in the model's ids; the checked scenario translates them
for the real side (:class:`~conformance.models.sysv.idmap.IdMap`). Every id
the model ever returned stays a candidate, so operations on removed objects
are exercised too.

**Dialects.** The ``sysv_ipc`` library cannot express everything the
contract can (see :mod:`conformance.backends.sysv_ipc_backend`): an actor
there acts only on ids it got itself (or inherited by fork), semaphore sets
have one semaphore and ``semop`` one operation, there is no IPC_STAT of a
queue or set, no MSG_NOERROR/MSG_EXCEPT, no store through a read-only
attachment. :class:`Dialect` says which of those a run may draw, so every
step is one the backend can perform.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from ..backends.ops import ActorRef
from ..backends.sysv_ops import (
    GETALL,
    GETNCNT,
    GETPID,
    GETVAL,
    GETZCNT,
    IPC_CREAT,
    IPC_EXCL,
    IPC_NOWAIT,
    IPC_PRIVATE,
    IPC_RMID,
    MSG_EXCEPT,
    MSG_NOERROR,
    SEM_UNDO,
    SETALL,
    SETVAL,
    SHM_RDONLY,
)
from ..harness.checked import CheckedScenario
from ..models.errors import Unmodelled
from ..outcome import Outcome
from .machine import payload

#: the most actors a scenario keeps alive (more may be spawned if all block)
MAX_ACTORS = 4
SIGKILL, SIGUSR1, SIGTERM = 9, 10, 15

#: the namespace limits the machines run under: small, so limits are reached
MSG_LIMITS = {"msgmax": 32, "msgmnb": 64, "msgmni": 3}
SEM_LIMITS = (3, 6, 3, 3)  # SEMMSL, SEMMNS, SEMOPM, SEMMNI
SHM_LIMITS = {"shmmax": 8192, "shmall": 4, "shmmni": 3}


@dataclass(frozen=True)
class Dialect:
    """What a backend can express; the machine draws only that."""

    #: an actor reaches only the objects it got itself (or inherited)
    own_ids_only: bool = False
    #: IPC_PRIVATE objects (a library may need a key to reopen them)
    private_keys: bool = True
    #: IPC_EXCL without IPC_CREAT in a ``*get``
    excl_alone: bool = True
    msg_stat: bool = True
    msg_special_flags: bool = True
    #: message types below 1 in msgsnd (EINVAL)
    bad_mtype: bool = True
    #: sets of several semaphores, semop arrays, GETALL/SETALL, semnum > 0
    sem_sets: bool = True
    sem_stat: bool = True
    semtimedop: bool = True
    #: a store through a read-only attachment (SIGSEGV)
    readonly_store: bool = True


KERNEL = Dialect()
SYSV_IPC = Dialect(own_ids_only=True, private_keys=False, excl_alone=False, msg_stat=False,
                   msg_special_flags=False, bad_mtype=False, sem_sets=False, sem_stat=False,
                   semtimedop=False, readonly_store=False)


def dialect_for(process_ops: str | None) -> Dialect:
    """The dialect of a backend's ``module:Class`` (its mutants included)."""
    if process_ops is None:
        return KERNEL
    import importlib

    module, _, name = process_ops.partition(":")
    cls = getattr(importlib.import_module(module), name)
    from ..backends.sysv_ipc_backend import SysvIpcOps

    return SYSV_IPC if issubclass(cls, SysvIpcOps) else KERNEL


class SysVMachine(RuleBasedStateMachine):
    """Actors and processes; subclasses add one mechanism's rules.

    :func:`run_sysv_machine` binds ``make_scenario``, ``make_model``,
    ``keys``, ``sweep`` and ``dialect`` for the running test.
    """

    make_scenario: Callable[[], Any]
    make_model: Callable[[], Any]
    #: the keys objects are made with (besides IPC_PRIVATE)
    keys: tuple[int, ...]
    #: removes every System V object the test made (between examples)
    sweep: Callable[[], Any]
    dialect: Dialect = KERNEL
    #: "msg", "sem" or "shm"
    kind: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.real = self.make_scenario()
        self.model = self.make_model()
        self.sc = CheckedScenario(self.real, self.model)
        self.spawned = 0
        self.tag = 0
        #: every id the model returned, oldest first (removed ones included)
        self.seen: list[int] = []
        #: per actor, the ids it got itself or inherited (for own_ids_only)
        self.got: dict[str, set[int]] = {}
        #: per actor, its attachment handles and whether each is read-only
        self.attached: dict[str, dict[int, bool]] = {}

    def teardown(self) -> None:
        try:
            self.real.close()
        finally:
            self.sweep()

    # -- helpers -----------------------------------------------------------
    def idle(self) -> list[str]:
        return self.sc.live_idle()

    def can_act(self) -> bool:
        return bool(self.idle())

    def actor(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(self.idle()), label="actor")

    def do(self, actor: str, op: str, *args: Any) -> Outcome:
        try:
            outcome = self.sc.do(actor, op, *args)
        except Unmodelled:
            # The kernel may do either of several things here (which of two
            # woken receivers runs first): not a finding.
            reject()
        if outcome.ok:
            self._note(actor, op, args, outcome)
        return outcome

    def _note(self, actor: str, op: str, args: tuple[Any, ...], outcome: Outcome) -> None:
        if op == "fork":
            child = args[0]
            self.got[child] = set(self.got.get(actor, ()))
            self.attached[child] = dict(self.attached.get(actor, {}))
        elif op in ("msgget", "semget", "shmget"):
            ident = outcome.detail
            if ident not in self.seen:
                self.seen.append(ident)
            self.got.setdefault(actor, set()).add(ident)
        elif op == "shmat":
            self.attached.setdefault(actor, {})[outcome.detail] = bool(args[1] & SHM_RDONLY)
        elif op == "shmdt":
            self.attached.get(actor, {}).pop(args[0], None)

    def ident(self, data: st.DataObject, actor: str) -> int | None:
        """Mostly a live object; sometimes a removed one. None: nothing to aim at.

        With nothing live, the actor usually makes an object first (as
        :meth:`setup_objects` does), so that removals do not leave the rest
        of the example acting on nothing.
        """
        aim = data.draw(st.integers(0, 9), label="aim")
        live, stale = self._candidates(actor)
        if not live and aim < 8:
            self.setup_objects(actor)
            live, stale = self._candidates(actor)
        pool = live if live and aim < 8 else stale
        if not pool:
            return None
        return data.draw(st.sampled_from(pool), label="id")

    def _candidates(self, actor: str) -> tuple[list[int], list[int]]:
        """The live ids ``actor`` may aim at, and every id it may name (removed ones too)."""
        live = self.model.submodel("sysv").ids(self.kind)
        if self.dialect.own_ids_only:
            mine = self.got.get(actor, set())
            return [i for i in live if i in mine], sorted(mine)
        return live, self.seen

    def get_flags(self) -> st.SearchStrategy[int]:
        flags = [IPC_CREAT | 0o600, IPC_CREAT | 0o600, IPC_CREAT | IPC_EXCL | 0o600, 0, 0o600]
        if self.dialect.excl_alone:
            flags.append(IPC_EXCL | 0o600)
        return st.sampled_from(flags)

    def key(self, data: st.DataObject) -> int:
        choices = list(self.keys) + ([IPC_PRIVATE] if self.dialect.private_keys else [])
        return data.draw(st.sampled_from(choices), label="key")

    # -- processes -----------------------------------------------------------
    @initialize(data=st.data())
    def first_actor(self, data: st.DataObject) -> None:
        self._spawn()
        self.setup_objects("a0")
        self.prepare(data)

    def setup_objects(self, actor: str) -> None:
        """Give the first actor an object to work on (each machine its own)."""

    def prepare(self, data: st.DataObject) -> None:
        """Draw a starting state that makes the machine's subject reachable in a few steps."""

    def _spawn(self) -> None:
        name = f"a{self.spawned}"
        self.spawned += 1
        self.sc.spawn(name)
        self.got[name] = set()
        self.attached[name] = {}

    @precondition(lambda self: len(self.sc.model.alive()) < 2 or not self.idle())
    @rule()
    def spawn(self) -> None:
        self._spawn()

    @precondition(lambda self: self.can_act() and len(self.sc.model.alive()) < MAX_ACTORS)
    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        child = f"a{self.spawned}"
        self.spawned += 1
        self.do(self.actor(data), "fork", child)

    # One rule for every way a process's life changes, so that the mechanism's
    # own rules get most of the steps.
    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), event=st.sampled_from(["exit", "SIGKILL", "SIGTERM", "SIGUSR1",
                                                 "SIGUSR1", "handle SIGUSR1", "handle SIGUSR1"]))
    def lifecycle(self, data: st.DataObject, event: str) -> None:
        """exit; a kill; or a handler without SA_RESTART, so SIGUSR1 interrupts a sleeper (EINTR)."""
        actor = self.actor(data)
        if event == "handle SIGUSR1":
            self.do(actor, "signal", SIGUSR1, "count")
        elif event == "exit":
            if len(self.sc.model.alive()) > 1:
                self.do(actor, "exit", 0)
        else:
            victims = sorted(self.sc.model.alive() - {actor})
            if victims:
                victim = data.draw(st.sampled_from(victims), label="victim")
                sig = {"SIGKILL": SIGKILL, "SIGTERM": SIGTERM, "SIGUSR1": SIGUSR1}[event]
                self.do(actor, "kill", ActorRef(victim), sig)


class MsgMachine(SysVMachine):
    """Message queues: send and receive (by type, blocking or not), stat, set, remove."""

    kind = "msg"
    SIZES = (0, 1, 10, 32, 33)

    def setup_objects(self, actor: str) -> None:
        self.do(actor, "msgget", self.keys[0], IPC_CREAT | 0o600)

    def prepare(self, data: st.DataObject) -> None:
        """Start with messages of mixed types on the first queue, so selection matters at once."""
        messages = data.draw(st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.sampled_from([0, 1, 10])),
                                      max_size=4), label="messages")
        live = self.model.submodel("sysv").ids("msg")
        for mtype, size in messages if live else []:
            self.tag += 1
            self.do("a0", "msgsnd", live[0], mtype, payload(size, self.tag), IPC_NOWAIT)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def msgget(self, data: st.DataObject) -> None:
        self.do(self.actor(data), "msgget", self.key(data), data.draw(self.get_flags(), label="flags"))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=st.sampled_from(SIZES), nowait=st.booleans())
    def msgsnd(self, data: st.DataObject, size: int, nowait: bool) -> None:
        actor = self.actor(data)
        qid = self.ident(data, actor)
        if qid is None:
            return
        types = [1, 2, 3] + ([0] if self.dialect.bad_mtype else [])
        mtype = data.draw(st.sampled_from(types), label="mtype")
        self.tag += 1
        self.do(actor, "msgsnd", qid, mtype, payload(size, self.tag), IPC_NOWAIT if nowait else 0)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), maxsize=st.sampled_from([0, 4, 32, 2048]),
          msgtyp=st.sampled_from([0, 1, 2, 3, -2]))
    def msgrcv(self, data: st.DataObject, maxsize: int, msgtyp: int) -> None:
        actor = self.actor(data)
        qid = self.ident(data, actor)
        if qid is None:
            return
        flags = [0, IPC_NOWAIT, IPC_NOWAIT]
        if self.dialect.msg_special_flags:
            flags += [MSG_NOERROR, IPC_NOWAIT | MSG_NOERROR, IPC_NOWAIT | MSG_EXCEPT, MSG_EXCEPT]
        self.do(actor, "msgrcv", qid, maxsize, msgtyp, data.draw(st.sampled_from(flags), label="flags"))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), action=st.sampled_from(["stat", "stat", "set", "set", "rmid"]),
          qbytes=st.sampled_from([0, 10, 40, 64, 100]))
    def msgctl(self, data: st.DataObject, action: str, qbytes: int) -> None:
        """IPC_STAT, IPC_SET of msg_qbytes, or (less often) IPC_RMID."""
        actor = self.actor(data)
        qid = self.ident(data, actor)
        if qid is None:
            return
        if action == "stat" and self.dialect.msg_stat:
            self.do(actor, "msgctl_stat", qid)
        elif action == "rmid":
            self.do(actor, "msgctl_rmid", qid)
        else:
            self.do(actor, "msgctl_set", qid, {"qbytes": qbytes})


class SemMachine(SysVMachine):
    """Semaphore sets: semop (arrays, IPC_NOWAIT, SEM_UNDO, sleeping), semctl, stat, remove."""

    kind = "sem"

    def setup_objects(self, actor: str) -> None:
        nsems = 2 if self.dialect.sem_sets else 1
        self.do(actor, "semget", self.keys[0], nsems, IPC_CREAT | 0o600)

    def prepare(self, data: st.DataObject) -> None:
        """Start from drawn semaphore values rather than zeros."""
        values = data.draw(st.lists(st.integers(0, 2), min_size=2, max_size=2), label="values")
        live = self.model.submodel("sysv").ids("sem")
        if not live:
            return
        if self.dialect.sem_sets:
            self.do("a0", "semctl", live[0], 0, SETALL, tuple(values))
        else:
            self.do("a0", "semctl", live[0], 0, SETVAL, values[0])

    def sop(self) -> st.SearchStrategy[tuple[int, int, int]]:
        nums = st.sampled_from([0, 0, 1, 1, 2]) if self.dialect.sem_sets else st.just(0)
        return st.tuples(nums, st.integers(-2, 2),
                         st.sampled_from([0, 0, SEM_UNDO, IPC_NOWAIT, SEM_UNDO | IPC_NOWAIT]))

    def sops(self, data: st.DataObject) -> tuple[tuple[int, int, int], ...]:
        if not self.dialect.sem_sets:
            return (data.draw(self.sop(), label="sop"),)
        sops = data.draw(st.lists(self.sop(), min_size=1, max_size=3), label="sops")
        if data.draw(st.integers(0, 9), label="too many") == 9:
            sops.append((0, 1, 0))  # SEMOPM is 3: four operations are E2BIG
        return tuple(sops)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def semget(self, data: st.DataObject) -> None:
        nsems = data.draw(st.sampled_from([0, 1, 2, 3, 4] if self.dialect.sem_sets else [1]),
                          label="nsems")
        self.do(self.actor(data), "semget", self.key(data), nsems,
                data.draw(self.get_flags(), label="flags"))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def semop(self, data: st.DataObject) -> None:
        """An operation array; often followed by a look at the values by some actor."""
        actor = self.actor(data)
        semid = self.ident(data, actor)
        if semid is None:
            return
        self.do(actor, "semop", semid, self.sops(data))
        if self.idle() and data.draw(st.integers(0, 3), label="look") < 3:
            looker = self.actor(data)
            if self.dialect.sem_sets:
                self.do(looker, "semctl", semid, 0, GETALL)
            elif not self.dialect.own_ids_only or semid in self.got.get(looker, ()):
                self.do(looker, "semctl", semid, 0, GETVAL)

    @precondition(lambda self: self.can_act() and self.dialect.semtimedop)
    @rule(data=st.data())
    def semtimedop_now(self, data: st.DataObject) -> None:
        """A zero timeout: the call never sleeps (EAGAIN where semop would)."""
        actor = self.actor(data)
        semid = self.ident(data, actor)
        if semid is not None:
            self.do(actor, "semtimedop", semid, self.sops(data), 0)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), value=st.sampled_from([0, 1, 2, 32767, 32768, -1]))
    def setval(self, data: st.DataObject, value: int) -> None:
        actor = self.actor(data)
        semid = self.ident(data, actor)
        if semid is not None:
            num = data.draw(st.integers(0, 2), label="semnum") if self.dialect.sem_sets else 0
            self.do(actor, "semctl", semid, num, SETVAL, value)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), cmd=st.sampled_from([GETVAL, GETPID, GETNCNT, GETZCNT, GETALL]))
    def semctl_get(self, data: st.DataObject, cmd: int) -> None:
        actor = self.actor(data)
        semid = self.ident(data, actor)
        if semid is None or (cmd == GETALL and not self.dialect.sem_sets):
            return
        num = data.draw(st.integers(0, 2), label="semnum") if self.dialect.sem_sets else 0
        self.do(actor, "semctl", semid, num, cmd)

    @precondition(lambda self: self.can_act() and self.dialect.sem_sets)
    @rule(data=st.data(), values=st.lists(st.integers(0, 3), min_size=1, max_size=3))
    def setall(self, data: st.DataObject, values: list[int]) -> None:
        actor = self.actor(data)
        semid = self.ident(data, actor)
        if semid is not None:
            self.do(actor, "semctl", semid, 0, SETALL, tuple(values))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), action=st.sampled_from(["stat", "stat", "set", "set", "rmid"]),
          mode=st.sampled_from([0o600, 0o644]))
    def semctl_ipc(self, data: st.DataObject, action: str, mode: int) -> None:
        """IPC_STAT, IPC_SET of the mode, or (less often) IPC_RMID."""
        actor = self.actor(data)
        semid = self.ident(data, actor)
        if semid is None:
            return
        if action == "stat" and self.dialect.sem_stat:
            self.do(actor, "semctl_stat", semid)
        elif action == "rmid":
            self.do(actor, "semctl", semid, 0, IPC_RMID)
        else:
            self.do(actor, "semctl_set", semid, {"mode": mode})


class ShmMachine(SysVMachine):
    """Shared memory: attach, store, load, detach, stat, set, remove, across forks and deaths."""

    kind = "shm"

    def setup_objects(self, actor: str) -> None:
        out = self.do(actor, "shmget", self.keys[0], 4096, IPC_CREAT | 0o600)
        if out.ok:
            self.do(actor, "shmat", out.detail, 0)

    def prepare(self, data: st.DataObject) -> None:
        """Often start with a forked child, which shares the first actor's attachment."""
        if data.draw(st.booleans(), label="share"):
            child = f"a{self.spawned}"
            self.spawned += 1
            self.do("a0", "fork", child)

    def handle(self, data: st.DataObject, actor: str, store: bool = False) -> int:
        """Mostly a handle the actor holds (attaching first if it holds none); sometimes not."""
        held = self.attached.get(actor, {})
        if not held and data.draw(st.integers(0, 9), label="attach first") < 8:
            shmid = self.ident(data, actor)
            if shmid is not None:
                self.do(actor, "shmat", shmid, 0)
        held = self.attached.get(actor, {})
        usable = [h for h, readonly in sorted(held.items())
                  if not (store and readonly and not self.dialect.readonly_store)]
        if usable and data.draw(st.integers(0, 9), label="aim") < 9:
            return data.draw(st.sampled_from(usable), label="handle")
        spare = [h for h in range(4) if h not in held]
        return data.draw(st.sampled_from(spare or [99]), label="handle")

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), size=st.sampled_from([1, 100, 4096, 4097, 8193]))
    def shmget(self, data: st.DataObject, size: int) -> None:
        self.do(self.actor(data), "shmget", self.key(data), size,
                data.draw(self.get_flags(), label="flags"))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), flags=st.sampled_from([0, 0, SHM_RDONLY]))
    def shmat(self, data: st.DataObject, flags: int) -> None:
        actor = self.actor(data)
        shmid = self.ident(data, actor)
        if shmid is not None:
            self.do(actor, "shmat", shmid, flags)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), offset=st.sampled_from([0, 3, 90, 4090]),
          size=st.sampled_from([1, 5, 10, 200, 7000]))
    def shm_write(self, data: st.DataObject, offset: int, size: int) -> None:
        """A store; often followed by a load of the same bytes by some actor (sharing is the point)."""
        actor = self.actor(data)
        self.tag += 1
        out = self.do(actor, "shm_write", self.handle(data, actor, store=True), offset,
                      payload(size, self.tag))
        if out.ok and self.idle() and data.draw(st.integers(0, 3), label="look") < 3:
            reader = self.actor(data)
            self.do(reader, "shm_read", self.handle(data, reader), offset, size)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), offset=st.sampled_from([0, 3, 90, 4090]),
          count=st.sampled_from([0, 5, 10, 200, 7000]))
    def shm_read(self, data: st.DataObject, offset: int, count: int) -> None:
        actor = self.actor(data)
        self.do(actor, "shm_read", self.handle(data, actor), offset, count)

    @precondition(lambda self: self.can_act())
    @rule(data=st.data())
    def shmdt(self, data: st.DataObject) -> None:
        actor = self.actor(data)
        self.do(actor, "shmdt", self.handle(data, actor))

    @precondition(lambda self: self.can_act())
    @rule(data=st.data(), action=st.sampled_from(["stat", "stat", "set", "set", "rmid"]),
          mode=st.sampled_from([0o600, 0o640]))
    def shmctl(self, data: st.DataObject, action: str, mode: int) -> None:
        """IPC_STAT, IPC_SET of the mode, or (less often) IPC_RMID."""
        actor = self.actor(data)
        shmid = self.ident(data, actor)
        if shmid is None:
            return
        if action == "stat":
            self.do(actor, "shmctl_stat", shmid)
        elif action == "rmid":
            self.do(actor, "shmctl_rmid", shmid)
        else:
            self.do(actor, "shmctl_set", shmid, {"mode": mode})


def small_limits(sysv_limits: Any, kind: str) -> None:
    """Lower the namespace's limits of ``kind`` (the spec's ``sysv_limits`` fixture)."""
    if kind == "msg":
        for name, value in MSG_LIMITS.items():
            sysv_limits.set(name, value)
    elif kind == "sem":
        sysv_limits.set("sem", SEM_LIMITS)
    else:
        for name, value in SHM_LIMITS.items():
            sysv_limits.set(name, value)


def run_sysv_machine(base: type[SysVMachine], new_scenario: Callable[[], Any], *, keys: Any,
                     cleanup: Any, sysv_limits: Any, ipc_backend: Any) -> None:
    """Run one System V state machine test with the test's fixtures.

    The limits are lowered first, then the model is built for each example
    from the namespace as it now is.
    """
    from hypothesis.stateful import run_state_machine_as_test

    from ..models import ProcessModel
    from ..models.submodel import host_params
    from .machine import model_limits

    small_limits(sysv_limits, base.kind)
    bound = type(base.__name__, (base,), {
        "make_scenario": staticmethod(new_scenario),
        "make_model": staticmethod(lambda: ProcessModel(**model_limits(), mechanisms=host_params())),
        "keys": (keys.new(), keys.new()),
        "sweep": staticmethod(cleanup.sweep),
        "dialect": dialect_for(ipc_backend.process_ops),
    })
    run_state_machine_as_test(bound)
