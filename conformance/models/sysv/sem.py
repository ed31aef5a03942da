"""Semaphore sets (ipc/sem.c): semget, semop, semtimedop, semctl.

**One semop.** The operations of an array are applied in order, each to the
value the ones before it left, all or nothing: ``sem_op > 0`` adds (ERANGE
above SEMVMX, 32767), ``sem_op < 0`` needs the value to be at least
``|sem_op|``, ``0`` needs it to be 0. The first operation that cannot
proceed decides: if *its* ``sem_flg`` has IPC_NOWAIT the call fails with
EAGAIN, otherwise the caller sleeps. (The kernel checks simple arrays
against the values as they are and only replays duplicate semaphores in
order; the two agree, so the model always replays.) A successful semop sets
``sempid`` of every semaphore it names, wait-for-zero ones included.

**SEM_UNDO.** An operation with SEM_UNDO also subtracts its ``sem_op`` from
the process's adjustment for that semaphore (ERANGE outside
[-32768, 32767]). The adjustment structure is created by the first semop
with SEM_UNDO on the set - *before* the id's permission and range checks,
so even a semop that then fails leaves one. When the process exits (or is
killed) each structure is applied: values are clamped to [0, SEMVMX], the
``sempid`` of each adjusted semaphore names the exiting process, sleepers
are served, and ``sem_otime`` is set - also when every adjustment was 0.
SETVAL clears the adjustments of its semaphore in every process, SETALL
all of them; fork gives the child none; exec keeps them.

**Who wakes, in what order.** Sleepers never retry by themselves: the
process whose operation changed the values completes theirs on their
behalf (``update_queue``), so the order is the kernel's, deterministic, and
this module reproduces it:

* A sleeping operation on one semaphore waits on that semaphore's queue -
  ``pending_alter`` for a decrement, ``pending_const`` for a wait for zero.
  An array of several operations ("complex") waits on the set's global
  ``pending_alter``/``pending_const``, and while any complex operation
  sleeps (``complex_count > 0``) new single decrements queue there too. The
  first complex sleeper moves every per-semaphore ``pending_alter`` onto the
  global one (``merge_queues``: each list spliced in front, semaphore
  ``n-1`` first); when the last complex sleeper leaves, the global list is
  dealt back to the per-semaphore ones in its order (``unmerge_queues``).
* After an operation that changed values, ``do_smart_update`` first serves
  waits for zero (on each named semaphore that is now 0, then the global
  const queue if any was), then decrements: the global queue if it is not
  empty, else the queue of each semaphore the operation increased (of every
  semaphore after SETVAL, SETALL or an exit's undo). A queue is scanned in
  FIFO order and every operation that can proceed now proceeds - one that
  still cannot does not hold back those behind it; after one proceeds the
  scan restarts from the head if the global queue is in use or the
  operation was complex.
* GETNCNT/GETZCNT count the sleepers on the semaphore's own queues, plus
  each global sleeper whose *blocking* operation (the one it last stopped
  at) is a decrement, or a wait for zero, of that semaphore.

**Timeouts.** The model has no clock. A ``semtimedop`` that must sleep
reports BLOCKED like ``semop``; the comparison layer calls
:meth:`~.model.SysVModel.expire` when the real call's timeout ran out, and
the call then fails with EAGAIN. A zero timeout expires at once (EAGAIN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...backends.ops import ActorRef
from ...outcome import Errno, Outcome, Value
from ..errors import ModelUsageError, Unmodelled
from .cargs import c_int, integer, signed
from .namespace import ipcget
from .perm import READ, WRITE, Perm, may_access, may_control, perm_changes, update_perm
from .state import Proc, World

IPC_NOWAIT = 0o4000
SEM_UNDO = 0x1000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 12, 13, 14, 15, 16, 17
SEM_STAT, SEM_INFO, SEM_STAT_ANY = 18, 19, 20
SEMVMX = 32767
SEMAEM = SEMVMX

#: what perform() answers besides an errno name
DONE, SLEEP = 0, 1


@dataclass(frozen=True)
class Sop:
    """``struct sembuf`` after C's conversions: ushort num, short op, short flg."""

    num: int
    op: int
    flg: int


