"""Semaphore sets with several actors: sleepers, their order, SEM_UNDO at exit, timeouts.

Sleeping semops are completed by the process that made them possible, in
the order of ``update_queue`` - per-semaphore queues while only single
operations sleep, one global queue once an array sleeps. The scripts below
pin the observable consequences; the random walk mixes them all.
"""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import (
    GETALL,
    GETNCNT,
    GETPID,
    GETVAL,
    GETZCNT,
    IPC_NOWAIT,
    IPC_PRIVATE,
    IPC_RMID,
    SEM_UNDO,
    SETALL,
    SETVAL,
)
from conformance.harness.zygote import ZygoteClient
from conformance.outcome import BLOCKED, Errno, Value

from .twin import SysVTwin


def _set(t: SysVTwin, nsems: int) -> int:
    return int(t.step("a", "semget", IPC_PRIVATE, nsems, 0o600).detail)


def _counts(t: SysVTwin, s: int, nsems: int) -> None:
    for num in range(nsems):
        t.step("a", "semctl", s, num, GETNCNT)
        t.step("a", "semctl", s, num, GETZCNT)


def test_fifo_without_head_of_line_blocking(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a")
        s = _set(t, 1)
        for name, need in (("w1", 3), ("w2", 1), ("w3", 2), ("w4", 1)):
            t.step("a", "fork", name)
            assert t.step(name, "semop", s, ((0, -need, 0),)) == BLOCKED
        _counts(t, s, 1)
        t.step("a", "semop", s, ((0, 2, 0),))    # w1 cannot; w2 can, then w3 cannot, w4 can
        t.step("a", "semctl", s, 0, GETVAL)
        t.step("a", "semop", s, ((0, 3, 0),))    # w1 first now
        _counts(t, s, 1)
        t.step("a", "semctl", s, 0, GETPID)
        t.step("a", "semctl", s, 0, IPC_RMID)    # w3: EIDRM


def test_complex_sleepers_and_the_blocking_operation(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a")
        s = _set(t, 2)
        for name in ("w1", "w2", "w3", "z1", "z2"):
            t.step("a", "fork", name)
        t.step("w1", "semop", s, ((0, -1, 0),))               # per-semaphore queue
        t.step("w2", "semop", s, ((0, -1, 0), (1, -1, 0)))    # an array: the global queue
        t.step("w3", "semop", s, ((1, -1, 0),))               # single, but queued globally now
        t.step("z1", "semop", s, ((0, 1, 0), (0, 0, 0)))      # sleeps waiting for zero after +1
        _counts(t, s, 2)
        t.step("a", "semop", s, ((0, 1, 0), (1, 1, 0)))       # w1 then w3 proceed; w2 keeps waiting
        _counts(t, s, 2)
        t.step("a", "semctl", s, 0, SETVAL, 1)                # w2 passes sem 0, now stuck on sem 1
        _counts(t, s, 2)
        t.step("z2", "semop", s, ((0, 0, 0), (1, 0, 0)))      # a wait for zero of both: sleeps
        t.step("a", "semctl", s, 0, SETALL, (0, 1))           # w2 done; z1 done; z2 done
        t.step("a", "semctl", s, 0, GETALL)
        t.step("a", "semctl", s, 1, GETPID)
        t.step("a", "semctl_stat", s)


def test_undo_at_exit_kill_fork_and_exec(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a")
        s = _set(t, 2)
        t.step("a", "fork", "u")
        t.step("u", "semop", s, ((0, 2, SEM_UNDO), (1, 3, SEM_UNDO)))
        t.step("u", "fork", "child")                          # inherits no adjustments
        t.step("child", "exit", 0)
        t.step("a", "semop", s, ((0, -1, 0),))                # others take some: the undo clamps
        t.step("u", "exec_self")                              # adjustments survive exec
        t.step("a", "fork", "waiter")
        t.step("waiter", "semop", s, ((1, -5, 0),))           # sleeps until... never: EIDRM later
        t.step("u", "exit", 0)                                # sem 0 clamps at 0, sem 1 back to 0
        t.step("a", "semctl", s, 0, GETALL)
        t.step("a", "semctl", s, 0, GETPID)
        t.step("a", "fork", "k")
        t.step("k", "semop", s, ((1, 5, SEM_UNDO),))          # wakes waiter
        t.step("a", "semop", s, ((1, 5, 0),))
        t.step("a", "fork", "z")
        t.step("z", "semop", s, ((1, 0, 0),))                 # waits for zero
        t.step("a", "kill", ActorRef("k"), signal.SIGKILL)    # undo -5 reaches 0: z proceeds
        t.step("a", "semctl", s, 1, GETVAL)


def test_failed_undo_semop_still_sets_otime_at_exit(zygote: ZygoteClient) -> None:
    """find_alloc_undo runs before the checks: the structure exists, and exit 'applies' it."""
    with SysVTwin(zygote) as t:
        t.spawn("a")
        s = _set(t, 1)
        t.step("a", "fork", "f")
        assert t.step("f", "semop", s, ((0, -1, SEM_UNDO | IPC_NOWAIT),)) == Errno("EAGAIN")
        assert t.step("a", "semctl_stat", s).detail["otime"] is False
        t.step("f", "exit", 0)
        assert t.step("a", "semctl_stat", s).detail["otime"] is True
        t.step("a", "semctl", s, 0, GETPID)


def test_setval_clears_undo_and_wakes(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a")
        s = _set(t, 1)
        t.step("a", "fork", "u")
        t.step("a", "fork", "z")
        t.step("u", "semop", s, ((0, 4, SEM_UNDO),))
        t.step("z", "semop", s, ((0, 0, 0),))
        t.step("a", "semctl", s, 0, SETVAL, 0)               # z proceeds; u's adjustment is gone
        t.step("u", "exit", 0)
        t.step("a", "semctl", s, 0, GETVAL)
        t.step("a", "semctl", s, 0, GETPID)


def test_semtimedop_times_out_or_proceeds(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a", "b")
        s = _set(t, 1)
        assert t.step("b", "semtimedop", s, ((0, -1, 0),), 30_000_000) == BLOCKED
        assert t.finish("b") == Errno("EAGAIN")
        t.step("a", "semctl", s, 0, GETNCNT)
        assert t.step("b", "semtimedop", s, ((0, -1, 0),), 10**10) == BLOCKED
        t.step("a", "semop", s, ((0, 1, 0),))                # b proceeds long before its timeout
        assert t.step("b", "semtimedop", s, ((0, -1, 0),), 0) == Errno("EAGAIN")


#: (which awake actor, what, semaphore, amount, flags)
SEM_STEPS = st.tuples(st.integers(0, 3), st.integers(0, 11), st.integers(0, 1), st.integers(-2, 2),
                      st.sampled_from([0, 0, 0, SEM_UNDO, IPC_NOWAIT]))


@pytest.mark.skipif(os.geteuid() != 0, reason="actors signal each other as root")
@given(walk=st.lists(SEM_STEPS, min_size=4, max_size=30))
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_random_walk(zygote: ZygoteClient, walk: list[tuple[int, int, int, int, int]]) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a", "admin")  # admin never sleeps
        s = _set(t, 2)
        actors = ["a"]
        for name in ("b", "c", "d"):
            t.step("a", "fork", name)
            actors.append(name)
        for which, choice, num, amount, flags in walk:
            awake = [n for n in actors if n in t.model.alive() - t.model.blocked()]
            if not awake:
                break
            actor = awake[which % len(awake)]
            if choice < 5:
                t.step(actor, "semop", s, ((num, amount, flags),))
            elif choice < 7:
                t.step(actor, "semop", s, ((num, amount, flags), (1 - num, amount - 1, flags)))
            elif choice == 7:
                t.step("admin", "semctl", s, num, SETVAL, abs(amount))
            elif choice == 8:
                t.step("admin", "semctl", s, num, (GETNCNT, GETZCNT, GETPID, GETALL)[amount + 2 & 3])
            elif choice == 9 and len(actors) > 1:
                victim = [n for n in actors if n != "a"][which % (len(actors) - 1)]
                t.step("admin", "kill", ActorRef(victim), signal.SIGKILL)
                actors.remove(victim)
            elif choice == 10 and actor != "a":
                t.step(actor, "exit", 0)
                actors.remove(actor)
            else:
                t.step("admin", "semctl_stat", s)
        t.step("admin", "semctl", s, 0, GETALL)
        t.step("admin", "semctl", s, 0, IPC_RMID)


def test_values_after_everything(zygote: ZygoteClient) -> None:
    """A last sanity check of the twin itself: ids are paired, not equal."""
    with SysVTwin(zygote) as t:
        t.spawn("a")
        first = _set(t, 1)
        second = _set(t, 3)
        assert (first, second) == (t.ids.pairs("sem")[0][0], t.ids.pairs("sem")[1][0])
        assert t.step("a", "semctl", second, 2, GETVAL) == Value(0)
