"""semget and the size of a set: nsems when creating, and when opening.

A semaphore set has a fixed number of semaphores, ``nsems``, chosen by
the ``semget`` that creates it: at least one. A later ``semget`` of the
same key names the existing set, and its ``nsems`` is only a check — any
number up to the set's size is accepted, 0 included ("don't care"), and a
larger one is refused with EINVAL rather than growing the set. The new
semaphores start at 0 on Linux, although POSIX leaves them indeterminate.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import GETVAL, IPC_CREAT, IPC_RMID
from conformance.clauses import spec
from conformance.outcome import Errno, Value

L05_TEXT = ("Create/open with msgget/semget/shmget; control/remove with msgctl/semctl/shmctl; operate "
            "with msgsnd/msgrcv, semop, shmat/shmdt.")
DONT_CARE = ("semget(2)", "The argument nsems can be 0 (a don't care) when a semaphore set is not being "
                          "created. Otherwise, nsems must be greater than 0 and less than or equal to the "
                          "maximum number of semaphores per semaphore set (SEMMSL).")
SIZES = st.integers(1, 5)


def _nsems(actor, s):
    """The set's size as IPC_STAT reports it (or the failed outcome)."""
    out = actor.do("semctl_stat", s)
    return Value(out.detail["nsems"]) if out.ok else out


@spec(
    "sysv.sem.open-with-fewer-nsems",
    "semget of an existing set's key accepts any nsems from 0 up to the set's size, with or without "
    "IPC_CREAT, and returns the set's id; the set keeps its size.",
    sources=[DONT_CARE,
             ("semget(2)", "It may be used either to obtain the identifier of a previously created "
                           "semaphore set (when semflg is zero and key does not have the value "
                           "IPC_PRIVATE), or to create a new set."),
             ("seed L05", L05_TEXT)],
    supports={"L05": "semget opens an existing set as well as creating one"},
)
@given(size=SIZES, asked=st.integers(0, 5), flags=st.sampled_from([0, IPC_CREAT]))
@example(size=3, asked=0, flags=0)
@example(size=3, asked=1, flags=0)
def test_open_with_any_smaller_nsems(new_scenario, keys, size, asked, flags):
    asked = min(asked, size)
    key = keys.new()
    with new_scenario() as sc:
        creator = sc.spawn("creator")
        s = creator.call("semget", key, size, IPC_CREAT | 0o600)
        opener = sc.spawn("opener")
        sc.expect(opener.do("semget", key, asked, flags), Value(s), f"nsems {asked} of a set of {size}")
        sc.expect(_nsems(opener, s), Value(size), "the set keeps its size")
        sc.expect(creator.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.open-with-more-nsems-einval",
    "semget of an existing set's key with nsems larger than the set fails with EINVAL, with or "
    "without IPC_CREAT: an existing set is never grown, nor replaced.",
    sources=[("semget(2)", "EINVAL A semaphore set corresponding to key already exists, but nsems is "
                           "larger than the number of semaphores in that set.")],
)
@given(size=SIZES, extra=st.integers(1, 3), flags=st.sampled_from([0, IPC_CREAT]))
def test_open_with_more_nsems_fails(new_scenario, keys, size, extra, flags):
    key = keys.new()
    with new_scenario() as sc:
        a = sc.spawn("a")
        s = a.call("semget", key, size, IPC_CREAT | 0o600)
        sc.expect(a.do("semget", key, size + extra, flags), Errno("EINVAL"),
                  f"nsems {size + extra} of a set of {size}")
        sc.expect(_nsems(a, s), Value(size), "the set was not grown")
        sc.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))


@spec(
    "sysv.sem.create-zero-nsems-einval",
    "semget that would create a set of 0 semaphores fails with EINVAL (and creates nothing): 0 is a "
    "\"don't care\" only when opening an existing set.",
    sources=[DONT_CARE,
             ("semget(2)", "EINVAL nsems is less than 0 or greater than the limit on the number of "
                           "semaphores per semaphore set (SEMMSL).")],
)
def test_create_with_zero_nsems_fails(scenario, keys):
    key = keys.new()
    a = scenario.spawn("a")
    scenario.expect(a.do("semget", key, 0, IPC_CREAT | 0o600), Errno("EINVAL"))
    scenario.expect(a.do("semget", key, 0, 0), Errno("ENOENT"), "no set was created")


@spec(
    "sysv.sem.new-values-zero",
    "The semaphores of a new set start at 0 on Linux (POSIX leaves them indeterminate).",
    sources=[("semget(2)", "Although Linux, like many other implementations, initializes the semaphore "
                           "values to 0, a portable application cannot rely on this: it should explicitly "
                           "initialize the semaphores to the desired values.")],
)
@given(nsems=SIZES)
def test_new_semaphores_are_zero(new_scenario, keys, nsems):
    with new_scenario() as sc:
        a = sc.spawn("a")
        s = a.call("semget", keys.new(), nsems, IPC_CREAT | 0o600)
        for num in range(nsems):
            sc.expect(a.do("semctl", s, num, GETVAL), Value(0), f"semaphore {num} of a new set")
        sc.expect(a.do("semctl", s, 0, IPC_RMID), Value(0))
