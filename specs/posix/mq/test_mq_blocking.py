"""Full and empty POSIX queues: sleeping, O_NONBLOCK, timeouts, and mq_setattr.

A send to a full queue and a receive from an empty one sleep until the other
side makes room or a message; with O_NONBLOCK on the open description they
fail at once with EAGAIN instead, and the timed variants give up with
ETIMEDOUT when their time runs out. ``mq_setattr`` can change that flag and
nothing else.
"""

import os
import time

from conformance.clauses import spec
from conformance.outcome import BLOCKED, Errno, Value

MSGSIZE = 32
TIMEOUT_NS = 50 * 10**6
LONG_NS = 60 * 10**9
SEND_FULL = ("mq_send(3)", "If the message queue is already full (i.e., the number of messages on the queue "
                           "equals the queue's mq_maxmsg attribute), then, by default, mq_send() blocks "
                           "until sufficient space becomes available to allow the message to be queued, "
                           "or until the call is interrupted by a signal handler.  If the O_NONBLOCK flag "
                           "is enabled for the message queue description, then the call instead fails "
                           "immediately with the error EAGAIN.")
RECEIVE_EMPTY = ("mq_receive(3)", "If the queue is empty, then, by default, mq_receive() blocks until a "
                                  "message becomes available, or the call is interrupted by a signal "
                                  "handler.  If the O_NONBLOCK flag is enabled for the message queue "
                                  "description, then the call instead fails immediately with the error "
                                  "EAGAIN.")


def _open(actor, name, flags=0, maxmsg=2):
    return actor.call("mq_open", name, os.O_CREAT | os.O_RDWR | flags, 0o600, (maxmsg, MSGSIZE))


def _timed(actor, op, *args):
    """A timed call's outcome (waiting for its own end if seen asleep) and how long it took."""
    started = time.monotonic()
    out = actor.do(op, *args)
    if out == BLOCKED:
        out = actor.finish()
    return out, time.monotonic() - started


