"""Message queues, one process: random msgsnd/msgrcv/msgctl sequences, model against kernel.

The namespace's limits are lowered (MSGMAX 64, MSGMNB 128) and the queue's
msg_qbytes is set small, so full queues, E2BIG, truncation and the
selection rules (msgtyp 0, > 0, < 0, MSG_EXCEPT, MSG_COPY) all come up in
a few steps. Most calls carry IPC_NOWAIT; the few that do not are checked
to really sleep (see :mod:`.fresh`).
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conformance.backends.sysv_ops import (
    IPC_CREAT,
    IPC_EXCL,
    IPC_NOWAIT,
    IPC_PRIVATE,
    KEY_BASE,
    MSG_COPY,
    MSG_EXCEPT,
    MSG_NOERROR,
)
from conformance.models.sysv import Limits
from conformance.outcome import BLOCKED, Errno, Value

from .fresh import Step, needs_root, run_fresh
from .plan import Planner

SYSCTL = {"msgmax": "64", "msgmnb": "128"}
LIMITS = Limits(msgmax=64, msgmnb=128, root_caps=Limits.from_proc().root_caps)
LONG_MIN = -(1 << 63)
#: mostly valid types; now and then one the kernel refuses or wraps (2**64 + 2 is 2 as a long)
MTYPES = st.sampled_from([1, 2, 3, 4] * 6 + [0, -1, 2**63 - 1, 2**64 + 2])
MSGTYPS = st.sampled_from([*range(-5, 6)] * 3 + [LONG_MIN, 2**63 - 1])
RECV_FLAGS = st.sampled_from(
    [IPC_NOWAIT] * 4 + [IPC_NOWAIT | MSG_EXCEPT] * 2 + [IPC_NOWAIT | MSG_NOERROR] * 2
    + [IPC_NOWAIT | MSG_NOERROR | MSG_EXCEPT, IPC_NOWAIT | MSG_COPY, IPC_NOWAIT | MSG_COPY | MSG_NOERROR,
       MSG_COPY, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT, 0, MSG_EXCEPT])
SEND_SIZES = st.sampled_from([*range(0, 41)] + [64, 65])

pytestmark = needs_root
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _text(n: int, size: int) -> bytes:
    return bytes((n * 7 + i) % 256 for i in range(size))


def _msg_steps(p: Planner) -> None:
    q = p.add("msgget", p.draw(st.sampled_from([IPC_PRIVATE, KEY_BASE])), IPC_CREAT | 0o600)
    if p.draw(st.booleans()):
        p.add("msgctl_set", 0, {"qbytes": p.draw(st.integers(0, 140))})
    assert q == Value(0)
    for n in range(p.draw(st.integers(1, 30))):
        choice = p.draw(st.integers(0, 9))
        if choice < 4:
            size = p.draw(SEND_SIZES)
            # now and then a send that may sleep on a full queue
            flags = IPC_NOWAIT if p.draw(st.integers(0, 7)) else 0
            p.add("msgsnd", p.some_id("msg"), p.draw(MTYPES), _text(n, size), flags)
        elif choice < 8:
            maxsize = p.draw(st.sampled_from([*range(0, 49), -1]))
            p.add("msgrcv", p.some_id("msg"), maxsize, p.draw(MSGTYPS), p.draw(RECV_FLAGS))
        elif choice == 8:
            p.add("msgctl_stat", p.some_id("msg"))
        else:
            p.add("msgctl_set", p.some_id("msg"), {"qbytes": p.draw(st.integers(0, 140))})


@needs_root
@fast
@given(data=st.data())
def test_message_sequences(data: st.DataObject) -> None:
    p = Planner(data, LIMITS)
    _msg_steps(p)
    run_fresh(p.steps, SYSCTL).assert_agree()


def test_selection_and_truncation() -> None:
    """The selection rules on one hand-made queue, every outcome predicted by the model."""
    sends = [("msgsnd", (0, t, _text(t, s), IPC_NOWAIT)) for t, s in
             ((3, 5), (1, 9), (2, 4), (3, 2), (5, 7), (1, 3))]
    receives = [
        ("msgrcv", (0, 64, -4, IPC_NOWAIT)),               # lowest type <= 4: the first 1
        ("msgrcv", (0, 64, 3, IPC_NOWAIT | MSG_EXCEPT)),   # first not 3: the 2
        ("msgrcv", (0, 3, 0, IPC_NOWAIT)),                 # the 3 of 5 bytes: E2BIG, stays
        ("msgrcv", (0, 3, 0, IPC_NOWAIT | MSG_NOERROR)),   # ... truncated to 3
        ("msgrcv", (0, 64, 2, IPC_NOWAIT | MSG_COPY)),     # copies the third message
        ("msgrcv", (0, 64, 9, IPC_NOWAIT | MSG_COPY)),     # no such position: ENOMSG
        ("msgctl_stat", (0,)),
        ("msgrcv", (0, 64, -3, IPC_NOWAIT)), ("msgrcv", (0, 64, -3, IPC_NOWAIT)),
        ("msgrcv", (0, 64, 5, IPC_NOWAIT)), ("msgrcv", (0, 64, 0, IPC_NOWAIT)),
        ("msgrcv", (0, 64, 0, 0)),                         # empty: sleeps
    ]
    run = run_fresh([("msgget", (IPC_PRIVATE, 0o600)), *sends, *receives], SYSCTL)
    run.assert_agree()
    outcomes = [r.model for r in run.records]
    assert outcomes[7] == Value((1, _text(1, 9)))
    assert outcomes[9] == Errno("E2BIG") and outcomes[10] == Value((3, _text(3, 5)[:3]))
    assert outcomes[-1] == BLOCKED


@needs_root
@example(qbytes=0)
@given(qbytes=st.integers(0, 6))
@fast
def test_fullness_counts_messages_too(qbytes: int) -> None:
    """msg_qbytes caps bytes *and* the number of messages (qnum + 1 <= qbytes)."""
    steps: list[Step] = [("msgget", (IPC_PRIVATE, 0o600)), ("msgctl_set", (0, {"qbytes": qbytes}))]
    steps += [("msgsnd", (0, 1, b"", IPC_NOWAIT))] * (qbytes + 1)
    steps += [("msgctl_stat", (0,)), ("msgsnd", (0, 1, b"", 0))]
    run = run_fresh(steps, SYSCTL)
    run.assert_agree()
    assert run.records[-3].model == Errno("EAGAIN") and run.records[-1].model == BLOCKED


def test_limits_and_privilege() -> None:
    """MSGMAX, a qbytes raise above MSGMNB (CAP_SYS_RESOURCE), IPC_SET's id checks."""
    steps = [
        ("msgget", (KEY_BASE, IPC_CREAT | IPC_EXCL | 0o640)),
        ("msgsnd", (0, 1, bytes(64), IPC_NOWAIT)), ("msgsnd", (0, 1, bytes(65), IPC_NOWAIT)),
        ("msgctl_set", (0, {"qbytes": 129})), ("msgctl_set", (0, {"qbytes": 128, "uid": -1})),
        ("msgctl_set", (0, {"mode": 0o7777, "gid": 5})), ("msgctl_stat", (0,)),
        ("msgget", (KEY_BASE, 0o600)), ("msgget", (KEY_BASE, 0o100)),
        ("msgctl_set", (0, {"uid": 4242})),
        ("become", (4343, 4343)),
        ("msgctl_stat", (0,)), ("msgsnd", (0, 1, b"x", IPC_NOWAIT)),
        ("msgctl_set", (0, {"mode": 0o666})), ("msgctl_rmid", (0,)), ("become", (0, 0)),
    ]
    run_fresh(steps, SYSCTL).assert_agree()
