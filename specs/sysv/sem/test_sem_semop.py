"""What one semop call does: an array of operations, applied in order, all or nothing.

A System V semaphore set is an array of counters, and ``semop`` takes an
array of operations on them: ``(sem_num, sem_op, sem_flg)``. A positive
``sem_op`` adds to the counter, a negative one subtracts if the counter is
large enough (otherwise it must wait), and zero waits for the counter to be
0. The whole array is one atomic step: the operations are tried in array
order on the values as the earlier ones left them, and either every one of
them takes effect or none does. With ``IPC_NOWAIT`` an array that would
have to wait fails at once with EAGAIN — and changes nothing.

These specs use ``IPC_NOWAIT`` throughout, so every call returns and the
outcome of any array can be predicted by a few lines of arithmetic
(:func:`apply`). The waiting itself is the subject of ``test_sem_wait.py``.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import GETALL, GETVAL, IPC_CREAT, IPC_NOWAIT, IPC_RMID, SETALL, SETVAL
from conformance.clauses import spec
from conformance.outcome import Errno, Value

#: the largest value a semaphore can hold on Linux (SEMVMX)
SEMVMX = 32767

L03_TEXT = "A semaphore carries no data; it synchronizes access to shared resources."
L05_TEXT = ("Create/open with msgget/semget/shmget; control/remove with msgctl/semctl/shmctl; operate "
            "with msgsnd/msgrcv, semop, shmat/shmdt.")
ATOMIC = ("semop(2)", "The set of operations contained in sops is performed in array order, and "
                      "atomically, that is, the operations are performed either as a complete unit, or "
                      "not at all.")
NOWAIT_DECREMENT = ("semop(2)", "If the absolute value of sem_op is greater than semval, and IPC_NOWAIT "
                                "is specified in sem_flg, semop() fails, with errno set to EAGAIN (and "
                                "none of the operations in sops is performed).")
NOWAIT_ZERO = ("semop(2)", "Otherwise, if IPC_NOWAIT is specified in sem_flg, semop() fails with errno "
                           "set to EAGAIN (and none of the operations in sops is performed).")

Sop = tuple[int, int]


def apply(values: list[int], sops: list[Sop]) -> list[int] | None:
    """The values after ``sops`` (sem_num, sem_op), or None if the array would have to wait.

    Each operation sees the values the operations before it in the array
    left: this is what "performed in array order" means. An operation
    that cannot proceed (a decrement below zero, a wait for zero on a
    non-zero value) stops the whole array.
    """
    after = list(values)
    for num, op in sops:
        if (op == 0 and after[num] != 0) or after[num] + op < 0:
            return None
        after[num] += op
    return after


def nowait(sops: list[Sop]) -> tuple[tuple[int, int, int], ...]:
    """The sembuf array for semop: every operation with IPC_NOWAIT."""
    return tuple((num, op, IPC_NOWAIT) for num, op in sops)


NSEMS = 3
SOPS = st.lists(st.tuples(st.integers(0, NSEMS - 1), st.integers(-4, 4)), min_size=1, max_size=5)


@spec(
    "sysv.sem.semop-all-or-nothing",
    "A semop array that cannot complete changes nothing: with IPC_NOWAIT it fails with EAGAIN and "
    "every semaphore keeps its value, even those that earlier operations of the array could have "
    "changed; an array that can complete changes every semaphore it names.",
    sources=[ATOMIC, NOWAIT_DECREMENT, NOWAIT_ZERO, ("seed L05", L05_TEXT)],
    supports={"L05": "semop operates on a set made with semget and read with semctl"},
)
@given(initial=st.lists(st.integers(0, 4), min_size=NSEMS, max_size=NSEMS), sops=SOPS)
@example(initial=[1, 0, 0], sops=[(0, -1), (1, -1)])  # the first could, the second cannot
@example(initial=[0, 0, 2], sops=[(2, -1), (0, 1), (1, 0), (0, 0)])
def test_array_is_all_or_nothing(new_scenario, keys, initial, sops):
    after = apply(initial, sops)
    with new_scenario() as sc:
        a = sc.spawn("a")
        s = a.call("semget", keys.new(), NSEMS, IPC_CREAT | 0o600)
        a.call("semctl", s, 0, SETALL, tuple(initial))
        sc.expect(a.do("semop", s, nowait(sops)), Value(0) if after else Errno("EAGAIN"),
                  f"{sops} on {initial}")
        sc.expect(a.do("semctl", s, 0, GETALL), Value(tuple(after or initial)),
                  "all of the array took effect" if after else "none of the array took effect")
        sc.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.semop-array-order",
    "The operations of one semop array are performed in array order, each on the value the ones "
    "before it left: on a semaphore at 0, [+1, -1] succeeds and [-1, +1] cannot proceed; "
    "[wait-for-zero, +1] takes the semaphore from 0 to 1 in one step.",
    sources=[
        ATOMIC,
        ("semop(2)", "The following code segment uses semop() to atomically wait for the value of "
                     "semaphore 0 to become zero, and then increment the semaphore value by one."),
        ("Linux ipc/sem.c", "multiple semaphore operations that alter the same semaphore in one semop() "
                            "are handled."),
    ],
)
def test_array_runs_in_order(scenario, keys):
    a = scenario.spawn("a")
    s = a.call("semget", keys.new(), 1, IPC_CREAT | 0o600)
    scenario.expect(a.do("semop", s, nowait([(0, 1), (0, -1)])), Value(0),
                    "the decrement sees the increment before it")
    scenario.expect(a.do("semctl", s, 0, GETVAL), Value(0))
    scenario.expect(a.do("semop", s, nowait([(0, -1), (0, 1)])), Errno("EAGAIN"),
                    "the decrement comes first, on 0, and cannot proceed")
    scenario.expect(a.do("semop", s, nowait([(0, 0), (0, 1)])), Value(0),
                    "wait-for-zero on 0 proceeds, then the increment")
    scenario.expect(a.do("semctl", s, 0, GETVAL), Value(1))
    scenario.expect(a.do("semop", s, nowait([(0, 0), (0, 1)])), Errno("EAGAIN"),
                    "now the semaphore is 1: the wait-for-zero cannot proceed")
    scenario.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.nowait-eagain",
    "An operation that would have to wait — a decrement below zero, or a wait for zero on a "
    "non-zero semaphore — fails at once with EAGAIN when it carries IPC_NOWAIT; it does not sleep.",
    sources=[NOWAIT_DECREMENT, NOWAIT_ZERO,
             ("semop(2)", "EAGAIN An operation could not proceed immediately and either IPC_NOWAIT was "
                          "specified in sem_flg or the time limit specified in timeout expired.")],
)
def test_nowait_fails_instead_of_waiting(scenario, keys):
    owner = scenario.spawn("owner")
    s = owner.call("semget", keys.new(), 1, IPC_CREAT | 0o600)
    owner.call("semctl", s, 0, SETVAL, 1)
    decrementer = owner.fork("decrementer")
    zero_waiter = owner.fork("zero_waiter")
    scenario.expect(decrementer.do("semop", s, ((0, -2, IPC_NOWAIT),)), Errno("EAGAIN"),
                    "the value is 1: a decrement by 2 would wait")
    scenario.expect(zero_waiter.do("semop", s, ((0, 0, IPC_NOWAIT),)), Errno("EAGAIN"),
                    "the value is 1: a wait for zero would wait")
    scenario.expect(owner.do("semctl", s, 0, GETVAL), Value(1), "nothing changed")
    scenario.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.semnum-out-of-range-efbig",
    "An operation on a semaphore number the set does not have (sem_num >= nsems) fails with EFBIG.",
    sources=[("semop(2)", "EFBIG For some operation the value of sem_num is less than 0 or greater than "
                          "or equal to the number of semaphores in the set.")],
)
@given(nsems=st.integers(1, 4), beyond=st.integers(0, 3))
def test_semnum_out_of_range(new_scenario, keys, nsems, beyond):
    with new_scenario() as sc:
        a = sc.spawn("a")
        s = a.call("semget", keys.new(), nsems, IPC_CREAT | 0o600)
        sc.expect(a.do("semop", s, ((nsems + beyond, 1, IPC_NOWAIT),)), Errno("EFBIG"),
                  f"semaphore {nsems + beyond} of a set of {nsems}")
        sc.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.semop-erange",
    "An operation that would take a semaphore above SEMVMX (32767 on Linux) fails with ERANGE and "
    "leaves the value as it was.",
    sources=[
        ("semop(2)", "ERANGE For some operation sem_op+semval is greater than SEMVMX, the implementation "
                     "dependent maximum value for semval."),
        ("semop(2)", "SEMVMX Maximum allowable value for semval: implementation dependent (32767)."),
    ],
)
@given(value=st.integers(0, SEMVMX), op=st.integers(1, SEMVMX))
@example(value=SEMVMX, op=1)
@example(value=SEMVMX - 1, op=1)
def test_increment_past_semvmx(new_scenario, keys, value, op):
    fits = value + op <= SEMVMX
    with new_scenario() as sc:
        a = sc.spawn("a")
        s = a.call("semget", keys.new(), 1, IPC_CREAT | 0o600)
        a.call("semctl", s, 0, SETVAL, value)
        sc.expect(a.do("semop", s, ((0, op, IPC_NOWAIT),)), Value(0) if fits else Errno("ERANGE"),
                  f"{value} + {op} {'<=' if fits else '>'} SEMVMX")
        sc.expect(a.do("semctl", s, 0, GETVAL), Value(value + op if fits else value))
        sc.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.only-a-counter",
    "A semaphore carries a count and nothing else: the increments of any processes add up into one "
    "value, a decrement takes any part of it however it was put there, and every operation returns "
    "only 0 — no data passes from the processes that post to those that take.",
    sources=[
        ("semop(2)", "If sem_op is a positive integer, the operation adds this value to the semaphore "
                     "value (semval)."),
        ("semop(2)", "If semval is greater than or equal to the absolute value of sem_op, the operation "
                     "can proceed immediately: the absolute value of sem_op is subtracted from semval"),
        ("semop(2)", "On success, semop() and semtimedop() return 0."),
        ("sysvipc(7)", "System V semaphores allow processes to synchronize their actions. System V "
                       "semaphores are allocated in groups called sets; each semaphore in a set is a "
                       "counting semaphore."),
        ("seed L03", L03_TEXT),
    ],
    supports={"L03": "what one process leaves for another in a semaphore is a number: posts merge into "
                     "one count that is taken in any pieces, and no call returns data"},
)
@given(posts=st.lists(st.tuples(st.sampled_from(["p1", "p2"]), st.integers(1, 5)), min_size=1, max_size=5),
       takes=st.lists(st.integers(1, 5), max_size=5))
@example(posts=[("p1", 1), ("p2", 1)], takes=[])
@example(posts=[("p1", 3)], takes=[1, 1])
def test_posts_merge_into_a_count(new_scenario, keys, posts, takes):
    total = sum(n for _who, n in posts)
    pieces = _split(total, takes)
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        s = owner.call("semget", keys.new(), 1, IPC_CREAT | 0o600)
        actors = {name: owner.fork(name) for name in ("p1", "p2", "taker")}
        for who, n in posts:
            sc.expect(actors[who].do("semop", s, ((0, n, IPC_NOWAIT),)), Value(0), f"{who} posts {n}")
        sc.expect(owner.do("semctl", s, 0, GETVAL), Value(total), f"the posts {posts} add up")
        left = total
        for n in pieces:
            sc.expect(actors["taker"].do("semop", s, ((0, -n, IPC_NOWAIT),)), Value(0),
                      f"taking {n} of {left}, whoever posted it")
            left -= n
        sc.expect(actors["taker"].do("semop", s, ((0, -1, IPC_NOWAIT),)), Errno("EAGAIN"),
                  "everything posted was taken: nothing else is left in the semaphore")
        sc.expect(owner.do("semctl", s, 0, IPC_RMID), Value(0))


def _split(total: int, takes: list[int]) -> list[int]:
    """``total`` cut into the pieces ``takes`` asks for, the last piece taking what is left."""
    pieces = []
    for n in takes:
        n = min(n, total - sum(pieces))
        if n == 0:
            break
        pieces.append(n)
    if sum(pieces) < total:
        pieces.append(total - sum(pieces))
    return pieces