@spec(
    "posix.mq.send.full-nonblock",
    "mq_send to a full queue whose open description has O_NONBLOCK fails at once with EAGAIN and "
    "queues nothing.",
    sources=[SEND_FULL, ("mq_send(3)", "EAGAIN The queue was full, and the O_NONBLOCK flag was set for "
                                       "the message queue description referred to by mqdes.")],
)
def test_full_queue_nonblocking_send(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name, os.O_NONBLOCK)
    for i in range(2):
        scenario.expect(a.do("mq_send", q, b"%d" % i, 0), Value(0))
    scenario.expect(a.do("mq_send", q, b"third", 0), Errno("EAGAIN"), "two slots, both taken")
    scenario.expect(a.do("mq_getattr", q),
                    Value({"flags": os.O_NONBLOCK, "maxmsg": 2, "msgsize": MSGSIZE, "curmsgs": 2}))
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.send.full-blocks",
    "mq_send to a full queue without O_NONBLOCK sleeps; a receive that makes room wakes it and its "
    "message is queued.",
    sources=[SEND_FULL],
)
def test_full_queue_blocks_the_sender(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name)
    for i in range(2):
        scenario.expect(a.do("mq_send", q, b"%d" % i, 0), Value(0))
    sender = a.fork("sender")
    scenario.expect(sender.do("mq_send", q, b"late", 0), BLOCKED, "no room: the sender sleeps")
    scenario.expect(a.do("mq_receive", q, MSGSIZE), Value((b"0", 0)))
    scenario.expect_event(sender, Value(0), "the receive made room")
    for text in (b"1", b"late"):
        scenario.expect(a.do("mq_receive", q, MSGSIZE), Value((text, 0)))
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.timedsend.timeout",
    "mq_timedsend to a full queue without O_NONBLOCK fails with ETIMEDOUT once its timeout has passed, "
    "queueing nothing.",
    sources=[("mq_send(3)", "ETIMEDOUT The call timed out before a message could be transferred."),
             ("mq_send(3)", "mq_timedsend() behaves just like mq_send(), except that if the queue is full "
                            "and the O_NONBLOCK flag is not enabled for the message queue description, "
                            "then abs_timeout points to a structure which specifies how long the call "
                            "will block.")],
)
def test_timedsend_times_out(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name, maxmsg=1)
    scenario.expect(a.do("mq_send", q, b"fill", 0), Value(0))
    out, waited = _timed(a, "mq_timedsend", q, b"late", 0, TIMEOUT_NS)
    scenario.expect(out, Errno("ETIMEDOUT"), "no room within 50 ms")
    scenario.expect(Value(waited >= TIMEOUT_NS / 1e9), Value(True),
                    f"the call returned after {waited * 1000:.1f} ms, not after the timeout")
    scenario.expect(a.do("mq_getattr", q), Value({"flags": 0, "maxmsg": 1, "msgsize": MSGSIZE, "curmsgs": 1}),
                    "the late message was not queued")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.receive.empty-nonblock",
    "mq_receive on an empty queue whose open description has O_NONBLOCK fails at once with EAGAIN.",
    sources=[RECEIVE_EMPTY, ("mq_receive(3)", "EAGAIN The queue was empty, and the O_NONBLOCK flag was set "
                                              "for the message queue description referred to by mqdes.")],
)
def test_empty_queue_nonblocking_receive(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name, os.O_NONBLOCK)
    scenario.expect(a.do("mq_receive", q, MSGSIZE), Errno("EAGAIN"), "nothing queued")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.receive.empty-blocks",
    "mq_receive on an empty queue without O_NONBLOCK sleeps; the next mq_send, from another process, "
    "wakes it with that message and its priority.",
    sources=[RECEIVE_EMPTY],
    supports={"L02": "the receiver may be waiting before the sender sends"},
)
def test_empty_queue_blocks_the_receiver(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name)
    receiver = a.fork("receiver")
    scenario.expect(receiver.do("mq_receive", q, MSGSIZE), BLOCKED, "nothing to receive: it sleeps")
    scenario.expect(a.do("mq_send", q, b"wake", 9), Value(0))
    scenario.expect_event(receiver, Value((b"wake", 9)), "the message sent wakes the receiver")
    scenario.expect(a.do("mq_getattr", q), Value({"flags": 0, "maxmsg": 2, "msgsize": MSGSIZE, "curmsgs": 0}),
                    "the receiver took it")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.timedreceive.timeout",
    "mq_timedreceive on an empty queue without O_NONBLOCK fails with ETIMEDOUT once its timeout has "
    "passed; with a message arriving in time it returns that message.",
    sources=[("mq_receive(3)", "ETIMEDOUT The call timed out before a message could be transferred."),
             ("mq_receive(3)", "mq_timedreceive() behaves just like mq_receive(), except that if the queue "
                               "is empty and the O_NONBLOCK flag is not enabled for the message queue "
                               "description, then abs_timeout points to a structure which specifies how "
                               "long the call will block.")],
)
def test_timedreceive_times_out(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name)
    out, waited = _timed(a, "mq_timedreceive", q, MSGSIZE, TIMEOUT_NS)
    scenario.expect(out, Errno("ETIMEDOUT"), "nothing arrived within 50 ms")
    scenario.expect(Value(waited >= TIMEOUT_NS / 1e9), Value(True),
                    f"the call returned after {waited * 1000:.1f} ms, not after the timeout")
    waiter = a.fork("waiter")
    scenario.expect(waiter.do("mq_timedreceive", q, MSGSIZE, LONG_NS), BLOCKED, "a minute to wait")
    scenario.expect(a.do("mq_send", q, b"in time", 2), Value(0))
    scenario.expect_event(waiter, Value((b"in time", 2)), "arrived long before the timeout")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.setattr.nonblock-only",
    "mq_setattr returns the old attributes and changes only O_NONBLOCK: mq_maxmsg, mq_msgsize and "
    "mq_curmsgs stay, and the flag takes effect on the next call (EAGAIN on an empty queue).",
    sources=[("mq_getattr(3)", "The only attribute that can be modified is the setting of the O_NONBLOCK "
                               "flag in mq_flags.  The other fields in newattr are ignored.  If the oldattr "
                               "field is not NULL, then the buffer that it points to is used to return an "
                               "mq_attr structure that contains the same information that is returned by "
                               "mq_getattr().")],
)
def test_setattr_changes_only_nonblock(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name)
    scenario.expect(a.do("mq_send", q, b"one", 0), Value(0))
    blocking = {"flags": 0, "maxmsg": 2, "msgsize": MSGSIZE, "curmsgs": 1}
    nonblocking = dict(blocking, flags=os.O_NONBLOCK)
    scenario.expect(a.do("mq_setattr", q, os.O_NONBLOCK), Value(blocking), "the old attributes")
    scenario.expect(a.do("mq_getattr", q), Value(nonblocking), "only the flag changed")
    scenario.expect(a.do("mq_receive", q, MSGSIZE), Value((b"one", 0)))
    scenario.expect(a.do("mq_receive", q, MSGSIZE), Errno("EAGAIN"), "non-blocking now")
    scenario.expect(a.do("mq_setattr", q, 0), Value(dict(nonblocking, curmsgs=0)))
    scenario.expect(a.do("mq_getattr", q), Value(dict(blocking, curmsgs=0)), "blocking again")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))