@dataclass(eq=False)
class SemWaiter:
    """``struct sem_queue``: a semop asleep on a set."""

    actor: str
    semid: int
    sops: tuple[Sop, ...]
    alter: bool
    #: index of the operation it last stopped at (q->blocking)
    blocking: int = 0
    timed: bool = False

    @property
    def complex(self) -> bool:
        return len(self.sops) > 1


@dataclass(eq=False)
class SemSet:
    id: int
    perm: Perm
    values: list[int]
    pids: list[str | None]
    otime: bool = False
    ctime: bool = True
    pending_alter: list[list[SemWaiter]] = field(default_factory=list)
    pending_const: list[list[SemWaiter]] = field(default_factory=list)
    global_alter: list[SemWaiter] = field(default_factory=list)
    global_const: list[SemWaiter] = field(default_factory=list)
    complex_count: int = 0
    #: actor -> its adjustment for each semaphore (struct sem_undo)
    undo: dict[str, list[int]] = field(default_factory=dict)

    @property
    def nsems(self) -> int:
        return len(self.values)

    def waiters(self) -> list[SemWaiter]:
        lists = [*self.pending_alter, *self.pending_const, self.global_alter, self.global_const]
        return [q for queue in lists for q in queue]


# -- semget ----------------------------------------------------------------------
def op_semget(world: World, proc: Proc, key: Any, nsems: Any, flags: Any) -> Outcome:
    key = signed(key, 32, "key")
    nsems = c_int(nsems, "nsems")
    flags = c_int(flags, "flags")
    limits = world.limits
    if nsems < 0 or nsems > limits.semmsl:
        return Errno("EINVAL")

    def create() -> Outcome:
        if nsems == 0:
            return Errno("EINVAL")
        if world.used_sems + nsems > limits.semmns:
            return Errno("ENOSPC")
        ident = world.sem.allocate(limits.semmni)
        if ident is None:
            return Errno("ENOSPC")
        world.sem.add(SemSet(ident, Perm.new(key, proc.creds, flags), [0] * nsems, [None] * nsems,
                             pending_alter=[[] for _ in range(nsems)],
                             pending_const=[[] for _ in range(nsems)]))
        world.used_sems += nsems
        return Value(ident)

    def more_checks(sem: SemSet) -> str | None:
        return "EINVAL" if nsems > sem.nsems else None

    return ipcget(world.sem, proc.creds, key, flags, create, more_checks)


# -- semop -----------------------------------------------------------------------
def op_semop(world: World, proc: Proc, semid: Any, sops: Any) -> Outcome | None:
    return _semtimedop(world, proc, semid, sops, None)


def op_semtimedop(world: World, proc: Proc, semid: Any, sops: Any, timeout_ns: Any) -> Outcome | None:
    return _semtimedop(world, proc, semid, sops, integer(timeout_ns, "timeout_ns"))


def _parse_sops(sops: Any) -> tuple[Sop, ...]:
    if not isinstance(sops, (tuple, list)):
        raise ModelUsageError(f"sops must be a tuple of (sem_num, sem_op, sem_flg), not {sops!r}")
    parsed = []
    for sop in sops:
        if not isinstance(sop, (tuple, list)) or len(sop) != 3:
            raise ModelUsageError(f"each sop is (sem_num, sem_op, sem_flg), not {sop!r}")
        num, op, flg = (integer(v, "a sembuf member") for v in sop)
        # C stores each member in its 16-bit field
        parsed.append(Sop(num & 0xFFFF, signed(op, 16, "sem_op"), signed(flg, 16, "sem_flg")))
    return tuple(parsed)


