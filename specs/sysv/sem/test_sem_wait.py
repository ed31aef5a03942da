"""Waiting on a semaphore: who sleeps, who is counted, who wakes, and when.

An operation that cannot proceed — a decrement larger than the value, or a
wait for zero on a non-zero value — puts the caller to sleep unless it
carries ``IPC_NOWAIT``. The kernel counts the sleepers of each semaphore
(``semncnt`` for those waiting for an increase, ``semzcnt`` for those
waiting for zero; ``GETNCNT`` and ``GETZCNT`` read them) and, whenever a
value changes, wakes those whose operation can now proceed: on Linux in the
order they started to wait, but without letting a sleeper that still cannot
proceed hold back the ones behind it. Removing the set wakes everyone with
EIDRM; ``semtimedop`` bounds the sleep and fails with EAGAIN at its end.

Every sleep here is observed by the harness (the actor is asleep in
``semop``), and every wake-up is caused by another actor's step.
"""

import time

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import GETNCNT, GETVAL, GETZCNT, IPC_CREAT, IPC_RMID, SETVAL
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

WAIT_DECREMENT = ("semop(2)", "Otherwise, semncnt (the counter of threads waiting for this semaphore's "
                              "value to increase) is incremented by one and the thread sleeps until one "
                              "of the following occurs: semval becomes greater than or equal to the "
                              "absolute value of sem_op: the operation now proceeds, as described above.")
WAIT_ZERO = ("semop(2)", "Otherwise, semzcnt (the count of threads waiting until this semaphore's value "
                         "becomes zero) is incremented by one and the thread sleeps until one of the "
                         "following occurs: semval becomes 0, at which time the value of semzcnt is "
                         "decremented.")
FIFO = ("Linux ipc/sem.c", "User space visible behavior: - FIFO ordering for semop() operations (just "
                           "FIFO, not starvation protection)")
L03_TEXT = "A semaphore carries no data; it synchronizes access to shared resources."
TIMEOUT_NS = 50_000_000  # 50 ms: the timeout under test, not a wait for ordering


def _new_set(actor, keys, nsems=1):
    """A new set of ``nsems`` semaphores, all 0, made by ``actor``."""
    return actor.call("semget", keys.new(), nsems, IPC_CREAT | 0o600)


