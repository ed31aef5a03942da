"""Semaphore sets, one process: random semop/semctl sequences, model against kernel.

The namespace's ``sem`` limits are lowered (SEMMSL 5, SEMOPM 4) so E2BIG
and EINVAL come up, and the operations mix IPC_NOWAIT, SEM_UNDO, values
near SEMVMX (ERANGE, also of the undo adjustment) and the odd sleeping
semop or zero-timeout semtimedop. The orders of sleepers need several
processes: see ``test_twin_sem``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.backends.sysv_ops import (
    GETALL,
    GETNCNT,
    GETPID,
    GETVAL,
    GETZCNT,
    IPC_CREAT,
    IPC_NOWAIT,
    IPC_PRIVATE,
    IPC_RMID,
    IPC_STAT,
    KEY_BASE,
    SEM_UNDO,
    SETALL,
    SETVAL,
)
from conformance.models.sysv import Limits
from conformance.outcome import BLOCKED, Errno, Value

from .fresh import needs_root, run_fresh
from .plan import Planner

SYSCTL = {"sem": "5 100 4 8"}
LIMITS = Limits(semmsl=5, semmns=100, semopm=4, semmni=8, root_caps=Limits.from_proc().root_caps)
OPS = st.sampled_from([-2, -1, -1, 0, 0, 1, 1, 2, 3, 32767, -32767, 32768])
FLAGS = st.sampled_from([IPC_NOWAIT] * 4 + [IPC_NOWAIT | SEM_UNDO] * 3 + [SEM_UNDO, 0, 0o123])
GET_CMDS = st.sampled_from([GETVAL, GETALL, GETPID, GETNCNT, GETZCNT, IPC_STAT, 99])

pytestmark = needs_root
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sem_steps(p: Planner) -> None:
    nsems = p.draw(st.integers(1, 3))
    p.add("semget", IPC_PRIVATE, nsems, IPC_CREAT | 0o600)
    for _ in range(p.draw(st.integers(1, 25))):
        choice = p.draw(st.integers(0, 9))
        semnum = p.draw(st.sampled_from([*range(nsems)] * 3 + [nsems, -1]))
        if choice < 5:
            count = p.draw(st.sampled_from([1, 1, 2, 2, 3, 4, 5, 0]))
            sops = tuple((p.draw(st.sampled_from([*range(nsems)] * 4 + [nsems])), p.draw(OPS),
                          p.draw(FLAGS)) for _ in range(count))
            if p.draw(st.integers(0, 5)):
                p.add("semop", p.some_id("sem"), sops)
            else:
                p.add("semtimedop", p.some_id("sem"), sops, p.draw(st.sampled_from([0, -1, 10**10])))
        elif choice < 7:
            value = p.draw(st.sampled_from([0, 1, 2, 5, 32767, 32768, -1, 2**32 + 3]))
            p.add("semctl", p.some_id("sem"), semnum, SETVAL, value)
        elif choice == 7:
            values = tuple(p.draw(st.lists(st.sampled_from([0, 1, 3, 32767, 32768, 65536 + 2]),
                                           max_size=4)))
            p.add("semctl", p.some_id("sem"), 0, SETALL, values)
        elif choice == 8:
            p.add("semctl", p.some_id("sem"), semnum, p.draw(GET_CMDS))
        else:
            p.add("semctl_stat", p.some_id("sem"))


@fast
@given(data=st.data())
def test_semaphore_sequences(data: st.DataObject) -> None:
    p = Planner(data, LIMITS)
    _sem_steps(p)
    run_fresh(p.steps, SYSCTL).assert_agree()


def test_array_order_and_all_or_nothing() -> None:
    steps = [
        ("semget", (IPC_PRIVATE, 2, 0o600)),
        ("semop", (0, ((0, 1, 0), (0, -1, 0)))),                   # +1 then -1: fine
        ("semop", (0, ((0, -1, IPC_NOWAIT), (0, 1, 0)))),          # -1 first: EAGAIN
        ("semop", (0, ((1, 5, 0), (0, -1, IPC_NOWAIT)))),          # all or nothing
        ("semctl", (0, 0, GETALL)),
        ("semop", (0, ((1, 5, 0), (0, -1, 0), (1, 1, IPC_NOWAIT)))),  # the blocking one decides: sleeps
        ("semop", (0, ((1, 1, IPC_NOWAIT), (0, -1, 0)))),          # no NOWAIT where it blocks: sleeps
        ("semop", (0, ((0, 1, 0), (0, 0, IPC_NOWAIT)))),           # wait for zero after +1: EAGAIN
        ("semop", (0, ((0, 0, 0), (1, 0, 0)))),                    # both zero: fine, sets otime
        ("semctl_stat", (0,)), ("semctl", (0, 1, GETPID)),
    ]
    run = run_fresh(steps, SYSCTL)
    run.assert_agree()
    assert [r.model for r in run.records][5:8] == [BLOCKED, BLOCKED, Errno("EAGAIN")]


def test_undo_range_and_setval_clearing() -> None:
    """The adjustment itself has a range (ERANGE), and SETVAL/SETALL reset it."""
    big = ((0, 32767, SEM_UNDO),)
    steps = [
        ("semget", (KEY_BASE, 1, IPC_CREAT | 0o600)),
        ("semop", (0, big)), ("semop", (0, ((0, -32767, 0),))),
        ("semop", (0, ((0, 1, SEM_UNDO),))),   # adjustment -32768: still fine
        ("semop", (0, ((0, -1, 0),))),
        ("semop", (0, ((0, 1, SEM_UNDO),))),   # -32769: ERANGE
        ("semctl", (0, 0, SETVAL, 0)),
        ("semop", (0, big)), ("semop", (0, ((0, 1, 0),))),   # SEMVMX + 1: ERANGE
        ("semctl", (0, 0, SETALL, ())), ("semctl", (0, 0, GETALL)),
        ("semtimedop", (0, ((0, -1, 0),), 0)),  # a zero timeout: EAGAIN at once
        ("semctl", (0, 0, IPC_RMID)), ("semctl", (0, 0, GETVAL)),
    ]
    run = run_fresh(steps, SYSCTL)
    run.assert_agree()
    assert run.records[5].model == Errno("ERANGE") and run.records[8].model == Errno("ERANGE")


def test_semop_argument_checks() -> None:
    five = tuple((0, 1, 0) for _ in range(5))
    steps = [
        ("semget", (IPC_PRIVATE, 1, 0o600)),
        ("semop", (-1, five)), ("semop", (0, ())), ("semop", (-1, ((0, 1, 0),))),
        ("semop", (0, ((1, 1, 0),))), ("semop", (9, ((0, 1, SEM_UNDO),))),
        ("semtimedop", (0, ((0, -1, 0),), -5)),
        ("semget", (KEY_BASE, 6, IPC_CREAT | 0o600)), ("semget", (KEY_BASE, 0, IPC_CREAT | 0o600)),
        ("semget", (KEY_BASE, 5, IPC_CREAT | 0o600)), ("semget", (KEY_BASE, 0, 0)),
        ("semget", (KEY_BASE, -1, 0)), ("semget", (KEY_BASE, 4, 0o100)),
    ]
    run = run_fresh(steps, SYSCTL)
    run.assert_agree()
    assert run.records[1].model == Errno("E2BIG")
    assert run.records[9].model == Value(1) and run.records[10].model == Value(1)
