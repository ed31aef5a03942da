"""Mutants of System V semaphores: each one a semop(2), semctl(2) or semget(2) rule broken.

Every mutant is the kernel backend with one behavior of semaphore sets
changed the way a real system could change it: an emulation that applies
an array one operation at a time, a stub that never waits, a library that
drops ``SEM_UNDO`` or undoes in user space at orderly exit only, waiters
served in another order, a semaphore that is really a flag, constants
mixed up, a POSIX-strict ``GETPID``, a ``SETVAL`` built from ``semop``.
The semaphore specs must notice each one.

A mutant runs inside the actors, so it cannot change what the kernel does
for another process; where the broken behavior involves several processes
(who is woken first, who last operated), the mutant does the work itself in
user space, coordinating through small files in the scenario's directory —
every actor's working directory — as an emulation layer would.
"""

from __future__ import annotations

import errno
import json
import os
from typing import Any

from conformance.backends.kernel import KernelProcessOps
from conformance.backends.sysv_ops import (
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
    SEM_UNDO,
    SETALL,
    SETVAL,
)

from . import mutant
from .sysv_common import error

SEM = "specs/sysv/sem/"
SEMOP = (SEM + "test_sem_semop.py",)
WAIT = (SEM + "test_sem_wait.py",)
UNDO = (SEM + "test_sem_undo.py",)
CTL = (SEM + "test_sem_ctl.py",)
GET = (SEM + "test_sem_get.py",)
SYNC = (SEM + "test_sem_sync.py",)
SEMVMX = 32767

Sops = tuple[tuple[int, int, int], ...]


def _blocks(op: int, value: int) -> bool:
    """Whether the operation ``op`` cannot proceed on a semaphore at ``value``."""
    return (op == 0 and value != 0) or value + op < 0


# -- semop --------------------------------------------------------------------
@mutant("semop-applies-partial-array", SEMOP, kills=("sysv.sem.semop-all-or-nothing",))
class SemopAppliesPartialArray(KernelProcessOps):
    """An array is performed one operation per call: those before a failing one stay done."""

    def semop(self, semid: int, sops: Sops) -> int:
        for sop in sops:
            super().semop(semid, (sop,))
        return 0


@mutant("semop-checks-against-start-values", SEMOP, kills=("sysv.sem.semop-array-order",))
class SemopChecksAgainstStartValues(KernelProcessOps):
    """Each operation of an array is checked against the values before the call.

    A naive implementation validates the whole array first, on the values
    as they were, so an operation cannot count on an earlier one of the
    same array: [+1, -1] on 0 is refused.
    """

    def semop(self, semid: int, sops: Sops) -> int:
        if len(sops) > 1:
            values = self.semctl(semid, 0, GETALL)
            for num, op, flg in sops:
                if num < len(values) and _blocks(op, values[num]) and flg & IPC_NOWAIT:
                    raise error(errno.EAGAIN)
        return super().semop(semid, sops)


@mutant("semop-ignores-nowait", SEMOP, kills=("sysv.sem.nowait-eagain",))
class SemopIgnoresNowait(KernelProcessOps):
    """IPC_NOWAIT is dropped from every operation: a call that should fail sleeps instead."""

    def semop(self, semid: int, sops: Sops) -> int:
        return super().semop(semid, tuple((n, op, f & ~IPC_NOWAIT) for n, op, f in sops))


@mutant("semnum-range-einval", SEMOP, kills=("sysv.sem.semnum-out-of-range-efbig",))
class SemnumRangeEinval(KernelProcessOps):
    """A semaphore number outside the set is reported as EINVAL, like any bad argument, not EFBIG."""

    def semop(self, semid: int, sops: Sops) -> int:
        try:
            return super().semop(semid, sops)
        except OSError as exc:
            if exc.errno == errno.EFBIG:
                raise error(errno.EINVAL) from None
            raise


@mutant("semop-saturates-at-semvmx", SEMOP, kills=("sysv.sem.semop-erange",))
class SemopSaturatesAtSemvmx(KernelProcessOps):
    """An increment past SEMVMX stops at SEMVMX and reports success instead of ERANGE."""

    def semop(self, semid: int, sops: Sops) -> int:
        try:
            return super().semop(semid, sops)
        except OSError as exc:
            if exc.errno != errno.ERANGE or len(sops) != 1:
                raise
            super().semctl(semid, sops[0][0], SETVAL, SEMVMX)
            return 0


