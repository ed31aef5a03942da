"""SEM_UNDO: the kernel takes back a process's operations when the process ends.

A semaphore used as a lock has a weakness: a process that dies while
holding it never releases it. ``SEM_UNDO`` is the remedy. For each
semaphore a process operates on with that flag, the kernel keeps a
per-process *adjustment* (``semadj``), the negated sum of those operations,
and adds it to the semaphore when the process terminates — by ``exit`` or
by a signal it cannot catch, such as SIGKILL. The adjustment belongs to the
process: a child made by ``fork`` starts without one, a program started by
``execve`` keeps it, and setting a value with SETVAL or SETALL clears the
adjustments of that semaphore in every process. When an adjustment would
take a semaphore below zero, Linux stops at zero.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import GETVAL, IPC_CREAT, IPC_NOWAIT, IPC_RMID, SEM_UNDO, SETVAL
from conformance.clauses import spec
from conformance.outcome import Exited, Killed, Value

UNDONE_AT_EXIT = ("semop(2)", "When a process terminates, each of its per-semaphore semadj values is added "
                              "to the corresponding semaphore, thus undoing the effect of that process's "
                              "operations on the semaphore (but see BUGS below).")
FLAG = ("semop(2)", "Flags recognized in sem_flg are IPC_NOWAIT and SEM_UNDO.  If an operation specifies "
                    "SEM_UNDO, it will be automatically undone when the process terminates.")
INHERITANCE = ("semop(2)", "The sem_undo structures of a process aren't inherited by the child produced "
                           "by fork(2), but they are inherited across an execve(2) system call.")
L03_TEXT = "A semaphore carries no data; it synchronizes access to shared resources."


def _new_set(actor, keys, value=0):
    """A new one-semaphore set made by ``actor``, set to ``value``: (id, key)."""
    key = keys.new()
    s = actor.call("semget", key, 1, IPC_CREAT | 0o600)
    if value:
        actor.call("semctl", s, 0, SETVAL, value)
    return s, key


#: (sem_op, with SEM_UNDO?) steps of one process, never 0 (a wait); from a value of 20, no
#: prefix of five such steps can go below zero, nor can the undo after them
STEPS = st.lists(st.tuples(st.sampled_from([-3, -2, -1, 1, 2, 3]), st.booleans()), min_size=1, max_size=5)


@spec(
    "sysv.sem.undo-on-exit",
    "When a process exits, the operations it made with SEM_UNDO are taken back and those it made "
    "without the flag stay: the semaphore ends at its earlier value plus the process's operations "
    "without SEM_UNDO.",
    sources=[FLAG, UNDONE_AT_EXIT],
    supports={"L03": "SEM_UNDO makes a semaphore a safe lock: the kernel releases what a process held "
                     "when it ends"},
)
@given(steps=STEPS)
@example(steps=[(1, True)])
@example(steps=[(-2, True), (1, False)])
def test_undo_when_the_process_exits(new_scenario, keys, steps):
    start = 20
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        s, _key = _new_set(owner, keys, start)
        worker = owner.fork("worker")
        value = start
        for op, undo in steps:
            flags = IPC_NOWAIT | (SEM_UNDO if undo else 0)
            sc.expect(worker.do("semop", s, ((0, op, flags),)), Value(0))
            value += op
        sc.expect(owner.do("semctl", s, 0, GETVAL), Value(value), "every operation took effect")
        sc.expect(worker.do("exit", 0), Exited(0))
        kept = start + sum(op for op, undo in steps if not undo)
        sc.expect(owner.do("semctl", s, 0, GETVAL), Value(kept),
                  "the SEM_UNDO operations were taken back, the others kept")
        sc.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.undo-on-sigkill",
    "SEM_UNDO operations are taken back also when the process is killed by SIGKILL, which it can "
    "neither catch nor ignore: the kernel, not the process, does the undoing.",
    sources=[FLAG, UNDONE_AT_EXIT,
             ("signal(7)", "The signals SIGKILL and SIGSTOP cannot be caught, blocked, or ignored.")],
    supports={"L03": "a lock taken with SEM_UNDO is released even when its holder is killed"},
)
def test_undo_when_the_process_is_killed(scenario, keys):
    killer = scenario.spawn("killer")
    s, key = _new_set(killer, keys)
    victim = scenario.spawn("victim")
    scenario.expect(victim.do("semget", key, 0, 0), Value(s))
    scenario.expect(victim.do("semop", s, ((0, 1, SEM_UNDO),)), Value(0), "the victim takes the semaphore")
    scenario.expect(killer.do("semctl", s, 0, GETVAL), Value(1))
    scenario.expect(killer.do("kill", ActorRef("victim"), 9), Value(0))
    scenario.expect_event(victim, Killed("SIGKILL"))
    scenario.expect(killer.do("semctl", s, 0, GETVAL), Value(0), "the kernel took the victim's +1 back")
    scenario.expect(killer.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.undo-clamps-at-zero",
    "When the undo at exit would take a semaphore below zero (others have decremented it since), "
    "Linux lowers it as far as it goes — to 0 — and lets the process end; it neither blocks nor "
    "skips the adjustment.",
    sources=[
        ("semop(2)", "Linux adopts a third approach: decreasing the semaphore value as far as possible "
                     "(i.e., to zero) and allowing process termination to proceed immediately."),
        ("Linux ipc/sem.c", "undo adjustments at process exit are limited to 0..SEMVMX."),
    ],
)
@given(posted=st.integers(1, 4), taken=st.integers(1, 4))
@example(posted=2, taken=1)
def test_undo_stops_at_zero(new_scenario, keys, posted, taken):
    taken = min(taken, posted)
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        s, _key = _new_set(owner, keys)
        poster = owner.fork("poster")
        sc.expect(poster.do("semop", s, ((0, posted, SEM_UNDO),)), Value(0), f"+{posted}, to be undone")
        sc.expect(owner.do("semop", s, ((0, -taken, IPC_NOWAIT),)), Value(0), f"another takes {taken}")
        sc.expect(poster.do("exit", 0), Exited(0))
        sc.expect(owner.do("semctl", s, 0, GETVAL), Value(0),
                  f"{posted - taken} - {posted} is below zero: the undo stops at 0")
        sc.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.undo-not-inherited-by-fork",
    "A child made by fork does not inherit its parent's SEM_UNDO adjustments: its exit leaves the "
    "semaphore alone, and the parent's exit still takes the parent's operations back.",
    sources=[INHERITANCE],
)
def test_fork_child_has_no_adjustments(scenario, keys):
    observer = scenario.spawn("observer")
    s, key = _new_set(observer, keys)
    parent = scenario.spawn("parent")
    scenario.expect(parent.do("semget", key, 0, 0), Value(s))
    scenario.expect(parent.do("semop", s, ((0, 1, SEM_UNDO),)), Value(0))
    child = parent.fork("child")
    scenario.expect(child.do("exit", 0), Exited(0))
    scenario.expect(observer.do("semctl", s, 0, GETVAL), Value(1), "the child had nothing to undo")
    scenario.expect(parent.do("exit", 0), Exited(0))
    scenario.expect(observer.do("semctl", s, 0, GETVAL), Value(0), "the parent's +1 is taken back")
    scenario.expect(observer.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.undo-survives-exec",
    "SEM_UNDO adjustments survive execve: the process running the new program still has them, and "
    "they are applied when it exits.",
    sources=[INHERITANCE],
)
def test_exec_keeps_adjustments(scenario, keys):
    observer = scenario.spawn("observer")
    s, key = _new_set(observer, keys)
    worker = scenario.spawn("worker")
    scenario.expect(worker.do("semget", key, 0, 0), Value(s))
    scenario.expect(worker.do("semop", s, ((0, 1, SEM_UNDO),)), Value(0))
    scenario.expect(worker.do("exec_self"), Value(0), "the worker now runs a new program image")
    scenario.expect(observer.do("semctl", s, 0, GETVAL), Value(1), "exec itself undoes nothing")
    scenario.expect(worker.do("exit", 0), Exited(0))
    scenario.expect(observer.do("semctl", s, 0, GETVAL), Value(0),
                    "the adjustment made before the exec is applied at exit")
    scenario.expect(observer.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.setval-clears-undo",
    "Setting a semaphore with SETVAL clears every process's SEM_UNDO adjustment for it: a process "
    "that exits afterwards takes nothing back, and the value set stays.",
    sources=[
        ("semop(2)", "When a semaphore's value is directly set using the SETVAL or SETALL request to "
                     "semctl(2), the corresponding semadj values in all processes are cleared."),
        ("semctl(2)", "SETVAL Set the semaphore value (semval) to arg.val for the semnum-th semaphore of "
                      "the set, updating also the sem_ctime member of the semid_ds structure associated "
                      "with the set. Undo entries are cleared for altered semaphores in all processes."),
    ],
)
@given(value=st.integers(0, 10))
@example(value=5)
def test_setval_forgets_adjustments(new_scenario, keys, value):
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        s, _key = _new_set(owner, keys)
        worker = owner.fork("worker")
        sc.expect(worker.do("semop", s, ((0, 1, SEM_UNDO),)), Value(0), "an adjustment of -1")
        sc.expect(owner.do("semctl", s, 0, SETVAL, value), Value(0))
        sc.expect(worker.do("exit", 0), Exited(0))
        sc.expect(owner.do("semctl", s, 0, GETVAL), Value(value), "the adjustment was cleared by SETVAL")
        sc.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))
