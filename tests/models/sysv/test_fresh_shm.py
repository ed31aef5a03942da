"""Shared memory, one process: random shmget/shmat/shmdt/shmctl and memory access, model against kernel.

SHMMAX is lowered to 10000 bytes and SHMALL to 5 pages, so size and total
limits come up; segments are attached several times, read and written at
their edges (EFAULT is the backends' bounds check), removed while attached
and attached again afterwards. A store through a SHM_RDONLY attachment ends
the sequence with SIGSEGV on both sides.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.backends.sysv_ops import (
    IPC_CREAT,
    IPC_EXCL,
    IPC_PRIVATE,
    KEY_BASE,
    SHM_EXEC,
    SHM_RDONLY,
    SHM_REMAP,
    SHM_RND,
)
from conformance.models.sysv import Limits
from conformance.outcome import Errno, Killed, Value

from .fresh import needs_root, run_fresh
from .plan import Planner

SYSCTL = {"shmmax": "10000", "shmall": "5"}
LIMITS = Limits(shmmax=10000, shmall=5, root_caps=Limits.from_proc().root_caps)
SIZES = st.sampled_from([1, 100, 4095, 4096, 4097, 8192, 10000] * 2 + [0, 10001, 2**64 - 1])
AT_FLAGS = st.sampled_from([0] * 8 + [SHM_RDONLY] * 3 + [SHM_RND, SHM_REMAP, SHM_EXEC,
                                                          SHM_EXEC | SHM_RDONLY])

pytestmark = needs_root
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _shm_steps(p: Planner) -> None:
    size = p.draw(st.sampled_from([1, 100, 4095, 4096, 4097]))
    p.add("shmget", IPC_PRIVATE, size, 0o600)
    p.add("shmat", 0, p.draw(AT_FLAGS))
    offsets = st.sampled_from([0, 1, size - 1, size - 6, size, 4090, -1])
    for n in range(p.draw(st.integers(1, 30))):
        choice = p.draw(st.integers(0, 15))
        if choice < 2:
            key = p.draw(st.sampled_from([IPC_PRIVATE, KEY_BASE, KEY_BASE + 1]))
            flags = p.draw(st.sampled_from([IPC_CREAT, IPC_CREAT | IPC_EXCL, 0])) | 0o600
            p.add("shmget", key, p.draw(SIZES), flags)
        elif choice < 5:
            p.add("shmat", p.some_id("shm"), p.draw(AT_FLAGS))
        elif choice < 8:
            data = bytes([n + 1]) * p.draw(st.sampled_from([0, 1, 6, 10]))
            p.add("shm_write", p.some_handle(), p.draw(offsets), data)
        elif choice < 11:
            p.add("shm_read", p.some_handle(), p.draw(offsets), p.draw(st.sampled_from([0, 1, 10, -1])))
        elif choice < 13:
            p.add("shmdt", p.some_handle())
        elif choice == 13:
            p.add("shmctl_rmid", p.some_id("shm"))
        elif choice == 14:
            p.add("shmctl_stat", p.some_id("shm"))
        else:
            p.add("shmctl_set", p.some_id("shm"), {"mode": p.draw(st.integers(0, 0o7777))})


@fast
@given(data=st.data())
def test_shared_memory_sequences(data: st.DataObject) -> None:
    p = Planner(data, LIMITS)
    _shm_steps(p)
    run_fresh(p.steps, SYSCTL).assert_agree()


def test_removal_while_attached() -> None:
    steps = [
        ("shmget", (KEY_BASE, 100, IPC_CREAT | 0o640)),
        ("shmat", (0, 0)), ("shmat", (0, SHM_RDONLY)), ("shm_write", (0, 98, b"ab")),
        ("shmctl_rmid", (0,)), ("shmctl_stat", (0,)),          # SHM_DEST, key 0
        ("shmget", (KEY_BASE, 0, 0)),                          # the key finds nothing
        ("shmat", (0, 0)), ("shm_read", (2, 98, 2)),           # attach after RMID
        ("shmdt", (0,)), ("shmdt", (1,)), ("shmdt", (1,)), ("shmctl_stat", (0,)),
        ("shmdt", (2,)), ("shmctl_stat", (0,)),                # the last one destroys it
        ("shmget", (KEY_BASE, 100, IPC_CREAT | 0o600)),
    ]
    run = run_fresh(steps, SYSCTL)
    run.assert_agree()
    stat = run.records[5].model.detail
    assert stat["mode"] == 0o1640 and stat["key"] == 0
    assert run.records[8].model == Value(b"ab") and run.records[14].model == Errno("EINVAL")


def test_write_through_a_read_only_attachment() -> None:
    steps = [("shmget", (IPC_PRIVATE, 10, 0o600)), ("shmat", (0, SHM_RDONLY)),
             ("shm_write", (0, 0, b"")), ("shm_write", (0, 11, b"x")), ("shm_write", (0, 0, b"x")),
             ("shmctl_stat", (0,))]
    run = run_fresh(steps, SYSCTL)
    run.assert_agree()
    assert len(run.records) == 5 and run.records[-1].kernel == Killed("SIGSEGV")