def _semtimedop(world: World, proc: Proc, semid: Any, sops_arg: Any,
                timeout_ns: int | None) -> Outcome | None:
    sops = _parse_sops(sops_arg)
    semid = c_int(semid, "semid")
    if len(sops) > world.limits.semopm:
        return Errno("E2BIG")
    if not sops or semid < 0:
        return Errno("EINVAL")
    if timeout_ns is not None and timeout_ns < 0:
        return Errno("EINVAL")  # the backend's timespec has a negative tv_sec
    alter = any(sop.op != 0 for sop in sops)
    if any(sop.flg & SEM_UNDO for sop in sops):
        # find_alloc_undo runs before every other check on the set
        sem = world.sem.find(semid)
        if sem is None:
            return Errno("EINVAL")
        if proc.name not in sem.undo:
            sem.undo[proc.name] = [0] * sem.nsems
            proc.sem_undos.insert(0, semid)
    sem = world.sem.find(semid)
    if sem is None:
        return Errno("EINVAL")
    if max(sop.num for sop in sops) >= sem.nsems:
        return Errno("EFBIG")
    if not may_access(proc.creds, sem.perm, WRITE if alter else READ):
        return Errno("EACCES")
    waiter = SemWaiter(proc.name, semid, sops, alter, timed=timeout_ns is not None)
    result = _perform(sem, waiter)
    if result == DONE:
        if alter:
            _do_smart_update(world, sem, sops, otime=True)
            unmerge(sem)
        else:
            sem.otime = True
        return Value(0)
    if isinstance(result, str):
        return Errno(result)
    if timeout_ns == 0:
        return Errno("EAGAIN")  # queued and timed out at once: nothing observable
    _enqueue(sem, waiter)
    proc.pending = waiter
    return None


def _perform(sem: SemSet, q: SemWaiter) -> int | str:
    """``perform_atomic_semop``: DONE (and applied), SLEEP, or an errno name."""
    values = list(sem.values)
    adjust = sem.undo.get(q.actor)
    undo = list(adjust) if adjust is not None else None
    for index, sop in enumerate(q.sops):
        current = values[sop.num]
        result = current + sop.op
        if (sop.op == 0 and current) or result < 0:
            q.blocking = index
            return "EAGAIN" if sop.flg & IPC_NOWAIT else SLEEP
        if result > SEMVMX:
            return "ERANGE"
        if sop.flg & SEM_UNDO:
            assert undo is not None, "SEM_UNDO always has its structure"
            change = undo[sop.num] - sop.op
            if not -SEMAEM - 1 <= change <= SEMAEM:
                return "ERANGE"
            undo[sop.num] = change
        values[sop.num] = result
    sem.values = values
    if adjust is not None and undo is not None:
        adjust[:] = undo
    for sop in q.sops:
        sem.pids[sop.num] = q.actor
    return DONE


# -- the wait queues ---------------------------------------------------------------
def _enqueue(sem: SemSet, q: SemWaiter) -> None:
    if not q.complex:
        num = q.sops[0].num
        if not q.alter:
            sem.pending_const[num].append(q)
        elif sem.complex_count:
            sem.global_alter.append(q)
        else:
            sem.pending_alter[num].append(q)
        return
    if not sem.complex_count:
        # merge_queues: each semaphore's list spliced in at the front
        for num in range(sem.nsems):
            sem.global_alter[0:0] = sem.pending_alter[num]
            sem.pending_alter[num] = []
    (sem.global_alter if q.alter else sem.global_const).append(q)
    sem.complex_count += 1


def _unlink(sem: SemSet, q: SemWaiter) -> None:
    for queue in (sem.global_alter, sem.global_const, *sem.pending_alter, *sem.pending_const):
        if q in queue:
            queue.remove(q)
            break
    if q.complex:
        sem.complex_count -= 1


def unmerge(sem: SemSet) -> None:
    """``unmerge_queues`` at the unlock: back to per-semaphore queues once no complex op sleeps.

    The kernel does this when it drops the set's global lock, which every
    operation that can end the last complex sleep holds; the model does it
    at the end of every operation, which comes to the same.
    """
    if sem.complex_count == 0 and sem.global_alter:
        for q in sem.global_alter:
            sem.pending_alter[q.sops[0].num].append(q)
        sem.global_alter = []


def _finish(world: World, q: SemWaiter, result: int | str) -> None:
    world.complete(q.actor, Value(0) if result == DONE else Errno(str(result)))


def _wake_const_ops(world: World, sem: SemSet, num: int) -> bool:
    queue = sem.global_const if num == -1 else sem.pending_const[num]
    completed = False
    for q in list(queue):
        result = _perform(sem, q)
        if result == SLEEP:
            continue
        _unlink(sem, q)
        _finish(world, q, result)
        completed = completed or result == DONE
    return completed


