"""Messages on a POSIX queue: priority order, sizes, priorities in range.

A POSIX queue is kept sorted: ``mq_receive`` always takes the oldest message
of the highest priority, so equal priorities come out in the order sent and
a more urgent message overtakes. Sizes are fixed per queue by ``mq_msgsize``:
no message may be larger, and no receive buffer smaller — even for a message
that would fit.
"""

import os

from hypothesis import example, given
from hypothesis import strategies as st

from conformance.backends.posix_mq_ops import MQ_PRIO_MAX
from conformance.clauses import spec
from conformance.outcome import Errno, Value

MSGSIZE = 64
RECEIVE_ORDER = ("mq_receive(3)", "mq_receive() removes the oldest message with the highest priority from "
                                  "the message queue referred to by the message queue descriptor mqdes")
SEND_ORDER = ("mq_send(3)", "Messages are placed on the queue in decreasing order of priority, with newer "
                            "messages of the same priority being placed after older messages with the "
                            "same priority.")


def _open(actor, name, maxmsg=10, msgsize=MSGSIZE):
    return actor.call("mq_open", name, os.O_CREAT | os.O_RDWR | os.O_NONBLOCK, 0o600, (maxmsg, msgsize))


@spec(
    "posix.mq.order.priority-then-fifo",
    "Whatever the sequence of priorities sent, messages are received highest priority first and, "
    "among equal priorities, in the order they were sent; each with the priority it was sent with.",
    sources=[RECEIVE_ORDER, SEND_ORDER,
             ("mq_overview(7)", "Each message has an associated priority, and messages are always "
                                "delivered to the receiving process highest priority first.")],
    supports={"S27": "a POSIX queue also keeps each message whole; order is by priority, then FIFO"},
)
@given(prios=st.lists(st.sampled_from([0, 1, 2, 7, 31, MQ_PRIO_MAX - 1]), min_size=1, max_size=10))
@example(prios=[1, 1, 1])
@example(prios=[0, 5, 0, 5, 2])
def test_priority_order_fifo_among_equals(new_scenario, mq_names, prios):
    with new_scenario() as sc:
        a = sc.spawn("a")
        name = mq_names.new()
        q = _open(a, name)
        for i, prio in enumerate(prios):
            sc.expect(a.do("mq_send", q, f"m{i}".encode(), prio), Value(0))
        expected = sorted(range(len(prios)), key=lambda i: (-prios[i], i))
        for i in expected:
            sc.expect(a.do("mq_receive", q, MSGSIZE), Value((f"m{i}".encode(), prios[i])),
                      f"message {i} (priority {prios[i]}) of {prios}")
        sc.expect(a.do("mq_receive", q, MSGSIZE), Errno("EAGAIN"), "all taken")
        sc.expect(a.do("mq_close", q), Value(0))
        sc.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.send.prio-range",
    "mq_send accepts priorities 0 to MQ_PRIO_MAX - 1 (32767 on Linux) and fails with EINVAL for "
    "MQ_PRIO_MAX and above, queueing nothing.",
    sources=[("mq_overview(7)", "Message priorities range from 0 (low) to sysconf(_SC_MQ_PRIO_MAX) - 1 "
                                "(high).  On Linux, sysconf(_SC_MQ_PRIO_MAX) returns 32768"),
             ("POSIX.1-2017 mq_send", "[EINVAL] The value of msg_prio was outside the valid range.")],
)
def test_priority_range(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name)
    scenario.expect(a.do("mq_send", q, b"top", MQ_PRIO_MAX - 1), Value(0), "the highest priority")
    scenario.expect(a.do("mq_send", q, b"over", MQ_PRIO_MAX), Errno("EINVAL"), "MQ_PRIO_MAX itself")
    scenario.expect(a.do("mq_getattr", q), Value({"flags": os.O_NONBLOCK, "maxmsg": 10, "msgsize": MSGSIZE,
                                                   "curmsgs": 1}), "only the first was queued")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.send.msgsize",
    "mq_send of a message longer than mq_msgsize fails with EMSGSIZE; messages of mq_msgsize bytes "
    "and of zero bytes are accepted.",
    sources=[("mq_send(3)", "this length must be less than or equal to the queue's mq_msgsize attribute.  "
                            "Zero-length messages are allowed."),
             ("mq_send(3)", "EMSGSIZE msg_len was greater than the mq_msgsize attribute of the message "
                            "queue.")],
)
@given(extra=st.integers(1, 200))
@example(extra=1)
def test_send_longer_than_msgsize(new_scenario, mq_names, extra):
    with new_scenario() as sc:
        a = sc.spawn("a")
        name = mq_names.new()
        q = _open(a, name)
        sc.expect(a.do("mq_send", q, b"x" * (MSGSIZE + extra), 0), Errno("EMSGSIZE"),
                  f"{MSGSIZE + extra} bytes into a {MSGSIZE}-byte queue")
        sc.expect(a.do("mq_send", q, b"x" * MSGSIZE, 0), Value(0), "exactly mq_msgsize")
        sc.expect(a.do("mq_send", q, b"", 0), Value(0), "an empty message")
        sc.expect(a.do("mq_receive", q, MSGSIZE), Value((b"x" * MSGSIZE, 0)))
        sc.expect(a.do("mq_receive", q, MSGSIZE), Value((b"", 0)))
        sc.expect(a.do("mq_close", q), Value(0))
        sc.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.receive.buffer-size",
    "mq_receive with a buffer smaller than mq_msgsize fails with EMSGSIZE, even when the message "
    "waiting would fit, and leaves the message queued.",
    sources=[("mq_receive(3)", "The msg_len argument specifies the size of the buffer pointed to by "
                               "msg_ptr; this must be greater than or equal to the mq_msgsize attribute of "
                               "the queue"),
             ("mq_receive(3)", "EMSGSIZE msg_len was less than the mq_msgsize attribute of the message "
                               "queue.")],
)
def test_receive_buffer_must_hold_msgsize(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name)
    scenario.expect(a.do("mq_send", q, b"tiny", 3), Value(0))
    scenario.expect(a.do("mq_receive", q, MSGSIZE - 1), Errno("EMSGSIZE"),
                    "a 4-byte message, but the buffer is below mq_msgsize")
    scenario.expect(a.do("mq_receive", q, MSGSIZE), Value((b"tiny", 3)), "still queued")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.send.access-mode",
    "mq_send on a descriptor opened O_RDONLY fails with EBADF, and mq_receive on one opened O_WRONLY "
    "fails with EBADF.",
    sources=[("mq_send(3)", "EBADF The descriptor specified in mqdes was invalid or not opened for "
                            "writing."),
             ("mq_receive(3)", "EBADF The descriptor specified in mqdes was invalid or not opened for "
                               "reading.")],
)
def test_access_mode_of_the_descriptor(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name)
    reader = a.call("mq_open", name, os.O_RDONLY | os.O_NONBLOCK)
    writer = a.call("mq_open", name, os.O_WRONLY | os.O_NONBLOCK)
    scenario.expect(a.do("mq_send", reader, b"no", 0), Errno("EBADF"), "opened for reading only")
    scenario.expect(a.do("mq_send", writer, b"yes", 0), Value(0))
    scenario.expect(a.do("mq_receive", writer, MSGSIZE), Errno("EBADF"), "opened for writing only")
    scenario.expect(a.do("mq_receive", reader, MSGSIZE), Value((b"yes", 0)))
    for d in (reader, writer, q):
        scenario.expect(a.do("mq_close", d), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))