@spec(
    "sysv.sem.decrement-blocks",
    "A decrement larger than the semaphore's value sleeps until other processes have raised the "
    "value far enough, then proceeds: it takes its amount, and the rest stays.",
    sources=[WAIT_DECREMENT, ("seed L03", L03_TEXT)],
    supports={"L01": "semaphores are an IPC mechanism of Linux: one process's operation releases another",
              "L03": "a process waits on the semaphore until another one's operation allows it to go "
                     "on: the semaphore orders the two"},
)
@given(need=st.integers(1, 5), posts=st.lists(st.integers(1, 3), min_size=1, max_size=5))
@example(need=2, posts=[1, 1])
def test_decrement_waits_for_enough(new_scenario, keys, need, posts):
    with new_scenario() as sc:
        poster = sc.spawn("poster")
        s = _new_set(poster, keys)
        waiter = poster.fork("waiter")
        sc.expect(waiter.do("semop", s, ((0, -need, 0),)), BLOCKED, f"the value 0 is less than {need}")
        value, waiting = 0, True
        for n in posts:
            sc.expect(poster.do("semop", s, ((0, n, 0),)), Value(0))
            value += n
            if waiting:
                enough = value >= need
                sc.expect_event(waiter, Value(0) if enough else BLOCKED,
                                f"the value reached {value}, {'enough' if enough else 'not enough'} "
                                f"for {need}")
                if enough:
                    value, waiting = value - need, False
        sc.expect(poster.do("semctl", s, 0, GETVAL), Value(value), "the waiter took exactly its amount")
        sc.expect(poster.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.wait-for-zero",
    "An operation of 0 on a non-zero semaphore sleeps until the value becomes 0, however many "
    "steps that takes, then returns 0.",
    sources=[WAIT_ZERO,
             ("semop(2)", "This is a \"wait-for-zero\" operation: if semval is zero, the operation can "
                          "immediately proceed.")],
)
@given(start=st.integers(1, 4))
@example(start=2)
def test_zero_waits_until_zero(new_scenario, keys, start):
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        s = _new_set(owner, keys)
        owner.call("semctl", s, 0, SETVAL, start)
        waiter = owner.fork("waiter")
        sc.expect(waiter.do("semop", s, ((0, 0, 0),)), BLOCKED, f"the value is {start}")
        for value in range(start - 1, -1, -1):
            sc.expect(owner.do("semop", s, ((0, -1, 0),)), Value(0))
            sc.expect_event(waiter, Value(0) if value == 0 else BLOCKED, f"the value is now {value}")
        sc.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.getncnt-counts-waiters",
    "GETNCNT is the number of processes asleep waiting for the semaphore's value to increase; it "
    "drops as they are woken.",
    sources=[
        WAIT_DECREMENT,
        ("semctl(2)", "GETNCNT Return the semncnt value for the semnum-th semaphore of the set (i.e., "
                      "the number of processes waiting for the semaphore's value to increase)."),
    ],
)
@given(waiters=st.integers(1, 3))
def test_getncnt_counts_sleepers(new_scenario, keys, waiters):
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        s = _new_set(owner, keys)
        sc.expect(owner.do("semctl", s, 0, GETNCNT), Value(0), "nobody waits yet")
        for i in range(waiters):
            w = owner.fork(f"w{i}")
            sc.expect(w.do("semop", s, ((0, -1, 0),)), BLOCKED)
            sc.expect(owner.do("semctl", s, 0, GETNCNT), Value(i + 1), f"{i + 1} asleep in a decrement")
        sc.expect(owner.do("semctl", s, 0, GETZCNT), Value(0), "none of them waits for zero")
        for left in range(waiters - 1, -1, -1):
            owner.call("semop", s, ((0, 1, 0),))
            sc.expect(owner.do("semctl", s, 0, GETNCNT), Value(left), "one of them was woken")
        sc.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.getzcnt-counts-waiters",
    "GETZCNT is the number of processes asleep waiting for the semaphore to become 0; all of them "
    "are woken, and the count drops to 0, when it does.",
    sources=[
        WAIT_ZERO,
        ("semctl(2)", "GETZCNT Return the semzcnt value for the semnum-th semaphore of the set (i.e., "
                      "the number of processes waiting for the semaphore value to become 0)."),
    ],
)
@given(waiters=st.integers(1, 3))
def test_getzcnt_counts_sleepers(new_scenario, keys, waiters):
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        s = _new_set(owner, keys)
        owner.call("semctl", s, 0, SETVAL, 1)
        sleepers = []
        for i in range(waiters):
            sleepers.append(owner.fork(f"z{i}"))
            sc.expect(sleepers[-1].do("semop", s, ((0, 0, 0),)), BLOCKED)
            sc.expect(owner.do("semctl", s, 0, GETZCNT), Value(i + 1), f"{i + 1} asleep waiting for 0")
        sc.expect(owner.do("semctl", s, 0, GETNCNT), Value(0), "none of them waits for an increase")
        owner.call("semop", s, ((0, -1, 0),))
        for z in sleepers:
            sc.expect_event(z, Value(0), "the value became 0: every zero-waiter proceeds")
        sc.expect(owner.do("semctl", s, 0, GETZCNT), Value(0))
        sc.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.wake-fifo",
    "When several processes wait to decrement a semaphore and the value allows only one of them "
    "to proceed, the one that started waiting first proceeds (Linux serves waiters in FIFO order).",
    sources=[FIFO, WAIT_DECREMENT],
)
@given(waiters=st.integers(2, 4))
@example(waiters=3)
def test_waiters_proceed_in_arrival_order(new_scenario, keys, waiters):
    with new_scenario() as sc:
        poster = sc.spawn("poster")
        s = _new_set(poster, keys)
        queue = [poster.fork(f"w{i}") for i in range(waiters)]
        for w in queue:
            sc.expect(w.do("semop", s, ((0, -1, 0),)), BLOCKED, f"{w.name} joins the wait")
        for turn, first in enumerate(queue):
            sc.expect(poster.do("semop", s, ((0, 1, 0),)), Value(0), "one unit: one waiter can go")
            sc.expect_event(first, Value(0), f"{first.name} has waited longest")
            for later in queue[turn + 1:]:
                sc.expect_event(later, BLOCKED, f"{later.name} came after {first.name}")
        sc.expect(poster.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.wake-no-head-of-line",
    "A waiter whose decrement still cannot proceed does not hold back a later waiter whose smaller "
    "decrement can: Linux's order is FIFO among those that can go, without starvation protection.",
    sources=[FIFO, WAIT_DECREMENT],
)
@given(big=st.integers(2, 5))
def test_small_request_overtakes_big_one(new_scenario, keys, big):
    with new_scenario() as sc:
        poster = sc.spawn("poster")
        s = _new_set(poster, keys)
        greedy = poster.fork("greedy")
        modest = poster.fork("modest")
        sc.expect(greedy.do("semop", s, ((0, -big, 0),)), BLOCKED, "first in line, wants a lot")
        sc.expect(modest.do("semop", s, ((0, -1, 0),)), BLOCKED, "second in line, wants 1")
        sc.expect(poster.do("semop", s, ((0, 1, 0),)), Value(0))
        sc.expect_event(modest, Value(0), f"1 unit: enough for modest, not for greedy's {big}")
        sc.expect_event(greedy, BLOCKED, "greedy still waits")
        sc.expect(poster.do("semop", s, ((0, big, 0),)), Value(0))
        sc.expect_event(greedy, Value(0), "now greedy can go")
        sc.expect(poster.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.rmid-wakes-eidrm",
    "IPC_RMID removes the set at once and wakes every process asleep in semop on it, those waiting "
    "for an increase and those waiting for zero; each call fails with EIDRM.",
    sources=[
        ("semctl(2)", "IPC_RMID Immediately remove the semaphore set, awakening all processes blocked in "
                      "semop(2) calls on the set (with an error return and errno set to EIDRM)."),
        ("semop(2)", "The semaphore set is removed from the system: semop() fails, with errno set to "
                     "EIDRM."),
        ("seed L08", "Common control commands: `IPC_STAT` reads the object's data structure, `IPC_SET` "
                     "sets it, `IPC_RMID` removes the object."),
    ],
    supports={"L08": "semctl(IPC_RMID) removes the set at once, even with processes waiting on it"},
)
def test_rmid_wakes_every_waiter(scenario, keys):
    owner = scenario.spawn("owner")
    s = _new_set(owner, keys)
    owner.call("semctl", s, 0, SETVAL, 1)
    decrementer = owner.fork("decrementer")
    zero_waiter = owner.fork("zero_waiter")
    scenario.expect(decrementer.do("semop", s, ((0, -2, 0),)), BLOCKED, "the value is 1, not 2")
    scenario.expect(zero_waiter.do("semop", s, ((0, 0, 0),)), BLOCKED, "the value is 1, not 0")
    scenario.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))
    scenario.expect_event(decrementer, Errno("EIDRM"), "the set it waited on is gone")
    scenario.expect_event(zero_waiter, Errno("EIDRM"), "the set it waited on is gone")