def _wakeup_zero(world: World, sem: SemSet, sops: Sequence[Sop] | None) -> bool:
    """``do_smart_wakeup_zero``: serve waits for zero on the semaphores now at 0."""
    nums = [sop.num for sop in sops] if sops is not None else range(sem.nsems)
    completed = got_zero = False
    for num in nums:
        if sem.values[num] == 0:
            got_zero = True
            completed = _wake_const_ops(world, sem, num) or completed
    if got_zero:
        completed = _wake_const_ops(world, sem, -1) or completed
    return completed


def _update_queue(world: World, sem: SemSet, num: int) -> bool:
    """Serve one alter queue (-1: the global one) in FIFO order, restarting as the kernel does."""
    completed = False
    while True:
        queue = sem.global_alter if num == -1 else sem.pending_alter[num]
        restart = False
        for q in list(queue):
            # A per-semaphore queue holds only decrements: none can go at 0.
            if num != -1 and sem.values[num] == 0:
                break
            result = _perform(sem, q)
            if result == SLEEP:
                continue
            _unlink(sem, q)
            if result == DONE:
                completed = True
                _wakeup_zero(world, sem, q.sops)
                # check_restart: complex operations are too hard to analyse
                restart = bool(sem.global_alter) or q.complex
            _finish(world, q, result)
            if restart:
                break
        if not restart:
            return completed


def _do_smart_update(world: World, sem: SemSet, sops: Sequence[Sop] | None, otime: bool) -> None:
    otime = _wakeup_zero(world, sem, sops) or otime
    if sem.global_alter:
        otime = _update_queue(world, sem, -1) or otime
    else:
        nums = range(sem.nsems) if sops is None else [sop.num for sop in sops if sop.op > 0]
        for num in nums:
            otime = _update_queue(world, sem, num) or otime
    if otime:
        sem.otime = True


def _count(sem: SemSet, num: int, zero: bool) -> int:
    """``count_semcnt``: GETZCNT (zero) or GETNCNT."""
    count = len(sem.pending_const[num] if zero else sem.pending_alter[num])
    candidates = sem.global_alter + (sem.global_const if zero else [])
    for q in candidates:
        sop = q.sops[q.blocking]
        if sop.num == num and (sop.op == 0 if zero else sop.op < 0):
            count += 1
    return count


# -- semctl ----------------------------------------------------------------------
def _ref(name: str | None) -> ActorRef | int:
    return 0 if name is None else ActorRef(name)


def op_semctl(world: World, proc: Proc, semid: Any, semnum: Any, cmd: Any, arg: Any = 0) -> Outcome:
    semid = c_int(semid, "semid")
    semnum = c_int(semnum, "semnum")
    cmd = c_int(cmd, "cmd")
    if cmd == IPC_SET:
        raise ModelUsageError("semctl(IPC_SET) takes a semid_ds: use the semctl_set operation")
    if isinstance(arg, tuple):
        if cmd not in (GETALL, SETALL):
            raise ModelUsageError(f"semctl command {cmd} takes an int argument, not {arg!r}")
    else:
        integer(arg, "arg")
    if semid < 0:
        return Errno("EINVAL")
    if cmd in (IPC_INFO, SEM_INFO, SEM_STAT, SEM_STAT_ANY):
        raise Unmodelled("semctl IPC_INFO/SEM_INFO/SEM_STAT: index-based and namespace-wide")
    if cmd == IPC_STAT:
        return _stat(world, proc, semid)
    if cmd == IPC_RMID:
        return _rmid(world, proc, semid)
    if cmd == SETVAL:
        return _setval(world, proc, semid, semnum, signed(arg, 32, "arg"))
    if cmd in (GETALL, SETALL, GETVAL, GETPID, GETNCNT, GETZCNT):
        return _semctl_main(world, proc, semid, semnum, cmd, arg)
    return Errno("EINVAL")


def _setval(world: World, proc: Proc, semid: int, semnum: int, value: int) -> Outcome:
    if not 0 <= value <= SEMVMX:
        return Errno("ERANGE")  # before even looking the set up
    sem = world.sem.find(semid)
    if sem is None:
        return Errno("EINVAL")
    if not 0 <= semnum < sem.nsems:
        return Errno("EINVAL")
    if not may_access(proc.creds, sem.perm, WRITE):
        return Errno("EACCES")
    for adjust in sem.undo.values():
        adjust[semnum] = 0
    sem.values[semnum] = value
    sem.pids[semnum] = proc.name
    sem.ctime = True
    _do_smart_update(world, sem, None, otime=False)
    unmerge(sem)
    return Value(0)


