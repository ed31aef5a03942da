"""Which message msgrcv takes: selection by type, and waiting for a match.

A queue is not strictly first-in first-out: the receiver names what it
wants with ``msgtyp``. Zero takes the first message; a positive type takes
the first message of that type (or, with ``MSG_EXCEPT``, the first of any
other type); a negative type takes the message with the *lowest* type not
above ``|msgtyp|``, the first such if several tie. The seed (S28) describes
the positive case: ``msgrcv(id, &msg, size, 5, 0)`` takes only type-5
messages and waits until one arrives.

The selection rules are stated here as a small model, :func:`select`, and
the kernel is held to it over random queues and requests.
"""

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.sysv_ops import IPC_CREAT, IPC_NOWAIT, MSG_EXCEPT
from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

S28_TEXT = ("`msgrcv` with type 5 receives only type-5 messages and waits for one; `msgsnd` with "
            "`IPC_NOWAIT` does not wait.")
TYPE_ZERO = ("msgop(2)", "If msgtyp is 0, then the first message in the queue is read.")
TYPE_POSITIVE = ("msgop(2)", "If msgtyp is greater than 0, then the first message in the queue of type "
                             "msgtyp is read, unless MSG_EXCEPT was specified in msgflg, in which case "
                             "the first message in the queue of type not equal to msgtyp will be read.")
TYPE_NEGATIVE = ("msgop(2)", "If msgtyp is less than 0, then the first message in the queue with the "
                             "lowest type less than or equal to the absolute value of msgtyp will be "
                             "read.")
EXCEPT = ("msgop(2)", "MSG_EXCEPT Used with msgtyp greater than 0 to read the first message in the queue "
                      "with message type that differs from msgtyp.")
NOWAIT_RCV = ("msgop(2)", "IPC_NOWAIT Return immediately if no message of the requested type is in the "
                          "queue.  The system call fails with errno set to ENOMSG.")
WAIT_RCV = ("msgop(2)", "If no message of the requested type is available and IPC_NOWAIT isn't "
                        "specified in msgflg, the calling process is blocked until one of the following "
                        "conditions occurs: A message of the desired type is placed in the queue.")

Queued = tuple[int, bytes]


def select(queue: list[Queued], msgtyp: int, flags: int = 0) -> int | None:
    """The index of the message msgrcv(msgtyp, flags) takes from ``queue``, or None.

    This is msgop(2)'s rule, as Linux applies it: MSG_EXCEPT changes only a
    positive msgtyp; with 0 or a negative msgtyp it is ignored.
    """
    if msgtyp == 0:
        return 0 if queue else None
    if msgtyp > 0:
        for i, (mtype, _text) in enumerate(queue):
            if (mtype != msgtyp) if flags & MSG_EXCEPT else (mtype == msgtyp):
                return i
        return None
    best: int | None = None
    for i, (mtype, _text) in enumerate(queue):
        if mtype <= -msgtyp and (best is None or mtype < queue[best][0]):
            best = i  # strictly lower only: the first among equals stays
    return best


def _steps(msgtyps: st.SearchStrategy[int]) -> st.SearchStrategy[list[tuple]]:
    send = st.tuples(st.just("send"), st.integers(1, 4))
    receive = st.tuples(st.just("recv"), msgtyps)
    return st.lists(st.one_of(send, receive), min_size=1, max_size=14)


def _run_selection(sc, q_key: int, steps, flags: int) -> None:
    """Play ``steps`` on a queue and on :func:`select`; every receive must agree."""
    sender = sc.spawn("sender")
    q = sender.call("msgget", q_key, IPC_CREAT | 0o600)
    receiver = sender.fork("receiver")
    model: list[Queued] = []
    for n, (op, arg) in enumerate(steps):
        if op == "send":
            message = (arg, f"#{n}".encode())  # the text says which send it was
            sc.expect(sender.do("msgsnd", q, *message, IPC_NOWAIT), Value(0))
            model.append(message)
            continue
        shown = [f"{t}:{m.decode()}" for t, m in model]
        pick = select(model, arg, flags)
        wanted = Errno("ENOMSG") if pick is None else Value(model.pop(pick))
        sc.expect(receiver.do("msgrcv", q, 64, arg, flags | IPC_NOWAIT), wanted,
                  f"msgtyp {arg}{' with MSG_EXCEPT' if flags else ''} on the queue {shown}")
    sc.expect(sender.do("msgctl_rmid", q), Value(0))


# Boundary of the negative case: types 4, 3, 2, 3 and msgtyp -3 take the 2,
# then the first 3, then the second 3 (type == |msgtyp| counts), then nothing.
_BOUNDARY = [("send", 4), ("send", 3), ("send", 2), ("send", 3),
             ("recv", -3), ("recv", -3), ("recv", -3), ("recv", -3), ("recv", -4)]


@spec(
    "sysv.msg.select-by-type",
    "msgrcv selects by msgtyp: 0 takes the first message; a positive type the first message of "
    "exactly that type; a negative type the first message with the lowest type less than or "
    "equal to |msgtyp|. Among messages of one type the oldest comes first.",
    sources=[TYPE_ZERO, TYPE_POSITIVE, TYPE_NEGATIVE, NOWAIT_RCV, ("seed S28", S28_TEXT)],
    supports={"S28": "a receive for type 5 takes only a type-5 message, the oldest one"},
)
@given(steps=_steps(st.integers(-5, 5)))
@example(steps=_BOUNDARY)
@example(steps=[("send", 1), ("send", 5), ("send", 5), ("recv", 5), ("recv", 0), ("recv", 5)])
def test_msgtyp_selects(new_scenario, keys, steps):
    with new_scenario() as sc:
        _run_selection(sc, keys.new(), steps, 0)