@spec(
    "sysv.sem.semtimedop-timeout",
    "semtimedop sleeps no longer than its timeout: when the time runs out before the operation can "
    "proceed, it fails with EAGAIN, having waited at least the timeout, and changes nothing.",
    sources=[("semop(2)", "If the specified time limit has been reached, semtimedop() fails with errno set "
                          "to EAGAIN (and none of the operations in sops is performed).")],
)
def test_semtimedop_times_out(scenario, keys):
    owner = scenario.spawn("owner")
    s = _new_set(owner, keys, nsems=2)
    waiter = owner.fork("waiter")
    started = time.monotonic()
    out = waiter.do("semtimedop", s, ((1, 1, 0), (0, -1, 0)), TIMEOUT_NS)
    if out == BLOCKED:  # seen asleep before the 50 ms ran out: wait for the call to end
        out = waiter.finish()
    waited = time.monotonic() - started
    scenario.expect(out, Errno("EAGAIN"), "nobody raised semaphore 0 within 50 ms")
    scenario.expect(Value(waited >= TIMEOUT_NS / 1e9), Value(True),
                    f"the call returned after {waited * 1000:.1f} ms, not after the timeout")
    scenario.expect(owner.do("semctl", s, 1, GETVAL), Value(0), "the array's increment did not happen")
    scenario.expect(owner.do("semctl", s, 0, GETNCNT), Value(0), "the waiter no longer waits")
    scenario.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.semtimedop-proceeds-in-time",
    "semtimedop whose operation becomes possible before its timeout proceeds then and returns 0, "
    "like semop.",
    sources=[("semop(2)", "semtimedop() behaves identically to semop() except that in those cases where "
                          "the calling thread would sleep, the duration of that sleep is limited by the "
                          "amount of elapsed time specified by the timespec structure whose address is "
                          "passed in the timeout argument.")],
)
def test_semtimedop_proceeds_before_timeout(scenario, keys):
    owner = scenario.spawn("owner")
    s = _new_set(owner, keys)
    waiter = owner.fork("waiter")
    scenario.expect(waiter.do("semtimedop", s, ((0, -1, 0),), 60 * 10**9), BLOCKED,
                    "a minute to wait for a unit")
    scenario.expect(owner.do("semop", s, ((0, 1, 0),)), Value(0))
    scenario.expect_event(waiter, Value(0), "the unit arrived long before the timeout")
    scenario.expect(owner.do("semctl", s, 0, GETVAL), Value(0))
    scenario.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))