@mutant("binary-semaphore", SEMOP, kills=("sysv.sem.only-a-counter",))
class BinarySemaphore(KernelProcessOps):
    """A semaphore is a flag, not a counter: posts while it is set are lost (value at most 1).

    What an emulation over an event or a mutex gives: "signalled" or not.
    """

    def semop(self, semid: int, sops: Sops) -> int:
        result = super().semop(semid, sops)
        for num in {n for n, op, _f in sops if op > 0}:
            if super().semctl(semid, num, GETVAL) > 1:
                super().semctl(semid, num, SETVAL, 1)
        return result


# -- waiting ------------------------------------------------------------------
@mutant("decrement-never-waits", WAIT, kills=("sysv.sem.decrement-blocks",))
class DecrementNeverWaits(KernelProcessOps):
    """A decrement that cannot proceed fails with EAGAIN, as if IPC_NOWAIT were always given."""

    def semop(self, semid: int, sops: Sops) -> int:
        return super().semop(semid, tuple((n, op, f | IPC_NOWAIT if op < 0 else f) for n, op, f in sops))


@mutant("zero-op-is-a-no-op", WAIT, kills=("sysv.sem.wait-for-zero",))
class ZeroOpIsANoOp(KernelProcessOps):
    """An operation of 0 is skipped: nothing waits for zero."""

    def semop(self, semid: int, sops: Sops) -> int:
        rest = tuple(sop for sop in sops if sop[1] != 0)
        return super().semop(semid, rest) if rest else 0


@mutant("ncnt-zcnt-swapped", WAIT,
        kills=("sysv.sem.getncnt-counts-waiters", "sysv.sem.getzcnt-counts-waiters"))
class NcntZcntSwapped(KernelProcessOps):
    """GETNCNT and GETZCNT are mixed up (a binding that got the two command numbers backwards)."""

    def semctl(self, semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0) -> Any:
        swapped = {GETNCNT: GETZCNT, GETZCNT: GETNCNT}.get(cmd, cmd)
        return super().semctl(semid, semnum, swapped, arg)


class _Handoff(KernelProcessOps):
    """Waiting done in user space: sleepers queue in a ledger, posters hand units over.

    A decrement that cannot proceed writes itself into a ledger file (in the
    scenario's directory, every actor's working directory) and sleeps on a
    private *gate* semaphore. A process that raises a semaphore then serves
    the ledger's waiters in this class's order: it takes each one's units
    from the semaphore on its behalf and opens its gate. ``LIFO`` serves the
    newest waiter first; ``STRICT`` stops at the first waiter that cannot be
    served, so it holds back everyone behind it.
    """

    LEDGER = ".mutant-sem-waiters"
    LIFO = False
    STRICT = False

    def semop(self, semid: int, sops: Sops) -> int:
        if len(sops) == 1 and sops[0][1] < 0 and not sops[0][2] & IPC_NOWAIT:
            num, op, flg = sops[0]
            try:
                return super().semop(semid, ((num, op, flg | IPC_NOWAIT),))
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    raise
            gate = super().semget(IPC_PRIVATE, 1, 0o600)
            with open(self.LEDGER, "a") as ledger:
                ledger.write(f"{gate} {semid} {num} {-op}\n")
            try:
                super().semop(gate, ((0, -1, 0),))  # asleep here until a poster opens the gate
            finally:
                super().semctl(gate, 0, IPC_RMID)
            return 0
        result = super().semop(semid, sops)
        if any(op > 0 for _n, op, _f in sops):
            self._serve(semid)
        return result

    def _serve(self, semid: int) -> None:
        try:
            with open(self.LEDGER) as ledger:
                waiters = [tuple(int(x) for x in line.split()) for line in ledger if line.strip()]
        except FileNotFoundError:
            return
        served = set()
        for waiter in reversed(waiters) if self.LIFO else waiters:
            gate, sid, num, need = waiter
            if sid != semid:
                continue
            try:
                super().semop(semid, ((num, -need, IPC_NOWAIT),))
            except OSError:
                if self.STRICT:
                    break
                continue
            super().semop(gate, ((0, 1, 0),))
            served.add(waiter)
        with open(self.LEDGER, "w") as ledger:
            ledger.writelines(" ".join(map(str, w)) + "\n" for w in waiters if w not in served)


