"""semctl on semaphores: setting and reading values, and what the kernel records.

Besides IPC_STAT, IPC_SET and IPC_RMID, which every System V object has,
``semctl`` reads and writes the semaphores themselves: SETVAL and GETVAL
one of them, SETALL and GETALL the whole set, each value between 0 and
SEMVMX (32767). For every semaphore the kernel also remembers the process
that last operated on it (GETPID), and for the set the time of the last
``semop`` (``sem_otime``). POSIX says only ``semop`` moves those records;
Linux also counts SETVAL and SETALL as operations for GETPID, but not for
``sem_otime``.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import (
    GETALL,
    GETPID,
    GETVAL,
    IPC_CREAT,
    IPC_NOWAIT,
    IPC_RMID,
    SETALL,
    SETVAL,
)
from conformance.clauses import spec
from conformance.outcome import Errno, Value

SEMVMX = 32767
L08_TEXT = ("Common control commands: `IPC_STAT` reads the object's data structure, `IPC_SET` sets it, "
            "`IPC_RMID` removes the object.")
SETVAL_DOC = ("semctl(2)", "SETVAL Set the semaphore value (semval) to arg.val for the semnum-th semaphore "
                           "of the set, updating also the sem_ctime member of the semid_ds structure "
                           "associated with the set.")
GETVAL_DOC = ("semctl(2)", "GETVAL Return semval (i.e., the semaphore value) for the semnum-th semaphore "
                           "of the set.")
GETPID_DOC = ("semctl(2)", "GETPID Return the sempid value for the semnum-th semaphore of the set. This is "
                           "the PID of the process that last performed an operation on that semaphore "
                           "(but see NOTES).")
VALUES = st.integers(0, SEMVMX)


@spec(
    "sysv.sem.setval-getval",
    "SETVAL sets one semaphore of a set, the one its semnum names, and GETVAL reads it back; the "
    "other semaphores keep their values.",
    sources=[SETVAL_DOC, GETVAL_DOC],
)
@given(nsems=st.integers(1, 4), sets=st.lists(st.tuples(st.integers(0, 3), VALUES), max_size=6))
@example(nsems=2, sets=[(1, 7)])
def test_setval_then_getval(new_scenario, keys, nsems, sets):
    sets = [(num % nsems, value) for num, value in sets]
    values = [0] * nsems
    with new_scenario() as sc:
        a = sc.spawn("a")
        s = a.call("semget", keys.new(), nsems, IPC_CREAT | 0o600)
        for num, value in sets:
            sc.expect(a.do("semctl", s, num, SETVAL, value), Value(0))
            values[num] = value
        for num in range(nsems):
            sc.expect(a.do("semctl", s, num, GETVAL), Value(values[num]), f"semaphore {num} after {sets}")
        sc.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.setall-getall",
    "SETALL sets every semaphore of the set from an array, in order, and GETALL returns every value, "
    "in order.",
    sources=[
        ("semctl(2)", "SETALL Set the semval values for all semaphores of the set using arg.array, "
                      "updating also the sem_ctime member of the semid_ds structure associated with the "
                      "set."),
        ("semctl(2)", "GETALL Return semval (i.e., the current value) for all semaphores of the set into "
                      "arg.array. The argument semnum is ignored."),
    ],
)
@given(values=st.lists(VALUES, min_size=1, max_size=6))
@example(values=[1, 2, 3])
def test_setall_then_getall(new_scenario, keys, values):
    with new_scenario() as sc:
        a = sc.spawn("a")
        s = a.call("semget", keys.new(), len(values), IPC_CREAT | 0o600)
        sc.expect(a.do("semctl", s, 0, SETALL, tuple(values)), Value(0))
        sc.expect(a.do("semctl", s, 0, GETALL), Value(tuple(values)))
        for num, value in enumerate(values):
            sc.expect(a.do("semctl", s, num, GETVAL), Value(value), f"semaphore {num}")
        sc.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.setval-erange",
    "SETVAL with a value below 0 or above SEMVMX (32767) fails with ERANGE and leaves the semaphore "
    "as it was.",
    sources=[
        ("semctl(2)", "ERANGE The argument cmd has the value SETALL or SETVAL and the value to which "
                      "semval is to be set (for some semaphore of the set) is less than 0 or greater "
                      "than the implementation limit SEMVMX."),
        ("semctl(2)", "SEMVMX Maximum value for semval: implementation dependent (32767)."),
    ],
)
@given(bad=st.one_of(st.integers(SEMVMX + 1, 1 << 20), st.integers(-(1 << 20), -1)))
@example(bad=SEMVMX + 1)
@example(bad=-1)
def test_setval_out_of_range(new_scenario, keys, bad):
    with new_scenario() as sc:
        a = sc.spawn("a")
        s = a.call("semget", keys.new(), 1, IPC_CREAT | 0o600)
        a.call("semctl", s, 0, SETVAL, 3)
        sc.expect(a.do("semctl", s, 0, SETVAL, bad), Errno("ERANGE"), f"{bad} is outside 0..{SEMVMX}")
        sc.expect(a.do("semctl", s, 0, GETVAL), Value(3), "the value is unchanged")
        sc.expect(a.do("semctl", s, 0, SETVAL, SEMVMX), Value(0), "SEMVMX itself is allowed")
        sc.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.getpid-last-semop",
    "GETPID names the process whose successful semop last operated on the semaphore — a "
    "wait-for-zero included; a semop that fails does not count.",
    sources=[
        GETPID_DOC,
        ("semop(2)", "On successful completion, the sempid value for each semaphore specified in the "
                     "array pointed to by sops is set to the caller's process ID."),
    ],
)
@given(ops=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(-2, 2)), min_size=1,
                    max_size=8))
@example(ops=[("a", 1), ("b", -1), ("c", 0)])
@example(ops=[("a", 1), ("b", -2)])
def test_getpid_names_last_caller(new_scenario, keys, ops):
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        s = owner.call("semget", keys.new(), 1, IPC_CREAT | 0o600)
        actors = {name: owner.fork(name) for name in ("a", "b", "c")}
        value, last = 0, None
        for name, op in ops:
            can = value + op >= 0 and (op != 0 or value == 0)
            sc.expect(actors[name].do("semop", s, ((0, op, IPC_NOWAIT),)),
                      Value(0) if can else Errno("EAGAIN"))
            if can:
                value, last = value + op, ActorRef(name)
            if last is not None:
                sc.expect(owner.do("semctl", s, 0, GETPID), Value(last),
                          f"{last.name} made the last successful semop")
        sc.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.getpid-setval-setall",
    "On Linux, SETVAL and SETALL count as operations for GETPID: after either, GETPID names the "
    "process that set the value (POSIX has only semop set it; SETALL does so since Linux 4.6).",
    sources=[
        GETPID_DOC,
        ("semctl(2)", "Linux also updates sempid for SETVAL operations and semaphore adjustments. However, "
                      "somewhat inconsistently, up to and including Linux 4.5, the kernel did not update "
                      "sempid for SETALL operations. This was rectified in Linux 4.6."),
    ],
    requires=("kernel>=4.6",),
)
def test_getpid_after_setval_and_setall(scenario, keys):
    owner = scenario.spawn("owner")
    s = owner.call("semget", keys.new(), 1, IPC_CREAT | 0o600)
    worker = owner.fork("worker")
    setter = owner.fork("setter")
    scenario.expect(worker.do("semop", s, ((0, 1, IPC_NOWAIT),)), Value(0))
    scenario.expect(owner.do("semctl", s, 0, GETPID), Value(ActorRef("worker")))
    scenario.expect(setter.do("semctl", s, 0, SETVAL, 4), Value(0))
    scenario.expect(owner.do("semctl", s, 0, GETPID), Value(ActorRef("setter")), "SETVAL counts")
    scenario.expect(worker.do("semop", s, ((0, -1, IPC_NOWAIT),)), Value(0))
    scenario.expect(setter.do("semctl", s, 0, SETALL, (2,)), Value(0))
    scenario.expect(owner.do("semctl", s, 0, GETPID), Value(ActorRef("setter")), "SETALL counts")
    scenario.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.otime-semop-not-setval",
    "sem_otime records semop only: it is 0 in a new set, stays 0 through SETVAL, SETALL and a semop "
    "that fails, and is set by the first successful semop (the exit of a process that holds an undo "
    "structure for the set also sets it, even when that process's only SEM_UNDO semop failed).",
    sources=[
        ("semget(2)", "sem_otime is set to 0."),
        ("semctl(2)", "sem_otime Time of last semop(2) system call."),
        ("semop(2)", "In addition, the sem_otime is set to the current time."),
        ("semctl(2)", "sem_ctime Time of creation of semaphore set or time of last semctl() IPCSET, "
                      "SETVAL, or SETALL operation."),
        ("seed L08", L08_TEXT),
    ],
    supports={"L08": "IPC_STAT's semid_ds tells whether the set has been operated on"},
)
def test_otime_follows_semop_only(scenario, keys):
    a = scenario.spawn("a")
    s = a.call("semget", keys.new(), 2, IPC_CREAT | 0o600)

    def otime():
        out = a.do("semctl_stat", s)
        return Value(out.detail["otime"]) if out.ok else out

    scenario.expect(otime(), Value(False), "a new set")
    scenario.expect(a.do("semctl", s, 0, SETVAL, 1), Value(0))
    scenario.expect(a.do("semctl", s, 0, SETALL, (2, 0)), Value(0))
    scenario.expect(otime(), Value(False), "SETVAL and SETALL are not semop")
    scenario.expect(a.do("semop", s, ((1, -1, IPC_NOWAIT),)), Errno("EAGAIN"))
    scenario.expect(otime(), Value(False), "a failed semop operated on nothing")
    scenario.expect(a.do("semop", s, ((0, -1, IPC_NOWAIT),)), Value(0))
    scenario.expect(otime(), Value(True), "the first successful semop")
    scenario.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))
