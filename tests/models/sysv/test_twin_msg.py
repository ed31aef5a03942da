"""Message queues with several actors: who sleeps, who is served, in what order.

Scripted cases pin the rules the model documents (direct hand-over to the
first accepting receiver, E2BIG on the way, senders woken only when their
own message fits, IPC_SET making sleepers look again, IPC_RMID failing
them all); a random walk then mixes sends and receives of three actors on
a tiny queue. A step whose outcome depends on which woken sender runs
first is refused by the model (Unmodelled) and ends that walk.
"""

from __future__ import annotations

import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.backends.ops import ActorRef
from conformance.backends.sysv_ops import IPC_NOWAIT, IPC_PRIVATE, MSG_EXCEPT, MSG_NOERROR
from conformance.harness.zygote import ZygoteClient
from conformance.models.errors import Unmodelled
from conformance.outcome import BLOCKED, Errno, Killed, Value

from .twin import SysVTwin

ROOT = pytest.mark.skipif(__import__("os").geteuid() != 0, reason="become needs root")


def _queue(twin: SysVTwin, qbytes: int | None = None) -> int:
    q = twin.step("a", "msgget", IPC_PRIVATE, 0o666).detail
    if qbytes is not None:
        twin.step("a", "msgctl_set", q, {"qbytes": qbytes})
    return int(q)