@mutant("waiters-served-lifo", WAIT, kills=("sysv.sem.wake-fifo",))
class WaitersServedLifo(_Handoff):
    """The waiter that came last is served first (a wait list kept as a stack)."""

    LIFO = True


@mutant("waiters-strict-fifo", WAIT, kills=("sysv.sem.wake-no-head-of-line",))
class WaitersStrictFifo(_Handoff):
    """Strict arrival order: a waiter that cannot be served yet blocks everyone behind it."""

    STRICT = True


@mutant("removed-set-einval", WAIT, kills=("sysv.sem.rmid-wakes-eidrm",))
class RemovedSetEinval(KernelProcessOps):
    """A sleeper whose set was removed fails with EINVAL ("no such set"), not EIDRM."""

    def semop(self, semid: int, sops: Sops) -> int:
        try:
            return super().semop(semid, sops)
        except OSError as exc:
            if exc.errno == errno.EIDRM:
                raise error(errno.EINVAL) from None
            raise


@mutant("semtimedop-etimedout", WAIT, kills=("sysv.sem.semtimedop-timeout",))
class SemtimedopEtimedout(KernelProcessOps):
    """An expired semtimedop fails with ETIMEDOUT, as sem_timedwait(3) would, not EAGAIN."""

    def semtimedop(self, semid: int, sops: Sops, timeout_ns: int) -> int:
        try:
            return super().semtimedop(semid, sops, timeout_ns)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                raise error(errno.ETIMEDOUT) from None
            raise


@mutant("semtimedop-never-waits", WAIT,
        kills=("sysv.sem.semtimedop-proceeds-in-time", "sysv.sem.semtimedop-timeout"))
class SemtimedopNeverWaits(KernelProcessOps):
    """semtimedop does not wait at all: an operation that cannot proceed fails with EAGAIN at once."""

    def semtimedop(self, semid: int, sops: Sops, timeout_ns: int) -> int:
        return super().semop(semid, tuple((n, op, f | IPC_NOWAIT) for n, op, f in sops))


# -- SEM_UNDO -------------------------------------------------------------------
@mutant("sem-undo-dropped", UNDO, kills=("sysv.sem.undo-on-exit",))
class SemUndoDropped(KernelProcessOps):
    """SEM_UNDO is not passed on (a wrapper that forwards only IPC_NOWAIT): nothing is undone."""

    def semop(self, semid: int, sops: Sops) -> int:
        return super().semop(semid, tuple((n, op, f & ~SEM_UNDO) for n, op, f in sops))


@mutant("user-space-undo", UNDO,
        kills=("sysv.sem.undo-on-sigkill", "sysv.sem.undo-clamps-at-zero",
               "sysv.sem.undo-not-inherited-by-fork", "sysv.sem.undo-survives-exec"))
class UserSpaceUndo(KernelProcessOps):
    """SEM_UNDO emulated by the process itself: it keeps the adjustments and applies them on exit.

    An exit handler can only run on an orderly exit, so a process killed by
    SIGKILL undoes nothing; the adjustments live in the process's memory, so
    a forked child inherits (and applies) them and an exec loses them; and an
    adjustment that cannot be applied without waiting is skipped — the
    second of the approaches semop(2)'s BUGS section describes, not Linux's.
    """

    def __init__(self, control_fd: int = -1) -> None:
        super().__init__(control_fd)
        self.adjustments: dict[tuple[int, int], int] = {}
        real_exit = os._exit

        def exit_undoing(status: int) -> None:
            self._undo_all()
            real_exit(status)

        os._exit = exit_undoing  # the actor runtime ends an actor with os._exit

    def semop(self, semid: int, sops: Sops) -> int:
        result = super().semop(semid, tuple((n, op, f & ~SEM_UNDO) for n, op, f in sops))
        for num, op, flg in sops:
            if flg & SEM_UNDO:
                self.adjustments[(semid, num)] = self.adjustments.get((semid, num), 0) - op
        return result

    def _undo_all(self) -> None:
        for (semid, num), adjustment in self.adjustments.items():
            if adjustment:
                try:
                    super().semop(semid, ((num, adjustment, IPC_NOWAIT),))
                except OSError:
                    pass  # it would go below zero: skipped


