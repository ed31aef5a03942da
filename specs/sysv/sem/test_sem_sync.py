"""A semaphore as a lock: it orders processes, so their updates to shared data are not lost.

The seed's slides say a semaphore exists to synchronize access to shared
resources (L03) and that shared memory needs such a mechanism beside it
(L04). The classic case is a counter in shared memory that several
processes increment: each reads the counter, adds one, and writes it back.
Without a lock, two processes can read the same value and one increment
is lost. With a semaphore of value 1 taken (``-1``) before the read and
given back (``+1``) after the write, a second process that tries to take
it sleeps until the first is done — whatever the order in which the
processes happen to run.

The spec below lets Hypothesis choose that order: a schedule picks, step
by step, which process moves next. The harness runs each step in turn, so
every interleaving is reproducible.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import IPC_CREAT, IPC_RMID, SETVAL
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Value

L03_TEXT = "A semaphore carries no data; it synchronizes access to shared resources."
L04_TEXT = "Shared memory needs a separate synchronization mechanism such as a semaphore."
#: the steps of one increment: take the lock, read, write back one more, give the lock back
STEPS = ("lock", "read", "write", "unlock")
COUNTER = 8  # bytes of the counter at the start of the segment


def _number(data: bytes) -> int:
    return int.from_bytes(data, "little")


@spec(
    "sysv.sem.mutual-exclusion",
    "A semaphore of value 1 taken before and given back after a read-modify-write of shared memory "
    "lets one process at a time through: another that tries to take it sleeps until it is given "
    "back, and however the processes interleave, no increment of the shared counter is lost.",
    sources=[
        ("sysvipc(7)", "System V semaphores allow processes to synchronize their actions."),
        ("semop(2)", "If the absolute value of sem_op is greater than semval, and IPC_NOWAIT is specified "
                     "in sem_flg, semop() fails, with errno set to EAGAIN (and none of the operations in "
                     "sops is performed).  Otherwise, semncnt (the counter of threads waiting for this "
                     "semaphore's value to increase) is incremented by one and the thread sleeps"),
        ("shmop(2), EXAMPLES", "It attaches the shared memory segment into its address space, and then "
                               "decrements the semaphore value to 0 in order to inform the \"reader\" that "
                               "it can now examine the contents of the shared memory."),
        ("seed L03", L03_TEXT),
        ("seed L04", L04_TEXT),
    ],
    supports={
        "L03": "the semaphore synchronizes access to the shared counter: one process at a time",
        "L04": "with a semaphore beside it, shared memory keeps every increment (compare "
               "sysv.shm.torn-read: without one, nothing orders the processes)",
    },
)
@given(workers=st.integers(2, 3), schedule=st.lists(st.integers(0, 2), max_size=30))
@example(workers=2, schedule=[0, 1, 0, 1, 0, 1, 0, 1])
def test_semaphore_keeps_every_increment(new_scenario, keys, workers, schedule):
    with new_scenario() as sc:
        owner = sc.spawn("owner")
        lock = owner.call("semget", keys.new(), 1, IPC_CREAT | 0o600)
        owner.call("semctl", lock, 0, SETVAL, 1)
        segment = owner.call("shmget", keys.new(), COUNTER, IPC_CREAT | 0o600)
        counter = owner.call("shmat", segment, 0)
        crew = [owner.fork(f"w{i}") for i in range(workers)]  # each inherits the attachment
        owner.call("shmdt", counter)
        owner.call("shmctl_rmid", segment)  # gone once the workers are
        progress = {w.name: 0 for w in crew}
        seen: dict[str, int] = {}
        holder: str | None = None
        waiting: list = []
        picks = iter(schedule)
        while True:
            ready = [w for w in crew if progress[w.name] < len(STEPS) and w not in waiting]
            if not ready:
                break
            w = ready[next(picks, 0) % len(ready)]
            step = STEPS[progress[w.name]]
            if step == "lock":
                out = w.do("semop", lock, ((0, -1, 0),))
                if holder is None:
                    sc.expect(out, Value(0), "the lock is free")
                    holder = w.name
                    progress[w.name] += 1
                else:
                    sc.expect(out, BLOCKED, f"{holder} holds the lock")
                    waiting.append(w)
            elif step == "read":
                seen[w.name] = _number(w.call("shm_read", counter, 0, COUNTER))
                progress[w.name] += 1
            elif step == "write":
                w.call("shm_write", counter, 0, (seen[w.name] + 1).to_bytes(COUNTER, "little"))
                progress[w.name] += 1
            else:
                sc.expect(w.do("semop", lock, ((0, 1, 0),)), Value(0))
                progress[w.name] += 1
                holder = None
                woken = [x for x in waiting if not x.blocked]
                sc.expect(Value(len(woken)), Value(1 if waiting else 0),
                          "giving the lock back lets exactly one sleeper take it")
                for x in woken:
                    sc.expect_event(x, Value(0))
                    waiting.remove(x)
                    holder = x.name
                    progress[x.name] += 1
        sc.expect(Value(_number(crew[0].call("shm_read", counter, 0, COUNTER))), Value(workers),
                  f"{workers} increments under the lock, none lost")
        sc.expect(owner.do("semctl", lock, 0, IPC_RMID), Value(0))