@spec(
    "sysv.msg.except-skips-type",
    "With MSG_EXCEPT and a positive msgtyp, msgrcv takes the first message whose type differs "
    "from msgtyp.",
    sources=[TYPE_POSITIVE, EXCEPT],
)
@given(steps=_steps(st.integers(1, 5)))
@example(steps=[("send", 2), ("send", 2), ("send", 3), ("recv", 2), ("recv", 2), ("recv", 3)])
def test_msg_except_skips_a_type(new_scenario, keys, steps):
    with new_scenario() as sc:
        _run_selection(sc, keys.new(), steps, MSG_EXCEPT)


@spec(
    "sysv.msg.except-needs-positive-type",
    "MSG_EXCEPT changes nothing unless msgtyp is positive: with msgtyp 0 msgrcv still takes the "
    "first message, with a negative msgtyp still the lowest type up to |msgtyp|.",
    sources=[TYPE_ZERO, TYPE_NEGATIVE, EXCEPT],
)
@given(steps=_steps(st.integers(-5, 0)))
@example(steps=[("send", 2), ("send", 1), ("recv", 0), ("recv", -1)])
@example(steps=[("send", 3), ("send", 1), ("recv", -2), ("recv", -2)])
def test_msg_except_needs_a_positive_type(new_scenario, keys, steps):
    with new_scenario() as sc:
        _run_selection(sc, keys.new(), steps, MSG_EXCEPT)


@spec(
    "sysv.msg.nowait-no-match-enomsg",
    "msgrcv with IPC_NOWAIT fails at once with ENOMSG when no message matches msgtyp, and the "
    "messages that do not match stay queued.",
    sources=[NOWAIT_RCV,
             ("msgop(2)", "ENOMSG IPC_NOWAIT was specified in msgflg and no message of the requested "
                          "type existed on the message queue.")],
)
def test_nowait_receive_without_match(scenario, keys):
    a = scenario.spawn("a")
    q = a.call("msgget", keys.new(), IPC_CREAT | 0o600)
    scenario.expect(a.do("msgrcv", q, 64, 0, IPC_NOWAIT), Errno("ENOMSG"), "an empty queue")
    a.call("msgsnd", q, 1, b"one", 0)
    a.call("msgsnd", q, 2, b"two", 0)
    scenario.expect(a.do("msgrcv", q, 64, 3, IPC_NOWAIT), Errno("ENOMSG"), "no type 3")
    scenario.expect(a.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((1, b"one")),
                    "both still queued")
    scenario.expect(a.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((2, b"two")))
    scenario.expect(a.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.receive-waits-for-type",
    "Without IPC_NOWAIT, msgrcv for type 5 sleeps while the queue holds no type-5 message — a "
    "message of another type does not wake it — and returns the first type-5 message sent.",
    sources=[TYPE_POSITIVE, WAIT_RCV, ("seed S28", S28_TEXT)],
    supports={"S28": "the receiver of type 5 waits, and only a type-5 message ends the wait"},
)
def test_receiver_waits_for_its_type(scenario, keys):
    key = keys.new()
    sender = scenario.spawn("sender")
    q = sender.call("msgget", key, IPC_CREAT | 0o666)
    receiver = scenario.spawn("receiver")  # the seed's receiver is a separate program
    scenario.expect(receiver.do("msgget", key, IPC_CREAT | 0o666), Value(q), "as the seed's receiver")
    scenario.expect(receiver.do("msgrcv", q, 64, 5, 0), BLOCKED, "no type-5 message yet")
    scenario.expect(sender.do("msgsnd", q, 3, b"not for you", 0), Value(0))
    scenario.expect_event(receiver, BLOCKED, "a type-3 message does not end the wait")
    scenario.expect(sender.do("msgsnd", q, 5, b"This is MQ!\n", 0), Value(0))
    scenario.expect_event(receiver, Value((5, b"This is MQ!\n")))
    scenario.expect(sender.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((3, b"not for you")),
                    "the type-3 message is still there")
    scenario.expect(sender.do("msgctl_rmid", q), Value(0))


@spec(
    "sysv.msg.receivers-by-type",
    "Several receivers asleep for different types are each woken by a message of their own "
    "type only, in whatever order the types are sent.",
    sources=[TYPE_POSITIVE, WAIT_RCV],
    supports={"S28": "with several waiting receivers each still gets only its own type"},
)
@given(order=st.permutations([1, 2, 3]))
def test_receivers_wake_by_type(new_scenario, keys, order):
    with new_scenario() as sc:
        sender = sc.spawn("sender")
        q = sender.call("msgget", keys.new(), IPC_CREAT | 0o600)
        receivers = {t: sender.fork(f"wants{t}") for t in (1, 2, 3)}
        for t, receiver in receivers.items():
            sc.expect(receiver.do("msgrcv", q, 64, t, 0), BLOCKED, f"no type-{t} message yet")
        sc.expect(sender.do("msgsnd", q, 9, b"for nobody", 0), Value(0))
        waiting = dict(receivers)
        for t in order:
            sc.expect(sender.do("msgsnd", q, t, f"type {t}".encode(), 0), Value(0))
            sc.expect_event(waiting.pop(t), Value((t, f"type {t}".encode())))
            for other, receiver in waiting.items():
                sc.expect_event(receiver, BLOCKED, f"a type-{t} message is not for wants{other}")
        sc.expect(sender.do("msgrcv", q, 64, 0, IPC_NOWAIT), Value((9, b"for nobody")))
        sc.expect(sender.do("msgctl_rmid", q), Value(0))