# -- semctl ---------------------------------------------------------------------
@mutant("setval-as-semop-delta", CTL + UNDO,
        kills=("sysv.sem.otime-semop-not-setval", "sysv.sem.setval-clears-undo"))
class SetvalAsSemopDelta(KernelProcessOps):
    """SETVAL and SETALL are emulated with semop of the difference to the current value.

    The value ends up right, but it is an operation: sem_otime is set, and
    the SEM_UNDO adjustments of other processes are not cleared.
    """

    def semctl(self, semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0) -> Any:
        if cmd == SETVAL and isinstance(arg, int):
            targets = {semnum: arg}
        elif cmd == SETALL and isinstance(arg, tuple):
            targets = dict(enumerate(arg))
        else:
            return super().semctl(semid, semnum, cmd, arg)
        changes = []
        for num, value in targets.items():
            delta = value - super().semctl(semid, num, GETVAL)
            if delta:
                changes.append((num, delta, IPC_NOWAIT))
        if changes:
            super().semop(semid, tuple(changes))
        return 0


@mutant("setval-ignores-semnum", CTL, kills=("sysv.sem.setval-getval",))
class SetvalIgnoresSemnum(KernelProcessOps):
    """SETVAL always sets semaphore 0 (a library that models a set as one semaphore)."""

    def semctl(self, semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0) -> Any:
        return super().semctl(semid, 0 if cmd == SETVAL else semnum, cmd, arg)


@mutant("setall-skips-last", CTL, kills=("sysv.sem.setall-getall",))
class SetallSkipsLast(KernelProcessOps):
    """SETALL copies one value too few: the last semaphore keeps its old value (an off-by-one)."""

    def semctl(self, semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0) -> Any:
        if cmd == SETALL and isinstance(arg, tuple) and arg:
            last = len(arg) - 1
            arg = arg[:last] + (super().semctl(semid, last, GETVAL),)
        return super().semctl(semid, semnum, cmd, arg)


@mutant("setval-clamps", CTL, kills=("sysv.sem.setval-erange",))
class SetvalClamps(KernelProcessOps):
    """SETVAL with a value out of range stores the nearest valid value instead of failing."""

    def semctl(self, semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0) -> Any:
        if cmd == SETVAL and isinstance(arg, int):
            arg = min(max(arg, 0), SEMVMX)
        return super().semctl(semid, semnum, cmd, arg)


@mutant("zero-op-not-an-operation", CTL, kills=("sysv.sem.getpid-last-semop",))
class ZeroOpNotAnOperation(KernelProcessOps):
    """A wait-for-zero that can proceed at once is answered from GETVAL, without a semop.

    It returns the right result, but the kernel never sees an operation, so
    GETPID still names the process before.
    """

    def semop(self, semid: int, sops: Sops) -> int:
        if sops and all(op == 0 for _n, op, _f in sops):
            values = [super(ZeroOpNotAnOperation, self).semctl(semid, n, GETVAL) for n, _op, _f in sops]
            if not any(values):
                return 0
        return super().semop(semid, sops)


@mutant("getpid-from-semop-ledger", CTL, kills=("sysv.sem.getpid-setval-setall",))
class GetpidFromSemopLedger(KernelProcessOps):
    """GETPID answered from the library's own record of semop callers, as POSIX reads it.

    Only a successful semop writes the record (a file in the scenario's
    directory), so SETVAL and SETALL do not count as operations.
    """

    LEDGER = ".mutant-sempid"

    def _ledger(self) -> dict[str, int]:
        try:
            with open(self.LEDGER) as f:
                return json.load(f)  # type: ignore[no-any-return]
        except FileNotFoundError:
            return {}

    def semop(self, semid: int, sops: Sops) -> int:
        result = super().semop(semid, sops)
        ledger = self._ledger()
        for num, _op, _flg in sops:
            ledger[f"{semid}:{num}"] = os.getpid()
        with open(self.LEDGER, "w") as f:
            json.dump(ledger, f)
        return result

    def semctl(self, semid: int, semnum: int, cmd: int, arg: int | tuple[int, ...] = 0) -> Any:
        if cmd == GETPID:
            super().semctl(semid, semnum, GETVAL)  # the same errors as the real command
            return self._ledger().get(f"{semid}:{semnum}", 0)
        return super().semctl(semid, semnum, cmd, arg)


