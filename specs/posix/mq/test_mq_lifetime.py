"""How long a POSIX queue and its descriptors live: unlink, close, fork.

A queue has kernel persistence: it outlives every descriptor until its name
is unlinked, and after ``mq_unlink`` it lives on, nameless, until the last
descriptor is closed — the way a file does. A descriptor refers to an *open
message queue description*; ``fork`` copies descriptors, not descriptions,
so parent and child share the O_NONBLOCK flag.
"""

import os

from conformance.clauses import spec
from conformance.outcome import Errno, Value

MSGSIZE = 32


def _open(actor, name, flags=0):
    return actor.call("mq_open", name, os.O_CREAT | os.O_RDWR | flags, 0o600, (4, MSGSIZE))


@spec(
    "posix.mq.unlink.open-descriptors-live",
    "After mq_unlink the name is gone (mq_open without O_CREAT: ENOENT; a second unlink: ENOENT) but "
    "descriptors already open keep working, the queue's messages with them, until they are closed.",
    sources=[("mq_unlink(3)", "mq_unlink() removes the specified message queue name.  The message queue "
                              "name is removed immediately.  The queue itself is destroyed once any other "
                              "processes that have the queue open close their descriptors referring to "
                              "the queue."),
             ("mq_unlink(3)", "ENOENT There is no message queue with the given name.")],
)
def test_unlinked_queue_lives_while_open(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name, os.O_NONBLOCK)
    scenario.expect(a.do("mq_send", q, b"before", 1), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))
    scenario.expect(a.do("mq_open", name, os.O_RDWR), Errno("ENOENT"), "the name is gone")
    scenario.expect(a.do("mq_unlink", name), Errno("ENOENT"), "nothing left to unlink")
    scenario.expect(a.do("mq_send", q, b"after", 2), Value(0), "the descriptor still works")
    scenario.expect(a.do("mq_receive", q, MSGSIZE), Value((b"after", 2)))
    scenario.expect(a.do("mq_receive", q, MSGSIZE), Value((b"before", 1)), "the old message too")
    scenario.expect(a.do("mq_close", q), Value(0))


@spec(
    "posix.mq.lifetime.survives-close",
    "A queue outlives all its descriptors: after every descriptor is closed, a later mq_open of the "
    "name (by another process) finds the queue with its messages, until mq_unlink.",
    sources=[("mq_overview(7)", "POSIX message queues have kernel persistence: if not removed by "
                                "mq_unlink(3), a message queue will exist until the system is shut down.")],
    supports={"L02": "the sender closed and exited before the receiver opened the queue"},
)
def test_queue_survives_its_descriptors(scenario, mq_names):
    sender = scenario.spawn("sender")
    name = mq_names.new()
    q = _open(sender, name)
    scenario.expect(sender.do("mq_send", sender_q := q, b"kept", 4), Value(0))
    scenario.expect(sender.do("mq_close", sender_q), Value(0))
    receiver = scenario.spawn("receiver")
    r = receiver.do("mq_open", name, os.O_RDONLY | os.O_NONBLOCK)
    scenario.expect(r, Value(3), "the queue is still there")
    if r.ok:
        scenario.expect(receiver.do("mq_receive", r.detail, MSGSIZE), Value((b"kept", 4)),
                        "with the message sent before every descriptor was closed")
        scenario.expect(receiver.do("mq_close", r.detail), Value(0))
    scenario.expect(receiver.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.fork.shared-description",
    "A child inherits its parent's queue descriptors (same numbers, same queue) and they refer to the "
    "same open description: O_NONBLOCK set with mq_setattr in the child shows in the parent's "
    "mq_getattr and makes the parent's receive fail with EAGAIN.",
    sources=[("mq_overview(7)", "After a fork(2), a child inherits copies of its parent's message queue "
                                "descriptors, and these descriptors refer to the same open message queue "
                                "descriptions as the corresponding message queue descriptors in the parent.  "
                                "Corresponding message queue descriptors in the two processes share the "
                                "flags (mq_flags) that are associated with the open message queue "
                                "description.")],
)
def test_fork_shares_the_description(scenario, mq_names):
    parent = scenario.spawn("parent")
    name = mq_names.new()
    q = _open(parent, name)
    scenario.expect(parent.do("mq_send", q, b"for the child", 0), Value(0))
    child = parent.fork("child")
    scenario.expect(child.do("mq_receive", q, MSGSIZE), Value((b"for the child", 0)),
                    "the inherited descriptor reaches the queue")
    scenario.expect(child.do("mq_setattr", q, os.O_NONBLOCK),
                    Value({"flags": 0, "maxmsg": 4, "msgsize": MSGSIZE, "curmsgs": 0}))
    scenario.expect(parent.do("mq_getattr", q),
                    Value({"flags": os.O_NONBLOCK, "maxmsg": 4, "msgsize": MSGSIZE, "curmsgs": 0}),
                    "the child's change shows in the parent")
    scenario.expect(parent.do("mq_receive", q, MSGSIZE), Errno("EAGAIN"), "the parent no longer blocks")
    scenario.expect(child.do("mq_close", q), Value(0))
    scenario.expect(parent.do("mq_close", q), Value(0))
    scenario.expect(parent.do("mq_unlink", name), Value(0))


@spec(
    "posix.mq.close.ebadf",
    "After mq_close the descriptor is invalid: mq_send, mq_receive, mq_getattr and a second mq_close "
    "fail with EBADF, and the next mq_open reuses its number.",
    sources=[("mq_close(3)", "mq_close() closes the message queue descriptor mqdes."),
             ("mq_close(3)", "EBADF The message queue descriptor specified in mqdes is invalid."),
             ("mq_getattr(3)", "EBADF The message queue descriptor specified in mqdes is invalid.")],
)
def test_closed_descriptor_is_ebadf(scenario, mq_names):
    a = scenario.spawn("a")
    name = mq_names.new()
    q = _open(a, name, os.O_NONBLOCK)
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_send", q, b"x", 0), Errno("EBADF"))
    scenario.expect(a.do("mq_receive", q, MSGSIZE), Errno("EBADF"))
    scenario.expect(a.do("mq_getattr", q), Errno("EBADF"))
    scenario.expect(a.do("mq_close", q), Errno("EBADF"), "closed already")
    scenario.expect(a.do("mq_open", name, os.O_RDWR), Value(q), "the number is free again")
    scenario.expect(a.do("mq_close", q), Value(0))
    scenario.expect(a.do("mq_unlink", name), Value(0))