def _semctl_main(world: World, proc: Proc, semid: int, semnum: int, cmd: int, arg: Any) -> Outcome:
    sem = world.sem.find(semid)
    if sem is None:
        return Errno("EINVAL")
    if not may_access(proc.creds, sem.perm, WRITE if cmd == SETALL else READ):
        return Errno("EACCES")
    if cmd == GETALL:
        return Value(tuple(sem.values))
    if cmd == SETALL:
        given = [integer(v, "a SETALL value") & 0xFFFF for v in arg] if isinstance(arg, tuple) else []
        # the backend's array is as long as the set: missing values are 0
        values = (given + [0] * sem.nsems)[:sem.nsems]
        if any(v > SEMVMX for v in values):
            return Errno("ERANGE")
        sem.values = values
        sem.pids = [proc.name] * sem.nsems
        for adjust in sem.undo.values():
            adjust[:] = [0] * sem.nsems
        sem.ctime = True
        _do_smart_update(world, sem, None, otime=False)
        unmerge(sem)
        return Value(0)
    if not 0 <= semnum < sem.nsems:
        return Errno("EINVAL")
    if cmd == GETVAL:
        return Value(sem.values[semnum])
    if cmd == GETPID:
        return Value(_ref(sem.pids[semnum]))
    return Value(_count(sem, semnum, zero=cmd == GETZCNT))


def _stat(world: World, proc: Proc, semid: int) -> Outcome:
    sem = world.sem.find(semid)
    if sem is None:
        return Errno("EINVAL")
    if not may_access(proc.creds, sem.perm, READ):
        return Errno("EACCES")
    return Value({"nsems": sem.nsems, "otime": sem.otime, "ctime": sem.ctime, **sem.perm.fields()})


def _rmid(world: World, proc: Proc, semid: int) -> Outcome:
    sem = world.sem.find(semid)
    if sem is None:
        return Errno("EINVAL")
    if not may_control(proc.creds, sem.perm):
        return Errno("EPERM")
    # freeary: every sleeper fails with EIDRM, every undo structure dies
    for q in sem.waiters():
        world.complete(q.actor, Errno("EIDRM"))
    for actor in sem.undo:
        world.procs[actor].sem_undos.remove(semid)
    world.used_sems -= sem.nsems
    world.sem.remove(sem)
    return Value(0)


def op_semctl_stat(world: World, proc: Proc, semid: Any) -> Outcome:
    semid = c_int(semid, "semid")
    return Errno("EINVAL") if semid < 0 else _stat(world, proc, semid)


def op_semctl_set(world: World, proc: Proc, semid: Any, changes: Any) -> Outcome:
    wanted = perm_changes(changes, ("uid", "gid", "mode"))
    semid = c_int(semid, "semid")
    sem = world.sem.find(semid) if semid >= 0 else None
    if sem is None:
        return Errno("EINVAL")
    if not may_control(proc.creds, sem.perm):
        return Errno("EPERM")
    error = update_perm(sem.perm, wanted)
    if error is not None:
        return Errno(error)
    sem.ctime = True
    return Value(0)


# -- processes leaving ---------------------------------------------------------------
def unlink_waiter(world: World, q: SemWaiter) -> None:
    """A signal, a death or a timeout takes a sleeper off its set's queue."""
    sem = world.sem.find(q.semid)
    if sem is not None:
        _unlink(sem, q)
        unmerge(sem)


def exit_sem(world: World, proc: Proc) -> None:
    """``exit_sem``: apply each undo structure (newest first), clamped, and serve sleepers."""
    for semid in proc.sem_undos:
        sem = world.sem.find(semid)
        if sem is None:
            continue
        adjust = sem.undo.pop(proc.name, [])
        for num, change in enumerate(adjust):
            if change:
                sem.values[num] = min(max(sem.values[num] + change, 0), SEMVMX)
                sem.pids[num] = proc.name
        _do_smart_update(world, sem, None, otime=True)
        unmerge(sem)
    proc.sem_undos = []