# -- semget ---------------------------------------------------------------------
@mutant("nsems-zero-rejected", GET, kills=("sysv.sem.open-with-fewer-nsems",))
class NsemsZeroRejected(KernelProcessOps):
    """nsems 0 is refused with EINVAL even for an existing set (a library that checks nsems > 0)."""

    def semget(self, key: int, nsems: int, flags: int) -> int:
        if nsems == 0:
            raise error(errno.EINVAL)
        return super().semget(key, nsems, flags)


@mutant("semget-ignores-larger-nsems", GET, kills=("sysv.sem.open-with-more-nsems-einval",))
class SemgetIgnoresLargerNsems(KernelProcessOps):
    """An existing set is opened whatever nsems asks for, however many semaphores it has."""

    def semget(self, key: int, nsems: int, flags: int) -> int:
        try:
            return super().semget(key, nsems, flags)
        except OSError as exc:
            if exc.errno != errno.EINVAL or key == IPC_PRIVATE or nsems <= 0:
                raise
            return super().semget(key, 0, flags & ~IPC_CREAT)


@mutant("zero-nsems-creates-one", GET, kills=("sysv.sem.create-zero-nsems-einval",))
class ZeroNsemsCreatesOne(KernelProcessOps):
    """Creating a set of 0 semaphores makes a set of one (0 taken as "the default")."""

    def semget(self, key: int, nsems: int, flags: int) -> int:
        try:
            return super().semget(key, nsems, flags)
        except OSError as exc:
            if exc.errno != errno.EINVAL or nsems != 0 or not flags & IPC_CREAT:
                raise
            return super().semget(key, 1, flags)


@mutant("new-semaphores-start-at-one", GET, kills=("sysv.sem.new-values-zero",))
class NewSemaphoresStartAtOne(KernelProcessOps):
    """A new set's semaphores start at 1 (each a free binary lock) rather than 0."""

    def semget(self, key: int, nsems: int, flags: int) -> int:
        if not flags & IPC_CREAT:
            return super().semget(key, nsems, flags)
        if key == IPC_PRIVATE:
            semid = super().semget(key, nsems, flags)
        else:
            try:
                semid = super().semget(key, nsems, flags | IPC_EXCL)
            except OSError as exc:
                if exc.errno != errno.EEXIST or flags & IPC_EXCL:
                    raise
                return super().semget(key, nsems, flags)
        super().semctl(semid, 0, SETALL, (1,) * nsems)
        return semid


# -- synchronization ------------------------------------------------------------
@mutant("semop-stub-never-waits", SYNC, kills=("sysv.sem.mutual-exclusion",))
class SemopStubNeverWaits(KernelProcessOps):
    """An operation that would have to wait reports success at once, and does nothing.

    A stub layer (a sandbox, a port to a system without semaphores) that
    answers every semop with 0: the program runs, unsynchronized.
    """

    def semop(self, semid: int, sops: Sops) -> int:
        try:
            return super().semop(semid, tuple((n, op, f | IPC_NOWAIT) for n, op, f in sops))
        except OSError as exc:
            if exc.errno == errno.EAGAIN and not any(f & IPC_NOWAIT for _n, _op, f in sops):
                return 0
            raise


# -- the state machine ------------------------------------------------------------
MACHINE = (SEM + "test_sem_machine.py",)


@mutant("semop-array-not-atomic", MACHINE, kills=("sysv.sem.model.multi-process",))
class SemopArrayNotAtomic(KernelProcessOps):
    """An array is performed one operation per call, so it is not all or nothing.

    The operations before one that fails (or sleeps) stay done: what a
    library built on single-semaphore primitives does.
    """

    def semop(self, semid: int, sops: Sops) -> int:
        for sop in sops:
            super().semop(semid, (sop,))
        return 0