def test_receivers_served_in_order_of_sleeping(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a")
        q = _queue(t)
        for child in ("r1", "r2", "r3", "r4"):
            t.step("a", "fork", child)
        assert t.step("r1", "msgrcv", q, 64, 2, 0) == BLOCKED           # type 2 only
        assert t.step("r2", "msgrcv", q, 4, 0, 0) == BLOCKED            # anything, 4 bytes
        assert t.step("r3", "msgrcv", q, 64, -3, 0) == BLOCKED          # types <= 3
        assert t.step("r4", "msgrcv", q, 2, 3, MSG_NOERROR) == BLOCKED  # type 3, truncated
        # r1 does not want a 3; r2 would, but its buffer is too small: E2BIG,
        # and the message goes on to r3.
        t.step("a", "msgsnd", q, 3, b"0123456789", 0)
        t.step("a", "msgsnd", q, 3, b"abc", 0)                          # r4, truncated
        t.step("a", "msgsnd", q, 1, b"queued", 0)                       # nobody left for a 1
        t.step("a", "msgsnd", q, 2, b"two", 0)                          # r1
        t.step("a", "msgctl_stat", q)


def test_senders_woken_only_when_their_message_fits(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a")
        q = _queue(t, qbytes=10)
        t.step("a", "msgsnd", q, 1, b"666666", 0)
        t.step("a", "msgsnd", q, 1, b"4444", 0)
        t.step("a", "fork", "s1")
        t.step("a", "fork", "s2")
        assert t.step("s1", "msgsnd", q, 7, b"999999999", 0) == BLOCKED
        assert t.step("s2", "msgsnd", q, 8, b"55555", 0) == BLOCKED
        # 6 bytes leave: s2's 5 fit, s1's 9 do not - s2 overtakes s1.
        t.step("a", "msgrcv", q, 64, 0, 0)
        t.step("a", "msgctl_stat", q)
        t.step("a", "msgrcv", q, 64, 0, 0)
        t.step("a", "msgrcv", q, 64, 0, 0)                              # now s1 fits
        t.step("a", "msgrcv", q, 64, 0, 0)


def test_ipc_set_makes_sleepers_look_again(zygote: ZygoteClient) -> None:
    if __import__("os").geteuid() != 0:
        pytest.skip("become needs root")
    with SysVTwin(zygote) as t:
        t.spawn("a")
        q = _queue(t, qbytes=4)
        t.step("a", "msgsnd", q, 1, b"1234", 0)
        t.step("a", "fork", "sender")
        t.step("a", "fork", "reader")
        t.step("reader", "become", 3001, 3001)
        assert t.step("reader", "msgrcv", q, 64, 1, MSG_EXCEPT) == BLOCKED
        assert t.step("sender", "msgsnd", q, 1, b"56", 0) == BLOCKED
        # A larger queue lets the sender in; the reader loses read permission.
        t.step("a", "msgctl_set", q, {"qbytes": 8, "mode": 0o600})
        t.step("a", "msgctl_stat", q)


def test_rmid_fails_every_sleeper_and_kill_leaves_the_queue(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a")
        q = _queue(t, qbytes=1)
        t.step("a", "msgsnd", q, 1, b"x", 0)
        for child in ("s", "r1", "r2"):
            t.step("a", "fork", child)
        t.step("s", "msgsnd", q, 1, b"y", 0)
        t.step("r1", "msgrcv", q, 8, 5, 0)
        t.step("r2", "msgrcv", q, 8, 5, 0)
        t.step("a", "kill", ActorRef("r1"), signal.SIGKILL)
        t.step("a", "msgsnd", q, 5, b"five", IPC_NOWAIT)            # full: EAGAIN, r1 is gone
        t.step("a", "msgrcv", q, 8, 0, 0)                            # s gets in...
        t.step("a", "msgsnd", q, 5, b"five", IPC_NOWAIT)            # full again
        t.step("a", "msgctl_rmid", q)                                # r2 fails with EIDRM
        t.step("a", "msgctl_stat", q)


def test_racing_woken_senders_are_refused() -> None:
    """Two senders woken together that cannot both fit: Linux leaves the order to the scheduler."""
    from conformance.models.sysv import SysVModel

    model = SysVModel()
    model.spawn("a")
    q = model.step("a", "msgget", IPC_PRIVATE, 0o600).detail
    model.step("a", "msgctl_set", q, {"qbytes": 10})
    model.step("a", "msgsnd", q, 1, bytes(10), 0)
    for child, size in (("s1", 8), ("s2", 3)):
        model.step("a", "fork", child)
        assert model.step(child, "msgsnd", q, 1, bytes(size), 0) == BLOCKED
    with pytest.raises(Unmodelled):
        model.step("a", "msgrcv", q, 64, 0, 0)


#: (which awake actor, what to do, type, size, sleep allowed)
MSG_STEPS = st.tuples(st.integers(0, 2), st.integers(0, 9), st.integers(0, 3), st.integers(0, 6),
                      st.integers(0, 2))


@given(walk=st.lists(MSG_STEPS, min_size=4, max_size=30), qbytes=st.integers(2, 12))
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_random_walk(zygote: ZygoteClient, walk: list[tuple[int, int, int, int, int]],
                     qbytes: int) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a", "admin")  # admin never sleeps: it removes the queue at the end
        q = _queue(t, qbytes=qbytes)
        t.step("a", "fork", "b")
        t.step("a", "fork", "c")
        for index, (which, choice, mtype, size, may_sleep) in enumerate(walk):
            awake = sorted({"a", "b", "c"} - t.model.blocked())
            if not awake:
                break
            actor = awake[which % len(awake)]
            flags = 0 if may_sleep == 0 else IPC_NOWAIT
            try:
                if choice < 4:
                    t.step(actor, "msgsnd", q, mtype + 1, bytes([index]) * size, flags)
                elif choice < 8:
                    msgtyp = (mtype - 1) * (1 if choice < 6 else -1)
                    t.step(actor, "msgrcv", q, size, msgtyp, flags | (MSG_NOERROR if choice == 7 else 0))
                elif choice == 8:
                    t.step(actor, "msgctl_stat", q)
                else:
                    t.step("admin", "msgctl_set", q, {"qbytes": qbytes + size - 3})
            except Unmodelled:
                return  # the kernel's answer depends on timing: the walk ends here
        t.step("admin", "msgctl_rmid", q)  # every sleeper fails with EIDRM


def test_killed_by_the_harness_while_asleep(zygote: ZygoteClient) -> None:
    with SysVTwin(zygote) as t:
        t.spawn("a", "b")
        q = _queue(t)
        assert t.step("b", "msgrcv", q, 8, 0, 0) == BLOCKED
        assert t.step("a", "kill", ActorRef("b"), signal.SIGKILL) == Value(0)
        assert t.model.alive() == {"a"}
        t.step("a", "msgsnd", q, 1, b"kept", 0)
        assert t.step("a", "msgctl_stat", q).detail["qnum"] == 1
        assert t.step("a", "msgrcv", q, 8, 2, IPC_NOWAIT) == Errno("ENOMSG")
        assert Killed("SIGKILL") == Killed(signal.SIGKILL)
